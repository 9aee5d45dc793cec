"""The settings model: environment variable names, defaults, and errors that name the variable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hod.errors import ConfigurationError
from hod.settings import Settings, get_settings

REQUIRED = {
    "HOD_AGENTS_TABLE": "agents",
    "HOD_AVAILABLE_TABLE": "available",
    "HOD_REFERRALS_TABLE": "referrals",
    "HOD_IDEMPOTENCY_TABLE": "idempotency",
    "HOD_SIGNING_SECRET_ID": "signing-secret",
    "HOD_PLAN_YEAR": "2026",
}


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_only_the_required_variables_give_the_documented_defaults() -> None:
    # Given an environment with the six required variables and nothing else of the service's
    # When the settings are read from it
    settings = Settings.from_environment({**REQUIRED, "PATH": "/usr/bin"})

    # Then the required values are taken as given and every other setting has its default
    assert (settings.agents_table, settings.available_table) == ("agents", "available")
    assert (settings.referrals_table, settings.idempotency_table) == ("referrals", "idempotency")
    assert settings.signing_secret_id == "signing-secret"
    assert settings.plan_year == 2026
    assert settings.stage == "prod"
    assert not settings.is_local
    assert settings.offer_window_seconds == 900
    assert settings.session_ttl_seconds == 3600
    assert settings.portal_session_seconds == 43200
    assert settings.idempotency_ttl_seconds == 3600
    assert settings.safety_net_window_seconds == 1800
    assert settings.follow_up_seconds == 900
    assert settings.safety_net_rounds == 24
    assert settings.suspend_after_missed == 5
    assert settings.state_machine_arn is None
    assert settings.public_base_url == settings.sender_email == settings.pinpoint_app_id == ""
    assert settings.reminder_function_arn == settings.reminder_role_arn == settings.reminder_group == ""


def test_every_optional_variable_is_read_from_its_own_name() -> None:
    # Given every optional variable set, with stray whitespace and a trailing slash on the base URL
    environ = {
        **REQUIRED,
        "HOD_STAGE": " local ",
        "HOD_OFFER_WINDOW_SECONDS": "5",
        "HOD_SESSION_TTL_SECONDS": "60",
        "HOD_PORTAL_SESSION_SECONDS": "120",
        "HOD_IDEMPOTENCY_TTL_SECONDS": "30",
        "HOD_SAFETY_NET_WINDOW_SECONDS": "40",
        "HOD_FOLLOW_UP_SECONDS": "50",
        "HOD_SAFETY_NET_ROUNDS": "3",
        "HOD_SUSPEND_AFTER_MISSED": "0",
        "HOD_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:referral",
        "HOD_PUBLIC_BASE_URL": "https://api.example.org/v1/",
        "HOD_SENDER_EMAIL": " offers@example.org ",
        "HOD_PINPOINT_APP_ID": "app",
        "HOD_REMINDER_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:notify",
        "HOD_REMINDER_ROLE_ARN": "arn:aws:iam::123456789012:role/reminders",
        "HOD_REMINDER_GROUP": "reminders",
    }

    # When the settings are read
    settings = Settings.from_environment(environ)

    # Then each lands in its field, trimmed; 0 is accepted where it switches a policy off
    assert settings.is_local
    assert settings.offer_window_seconds == 5
    assert (settings.session_ttl_seconds, settings.portal_session_seconds) == (60, 120)
    assert (settings.idempotency_ttl_seconds, settings.safety_net_window_seconds) == (30, 40)
    assert (settings.follow_up_seconds, settings.safety_net_rounds) == (50, 3)
    assert settings.suspend_after_missed == 0
    assert settings.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:referral"
    assert settings.public_base_url == "https://api.example.org/v1"
    assert settings.sender_email == "offers@example.org"
    assert settings.pinpoint_app_id == "app"
    assert settings.reminder_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:notify"
    assert settings.reminder_role_arn == "arn:aws:iam::123456789012:role/reminders"
    assert settings.reminder_group == "reminders"


def test_an_empty_variable_counts_as_unset() -> None:
    # Given optional variables present but empty or blank
    environ = {**REQUIRED, "HOD_STAGE": "", "HOD_OFFER_WINDOW_SECONDS": " ", "HOD_STATE_MACHINE_ARN": ""}

    # When the settings are read
    settings = Settings.from_environment(environ)

    # Then they take their defaults
    assert settings.stage == "prod"
    assert settings.offer_window_seconds == 900
    assert settings.state_machine_arn is None


@pytest.mark.parametrize("name", sorted(REQUIRED))
@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_required_variable_is_named_in_the_error(name: str, value: str | None) -> None:
    # Given the required variables with one of them absent, empty or blank
    environ = {key: val for key, val in REQUIRED.items() if key != name}
    if value is not None:
        environ[name] = value

    # When the settings are read, Then the error names that variable
    with pytest.raises(ConfigurationError, match=rf"^Environment variable {name} is required\.$"):
        Settings.from_environment(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOD_PLAN_YEAR", "next year"),
        ("HOD_PLAN_YEAR", "0"),
        ("HOD_OFFER_WINDOW_SECONDS", "0"),
        ("HOD_OFFER_WINDOW_SECONDS", "-900"),
        ("HOD_OFFER_WINDOW_SECONDS", "1.5"),
        ("HOD_SAFETY_NET_ROUNDS", "0"),
        ("HOD_SUSPEND_AFTER_MISSED", "-1"),
        ("HOD_SUSPEND_AFTER_MISSED", "five"),
    ],
)
def test_a_bad_number_is_refused_with_its_variable_and_value(name: str, value: str) -> None:
    # Given a variable that must be a whole number (positive, or 0 or more) set to something else
    environ = {**REQUIRED, name: value}

    # When the settings are read, Then the error names the variable and quotes the value
    with pytest.raises(ConfigurationError, match=rf"^Environment variable {name} is invalid \(.+\), got '{value}'\.$"):
        Settings.from_environment(environ)


def test_every_problem_is_reported_at_once() -> None:
    # Given an environment missing one required variable and with a bad number
    environ = {key: val for key, val in REQUIRED.items() if key != "HOD_AGENTS_TABLE"}
    environ["HOD_FOLLOW_UP_SECONDS"] = "soon"

    # When the settings are read
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environment(environ)

    # Then one error names both variables
    assert "HOD_AGENTS_TABLE is required" in str(raised.value)
    assert "HOD_FOLLOW_UP_SECONDS is invalid" in str(raised.value)


def test_the_settings_are_read_from_the_process_environment_once(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    # Given the process environment holds the required variables
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)

    # When the settings are asked for, the environment changes, and they are asked for again
    first = get_settings()
    monkeypatch.setenv("HOD_PLAN_YEAR", "2027")
    again = get_settings()

    # Then both answers are the one object read the first time, until the cache is cleared
    assert again is first
    assert again.plan_year == 2026
    get_settings.cache_clear()
    assert get_settings().plan_year == 2027


def test_the_settings_cannot_be_changed_once_read() -> None:
    # Given settings read from an environment
    settings = Settings.from_environment(REQUIRED)

    # When code tries to change one, Then it is refused
    with pytest.raises(ValueError, match="frozen"):
        settings.plan_year = 2030  # type: ignore[misc]
