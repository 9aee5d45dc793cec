"""One typed settings object, read from the environment on first use (never at import) and validated once."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from hod.errors import ConfigurationError

Positive = Annotated[int, Field(gt=0)]


class Settings(BaseModel):
    """Each field comes from the environment variable HOD_<FIELD NAME>; an empty variable counts as unset."""

    model_config = ConfigDict(
        frozen=True, alias_generator=lambda field: f"HOD_{field.upper()}", str_strip_whitespace=True
    )

    agents_table: str
    available_table: str
    referrals_table: str
    idempotency_table: str
    signing_secret_id: str
    admin_signing_secret_id: str = ""  # the administrator tokens' key: the intake function's alone
    plan_year: Positive
    stage: str = "prod"
    offer_window_seconds: Positive = 900
    session_ttl_seconds: Positive = 3600
    portal_session_seconds: Positive = 43200
    idempotency_ttl_seconds: Positive = 3600
    state_machine_arn: str | None = None
    public_base_url: Annotated[str, AfterValidator(lambda url: url.rstrip("/"))] = ""
    sender_email: str = ""
    trace_aws_calls: bool = (
        False  # a subsegment per AWS call in X-Ray, at the X-Ray SDK's cold-start cost (hod.tracing)
    )
    pinpoint_app_id: str = ""
    vapid_secret_id: str = ""  # the Web Push (VAPID) key's secret; empty: browsers get no push
    webpush_allow_http: bool = False  # plain-http push endpoints: the local stack's and tests' own, never deployed
    safety_net_window_seconds: Positive = 1800
    follow_up_seconds: Positive = 900
    safety_net_rounds: Positive = 24
    suspend_after_missed: int = Field(5, ge=0)  # 0 switches the suspension policy off
    offer_capacity: Annotated[int, Field(gt=0, le=20)] = 1  # pending offers an agent holds at once
    wrap_up_seconds: int = Field(900, ge=0, le=3600)  # an accepted referral holds a slot this long at most; 0: none
    queue_wait_seconds: int = Field(900, ge=0, le=3600)  # how long a referral waits for a busy agent; 0: never
    max_offer_rounds: Annotated[int, Field(gt=0, le=500)] = 50  # direct offers and waits before the safety net
    reminder_function_arn: str = ""  # R12 reminders: the function EventBridge Scheduler invokes
    reminder_role_arn: str = ""  # the role Scheduler assumes to invoke it
    reminder_group: str = ""  # the schedule group reminders are created in
    reminder_dead_letter_arn: str = ""  # the queue undeliverable reminders go to (empty: dropped)
    refresh_queue_url: str = ""  # where availability changes wait until they fall due (hod.services.sweep)
    sign_in_function_arn: str = ""  # the function that e-mails sign-in links, invoked asynchronously (the intake's)
    send_queue_url: str = ""  # the send queue: safety-net calls, and messages held while a channel was throttling
    ses_send_rate: Annotated[float, Field(gt=0)] = 14.0  # recipients a second the safety net may e-mail
    safety_net_senders: Positive = 2  # send functions side by side (the send queue's maximum concurrency)
    # What a consumer's "nobody has called me" does after the contact-by time (hod.services.workflow.not_called):
    # remind the agent, or remind them and send the referral on to the next agent
    not_called_policy: Literal["remind", "reassign"] = "remind"

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """The settings in `environ`, or a ConfigurationError naming every missing or invalid variable."""
        names = [field.alias for field in cls.model_fields.values() if field.alias]
        given = {name: environ[name] for name in names if environ.get(name, "").strip()}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise ConfigurationError(" ".join(_problem(error) for error in exc.errors())) from None


def _problem(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"Environment variable {name} is required."
    return f"Environment variable {name} is invalid ({error['msg']}), got {error['input']!r}."


@functools.cache
def get_settings() -> Settings:
    """The process's settings. Tests that change the environment call `get_settings.cache_clear()`."""
    return Settings.from_environment(os.environ)
