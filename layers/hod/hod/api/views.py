"""Service results as the API's response models (`hod.api.models`): which fields of an agent, a referral or a
report each audience is given. No decisions here: the services decide what is shown (R7: consumer details only to
the agent who accepted; never in an administrator's view of a referral)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice.app import Response

from hod.api import models as m
from hod.api import report_models as rm
from hod.domain.metrics import COLUMNS, ProgramMetrics
from hod.domain.offer import OfferKind
from hod.domain.referral import AuditEvent, Referral
from hod.services.agents import AgentView, ImportReport
from hod.services.referral_views import MISSED, AgentReferral
from hod.services.reports import MAX_METRICS_DAYS, MAX_METRICS_ITEMS, SuspendedAgent
from hod.services.workflow.missed import missed_alert


def csv_download(body: str, filename: str) -> Response:
    """A CSV file to download, never cached."""
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


RECEIPT_MESSAGES = {
    "en": "Thank you. A licensed agent or broker who speaks your language will contact you shortly.",
    "es": "Gracias. Un agente o corredor con licencia que habla su idioma se comunicará con usted en breve.",
}


def _locality(place: object) -> m.Locality:
    return m.Locality.model_validate(place, from_attributes=True)


def _consumer(referral: Referral) -> m.ConsumerContact:
    return m.ConsumerContact.model_validate(referral.consumer, from_attributes=True)


def referral_receipt(referral: Referral, status_link: str, status_token: str) -> m.ReferralReceipt:
    return m.ReferralReceipt(
        referral_id=referral.referral_id,
        confirmation_code=referral.shown_code,
        status=referral.status,
        language=referral.language,
        place=_locality(referral.place),
        message=RECEIPT_MESSAGES.get(referral.language, RECEIPT_MESSAGES["en"]),
        status_link=status_link,
        status_token=status_token,
    )


def import_report(report: ImportReport) -> m.ImportAnswer:
    return m.ImportAnswer(summary=m.ImportSummary(**report.summary), results=report.results)


def profile(view: AgentView, missed_in_last_7_days: int) -> m.AgentProfile:
    agent = view.agent
    record = agent.record
    return m.AgentProfile(
        npn=agent.npn,
        first_name=record.first_name,
        last_name=record.last_name,
        email=record.email,
        phone=record.phone,
        mobile_phone=agent.mobile_phone,
        business_address=record.business_address,
        home_state=record.home_state,
        languages=list(agent.languages),
        page_language=agent.page_language,
        contact_method=agent.contact_method,
        state_preferences=list(agent.state_preferences) if agent.state_preferences is not None else None,
        eligible_states=sorted(view.eligible_states),
        offer_states=sorted(view.offer_states),
        not_eligible=list(view.not_eligible),
        suspended=agent.suspended,
        missed_in_last_7_days=missed_in_last_7_days,
        alert=missed_alert(missed_in_last_7_days),
        devices=[device.platform for device in agent.devices],
    )


def availability(view: AgentView) -> m.AgentAvailability:
    return m.AgentAvailability(
        availability=view.agent.availability, available_now=view.available_now, next_change=view.next_change
    )


def agent_for_admin(view: AgentView, missed_in_last_7_days: int) -> m.AgentForAdmin:
    agent = view.agent
    location = agent.location
    return m.AgentForAdmin(
        record=agent.record,
        location=m.AgentLocation(lat=location.lat, lon=location.lon, city=agent.city, county=agent.county),
        profile=profile(view, missed_in_last_7_days),
        availability=agent.availability,
        available_now=view.available_now,
        next_change=view.next_change,
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )


def agent_match(view: AgentView) -> rm.AgentMatch:
    agent = view.agent
    record = agent.record
    return rm.AgentMatch(
        npn=agent.npn,
        first_name=record.first_name,
        last_name=record.last_name,
        email=record.email,
        home_state=record.home_state,
        eligible_states=sorted(view.eligible_states),
        not_eligible=list(view.not_eligible),
        available_now=view.available_now,
        suspended=agent.suspended,
        suspended_reason=agent.suspended_reason,
        suspended_at=agent.suspended_at.isoformat() if agent.suspended_at else None,
    )


def referral_for_admin(referral: Referral, trail: list[AuditEvent]) -> m.ReferralForAdmin:
    return m.ReferralForAdmin(
        referral_id=referral.referral_id,
        confirmation_code=referral.shown_code or None,
        status=referral.status,
        language=referral.language,
        place=m.ReferralPlace.model_validate(referral.place, from_attributes=True),
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        audit_trail=trail,
    )


def suspended_agents(found: list[SuspendedAgent], after: str | None) -> m.SuspendedAgents:
    return m.SuspendedAgents(
        agents=[
            m.SuspendedAgentRow(
                npn=item.agent.npn,
                first_name=item.agent.record.first_name,
                last_name=item.agent.record.last_name,
                email=item.agent.record.email,
                home_state=item.agent.record.home_state,
                suspended_reason=item.agent.suspended_reason,
                suspended_at=item.agent.suspended_at,
                missed_in_last_7_days=item.missed_in_last_7_days,
            )
            for item in found
        ],
        next_after=after,
    )


def metrics_report(query: m.MetricsQuery, metrics: ProgramMetrics, generated_at: datetime) -> m.MetricsReport:
    return m.MetricsReport(
        from_=query.from_,
        to=query.to,
        days_in=query.tz,
        generated_at=generated_at,
        columns=[m.MetricsColumn(name=name, label=label) for name, label in COLUMNS],
        totals=metrics.totals,
        by_state=metrics.by_state,
        by_language=metrics.by_language,
        limits=m.MetricsLimits(max_days=MAX_METRICS_DAYS, max_items=MAX_METRICS_ITEMS),
    )


def agent_referrals(rows: list[AgentReferral], next_before: datetime | None = None) -> m.AgentReferrals:
    return m.AgentReferrals(referrals=[agent_row(row) for row in rows], next_before=next_before)


def agent_row(row: AgentReferral) -> m.ReferralRow:
    """One row of Manage Referrals: where the consumer is; who they are only on a referral this agent accepted."""
    offer = row.offer
    fields: dict[str, Any] = {
        "referral_id": offer.referral_id,
        "kind": offer.kind,
        "status": row.status,
        "assigned_at": offer.offered_at,
        "expires_at": offer.deadline if offer.kind is OfferKind.DIRECT else None,
        "answered_at": offer.decided_at,
        "place": _locality(offer),
        "language": offer.language,
        "consumer": _consumer(row.accepted) if row.accepted else None,
    }
    if row.status == MISSED:
        return m.MissedReferralRow(**fields, label="Missed Referral")
    if row.accepted is not None:
        return m.AcceptedReferralRow(
            **fields, not_good_reason=row.accepted.not_good_reason, outcome=row.accepted.outcome
        )
    return m.ReferralRow(**fields)


def accepted_referral(referral: Referral) -> m.AcceptedReferral:
    """What the accepting agent gets: the consumer's name and contact details (R7)."""
    return m.AcceptedReferral(
        referral_id=referral.referral_id,
        status=referral.status,
        consumer=_consumer(referral),
        place=_locality(referral.place),
        language=referral.language,
        accepted_at=referral.accepted_at,
    )
