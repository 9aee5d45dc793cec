"""The administrators' routes (admin token): agent import and look-up, suspensions, a referral's audit trail and
the program's metrics (R2, R9, R11)."""

from __future__ import annotations

from chalice.app import Response

from hod import wiring
from hod.api import views
from hod.api.agent_import import parse_import
from hod.api.models import (
    AgentForAdmin,
    ImportAnswer,
    MetricsQuery,
    MetricsReport,
    ReferralForAdmin,
    SuspendedAgents,
    SuspendedQuery,
)
from hod.api.report_models import (
    AgentMatches,
    AgentSearchQuery,
    ListedReferralRow,
    ReferralList,
    ReferralListQuery,
    Suspension,
)
from hod.api.routing import JSON, Audience, logger, raw_body
from hod.services import reports
from hod.services.agents import AgentView

administrators = Audience("administrators", tag="administrators")
CSV = "text/csv"


def _agent(view: AgentView) -> AgentForAdmin:
    return views.agent_for_admin(view, wiring.workflow.missed_offers().missed_recently(view.agent.npn))


@administrators.route(
    "/admin/agents/import",
    "POST",
    summary="Load agents in bulk (JSON array or CSV); per-record results",
    auth="admin",
    scope="agents:import",
    body_media=(JSON, CSV),
    response=ImportAnswer,
)
def import_agents(admin: str) -> ImportAnswer:
    """Records are validated one by one: the answer says, per record, whether it was created, updated, unchanged
    or refused (and why)."""
    request = administrators.request
    rows = parse_import(raw_body(request), request.headers.get("content-type", JSON))
    report = wiring.services.agents().import_agents(rows)
    logger().info("agents imported", extra={"by": admin, "import_summary": report.summary})
    return views.import_report(report)


@administrators.route(
    "/admin/agents/{npn}",
    "GET",
    summary="An agent's record, eligibility and availability",
    auth="admin",
    scope="agents:read",
    response=AgentForAdmin,
)
def admin_agent(npn: str) -> AgentForAdmin:
    return _agent(wiring.services.agents().view(npn))


@administrators.route(
    "/admin/agents/{npn}/reactivate",
    "POST",
    summary="Lift an agent's suspension",
    auth="admin",
    scope="agents:reactivate",
    response=AgentForAdmin,
)
def admin_reactivate(npn: str, admin: str) -> AgentForAdmin:
    view = wiring.services.agents().reactivate(npn)
    logger().info("agent reactivated", extra={"by": admin, "agent_npn": npn})
    return _agent(view)


@administrators.route(
    "/admin/agents/{npn}/suspend",
    "POST",
    summary="Suspend an agent: no referrals are offered to them until reactivated",
    auth="admin",
    scope="agents:suspend",
    body=Suspension,
    response=AgentForAdmin,
)
def admin_suspend(npn: str, admin: str, body: Suspension) -> AgentForAdmin:
    view = wiring.services.agents().suspend(npn, body.reason)
    logger().info("agent suspended", extra={"by": admin, "agent_npn": npn})
    return _agent(view)


@administrators.route(
    "/admin/search/agents",
    "GET",
    summary="Find agents by NPN, e-mail address or the start of their name (any case, accents optional): "
    "eligibility and suspension",
    auth="admin",
    scope="agents:read",
    query=AgentSearchQuery,
    response=AgentMatches,
)
def admin_find_agents(query: AgentSearchQuery) -> AgentMatches:
    agents = wiring.services.agents()
    found = wiring.views.reports().find_agents(query.q, query.limit)
    return AgentMatches(agents=[views.agent_match(agents.view_of(agent)) for agent in found])


@administrators.route(
    "/admin/referrals/{referral_id}",
    "GET",
    summary="A referral and its audit trail (no consumer contact details), by its id or its confirmation code "
    "(HK7M-4QXZ; any case, hyphen optional)",
    auth="admin",
    scope="referrals:read",
    response=ReferralForAdmin,
)
def admin_referral(referral_id: str) -> ReferralForAdmin:
    return views.referral_for_admin(*wiring.views.referral_views().with_audit_trail(referral_id))


@administrators.route(
    "/admin/referrals",
    "GET",
    summary="A day's referrals (today by default) in a time zone that are open, in the safety net or unserved, "
    "oldest first",
    auth="admin",
    scope="referrals:read",
    query=ReferralListQuery,
    response=ReferralList,
)
def admin_referral_list(query: ReferralListQuery) -> ReferralList:
    day = query.day or reports.local_today(query.tz, wiring.clock().now())
    found = wiring.views.reports().referral_list(query.list, query.tz, day)
    rows = [ListedReferralRow.model_validate(row, from_attributes=True) for row in found.referrals]
    return ReferralList(kind=query.list, tz=query.tz, day=day, referrals=rows, truncated=found.truncated)


@administrators.route(
    "/admin/agents",
    "GET",
    summary="Suspended agents, by NPN: reason, when, missed referrals in the last 7 days; a page at a time "
    "(`after` = the previous page's next_after)",
    auth="admin",
    scope="agents:read",
    query=SuspendedQuery,
    response=SuspendedAgents,
)
def admin_agents(query: SuspendedQuery) -> SuspendedAgents:
    """Suspended agents (R9), a page at a time, with why and how many referrals they missed in the last 7 days."""
    return views.suspended_agents(*wiring.views.reports().suspended_agents(query.limit, query.after))


@administrators.route(
    "/admin/metrics",
    "GET",
    summary="Program metrics for the days `from`-`to` in time zone `tz` (UTC by default; both included, at most 31 "
    "days): volumes by state and "
    "language, time to accept (p50/p90/p95), missed-offer and safety-net rates, unserved; format=csv for the same "
    "table as CSV",
    auth="admin",
    scope="metrics:read",
    query=MetricsQuery,
    response=MetricsReport,
    description="Metrics as JSON, or text/csv with format=csv",
    media=(JSON, CSV),
)
def admin_metrics(admin: str, query: MetricsQuery) -> MetricsReport | Response:
    """Program metrics (R11) for the days from–to in `tz`: JSON, or the same table as CSV (format=csv)."""
    program = wiring.views.reports().metrics(query.from_, query.to, query.tz)
    logger().info("metrics read", extra={"by": admin, "from": query.from_.isoformat(), "to": query.to.isoformat()})
    if query.format == "csv":
        name = f"hod-metrics-{query.from_.isoformat()}-to-{query.to.isoformat()}.csv"
        return views.csv_download(reports.metrics_csv(program), name)
    return views.metrics_report(query, program, wiring.clock().now())
