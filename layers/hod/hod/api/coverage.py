"""The administrator's coverage map (issue 15): where agents are available, hour by hour of the week, beside where
referrals went to the safety net or ended unserved. Each request reads one precomputed item (hod.services.coverage)."""

from __future__ import annotations

from chalice.app import Response

from hod import wiring
from hod.api.admin import CSV, administrators
from hod.api.coverage_models import CoverageCell, CoverageMap, CoverageQuery
from hod.api.routing import logger
from hod.services.coverage import StateMap, coverage_csv

_MAP_SUMMARY = (
    "Coverage by hour of the week in the consumers' local time: agents available from their weekly hours, and the "
    "referrals of the last weeks with the shares that went to the safety net or ended unserved"
)


def _read(admin: str, query: CoverageQuery) -> StateMap:
    state_map = wiring.views.coverage().state_map(query.state, query.language)
    logger().info("coverage read", extra={"by": admin, "state": query.state, "language": query.language})
    return state_map


@administrators.route(
    "/admin/coverage",
    "GET",
    summary=_MAP_SUMMARY,
    auth="admin",
    scope="metrics:read",
    query=CoverageQuery,
    response=CoverageMap,
)
def admin_coverage(admin: str, query: CoverageQuery) -> CoverageMap:
    """One state's coverage map (every language, or one); cells are empty before the summary was first computed."""
    state_map = _read(admin, query)
    return CoverageMap(
        state=state_map.state,
        language=query.language,
        time_zone=state_map.time_zone,
        week_of=state_map.week_of,
        weeks=state_map.weeks,
        referral_days=state_map.referral_days,
        computed_at=state_map.computed_at,
        cells=[
            CoverageCell(
                state=cell.state,
                language=cell.language,
                hour_of_week=cell.hour_of_week,
                weekday=cell.weekday,
                hour=cell.hour,
                agents=cell.agents,
                referrals=cell.referrals,
                safety_net=cell.safety_net,
                unserved=cell.unserved,
                safety_net_share=cell.safety_net_share,
                unserved_share=cell.unserved_share,
            )
            for cell in state_map.cells
        ],
    )


@administrators.route(
    "/admin/coverage.csv",
    "GET",
    summary="The coverage map as CSV: one row per cell, the JSON's fields as columns",
    auth="admin",
    scope="metrics:read",
    query=CoverageQuery,
    description="text/csv",
    media=(CSV,),
)
def admin_coverage_csv(admin: str, query: CoverageQuery) -> Response:
    state_map = _read(admin, query)
    name = f"hod-coverage-{query.state}{'-' + query.language if query.language else ''}.csv"
    return Response(
        body=coverage_csv(state_map),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
