"""Signed tokens: bound to purpose and subject, expire, cannot be forged, survive key rotation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from hod.errors import Unauthorized
from hod.signing import Claims, KeyRing, SigningKey, sign, verify

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
OLD = SigningKey(b"o" * 64)
NEW = SigningKey(b"n" * 64)


def token(purpose: str = "agent-session", key: SigningKey = NEW, ttl: int = 3600, subject: str = "1001") -> str:
    return sign(Claims(purpose, subject, int((NOW + timedelta(seconds=ttl)).timestamp())), key)


def test_a_valid_token_gives_back_its_claims() -> None:
    claims = verify(token(), KeyRing(NEW), purpose="agent-session", now=NOW)
    assert claims.subject == "1001"
    assert claims.purpose == "agent-session"


def test_expired_wrong_purpose_and_unknown_key_are_refused() -> None:
    with pytest.raises(Unauthorized, match="expired"):
        verify(token(ttl=-1), KeyRing(NEW), purpose="agent-session", now=NOW)
    with pytest.raises(Unauthorized, match="not valid here"):
        verify(token("agent-session"), KeyRing(NEW), purpose="admin", now=NOW)
    with pytest.raises(Unauthorized, match="not valid"):
        verify(token(key=OLD), KeyRing(NEW), purpose="agent-session", now=NOW)


def test_rotation_keeps_tokens_of_the_previous_key_valid() -> None:
    ring = KeyRing(current=NEW, previous=(OLD,))
    assert verify(token(key=OLD), ring, purpose="agent-session", now=NOW).subject == "1001"


def test_changing_any_claim_breaks_the_signature() -> None:
    version, payload, mac = token().split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["s"] = "9999"  # try to become another agent
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        verify(f"{version}.{forged}.{mac}", KeyRing(NEW), purpose="agent-session", now=NOW)


@pytest.mark.parametrize("garbage", ["", "v1", "v1.a.b", "v2.x.y", "v1.!!!.???", "a.b.c.d"])
def test_malformed_tokens_are_refused(garbage: str) -> None:
    with pytest.raises(Unauthorized):
        verify(garbage, KeyRing(NEW), purpose="agent-session", now=NOW)
