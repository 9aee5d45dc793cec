"""Where the program has agents, hour by hour of the week, beside where its referrals went unanswered (issue 15).

For each state, language and hour of the week in the consumers' local time (the state's zone, `state_zones`):

- **agents**: agents whose weekly hours (in their own zone, breaks excluded) cover at least half of that hour in
  the reference week, counted in every state they take referrals in (``offer_states``: licence, display choice,
  preferences; none while suspended) and every language they speak. Today's Availability and Out of Office are not
  a schedule and are ignored: the map shows the program's standing hours, not this moment.
- **referrals** of the last weeks that arrived in that local hour, with how many went to the safety net (at least one
  round opened) and how many ended unserved (``hod.domain.metrics``' definitions).

Hours are wall-clock hours of a given reference week (Monday 00:00 to the next Monday in the state's zone), so a
Chicago agent's 8-17 lands on Arizona's 7-16 in winter and 6-15 in summer, whichever week is asked for. An hour is
the 60 minutes after its wall-clock start: in the week clocks spring forward the skipped hour (02:00) shows the
hour after the gap; in the week they fall back the repeated 01:00 is its first pass. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hod.domain import availability as av
from hod.domain.agent import AgentRecord, taking_states
from hod.domain.metrics import UNSERVED, ReferralFact

HOURS_PER_WEEK = 7 * 24
_HOUR = timedelta(hours=1)
_HALF_HOUR = timedelta(minutes=30)
Period = tuple[datetime, datetime]
Schedule = tuple[str, tuple[tuple[tuple[int, int], ...], ...]]  # a zone and each weekday's available minutes


def hour_of_week(moment: datetime, zone: ZoneInfo) -> int:
    """0 (Monday 00:00-01:00) to 167 (Sunday 23:00-24:00), in `zone`'s wall clock."""
    local = moment.astimezone(zone)
    return local.weekday() * 24 + local.hour


