"""The agents' routes (signed in with a session token): profile, availability, phones for app push, and Manage
Referrals with the answers an agent gives from the portal (R3, R4, R8, R11)."""

from __future__ import annotations

from dataclasses import asdict

from chalice.app import Response

from hod import wiring
from hod.api import views
from hod.api.models import (
    AcceptedReferral,
    AgentAvailability,
    AgentProfile,
    AgentReferrals,
    Devices,
    OutOfOffice,
    ProfileUpdate,
    PushDevice,
    RejectedReferral,
    StatusChange,
    TodayChange,
    WebPushSubscription,
    WeeklyChange,
)
from hod.api.report_models import AgentMetricsQuery, AgentMetricsReport, AgentReferralsQuery
from hod.api.routing import JSON, Audience
from hod.domain.referral import ReferralStatus
from hod.services import agent_reports
from hod.services.agents import AgentView

agents = Audience("agents", tag="agents")
CSV = "text/csv"


def _profile(view: AgentView) -> AgentProfile:
    return views.profile(view, wiring.workflow.missed_offers().missed_recently(view.agent.npn))


@agents.route("/agent/profile", "GET", summary="Your profile and eligibility", auth="agent", response=AgentProfile)
def get_profile(npn: str) -> AgentProfile:
    return _profile(wiring.services.agents().view(npn))


@agents.route(
    "/agent/profile",
    "PUT",
    summary="Change languages, the language of pages and messages, contact method, state preferences",
    auth="agent",
    body=ProfileUpdate,
    response=AgentProfile,
)
def put_profile(npn: str, body: ProfileUpdate) -> AgentProfile:
    return _profile(wiring.services.agents().update_profile(npn, body))


@agents.route(
    "/agent/availability",
    "GET",
    summary="Your availability settings and whether you are available now",
    auth="agent",
    response=AgentAvailability,
)
def get_availability(npn: str) -> AgentAvailability:
    return views.availability(wiring.services.agents().view(npn))


@agents.route(
    "/agent/availability",
    "PUT",
    summary="Set your standard weekly hours",
    auth="agent",
    body=WeeklyChange,
    response=AgentAvailability,
)
def put_availability(npn: str, body: WeeklyChange) -> AgentAvailability:
    return views.availability(wiring.services.agents().set_weekly_schedule(npn, body.weekly, body.time_zone))


@agents.route(
    "/agent/availability/today",
    "PUT",
    summary="Today's Availability On (until a stop time) or Off",
    auth="agent",
    body=TodayChange,
    response=AgentAvailability,
)
def put_today(npn: str, body: TodayChange) -> AgentAvailability:
    return views.availability(wiring.services.agents().set_today(npn, body.available, body.stop_at))


@agents.route(
    "/agent/availability/today",
    "DELETE",
    summary="Back to your weekly hours for today",
    auth="agent",
    response=AgentAvailability,
)
def delete_today(npn: str) -> AgentAvailability:
    return views.availability(wiring.services.agents().set_today(npn, None))


@agents.route(
    "/agent/availability/out-of-office",
    "PUT",
    summary="Set Out of Office (with or without an end)",
    auth="agent",
    body=OutOfOffice,
    response=AgentAvailability,
)
def put_out_of_office(npn: str, body: OutOfOffice) -> AgentAvailability:
    return views.availability(wiring.services.agents().set_out_of_office(npn, body))


@agents.route(
    "/agent/availability/out-of-office",
    "DELETE",
    summary="Switch Out of Office off",
    auth="agent",
    response=AgentAvailability,
)
def delete_out_of_office(npn: str) -> AgentAvailability:
    return views.availability(wiring.services.agents().set_out_of_office(npn, None))


