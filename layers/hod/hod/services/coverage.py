"""The administrator's coverage map: a job that recomputes each state's summary from every agent's weekly hours and
the referrals of the last weeks, and the reads of it (one stored item per state asked for).

Why precomputed: the agents' schedules are in their own documents (83,000 of them nationally); reading them all on
every request is not bounded, reading one summary item is (docs/admin.md, "Coverage")."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from hod import zipdir
from hod.domain.coverage import (
    HOURS_PER_WEEK,
    CellCounts,
    CoverageTally,
    ScheduledAgent,
    StateCoverage,
    referral_rows,
    state_zones,
)
from hod.domain.coverage import (
    ReferralRow as Row,
)
from hod.domain.marketplace import healthcare_gov_states
from hod.ports.common import Clock
from hod.ports.reports import ReportSource

DEFAULT_WEEKS = 4
MAX_REFERRALS_A_DAY = 1_000_000  # a day's referrals and offers the job reads; never reached (docs/benchmarks.md)
# How long after its day a referral may still be open, with the template's defaults: 50 offer rounds of 15 minutes,
# then 24 safety-net rounds of 30 minutes (wiring gives the deployment's own settings)
DEFAULT_SETTLE = timedelta(seconds=50 * 900 + 24 * 1800)
MAX_DAYS_FILLED = 4  # settled days counted from the by-day index (and kept) in one run, besides the open ones
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CoverageStore(Protocol):
    def agents(self) -> Iterator[ScheduledAgent]: ...

    def save(self, summaries: Sequence[tuple[str, str]], computed_at: str) -> None: ...

    def load(self, state: str) -> tuple[str, str] | None: ...

    def day_counts(self, days: Sequence[date]) -> dict[date, list[Row]]:
        """The kept counts of those days that have them."""
        ...

    def save_day_counts(self, counts: Mapping[date, Sequence[Row]]) -> None: ...


@dataclass(frozen=True)
class CoverageRun:
    computed_at: datetime
    week_of: date
    states: int
    agents: int
    referrals: int
    referral_days: int  # the UTC days whose referrals are counted (weeks x 7 + 1 once every day is filled)


@dataclass(frozen=True)
class Cell:
    state: str
    language: str
    hour_of_week: int
    agents: int
    referrals: int
    safety_net: int
    unserved: int

    @property
    def weekday(self) -> str:
        return WEEKDAY_NAMES[self.hour_of_week // 24]

    @property
    def hour(self) -> int:
        return self.hour_of_week % 24

    @property
    def safety_net_share(self) -> float | None:
        return round(self.safety_net / self.referrals, 3) if self.referrals else None

    @property
    def unserved_share(self) -> float | None:
        return round(self.unserved / self.referrals, 3) if self.referrals else None


@dataclass(frozen=True)
class StateMap:
    """What the API answers for one state: its zone, the reference week, when it was computed, and its cells."""

    state: str
    time_zone: str | None
    week_of: date | None
    weeks: int | None
    referral_days: int | None
    computed_at: datetime | None
    cells: list[Cell]


def encode(coverage: StateCoverage, week_of: date, weeks: int, referral_days: int) -> str:
    languages = {
        language: [counts.agents, counts.referrals, counts.safety_net, counts.unserved]
        for language, counts in sorted(coverage.languages.items())
    }
    body = {
        "time_zone": coverage.time_zone,
        "week_of": week_of.isoformat(),
        "weeks": weeks,
        "referral_days": referral_days,
        "languages": languages,
    }
    return json.dumps(body, separators=(",", ":"))


def _cells(state: str, language: str, counts: CellCounts) -> list[Cell]:
    return [
        Cell(
            state,
            language,
            hour,
            counts.agents[hour],
            counts.referrals[hour],
            counts.safety_net[hour],
            counts.unserved[hour],
        )
        for hour in range(HOURS_PER_WEEK)
    ]


class CoverageService:
    def __init__(
        self,
        store: CoverageStore,
        referrals: ReportSource,
        clock: Clock,
        plan_year: int,
        settle: timedelta = DEFAULT_SETTLE,
        places: Callable[[], Iterable[zipdir.ZipPlace]] = zipdir.all_places,
    ) -> None:
        self._store = store
        self._referrals = referrals
        self._clock = clock
        self._plan_year = plan_year
        self._settle = settle
        self._places = places

    def recompute(self, weeks: int = DEFAULT_WEEKS) -> CoverageRun:
        """Count every agent's weekly hours (for this week, Monday by UTC date) and the referrals of the last `weeks`
        weeks (the UTC days from `weeks` weeks ago to today), and store one summary per HealthCare.gov state."""
        now = self._clock.now()
        week_of = now.date() - timedelta(days=now.weekday())
        states = healthcare_gov_states(self._plan_year)
        zones = state_zones(((p.state, p.time_zone) for p in self._places() if p.state in states), now)
        tally = CoverageTally(zones, week_of)
        agents = 0
        for agent in self._store.agents():
            where = agent.states(plan_year=self._plan_year, plan_year_states=states, now=now)
            if where:
                tally.add_agent(agent.availability, where, agent.languages)
                agents += 1
        referrals, days = 0, 0
        for rows in self._days_of_referrals(now, weeks, tally.zones).values():
            referrals += tally.add_referral_rows(rows)
            days += 1
        summaries = [
            (state, encode(coverage, week_of, weeks, days)) for state, coverage in sorted(tally.states.items())
        ]
        self._store.save(summaries, now.isoformat())
        return CoverageRun(now, week_of, len(summaries), agents, referrals, days)

    def _days_of_referrals(self, now: datetime, weeks: int, zones: Mapping[str, ZoneInfo]) -> dict[date, list[Row]]:
        """Each UTC day's referrals counted by cell. A day whose referrals have all ended (`settle` after it) is
        counted once and kept; the others are counted from the by-day index on every run. At most
        MAX_DAYS_FILLED kept days are filled a run, newest first (after deploying, the weeks fill in within hours)."""
        days = [now.date() - timedelta(days=n) for n in range(weeks * 7 + 1)]
        settled = [day for day in days if datetime.combine(day + timedelta(days=1), time(0), UTC) + self._settle <= now]
        counted = self._store.day_counts(settled)
        filled = {
            day: self._count_day(day, zones) for day in [d for d in settled if d not in counted][:MAX_DAYS_FILLED]
        }
        if filled:
            self._store.save_day_counts(filled)
        fresh = {day: self._count_day(day, zones) for day in days if day not in settled}
        return {**counted, **filled, **fresh}

    def _count_day(self, day: date, zones: Mapping[str, ZoneInfo]) -> list[Row]:
        day_referrals, _ = self._referrals.day(day, MAX_REFERRALS_A_DAY)
        return referral_rows(day_referrals, zones)

    def state_map(self, state: str, language: str | None) -> StateMap:
        """A state's cells (every language it has, or one), from its stored summary; no cells before the job ran."""
        stored = self._store.load(state)
        if stored is None:
            empty = [] if language is None else _cells(state, language, CellCounts())
            return StateMap(state, None, None, None, None, None, empty)
        summary: dict[str, Any] = json.loads(stored[0])
        found: dict[str, list[list[int]]] = summary["languages"]
        wanted = sorted(found) if language is None else [language]
        cells = []
        for code in wanted:
            counts = CellCounts(*found[code]) if code in found else CellCounts()
            cells += _cells(state, code, counts)
        return StateMap(
            state,
            summary["time_zone"],
            date.fromisoformat(summary["week_of"]),
            summary["weeks"],
            summary["referral_days"],
            datetime.fromisoformat(stored[1]),
            cells,
        )


CSV_COLUMNS = (
    "state",
    "language",
    "hour_of_week",
    "weekday",
    "hour",
    "agents",
    "referrals",
    "safety_net",
    "unserved",
    "safety_net_share",
    "unserved_share",
)


def coverage_csv(state_map: StateMap) -> str:
    """The cells as CSV, one row each, the JSON's field names as the header (empty cells for shares of nothing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for cell in state_map.cells:
        values = [getattr(cell, name) for name in CSV_COLUMNS]
        writer.writerow(["" if value is None else value for value in values])
    return out.getvalue()
