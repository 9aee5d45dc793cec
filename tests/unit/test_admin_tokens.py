"""Administrator tokens: signed with a key of their own, scoped, and never longer-lived than 12 hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hod import cli
from hod.errors import ConfigurationError, Forbidden, Unauthorized
from hod.services.auth import ADMIN, ADMIN_MAX_TTL, ADMIN_SCOPES, AuthService
from hod.signing import Claims, KeyRing, SigningKey, sign
from tests.conftest import FakeClock

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LINK_KEY = SigningKey(b"l" * 64)
ADMIN_KEY = SigningKey(b"a" * 64)


class Keys:
    def __init__(self, key: SigningKey) -> None:
        self._key = key

    def key_ring(self, with_previous: bool = True) -> KeyRing:
        return KeyRing(self._key)


def intake() -> AuthService:
    """What the intake function holds: both keys."""
    return AuthService(Keys(LINK_KEY), FakeClock(NOW), 3600, admin_keys=Keys(ADMIN_KEY))


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_token_signed_with_the_links_key_is_no_administrator_token() -> None:
    # Given a function that signs links and sessions, holding only their key (the match or notify function)
    links_only = AuthService(Keys(LINK_KEY), FakeClock(NOW), 3600)

    # When it tries to mint an administrator token, through the service or by signing the claims itself
    with pytest.raises(ValueError, match="admin_token"):
        links_only.issue(ADMIN, "intruder", timedelta(hours=1))
    with pytest.raises(ConfigurationError):
        links_only.admin_token("intruder")
    forged = sign(
        Claims(ADMIN, "intruder", int((NOW + timedelta(hours=1)).timestamp()), scope="agents:import"), LINK_KEY
    )

    # Then the intake function refuses it
    with pytest.raises(Unauthorized):
        intake().authenticate(bearer(forged), ADMIN, "agents:import")


def test_an_administrator_token_allows_the_scopes_it_names_and_no_other() -> None:
    # Given a token that may only read metrics
    auth = intake()
    token = auth.admin_token("analyst", timedelta(hours=1), ["metrics:read"])

    # Then it reads metrics, and importing agents is forbidden
    assert auth.authenticate(bearer(token), ADMIN, "metrics:read").subject == "analyst"
    with pytest.raises(Forbidden, match="agents:import"):
        auth.authenticate(bearer(token), ADMIN, "agents:import")
    # And a default token allows every scope
    every = auth.admin_token("ops")
    for scope in ADMIN_SCOPES:
        auth.authenticate(bearer(every), ADMIN, scope)


@pytest.mark.parametrize("ttl", [timedelta(hours=12, seconds=1), timedelta(days=365), timedelta(0)])
def test_no_administrator_token_is_minted_for_longer_than_twelve_hours(ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="at most 12 hours"):
        intake().admin_token("ops", ttl)


def test_a_longer_lived_administrator_token_signed_with_the_right_key_is_refused_all_the_same() -> None:
    # Given a token signed with the administrators' key by hand, for a year
    year = sign(Claims(ADMIN, "ops", int((NOW + timedelta(days=365)).timestamp()), scope="agents:read"), ADMIN_KEY)

    # Then it is refused, while one of exactly the maximum is taken
    with pytest.raises(Unauthorized, match="12 hours"):
        intake().authenticate(bearer(year), ADMIN, "agents:read")
    longest = sign(Claims(ADMIN, "ops", int((NOW + ADMIN_MAX_TTL).timestamp()), scope="agents:read"), ADMIN_KEY)
    assert intake().authenticate(bearer(longest), ADMIN, "agents:read").subject == "ops"


def test_an_administrator_token_is_not_an_agent_session_nor_the_other_way_round() -> None:
    auth = intake()
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(auth.admin_token("ops")), "agent-session")
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(auth.agent_session("1001")), ADMIN, "agents:read")


@pytest.mark.parametrize("hours", ["13", "0", "8760"])
def test_the_command_line_refuses_to_mint_a_token_beyond_twelve_hours(
    hours: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When an administrator asks hod-admin for a token of more than 12 hours (or none)
    with pytest.raises(SystemExit) as refused:
        cli.main(["token", "--hours", hours, "--secret-id", "arn:aws:secretsmanager:us-east-1:1:secret:admin"])

    # Then it refuses before reading any key, saying why
    assert refused.value.code == 2
    assert "at most 12" in capsys.readouterr().err