@agents.route(
    "/agent/devices",
    "PUT",
    summary="Register your phone for app push notifications",
    auth="agent",
    body=PushDevice,
    response=Devices,
)
def put_device(npn: str, body: PushDevice) -> Devices:
    """Register the agent's phone for app push (the Help On Demand app calls this after sign-in)."""
    view = wiring.services.agents().register_device(npn, body)
    return Devices(devices=[device.platform for device in view.agent.devices])


@agents.route(
    "/agent/devices/webpush",
    "PUT",
    summary="Register this browser for app notifications (Web Push): its PushSubscription as toJSON() gives it",
    auth="agent",
    body=WebPushSubscription,
    response=Devices,
)
def put_web_push(npn: str, body: WebPushSubscription) -> Devices:
    """Register a browser's push subscription like a phone (the portal's "Turn on notifications on this device")."""
    return put_device(npn, body.device())


@agents.route(
    "/agent/referrals",
    "GET",
    summary="Manage Referrals: your offers of the last `days` days (default 30) or of the days `from`-`to`, newest "
    "first, filtered by status and the consumer's name, a page at a time; consumer details only on referrals you "
    "accepted; format=csv for every matching row and the totals",
    auth="agent",
    query=AgentReferralsQuery,
    response=AgentReferrals,
    description="Rows as JSON, or text/csv with format=csv",
    media=(JSON, CSV),
)
def agent_referrals(npn: str, query: AgentReferralsQuery) -> AgentReferrals | Response:
    """Manage Referrals (R11), filtered on the server."""
    reports = wiring.views.agent_reports()
    now = wiring.clock().now()
    span = agent_reports.period(now, query.days, query.from_, query.to, query.tz)
    which = agent_reports.RowFilter(query.statuses, query.first_name or "", query.last_name or "")
    if query.format == "csv":
        rows = reports.every_row(npn, span, which)
        body = agent_reports.referrals_csv(rows, agent_reports.measured(rows))
        return views.csv_download(body, f"help-on-demand-referrals-{now.date().isoformat()}.csv")
    rows, next_before = reports.page(npn, span, which, query.limit, query.before)
    return views.agent_referrals(rows, next_before)


@agents.route(
    "/agent/metrics",
    "GET",
    summary="Your numbers over the last `days` days: offers by status and outcome, acceptance rate, response times",
    auth="agent",
    query=AgentMetricsQuery,
    response=AgentMetricsReport,
)
def agent_metrics(npn: str, query: AgentMetricsQuery) -> AgentMetricsReport:
    now = wiring.clock().now()
    span = agent_reports.period(now, query.days, None, None, "UTC")
    found = wiring.views.agent_reports().metrics(npn, span)
    return AgentMetricsReport(days=query.days, start=span.start, end=now, **asdict(found))


@agents.route(
    "/agent/referrals/{referral_id}/accept",
    "POST",
    summary="Accept a referral offered to you",
    auth="agent",
    response=AcceptedReferral,
    conflict=True,
)
def agent_accept(npn: str, referral_id: str) -> AcceptedReferral:
    return views.accepted_referral(wiring.workflow.answers().accept(referral_id, npn, via="portal"))


@agents.route(
    "/agent/referrals/{referral_id}/reject",
    "POST",
    summary="Reject a referral offered to you",
    auth="agent",
    response=RejectedReferral,
    conflict=True,
)
def agent_reject(npn: str, referral_id: str) -> RejectedReferral:
    wiring.workflow.answers().reject(referral_id, npn, via="portal")
    return RejectedReferral(referral_id=referral_id, status="rejected")


@agents.route(
    "/agent/referrals/{referral_id}/status",
    "POST",
    summary="Report progress on a referral you accepted",
    auth="agent",
    body=StatusChange,
    response=AcceptedReferral,
    conflict=True,
)
def agent_status(npn: str, referral_id: str, body: StatusChange) -> AcceptedReferral:
    referral = wiring.workflow.answers().set_status(
        referral_id, npn, ReferralStatus(body.status), body.reason, body.outcome
    )
    return views.accepted_referral(referral)
