"""The API's contract: every request body, query string and response body, as the models the routes declare.

Read this module to know the API's shapes. Request models that are the domain's own words stay in the domain and are
named here (`ConsumerRequest`, `ProfileUpdate`, `PushDevice`, `OutOfOffice`); the OpenAPI document is generated from
the routes' declarations of these models (`hod.api.openapi`).

Responses are built from these models and serialized as JSON by the route decorator (`hod.api.routing`). Times
are ISO 8601 with the offset written out (`2026-11-24T15:00:00+00:00`), except where a domain model carries its own
(the availability settings, the agent record, audit events). Responses carry consumer contact details only where the
caller may see them (R7): never in an administrator's view of a referral.
"""

# No `from __future__ import annotations` here: pydantic would then compile and evaluate every field's annotation
# from its text when the classes are built, on every cold start of the intake function.
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from hod.domain import availability as av
from hod.domain.agent import Address, AgentRecord, ContactMethod, Email, PageLanguage, PushPlatform
from hod.domain.agent import ProfileUpdate as ProfileUpdate  # the domain's request models, named here
from hod.domain.agent import PushDevice as PushDevice
from hod.domain.agent import WebPushSubscription as WebPushSubscription
from hod.domain.availability import EARLIEST_MOMENT, LATEST_MOMENT
from hod.domain.availability import OutOfOffice as OutOfOffice
from hod.domain.metrics import GroupMetrics
from hod.domain.offer import CompletedOutcome, NotGoodReason, OfferKind
from hod.domain.referral import AuditEvent, ReferralStatus
from hod.domain.referral import ConsumerRequest as ConsumerRequest
from hod.errors import FieldProblem, Reason, problem
from hod.services.agents import ImportResult
from hod.services.reports import MAX_SUSPENDED_PAGE

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RowStatus = Literal[
    "pending", "accepted", "rejected", "missed", "taken", "in_progress", "not_a_good_referral", "completed"
]
ROW_STATUSES: tuple[str, ...] = RowStatus.__args__  # type: ignore[attr-defined]


def _whole_number(value: Any) -> Any:
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError("must be a whole number")
    return value


def _iso_day(value: Any) -> Any:
    if not isinstance(value, str) or not _DAY.match(value.strip()):
        raise ValueError("a date as YYYY-MM-DD")
    return value.strip()


def _this_century(value: date) -> date:
    if not EARLIEST_MOMENT.year <= value.year < LATEST_MOMENT.year:
        raise ValueError(f"must be between {EARLIEST_MOMENT.year} and {LATEST_MOMENT.year - 1}")
    return value


# A query's whole number, and its day as YYYY-MM-DD (a query string's text, checked before pydantic converts it)
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_this_century)]

Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda moment: moment.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


# ----- requests --------------------------------------------------------------------------------------------------
class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class SignInRequest(_Request):
    """Ask for a one-time sign-in link for the agent pages, sent to this address if it is an agent's."""

    model_config = ConfigDict(str_strip_whitespace=True)

    email: Email


class SessionRequest(_Request):
    """The token of a sign-in or account activation link (the part after #t= in the link)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    token: str = Field(min_length=10, max_length=2048)


class WeeklyChange(_Request):
    """New standard weekly hours, optionally with the agent's (browser-detected) time zone."""

    weekly: av.WeeklySchedule
    time_zone: str | None = Field(default=None, examples=["America/Chicago"])


class TodayChange(_Request):
    """Today's Availability: On (until the optional Stop Referrals time) or Off for the rest of today."""

    available: bool
    stop_at: str | None = Field(default=None, examples=["20:00"], description="HH:MM; only with available=true")


class StatusChange(_Request):
    """The accepting agent's progress report (R8)."""

    status: Literal["in_progress", "not_a_good_referral", "completed"]
    reason: NotGoodReason | None = Field(
        default=None, validate_default=True, description="Required with not_a_good_referral, and only with it"
    )
    outcome: CompletedOutcome | None = Field(
        default=None, validate_default=True, description="Required with completed, and only with it"
    )

    @field_validator("reason", "outcome")
    @classmethod
    def _goes_with_its_status(cls, value: Any, info: ValidationInfo) -> Any:
        """A reason with Not a Good Referral, an outcome with Completed, and neither with another status."""
        status = info.data.get("status")
        needed_by = "not_a_good_referral" if info.field_name == "reason" else "completed"
        if status == needed_by and value is None:
            raise problem("needed_with_status", f"is required with {needed_by}")
        if status is not None and status != needed_by and value is not None:
            raise problem("not_with_status", f"goes only with {needed_by}")
        return value


