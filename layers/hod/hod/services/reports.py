"""The administrator's reports: suspended agents (R9) and program metrics (R11).

The work per request is bounded: metrics cover at most MAX_METRICS_DAYS days and read at most MAX_METRICS_ITEMS
referrals and offers; the suspended list comes in pages of at most MAX_SUSPENDED_PAGE agents.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hod.domain.agent import Agent
from hod.domain.folding import fold
from hod.domain.metrics import COLUMNS, ListedReferral, OfferFact, ProgramMetrics, ReferralFact, program_metrics
from hod.errors import ValidationFailed
from hod.ports.agents import MissedCount
from hod.ports.reports import ReportSource

MAX_METRICS_DAYS = 31
MAX_METRICS_ITEMS = 100_000
MAX_SUSPENDED_PAGE = 200
MAX_SEARCH_RESULTS = 50
MAX_LIST_ITEMS = 20_000  # index items (referrals and offers) one list may read
# The administrator's lists of a day's referrals, by the statuses each shows
REFERRAL_LISTS = {
    "open": frozenset({"searching", "offered"}),
    "safety_net": frozenset({"safety_net"}),
    "unserved": frozenset({"unserved"}),
}
MAX_SEARCH_TEXT = 100


@dataclass(frozen=True)
class SuspendedAgent:
    agent: Agent
    missed_in_last_7_days: int


@dataclass(frozen=True)
class ReferralList:
    start: datetime
    end: datetime
    referrals: list[ListedReferral]
    truncated: bool


class ReportService:
    def __init__(self, source: ReportSource, missed: MissedCount) -> None:
        self._source = source
        self._missed = missed

    def suspended_agents(self, limit: int, after: str | None) -> tuple[list[SuspendedAgent], str | None]:
        """One page of suspended agents (at most `limit`, NPNs after `after`) and the NPN the next page starts after."""
        agents, next_after = self._source.suspended_agents(limit, after)
        return [SuspendedAgent(agent, self._missed.missed_recently(agent.npn)) for agent in agents], next_after

    def find_agents(self, text: str, limit: int) -> list[Agent]:
        """Agents found by NPN, e-mail address or the start of their name (`ReportSource.find_agents`)."""
        typed = text.strip()
        if not fold(typed):
            raise ValidationFailed({"q": "type an NPN, an e-mail address or the start of a name"})
        if len(typed) > MAX_SEARCH_TEXT:
            raise ValidationFailed({"q": f"at most {MAX_SEARCH_TEXT} characters"})
        if typed.isdigit() and len(typed) > 10:
            raise ValidationFailed({"q": "an NPN has at most 10 digits"})
        return self._source.find_agents(typed, min(limit, MAX_SEARCH_RESULTS))

    def referral_list(self, kind: str, zone: str, day: date) -> ReferralList:
        """The referrals created on `day` in the time zone `zone` that are now open, in the safety net or unserved
        (`kind`), oldest first; `truncated` when the day held more than MAX_LIST_ITEMS referrals and offers."""
        tz = time_zone(zone)
        start = datetime.combine(day, time(0), tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tz)
        rows, truncated = self._source.referrals_between(start, end, REFERRAL_LISTS[kind], MAX_LIST_ITEMS)
        return ReferralList(start, end, rows, truncated)

    def metrics(self, first: date, last: date, zone: str = "UTC") -> ProgramMetrics:
        """Program metrics for the days first–last, both included, in time zone `zone`: the UTC days those days
        touch are read, and only referrals created (and offers made) within them are counted."""
        if last < first:
            raise ValidationFailed({"to": "must be on or after from"})
        days = (last - first).days + 1
        if days > MAX_METRICS_DAYS:
            raise ValidationFailed({"to": f"at most {MAX_METRICS_DAYS} days per request (from and to included)"})
        tz = time_zone(zone)
        start = datetime.combine(first, time(0), tz)
        end = datetime.combine(last + timedelta(days=1), time(0), tz)
        first_utc = start.astimezone(UTC).date()
        utc_days = (end.astimezone(UTC) - timedelta(microseconds=1)).date().toordinal() - first_utc.toordinal() + 1
        referrals: list[ReferralFact] = []
        offers: list[OfferFact] = []
        for n in range(utc_days):
            left = MAX_METRICS_ITEMS - len(referrals) - len(offers)
            day_referrals, day_offers = self._source.day(first_utc + timedelta(days=n), left + 1)
            referrals += day_referrals
            offers += day_offers
            if len(referrals) + len(offers) > MAX_METRICS_ITEMS:
                raise ValidationFailed(
                    {"to": f"more than {MAX_METRICS_ITEMS:,} referrals and offers in this range; choose fewer days"}
                )
        return program_metrics(
            [fact for fact in referrals if start <= fact.created_at < end],
            [fact for fact in offers if start <= fact.offered_at < end],
        )


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; refused as the parameter `tz` when there is none of that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # (a folder of zones, "America", is an OSError)
        raise ValidationFailed({"tz": "an IANA time zone, such as America/Chicago"}) from None


def local_today(zone: str, now: datetime) -> date:
    """The date it is in time zone `zone` at `now`."""
    return now.astimezone(time_zone(zone)).date()


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
