"""Who is calling: agents by short-lived signed session tokens, administrators by administrator tokens.

Administrator tokens are signed with a key of their own, which only the intake function (to verify them) and
`hod-admin` (to mint them) can read: the functions that sign links and sessions cannot mint one. Each names what it
allows (ADMIN_SCOPES; every route of the administrators says which it needs) and lives at most ADMIN_MAX_TTL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import timedelta

from hod.errors import ConfigurationError, Forbidden, Unauthorized
from hod.ports.common import Clock, KeyProvider
from hod.signing import Claims, KeyRing, key_id, sign, verify

AGENT_SESSION = "agent-session"
ADMIN = "admin"
ADMIN_SCOPES = (
    "agents:import",
    "agents:read",
    "agents:suspend",
    "agents:reactivate",
    "referrals:read",
    "metrics:read",
)
ADMIN_MAX_TTL = timedelta(hours=12)


class AuthService:
    def __init__(
        self, keys: KeyProvider, clock: Clock, session_ttl_seconds: int, admin_keys: KeyProvider | None = None
    ) -> None:
        self._keys = keys
        self._admin_keys = admin_keys
        self._clock = clock
        self._session_ttl = session_ttl_seconds

    def issue(self, purpose: str, subject: str, ttl: timedelta, resource: str = "") -> str:
        """A token for a link or a session (never an administrator's: `admin_token`)."""
        if purpose == ADMIN:
            raise ValueError("administrator tokens are minted by admin_token, with their own key")
        expires = int((self._clock.now() + ttl).timestamp())
        return sign(Claims(purpose, subject, expires, resource), self._keys.key_ring(with_previous=False).current)

    def agent_session(self, npn: str) -> str:
        return self.issue(AGENT_SESSION, npn, timedelta(seconds=self._session_ttl))

    def admin_token(self, who: str, ttl: timedelta = timedelta(hours=8), scopes: Iterable[str] = ADMIN_SCOPES) -> str:
        """An administrator token allowing `scopes`, for at most ADMIN_MAX_TTL."""
        allowed = sorted(set(scopes))
        unknown = [scope for scope in allowed if scope not in ADMIN_SCOPES]
        if unknown or not allowed:
            raise ValueError(f"scopes must be some of {', '.join(ADMIN_SCOPES)}; got {', '.join(unknown) or 'none'}")
        if not timedelta(0) < ttl <= ADMIN_MAX_TTL:
            raise ValueError(f"an administrator token lives at most {ADMIN_MAX_TTL.total_seconds() / 3600:g} hours")
        expires = int((self._clock.now() + ttl).timestamp())
        key = self._admin_provider().key_ring(with_previous=False).current
        return sign(Claims(ADMIN, who, expires, scope=" ".join(allowed)), key)

    def link(self, token: str | None, purposes: Collection[str]) -> Claims:
        """Claims of a signed link's token (from a notification)."""
        if not token:
            raise Unauthorized("This link is incomplete: open it again from your notification.", "link_incomplete")
        return verify(token, self._ring_for(token, self._keys), purpose=purposes, now=self._clock.now())

    def authenticate(self, authorization: str | None, purpose: str, scope: str | None = None) -> Claims:
        """Claims of an ``Authorization: Bearer <token>`` header for `purpose` (an administrator's: allowing
        `scope`)."""
        if not authorization:
            raise Unauthorized("Sign-in required: send Authorization: Bearer <token>.")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Sign-in required: send Authorization: Bearer <token>.")
        now = self._clock.now()
        keys = self._admin_provider() if purpose == ADMIN else self._keys
        claims = verify(token, self._ring_for(token, keys), purpose=purpose, now=now)
        if purpose == ADMIN:
            if claims.expires_at - now.timestamp() > ADMIN_MAX_TTL.total_seconds():
                raise Unauthorized(
                    "This administrator token lives too long: mint one of at most 12 hours.", "token_not_valid"
                )
            if scope and scope not in claims.scope.split():
                raise Forbidden(f"This administrator token does not allow {scope}.")
        return claims

    def _admin_provider(self) -> KeyProvider:
        if self._admin_keys is None:
            raise ConfigurationError("No administrator signing key: set HOD_ADMIN_SIGNING_SECRET_ID.")
        return self._admin_keys

    @staticmethod
    def _ring_for(token: str, keys: KeyProvider) -> KeyRing:
        """The current key alone when it signed the token; the whole ring (previous keys too) otherwise."""
        current = keys.key_ring(with_previous=False)
        if key_id(token) == current.current.kid:
            return current
        return keys.key_ring()
