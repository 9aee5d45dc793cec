"""The project's exceptions. Handlers map these to HTTP answers in one place.

A refusal carries, besides its message (English, for developers and logs), a stable machine-readable `reason`
(`Reason`), and each field problem of a ValidationFailed a stable name (`FieldProblem`): pages word the refusal in
their own language from these keys (the agent portal from its catalogue, hod/web/portal.json). A key, once
published in the OpenAPI document, keeps its meaning; a new kind of refusal gets a new key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from pydantic_core import PydanticCustomError

Reason = Literal[
    "invalid_fields",  # 400: see each field's problem
    "sign_in_required",  # 401: no session token sent
    "token_not_valid",  # 401: a token that is forged, damaged, or not meant for this use
    "token_expired",  # 401: a link's or session's time is up
    "link_incomplete",  # 401: a signed link without its token
    "link_used",  # 401: a sign-in link already used, or replaced by a newer one
    "account_gone",  # 401: the agent's account no longer exists
    "not_your_referral",  # 403: the referral was not offered to this agent
    "not_your_state",  # 403: a safety-net referral in a state the agent takes no referrals in
    "not_accepted_by_you",  # 403: only the accepting agent may record its status
    "referral_not_found",  # 404
    "agent_not_found",  # 404
    "link_not_found",  # 404: a short link that expired or never existed
    "referral_taken",  # 409: another agent has taken the referral
    "referral_not_waiting",  # 409: the safety net's referral has moved on
    "already_answered",  # 409: the agent already answered this safety-net referral
    "already_accepted",  # 409: the agent already accepted this offer
    "already_rejected",  # 409: the agent already rejected this offer
    "offer_expired",  # 409: the offer lapsed; the referral went to the next agent
    "offer_closed",  # 409: the offer is no longer open
    "referral_moved_on",  # 409: the referral changed while the agent looked (e.g. another request completed it)
    "status_not_allowed",  # 409: a status change the referral's current status does not allow
    "reason_needed",  # 409: Not a Good Referral without its reason
    "outcome_needed",  # 409: Referral Completed without its outcome
    "reason_not_allowed",  # 409: a reason with another status than Not a Good Referral
    "outcome_not_allowed",  # 409: an outcome with another status than Referral Completed
    "changed_elsewhere",  # 409: the agent's record was changed at the same moment; try again
    "busy",  # 503: a service the request needs failed or is throttling; try again shortly
]
REASONS: tuple[str, ...] = get_args(Reason)

FieldProblem = Literal[
    "invalid",  # anything else (the message says what)
    "required",
    "too_long",
    "too_short",
    "not_an_option",  # not one of the values offered
    "unknown_field",
    "phone_format",  # not a phone number at all
    "phone_digits",  # not 10 digits
    "phone_area_code",  # area code or exchange starting with 0 or 1
    "email_format",
    "time_format",  # not HH:MM
    "end_before_start",
    "breaks_overlap",
    "break_outside_hours",
    "date_time_format",
    "year_out_of_range",
    "time_zone_unknown",
    "no_state",  # state preferences left empty
    "state_not_eligible",  # state preferences wider than the agent's eligibility
    "https_required",  # a push endpoint that is not https
    "needed_with_status",  # a reason or outcome the chosen status needs
    "not_with_status",  # a reason or outcome the chosen status does not take
    "too_many_rows",  # a period holding more referrals than one export reads
]
FIELD_PROBLEMS: tuple[str, ...] = get_args(FieldProblem)


def problem(key: FieldProblem, message: str) -> PydanticCustomError:
    """A validator's refusal with a stable name (pydantic reports `key` as the error's type); it is a ValueError,
    so code calling the validator directly catches it as before."""
    return PydanticCustomError(key, message)


class HodError(Exception):
    """Base class of every error the service raises on purpose. `reason`: the refusal's stable key, if it has one."""

    reason: Reason | None = None


class ValidationFailed(HodError):
    """Input was refused; nothing was changed. `fields` maps a field path to a message, `problems` a field path to
    its problem's stable name (a field it does not name: "invalid")."""

    reason: Reason | None = "invalid_fields"

    def __init__(
        self,
        fields: Mapping[str, str],
        message: str = "The request has invalid fields.",
        problems: Mapping[str, FieldProblem] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields)
        self.problems: dict[str, FieldProblem] = {name: (problems or {}).get(name, "invalid") for name in fields}


class NotFound(HodError):
    def __init__(self, what: str, reason: Reason | None = None) -> None:
        super().__init__(f"{what} was not found.")
        self.message = str(self)
        self.reason = reason


class Unauthorized(HodError):
    """Missing, malformed, forged or expired credentials."""

    def __init__(self, message: str = "Sign-in required.", reason: Reason | None = "sign_in_required") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class Forbidden(HodError):
    def __init__(self, message: str = "You may not do that.", reason: Reason | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class Conflict(HodError):
    """The request lost a race or does not fit the current state; nothing was changed."""

    def __init__(self, message: str, reason: Reason | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class CodeTaken(Conflict):
    """A code a new referral drew is already held (its confirmation code by another referral, its status page's
    short link by another link): nothing was stored; draw again."""


class Unprocessable(HodError):
    """Well-formed input that cannot be acted on as sent (an Idempotency-Key reused with another body); nothing was
    changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(HodError):
    """A required setting is missing or invalid."""


class DeviceGone(HodError):
    """A push service says the device's subscription no longer exists (HTTP 404 or 410): it is to be forgotten."""


class DependencyFailed(HodError):
    """An AWS call failed; the adapter wrapped the SDK error in this. `retryable`: the service was throttling or
    briefly unavailable (after the SDK's own retries), so the same call may succeed later."""

    def __init__(self, service: str, operation: str, detail: str, *, retryable: bool = False) -> None:
        super().__init__(f"{service}.{operation} failed: {detail}")
        self.reason = "busy"
        self.service = service
        self.operation = operation
        self.retryable = retryable
