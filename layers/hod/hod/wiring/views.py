"""The composition root's reads for agents and administrators through the API: the administrator's reports and
coverage map, an agent's referrals, and the pages and answers of signed links."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from hod.settings import get_settings
from hod.wiring import adapters, clock, factory, services, workflow

if TYPE_CHECKING:
    from hod.services.agent_reports import AgentReports
    from hod.services.coverage import CoverageService
    from hod.services.offer_links import LinkAnswers, LinkPages
    from hod.services.referral_views import ReferralViews
    from hod.services.reports import ReportService


@factory
def reports() -> ReportService:
    """The administrator's reports: suspended agents and program metrics."""
    from hod.adapters.reports import DynamoReports
    from hod.services.reports import ReportService

    settings = get_settings()
    return ReportService(DynamoReports(settings.agents_table, settings.referrals_table), workflow.missed_offers())


@factory
def coverage() -> CoverageService:
    """The administrator's coverage map: the job that recomputes it and the reads of its summaries."""
    from hod.adapters.coverage import DynamoCoverageStore
    from hod.adapters.reports import DynamoReports
    from hod.services.coverage import CoverageService

    settings = get_settings()
    return CoverageService(
        DynamoCoverageStore(settings.agents_table),
        DynamoReports(settings.agents_table, settings.referrals_table),
        clock(),
        settings.plan_year,
        # the longest a referral may stay open: every offer round, then every safety-net round
        settle=timedelta(
            seconds=settings.max_offer_rounds * settings.offer_window_seconds
            + settings.safety_net_rounds * settings.safety_net_window_seconds
        ),
    )


@factory
def agent_reports() -> AgentReports:
    """An agent's referrals filtered, exported and counted on the server."""
    from hod.adapters.agent_history import DynamoAgentHistory
    from hod.services.agent_reports import AgentReports

    return AgentReports(DynamoAgentHistory(get_settings().referrals_table), adapters.workflow_store(), clock())


def referral_views() -> ReferralViews:
    from hod.services.referral_views import ReferralViews

    return ReferralViews(adapters.workflow_store(), clock())


@factory
def link_pages() -> LinkPages:
    from hod.services.offer_links import LinkPages

    return LinkPages(services.auth(), adapters.workflow_store(), clock())


@factory
def link_answers() -> LinkAnswers:
    from hod.services.offer_links import LinkAnswers

    return LinkAnswers(services.auth(), workflow.answers(), clock())
