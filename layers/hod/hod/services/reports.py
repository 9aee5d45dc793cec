"""The administrator's reports: suspended agents (R9) and program metrics (R11).

The work per request is bounded: metrics cover at most MAX_METRICS_DAYS days and read at most MAX_METRICS_ITEMS
referrals and offers; the suspended list comes in pages of at most MAX_SUSPENDED_PAGE agents.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hod.domain.agent import Agent
from hod.domain.metrics import COLUMNS, OfferFact, ProgramMetrics, ReferralFact, program_metrics
from hod.errors import ValidationFailed
from hod.ports import MissedCount, ReportSource

MAX_METRICS_DAYS = 31
MAX_METRICS_ITEMS = 100_000
MAX_SUSPENDED_PAGE = 200
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class MetricsQuery(BaseModel):
    """`GET /admin/metrics`: UTC days from–to, both included."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from", description="first UTC day, YYYY-MM-DD")
    to: date = Field(description="last UTC day, YYYY-MM-DD (included)")
    format: Literal["json", "csv"] = "json"

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _day(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _DAY.match(value.strip()):
            raise ValueError("a date as YYYY-MM-DD")
        return value.strip()


class SuspendedQuery(BaseModel):
    """`GET /admin/agents?status=suspended`: one page of suspended agents, by NPN."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["suspended"] = Field(description="only suspended agents can be listed")
    limit: int = Field(default=50, ge=1, le=MAX_SUSPENDED_PAGE)
    after: str | None = Field(default=None, pattern=r"^\d{1,10}$", description="continue after this NPN")


@dataclass(frozen=True)
class SuspendedAgent:
    agent: Agent
    missed_in_last_7_days: int


class ReportService:
    def __init__(self, source: ReportSource, missed: MissedCount) -> None:
        self._source = source
        self._missed = missed

    def suspended_agents(self, query: SuspendedQuery) -> tuple[list[SuspendedAgent], str | None]:
        agents, after = self._source.suspended_agents(query.limit, query.after)
        return [SuspendedAgent(agent, self._missed.missed_recently(agent.npn)) for agent in agents], after

    def metrics(self, query: MetricsQuery) -> ProgramMetrics:
        first, last = query.from_, query.to
        if last < first:
            raise ValidationFailed({"to": "must be on or after from"})
        days = (last - first).days + 1
        if days > MAX_METRICS_DAYS:
            raise ValidationFailed({"to": f"at most {MAX_METRICS_DAYS} days per request (from and to included)"})
        referrals: list[ReferralFact] = []
        offers: list[OfferFact] = []
        for n in range(days):
            left = MAX_METRICS_ITEMS - len(referrals) - len(offers)
            day_referrals, day_offers = self._source.day(first + timedelta(days=n), left + 1)
            referrals += day_referrals
            offers += day_offers
            if len(referrals) + len(offers) > MAX_METRICS_ITEMS:
                raise ValidationFailed(
                    {"to": f"more than {MAX_METRICS_ITEMS:,} referrals and offers in this range; choose fewer days"}
                )
        return program_metrics(referrals, offers)


def metrics_document(query: MetricsQuery, metrics: ProgramMetrics, generated_at: datetime) -> dict[str, Any]:
    return {
        "from": query.from_.isoformat(),
        "to": query.to.isoformat(),
        "days_in": "UTC",
        "generated_at": generated_at.isoformat(),
        "columns": [{"name": name, "label": label} for name, label in COLUMNS],
        "totals": asdict(metrics.totals),
        "by_state": [asdict(row) for row in metrics.by_state],
        "by_language": [asdict(row) for row in metrics.by_language],
        "limits": {"max_days": MAX_METRICS_DAYS, "max_items": MAX_METRICS_ITEMS},
    }


def metrics_csv(metrics: ProgramMetrics) -> str:
    """The metrics table as CSV: a header of the column labels, then the total, by state, by language
    (empty cells where a value is undefined, e.g. a rate with nothing to divide by)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in metrics.rows():
        values = asdict(row)
        writer.writerow(["" if values[name] is None else values[name] for name, _ in COLUMNS])
    return out.getvalue()


def suspended_document(found: list[SuspendedAgent], after: str | None) -> dict[str, Any]:
    return {
        "agents": [
            {
                "npn": item.agent.npn,
                "first_name": item.agent.record.first_name,
                "last_name": item.agent.record.last_name,
                "email": item.agent.record.email,
                "home_state": item.agent.record.home_state,
                "suspended_reason": item.agent.suspended_reason,
                "suspended_at": item.agent.suspended_at.isoformat() if item.agent.suspended_at else None,
                "missed_in_last_7_days": item.missed_in_last_7_days,
            }
            for item in found
        ],
        "next_after": after,
    }
