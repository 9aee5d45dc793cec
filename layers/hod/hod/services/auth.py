"""Who is calling: agents by short-lived signed session tokens, administrators by admin tokens."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from hod.errors import Unauthorized
from hod.ports import Clock, KeyProvider
from hod.signing import Claims, KeyRing, key_id, sign, verify

AGENT_SESSION = "agent-session"
ADMIN = "admin"


class AuthService:
    def __init__(self, keys: KeyProvider, clock: Clock, session_ttl_seconds: int) -> None:
        self._keys = keys
        self._clock = clock
        self._session_ttl = session_ttl_seconds

    def issue(self, purpose: str, subject: str, ttl: timedelta, resource: str = "") -> str:
        expires = int((self._clock.now() + ttl).timestamp())
        return sign(Claims(purpose, subject, expires, resource), self._keys.key_ring(with_previous=False).current)

    def agent_session(self, npn: str) -> str:
        return self.issue(AGENT_SESSION, npn, timedelta(seconds=self._session_ttl))

    def admin_token(self, who: str, ttl: timedelta = timedelta(hours=8)) -> str:
        return self.issue(ADMIN, who, ttl)

    def link(self, token: str | None, purposes: Collection[str]) -> Claims:
        """Claims of a signed link's token (from a notification)."""
        if not token:
            raise Unauthorized("This link is incomplete: open it again from your notification.")
        return verify(token, self._ring_for(token), purpose=purposes, now=self._clock.now())

    def authenticate(self, authorization: str | None, purpose: str) -> Claims:
        """Claims of an ``Authorization: Bearer <token>`` header for `purpose`."""
        if not authorization:
            raise Unauthorized("Sign-in required: send Authorization: Bearer <token>.")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Sign-in required: send Authorization: Bearer <token>.")
        return verify(token.strip(), self._ring_for(token.strip()), purpose=purpose, now=self._clock.now())

    def _ring_for(self, token: str) -> KeyRing:
        """The current key alone when it signed the token; the whole ring (previous keys too) otherwise."""
        current = self._keys.key_ring(with_previous=False)
        if key_id(token) == current.current.kid:
            return current
        return self._keys.key_ring()