def week_hours(zone: ZoneInfo, monday: date) -> list[Period]:
    """The week's 168 hours in `zone` as UTC [start, start + 60 min), starting at each wall-clock hour."""
    if monday.weekday() != 0:
        raise ValueError("a reference week starts on a Monday")
    hours = []
    for n in range(HOURS_PER_WEEK):
        wall = datetime.combine(monday + timedelta(days=n // 24), time(n % 24))
        # fold=0: a repeated wall time's first pass; a skipped one (US gaps are whole hours) read with the offset
        # before the change, which is the instant the gap ends
        start = wall.replace(tzinfo=zone).astimezone(UTC)
        hours.append((start, start + _HOUR))
    return hours


def scheduled_periods(availability: av.Availability, first: datetime, last: datetime) -> list[Period]:
    """The weekly schedule's available UTC periods overlapping [first, last): breaks and days off excluded; Today's
    Availability and Out of Office left out (they are not a schedule)."""
    weekly = av.Availability(time_zone=availability.time_zone, weekly=availability.weekly)
    periods: list[Period] = []
    cursor = first
    available = av.is_available(weekly, cursor)
    while cursor < last:
        change = av.next_change(weekly, cursor)
        end = last if change is None or change > last else change
        if available:
            periods.append((cursor, end))
        cursor, available = end, not available
    return periods


def hours_covered(periods: Sequence[Period], hours: Sequence[Period]) -> frozenset[int]:
    """The hours (indexes into `hours`) that the periods cover for at least half of their 60 minutes."""
    covered = set()
    for index, (start, end) in enumerate(hours):
        overlap = sum(
            ((min(end, p_end) - max(start, p_start)) for p_start, p_end in periods if p_start < end and start < p_end),
            timedelta(0),
        )
        if overlap >= _HALF_HOUR:
            covered.add(index)
    return frozenset(covered)


def state_zones(places: Iterable[tuple[str, str]], reference: datetime) -> dict[str, str]:
    """Each state's zone from (state, zone) pairs, one per ZIP code: the zone of most of its ZIP codes, after
    counting together zones that keep the same clock (America/Indiana/Indianapolis with America/New_York).

    ZIP codes stand in for people: the directory has no population. For the states split between zones this
    picks the zone most of their people live in (Central for Texas, Tennessee, Kansas, Nebraska, the Dakotas;
    Eastern for Florida, Michigan, Indiana, Kentucky; Pacific for Oregon; Mountain for Idaho)."""
    winter = datetime(reference.year, 1, 15, 12, tzinfo=UTC)
    summer = datetime(reference.year, 7, 15, 12, tzinfo=UTC)
    by_state: dict[str, Counter[str]] = defaultdict(Counter)
    for state, zone in places:
        by_state[state][zone] += 1
    chosen = {}
    for state, zones in by_state.items():
        clocks: Counter[tuple[timedelta | None, ...]] = Counter()
        for zone, count in zones.items():
            clocks[_clock(zone, winter, summer)] += count
        clock = max(clocks, key=lambda key: (clocks[key], key != (None,)))
        same = [zone for zone in zones if _clock(zone, winter, summer) == clock]
        chosen[state] = max(same, key=lambda zone: (zones[zone], zone))
    return chosen


def _clock(zone: str, *moments: datetime) -> tuple[timedelta | None, ...]:
    info = ZoneInfo(zone)
    return tuple(moment.astimezone(info).utcoffset() for moment in moments)


@dataclass(frozen=True)
class ScheduledAgent:
    """What the map reads of an agent: what decides where they take referrals, their languages and weekly hours
    (the agents' documents hold more; reading only this keeps the job's work down at 83,000 agents)."""

    record: AgentRecord
    state_preferences: tuple[str, ...] | None
    suspended: bool
    languages: tuple[str, ...]
    availability: av.Availability

    def states(self, *, plan_year: int, plan_year_states: frozenset[str], now: datetime) -> frozenset[str]:
        """Where matching would offer them referrals at `now` (hod.domain.agent.offer_states' rules)."""
        return taking_states(
            self.record,
            self.state_preferences,
            suspended=self.suspended,
            plan_year=plan_year,
            plan_year_states=plan_year_states,
            today=av.local_date(self.availability, now),
        )


@dataclass
class CellCounts:
    """One state and language: four counts for each of the 168 hours of the week."""

    agents: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    referrals: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    safety_net: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    unserved: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)


@dataclass
class StateCoverage:
    state: str
    time_zone: str
    languages: dict[str, CellCounts] = field(default_factory=dict)

    def counts(self, language: str) -> CellCounts:
        return self.languages.setdefault(language, CellCounts())


class CoverageTally:
    """Adds agents and referrals up into each state's coverage for the week starting `monday` (local dates).

    Agents sharing a zone and weekly hours (most keep one of a few patterns) are counted together: their hours are
    worked out once per state's zone, and each agent only adds one to their (hours, state, language) group."""

    def __init__(self, zones: Mapping[str, str], monday: date) -> None:
        self._zones = {state: ZoneInfo(zone) for state, zone in zones.items()}
        self._hours = {state: week_hours(zone, monday) for state, zone in self._zones.items()}
        # wide enough for every zone's week: the earliest Monday 00:00 to the latest next Monday 00:00
        noon = datetime.combine(monday, time(12), tzinfo=UTC)
        self._first = min((hours[0][0] for hours in self._hours.values()), default=noon)
        self._last = max((hours[-1][1] for hours in self._hours.values()), default=noon)
        self._states = {state: StateCoverage(state, zone) for state, zone in zones.items()}
        self._schedules: dict[Schedule, av.Availability] = {}
        self._groups: Counter[tuple[Schedule, str, str]] = Counter()

    @property
    def zones(self) -> dict[str, ZoneInfo]:
        return dict(self._zones)

    @property
    def states(self) -> dict[str, StateCoverage]:
        """Each state's counts, the agents' groups added in."""
        for coverage in self._states.values():
            for cleared in coverage.languages.values():
                cleared.agents[:] = [0] * HOURS_PER_WEEK
        periods = {
            schedule: scheduled_periods(availability, self._first, self._last)
            for schedule, availability in self._schedules.items()
        }
        covered: dict[tuple[Schedule, str], frozenset[int]] = {}
        for (schedule, state, language), agents in sorted(self._groups.items()):
            hours = covered.get((schedule, state))
            if hours is None:
                hours = covered[(schedule, state)] = hours_covered(periods[schedule], self._hours[state])
            tally = self._states[state].counts(language).agents
            for hour in hours:
                tally[hour] += agents
        return self._states

    def add_agent(self, availability: av.Availability, states: Iterable[str], languages: Iterable[str]) -> None:
        """One agent: counted in each of `states` (where they take referrals) and each of `languages`."""
        schedule = (availability.time_zone, tuple(tuple(day.segments()) for day in availability.weekly.days.values()))
        self._schedules.setdefault(schedule, availability)
        spoken = tuple(languages)
        for state in states:
            if state in self._states:
                for language in spoken:
                    self._groups[(schedule, state, language)] += 1

    def add_referral(self, referral: ReferralFact) -> bool:
        """One referral, in its state's and language's cell for the local hour of the week it arrived; False (not
        counted) for a state the tally has no zone for."""
        return self.add_referral_rows(referral_rows([referral], self._zones)) == 1

    def add_referral_rows(self, rows: Iterable[ReferralRow]) -> int:
        """Referrals already counted by cell (`referral_rows`); how many were added (states without a zone left out)."""
        added = 0
        for state, language, hour, referrals, safety_net, unserved in rows:
            if state not in self._states:
                continue
            counts = self._states[state].counts(language)
            counts.referrals[hour] += referrals
            counts.safety_net[hour] += safety_net
            counts.unserved[hour] += unserved
            added += referrals
        return added


ReferralRow = tuple[str, str, int, int, int, int]  # state, language, hour of the week, referrals, safety net, unserved


def referral_rows(referrals: Iterable[ReferralFact], zones: Mapping[str, ZoneInfo]) -> list[ReferralRow]:
    """Referrals counted by state, language and the local hour of the week they arrived in (the state's zone):
    how many, how many went to the safety net, how many ended unserved. States without a zone are left out."""
    cells: dict[tuple[str, str, int], list[int]] = {}
    for referral in referrals:
        zone = zones.get(referral.state)
        if zone is None:
            continue
        cell = cells.setdefault((referral.state, referral.language, hour_of_week(referral.created_at, zone)), [0, 0, 0])
        cell[0] += 1
        cell[1] += int(referral.went_to_safety_net)
        cell[2] += int(referral.status == UNSERVED)
    return [(state, language, hour, *counts) for (state, language, hour), counts in sorted(cells.items())]  # type: ignore[misc]