class LinkForm(BaseModel):
    """The form a signed-link page posts (its Accept or Reject button)."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    t: str | None = Field(default=None, description="the signed link's token")
    lang: str | None = Field(
        default=None, max_length=8, description="the language of the page that posted it (en or es), for the answer's"
    )
    tz: str | None = Field(
        default=None,
        max_length=64,
        description="the agent's time zone (IANA), for the clock times of the answer's page",
    )


# ----- query strings ---------------------------------------------------------------------------------------------
class PageLanguageQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    lang: str | None = Field(
        default=None, examples=["es"], description="en or es; otherwise the browser's language, else English"
    )


class LinkQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    t: str | None = Field(default=None, description="the signed link's token")


class SuspendedQuery(BaseModel):
    """`GET /admin/agents?status=suspended`: one page of suspended agents, by NPN."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    status: Literal["suspended"] = Field(description="only suspended agents can be listed")
    limit: int = Field(default=50, ge=1, le=MAX_SUSPENDED_PAGE, description="agents per page")
    after: str | None = Field(default=None, pattern=r"^\d{1,10}$", description="continue after this NPN")


class MetricsQuery(BaseModel):
    """`GET /admin/metrics`: days from–to in time zone `tz` (UTC by default), both included."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    from_: Day = Field(alias="from", description="first day, YYYY-MM-DD in `tz`")
    to: Day = Field(description="last day, YYYY-MM-DD in `tz` (included)")
    tz: str = Field(default="UTC", max_length=64, examples=["America/Chicago"], description="the days' time zone")
    format: Literal["json", "csv"] = Field(default="json", description="csv: the same table as a CSV file")


# ----- responses -------------------------------------------------------------------------------------------------
class Answer(BaseModel):
    """A response body: exactly these fields, every one always present (null where it has no value)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", defer_build=True, json_schema_serialization_defaults_required=True
    )


class Health(Answer):
    status: Literal["ok"]
    time: Timestamp


class Locality(Answer):
    """Where a consumer is, as agents see it before accepting."""

    city: str
    county: str
    state: str


class ConsumerContact(Answer):
    first_name: str
    last_name: str
    phone: str
    email: str | None


class ReferralReceipt(Answer):
    """A consumer's request, received."""

    referral_id: str
    confirmation_code: str = Field(
        description="the code the consumer is given to quote (8 symbols, no 0/O or 1/I/L, grouped: HK7M-4QXZ)",
        examples=["HK7M-4QXZ"],
    )
    status: ReferralStatus
    language: str
    place: Locality
    message: str = Field(description="the thank-you message, in the consumer's language")
    status_link: str = Field(
        description="the consumer's status page (a signed link, valid 30 days), as in the receipt's e-mail"
    )
    status_token: str = Field(description="the status link's token, for GET /status.json?t=")


class ImportSummary(Answer):
    received: int
    created: int
    updated: int
    unchanged: int
    refused: int


class ImportAnswer(Answer):
    summary: ImportSummary
    results: list[ImportResult]


class AgentProfile(Answer):
    npn: str
    first_name: str
    last_name: str
    email: str
    phone: str
    mobile_phone: str | None
    business_address: Address
    home_state: str
    languages: list[str]
    page_language: PageLanguage | None = Field(
        description="the language of pages and messages the agent chose (none yet: pages follow the browser, "
        "messages the first language spoken)"
    )
    contact_method: ContactMethod
    state_preferences: list[str] | None
    eligible_states: list[str]
    offer_states: list[str]
    not_eligible: list[str]
    suspended: bool
    missed_in_last_7_days: int
    alert: str | None = Field(description="the sign-in alert when referrals were missed in the last 7 days")
    devices: list[PushPlatform] = Field(
        default_factory=list,
        description="the platforms of the phones and browsers registered for app push (none: pushes reach no one)",
    )


class AgentAvailability(Answer):
    availability: av.Availability
    available_now: bool
    next_change: Timestamp | None


class AgentLocation(Answer):
    lat: float
    lon: float
    city: str
    county: str


