"""Signed tokens for links and sessions: HMAC-SHA256 over the claims, bound to a purpose, a subject and an expiry.

Format: ``v1.<base64url(json claims)>.<base64url(mac)>``. The claims name the key (``kid``) so keys can rotate: tokens
signed with the previous key stay valid while it is still in the key ring (the rotation grace period).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from hod.errors import Unauthorized

_VERSION = "v1"


@dataclass(frozen=True)
class SigningKey:
    secret: bytes

    @property
    def kid(self) -> str:
        return hashlib.sha256(b"hod-kid:" + self.secret).hexdigest()[:12]


@dataclass(frozen=True)
class KeyRing:
    current: SigningKey
    previous: tuple[SigningKey, ...] = ()

    def find(self, kid: str) -> SigningKey | None:
        for key in (self.current, *self.previous):
            if hmac.compare_digest(key.kid, kid):
                return key
        return None


@dataclass(frozen=True)
class Claims:
    purpose: str
    subject: str
    expires_at: int
    resource: str = ""
    nonce: str = ""
    scope: str = ""  # what the token allows, space-separated (administrator tokens)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: SigningKey, signed_part: str) -> bytes:
    return hmac.new(key.secret, signed_part.encode("ascii"), hashlib.sha256).digest()


def sign(claims: Claims, key: SigningKey) -> str:
    body: dict[str, str | int] = {
        "p": claims.purpose,
        "s": claims.subject,
        "r": claims.resource,
        "e": claims.expires_at,
        "n": claims.nonce or secrets.token_urlsafe(8),
        "k": key.kid,
    }
    if claims.scope:
        body["c"] = claims.scope
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    signed_part = f"{_VERSION}.{payload}"
    return f"{signed_part}.{_b64(_mac(key, signed_part))}"


def key_id(token: str) -> str | None:
    """The id of the key a token claims to be signed with (unverified), or None when it is malformed."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    try:
        return str(json.loads(_unb64(parts[1]))["k"])
    except (ValueError, KeyError, TypeError):
        return None


def verify(token: str, ring: KeyRing, *, purpose: str | Collection[str], now: datetime) -> Claims:
    """The token's claims if it is well-formed, signed by a key in the ring, for `purpose` (or one of several),
    and not expired."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise Unauthorized("This link or sign-in token is not valid.", "token_not_valid")
    try:
        body = json.loads(_unb64(parts[1]))
        mac = _unb64(parts[2])
        kid = str(body["k"])
    except (ValueError, KeyError, TypeError):
        raise Unauthorized("This link or sign-in token is not valid.", "token_not_valid") from None
    key = ring.find(kid)
    if key is None or not hmac.compare_digest(mac, _mac(key, f"{parts[0]}.{parts[1]}")):
        raise Unauthorized("This link or sign-in token is not valid.", "token_not_valid")
    claims = Claims(
        purpose=str(body.get("p", "")),
        subject=str(body.get("s", "")),
        resource=str(body.get("r", "")),
        expires_at=int(body.get("e", 0)),
        nonce=str(body.get("n", "")),
        scope=str(body.get("c", "")),
    )
    allowed = (purpose,) if isinstance(purpose, str) else tuple(purpose)
    if not any(hmac.compare_digest(claims.purpose, p) for p in allowed):
        raise Unauthorized("This link or sign-in token is not valid here.", "token_not_valid")
    if now.timestamp() >= claims.expires_at:
        raise Unauthorized("This link or sign-in token has expired.", "token_expired")
    return claims
