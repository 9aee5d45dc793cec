"""What the API answers: request models for the smaller bodies and the shapes of responses.

Responses carry consumer contact details only where the caller may see them (R7): never in the admin's referral view.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hod.domain import availability as av
from hod.domain.offer import CompletedOutcome, NotGoodReason
from hod.domain.referral import AuditEvent, Referral
from hod.services.agents import AgentView, ImportReport
from hod.services.referral_views import MISSED, AgentReferral

RECEIPT_MESSAGES = {
    "en": "Thank you. A licensed agent or broker who speaks your language will contact you shortly.",
    "es": "Gracias. Un agente o corredor con licencia que habla su idioma se comunicará con usted en breve.",
}


class WeeklyChange(BaseModel):
    """New standard weekly hours, optionally with the agent's (browser-detected) time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weekly: av.WeeklySchedule
    time_zone: str | None = Field(default=None, examples=["America/Chicago"])


class TodayChange(BaseModel):
    """Today's Availability: On (until the optional Stop Referrals time) or Off for the rest of today."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    available: bool
    stop_at: str | None = Field(default=None, examples=["20:00"], description="HH:MM; only with available=true")


class SignInRequest(BaseModel):
    """Ask for a one-time sign-in link for the agent pages, sent to this address if it is an agent's."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=254, examples=["agent@example.com"])


class SessionRequest(BaseModel):
    """The token of a sign-in or account activation link (the part after #t= in the link)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    token: str = Field(min_length=10, max_length=2048)


def referral_receipt(referral: Referral) -> dict[str, Any]:
    place = referral.place
    return {
        "referral_id": referral.referral_id,
        "status": referral.status.value,
        "language": referral.language,
        "place": {"city": place.city, "county": place.county, "state": place.state},
        "message": RECEIPT_MESSAGES.get(referral.language, RECEIPT_MESSAGES["en"]),
    }


def import_report(report: ImportReport) -> dict[str, Any]:
    return {"summary": report.summary, "results": [asdict(result) for result in report.results]}


def _states(view: AgentView) -> dict[str, Any]:
    return {
        "eligible_states": sorted(view.eligible_states),
        "offer_states": sorted(view.offer_states),
        "not_eligible": list(view.not_eligible),
        "suspended": view.agent.suspended,
    }


def profile(view: AgentView, missed_in_last_7_days: int = 0, alert: str | None = None) -> dict[str, Any]:
    agent = view.agent
    record = agent.record
    return {
        "npn": agent.npn,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "email": record.email,
        "phone": record.phone,
        "mobile_phone": agent.mobile_phone,
        "business_address": record.business_address.model_dump(mode="json"),
        "home_state": record.home_state,
        "languages": list(agent.languages),
        "contact_method": agent.contact_method.value,
        "state_preferences": list(agent.state_preferences) if agent.state_preferences is not None else None,
        **_states(view),
        "missed_in_last_7_days": missed_in_last_7_days,
        "alert": alert,
    }


def availability(view: AgentView) -> dict[str, Any]:
    return {
        "availability": view.agent.availability.model_dump(mode="json"),
        "available_now": view.available_now,
        "next_change": view.next_change.isoformat() if view.next_change else None,
    }


def agent_for_admin(view: AgentView, missed_in_last_7_days: int = 0, alert: str | None = None) -> dict[str, Any]:
    agent = view.agent
    return {
        "record": agent.record.model_dump(mode="json"),
        "location": {
            "lat": agent.location.lat,
            "lon": agent.location.lon,
            "city": agent.city,
            "county": agent.county,
        },
        "profile": profile(view, missed_in_last_7_days, alert),
        **availability(view),
        "created_at": agent.created_at.isoformat(),
        "updated_at": agent.updated_at.isoformat(),
    }


def referral_for_admin(referral: Referral, trail: list[AuditEvent]) -> dict[str, Any]:
    place = referral.place
    return {
        "referral_id": referral.referral_id,
        "status": referral.status.value,
        "language": referral.language,
        "place": {"zip": place.zip, "city": place.city, "county": place.county, "state": place.state},
        "created_at": referral.created_at.isoformat(),
        "updated_at": referral.updated_at.isoformat(),
        "audit_trail": [event.model_dump(mode="json") for event in trail],
    }


class StatusChange(BaseModel):
    """The accepting agent's progress report (R8)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["in_progress", "not_a_good_referral", "completed"]
    reason: NotGoodReason | None = Field(default=None, description="Required with not_a_good_referral")
    outcome: CompletedOutcome | None = Field(default=None, description="Required with completed")


def agent_row(row: AgentReferral) -> dict[str, Any]:
    """One row of Manage Referrals (R11): where the consumer is; who they are only on a referral this agent
    accepted (R7)."""
    offer = row.offer
    answer: dict[str, Any] = {
        "referral_id": offer.referral_id,
        "kind": offer.kind.value,
        "status": row.status,
        "assigned_at": offer.offered_at.isoformat(),
        "expires_at": offer.deadline.isoformat() if offer.kind.value == "direct" else None,
        "answered_at": offer.decided_at.isoformat() if offer.decided_at else None,
        "place": {"city": offer.city, "county": offer.county, "state": offer.state},
        "language": offer.language,
        "consumer": None,
    }
    if row.status == MISSED:
        answer["label"] = "Missed Referral"
    if row.accepted is not None:
        consumer = row.accepted.consumer
        answer["consumer"] = {
            "first_name": consumer.first_name,
            "last_name": consumer.last_name,
            "phone": consumer.phone,
            "email": consumer.email,
        }
        answer["not_good_reason"] = row.accepted.not_good_reason
        answer["outcome"] = row.accepted.outcome
    return answer


def accepted_referral(referral: Referral) -> dict[str, Any]:
    """What the accepting agent gets: the consumer's name and contact details (R7)."""
    consumer = referral.consumer
    return {
        "referral_id": referral.referral_id,
        "status": referral.status.value,
        "consumer": {
            "first_name": consumer.first_name,
            "last_name": consumer.last_name,
            "phone": consumer.phone,
            "email": consumer.email,
        },
        "place": {"city": referral.place.city, "county": referral.place.county, "state": referral.place.state},
        "language": referral.language,
        "accepted_at": referral.accepted_at.isoformat() if referral.accepted_at else None,
    }