class AgentForAdmin(Answer):
    record: AgentRecord
    location: AgentLocation
    profile: AgentProfile
    availability: av.Availability
    available_now: bool
    next_change: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class ReferralPlace(Answer):
    zip: str
    city: str
    county: str
    state: str


class ReferralForAdmin(Answer):
    """A referral and its audit trail, without the consumer's name or contact details."""

    referral_id: str
    confirmation_code: str | None = Field(description="the code the consumer was given (HK7M-4QXZ)")
    status: ReferralStatus
    language: str
    place: ReferralPlace
    created_at: Timestamp
    updated_at: Timestamp
    audit_trail: list[AuditEvent]


class SuspendedAgentRow(Answer):
    npn: str
    first_name: str
    last_name: str
    email: str
    home_state: str
    suspended_reason: str | None
    suspended_at: Timestamp | None
    missed_in_last_7_days: int


class SuspendedAgents(Answer):
    agents: list[SuspendedAgentRow]
    next_after: str | None = Field(description="pass as `after` for the next page; null on the last page")


class MetricsColumn(Answer):
    name: str
    label: str


class MetricsLimits(Answer):
    max_days: int
    max_items: int


class MetricsReport(Answer):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    days_in: str = Field(description="the time zone of the days (IANA name; UTC unless `tz` said otherwise)")
    generated_at: Timestamp
    columns: list[MetricsColumn]
    totals: GroupMetrics
    by_state: list[GroupMetrics]
    by_language: list[GroupMetrics]
    limits: MetricsLimits


class SignInSent(Answer):
    message: str


class AgentSession(Answer):
    token: str
    npn: str
    first_name: str
    expires_at: Timestamp


class ReferralRow(Answer):
    """One row of Manage Referrals (R11): an offer the agent received."""

    referral_id: str
    kind: OfferKind
    status: RowStatus = Field(description="the offer's status, or the referral's once this agent accepted it")
    assigned_at: Timestamp
    expires_at: Timestamp | None = Field(description="direct offers only")
    answered_at: Timestamp | None
    place: Locality
    language: str
    consumer: ConsumerContact | None = Field(description="only on referrals this agent accepted")


class MissedReferralRow(ReferralRow):
    """An offer left unanswered past its deadline."""

    label: Literal["Missed Referral"]


class AcceptedReferralRow(ReferralRow):
    """A referral this agent accepted, with how it went."""

    not_good_reason: str | None
    outcome: str | None


class AgentReferrals(Answer):
    referrals: list[AcceptedReferralRow | MissedReferralRow | ReferralRow] = Field(description="newest first")
    next_before: Timestamp | None = Field(
        default=None, description="pass as `before` for the next page; null on the last page"
    )


class AcceptedReferral(Answer):
    """What the accepting agent gets: the consumer's name and contact details (R7)."""

    referral_id: str
    status: ReferralStatus
    consumer: ConsumerContact
    place: Locality
    language: str
    accepted_at: Timestamp | None


class RejectedReferral(Answer):
    referral_id: str
    status: Literal["rejected"]


class Devices(Answer):
    devices: list[PushPlatform] = Field(
        description="the platforms of the agent's registered phones and browsers (webpush)"
    )


class PushKey(Answer):
    public_key: str = Field(description="the VAPID public key: an uncompressed P-256 point, base64url")


ErrorCode = Literal[
    "validation_failed",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "unsupported_media_type",
    "unprocessable",
    "unavailable",
    "internal",
    "bad_request",  # API Gateway's own refusals (template.yaml's GatewayResponses)
]


class Error(Answer):
    """Why a request was refused; nothing was changed. `message` is written for developers (English); `reason` is
    the refusal's stable key, for a page to word in its own language (null where the status says all: the service
    busy, a refusal of the gateway's own)."""

    error: ErrorCode
    message: str
    reason: Reason | None = Field(
        default=None,
        description="the refusal's stable machine-readable key (hod.errors.Reason): it keeps its meaning, and a new "
        "kind of refusal gets a new key, so a client words what it knows and falls back on the status otherwise",
    )


class InvalidInput(Error):
    fields: dict[str, str] = Field(description="each problem, by the field it concerns (English, for developers)")
    problems: dict[str, FieldProblem] = Field(
        description="each problem's stable key, by the same fields (invalid: one with no more specific key)"
    )
