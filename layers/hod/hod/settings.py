"""One typed settings object, read from the environment on first use (never at import) and validated once."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from hod.errors import ConfigurationError


@dataclass(frozen=True)
class Settings:
    agents_table: str
    available_table: str
    referrals_table: str
    idempotency_table: str
    signing_secret_id: str
    plan_year: int
    stage: str = "prod"
    offer_window_seconds: int = 900
    session_ttl_seconds: int = 3600
    portal_session_seconds: int = 43200
    idempotency_ttl_seconds: int = 3600
    state_machine_arn: str | None = None
    public_base_url: str = ""
    sender_email: str = ""
    pinpoint_app_id: str = ""
    safety_net_window_seconds: int = 1800
    follow_up_seconds: int = 900
    safety_net_rounds: int = 24
    suspend_after_missed: int = 5
    reminder_function_arn: str = ""  # R12 reminders: the function EventBridge Scheduler invokes
    reminder_role_arn: str = ""  # the role Scheduler assumes to invoke it
    reminder_group: str = ""  # the schedule group reminders are created in

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


_REQUIRED = {
    "agents_table": "HOD_AGENTS_TABLE",
    "available_table": "HOD_AVAILABLE_TABLE",
    "referrals_table": "HOD_REFERRALS_TABLE",
    "idempotency_table": "HOD_IDEMPOTENCY_TABLE",
    "signing_secret_id": "HOD_SIGNING_SECRET_ID",
}
_INTS = {
    "plan_year": ("HOD_PLAN_YEAR", None),
    "offer_window_seconds": ("HOD_OFFER_WINDOW_SECONDS", 900),
    "session_ttl_seconds": ("HOD_SESSION_TTL_SECONDS", 3600),
    "portal_session_seconds": ("HOD_PORTAL_SESSION_SECONDS", 43200),
    "idempotency_ttl_seconds": ("HOD_IDEMPOTENCY_TTL_SECONDS", 3600),
    "safety_net_window_seconds": ("HOD_SAFETY_NET_WINDOW_SECONDS", 1800),
    "safety_net_rounds": ("HOD_SAFETY_NET_ROUNDS", 24),
    "follow_up_seconds": ("HOD_FOLLOW_UP_SECONDS", 900),
}


def _int(name: str, default: int | None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ConfigurationError(f"Environment variable {name} is required.")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"Environment variable {name} must be a whole number, got {raw!r}.") from None
    if value <= 0:
        raise ConfigurationError(f"Environment variable {name} must be positive, got {value}.")
    return value


def _whole(name: str, default: int) -> int:
    """A whole number that may be 0 (0 switches the policy off)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigurationError(f"Environment variable {name} must be a whole number (0 or more), got {raw!r}.")
    return int(raw)


@functools.cache
def get_settings() -> Settings:
    """The process's settings. Tests that change the environment call `get_settings.cache_clear()`."""
    values: dict[str, object] = {}
    for field, env in _REQUIRED.items():
        raw = os.environ.get(env, "").strip()
        if not raw:
            raise ConfigurationError(f"Environment variable {env} is required.")
        values[field] = raw
    for field, (env, default) in _INTS.items():
        values[field] = _int(env, default)
    return Settings(
        **values,  # type: ignore[arg-type]
        stage=os.environ.get("HOD_STAGE", "prod").strip() or "prod",
        state_machine_arn=os.environ.get("HOD_STATE_MACHINE_ARN") or None,
        public_base_url=os.environ.get("HOD_PUBLIC_BASE_URL", "").rstrip("/"),
        sender_email=os.environ.get("HOD_SENDER_EMAIL", "").strip(),
        pinpoint_app_id=os.environ.get("HOD_PINPOINT_APP_ID", "").strip(),
        suspend_after_missed=_whole("HOD_SUSPEND_AFTER_MISSED", 5),
        reminder_function_arn=os.environ.get("HOD_REMINDER_FUNCTION_ARN", "").strip(),
        reminder_role_arn=os.environ.get("HOD_REMINDER_ROLE_ARN", "").strip(),
        reminder_group=os.environ.get("HOD_REMINDER_GROUP", "").strip(),
    )
