"""Referrals: a consumer's request for help, where they are, and what has happened to it (R1, R7, R8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hod.domain.agent import Email, Language, PersonName, Phone, ZipCode
from hod.domain.confirmation import grouped


class ConsumerRequest(BaseModel):
    """What a consumer submits on "Get Contacted"."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    first_name: PersonName
    last_name: PersonName
    phone: Phone = Field(description="US phone number; agents call this number")
    email: Email | None = Field(default=None, description="Optional e-mail address")
    zip: ZipCode = Field(description="5-digit ZIP code where the consumer lives")
    language: Language = Field(default="en", description="Preferred language (ISO 639-1 code)")

    @field_validator("zip")
    @classmethod
    def _served(cls, code: str, info: ValidationInfo) -> str:
        """Whether the service takes referrals from this ZIP code, when the caller says how to tell (the validation
        context's "zip_problem": a ZIP code -> why not, or None), so its answer comes with the other fields'."""
        zip_problem: Callable[[str], str | None] | None = (info.context or {}).get("zip_problem")
        problem = zip_problem(code) if zip_problem else None
        if problem:
            raise ValueError(problem)
        return code


class Place(BaseModel):
    """Where the consumer lives, derived from the ZIP code: all an agent sees before accepting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zip: str
    city: str
    county: str
    state: str
    lat: float
    lon: float
    time_zone: str


class ReferralStatus(StrEnum):
    """The referral as a whole (offers to individual agents carry their own status)."""

    SEARCHING = "searching"
    OFFERED = "offered"
    SAFETY_NET = "safety_net"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    NOT_A_GOOD_REFERRAL = "not_a_good_referral"
    COMPLETED = "completed"
    UNSERVED = "unserved"


class Referral(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    referral_id: str
    consumer: ConsumerRequest
    place: Place
    language: str
    status: ReferralStatus
    created_at: datetime
    updated_at: datetime
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    safety_net_round: int = 0
    not_good_reason: str | None = None
    outcome: str | None = None
    confirmation_code: str | None = Field(
        default=None, description="the short code the consumer is given (hod.domain.confirmation), without hyphen"
    )

    @property
    def shown_code(self) -> str:
        """The confirmation code as people read it ("HK7M-4QXZ"); empty on referrals stored before codes."""
        return grouped(self.confirmation_code) if self.confirmation_code else ""

    @property
    def area(self) -> str:
        """The available-now index partition this referral is matched in."""
        return f"{self.place.state}#{self.language}"


class AuditEvent(BaseModel):
    """One entry of a referral's audit trail. Never carries the consumer's name or contact details."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    actor: str = Field(description="consumer, system, admin or agent:<npn>")
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


class WorkflowStart(BaseModel):
    """A referral workflow's input: enough for its first round (match, offer, audit) without reading the referral
    back. Never the consumer's name or contact details (executions keep their input for 90 days); `receipt` holds
    the outcome of each channel of the consumer's receipt, sent before the workflow started."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    referral_id: str
    offer_window_seconds: int = Field(ge=1)
    safety_net_window_seconds: int = Field(ge=1)
    at: datetime
    place: Place
    language: str
    receipt: dict[str, str] = Field(default_factory=dict)
    run: int = Field(default=0, ge=0, description="0: the referral's first execution; n: its n-th restart")

    @property
    def area(self) -> str:
        return f"{self.place.state}#{self.language}"
