"""The coverage map's pure counting (hod.domain.coverage) and its job and reads (hod.services.coverage) with fakes:
weekly hours in the agent's zone counted in the consumers' local hours, breaks, days off, Out of Office and Today's
Availability ignored, summer and winter, the weeks clocks change, referrals by local hour, eligibility as matching
decides it."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hod.domain import availability as av
from hod.domain.agent import Agent, DisplayOption, Licence, offer_states
from hod.domain.coverage import (
    HOURS_PER_WEEK,
    CoverageTally,
    ReferralRow,
    ScheduledAgent,
    hour_of_week,
    state_zones,
    week_hours,
)
from hod.domain.marketplace import healthcare_gov_states
from hod.domain.metrics import OfferFact, ReferralFact
from hod.services.coverage import CoverageService, coverage_csv
from hod.zipdir import ZipPlace
from tests.conftest import FakeClock
from tests.unit.test_sweep_rules import austin_agent

WINTER_MONDAY = date(2026, 11, 30)
SUMMER_MONDAY = date(2026, 7, 6)
SPRING_FORWARD_MONDAY = date(2027, 3, 8)  # clocks spring forward on Sunday 14 March 2027, 02:00
FALL_BACK_MONDAY = date(2027, 11, 1)  # clocks fall back on Sunday 7 November 2027, 02:00
MON, SAT, SUN = 0, 5, 6


def day(start: str = "08:00", end: str = "17:00", breaks: Sequence[tuple[str, str]] = (), enabled: bool = True) -> Any:
    return {"enabled": enabled, "start": start, "end": end, "breaks": [{"start": s, "end": e} for s, e in breaks]}


def schedule(zone: str, days: dict[str, Any] | None = None, **settings: Any) -> av.Availability:
    """Every day off except those given."""
    weekly = {name: day(enabled=False) for name in av.WEEKDAYS} | (days or {})
    return av.Availability.model_validate({"time_zone": zone, "weekly": {"days": weekly}, **settings})


def hours_of(availability: av.Availability, state: str, zone: str, monday: date) -> list[int]:
    tally = CoverageTally({state: zone}, monday)
    tally.add_agent(availability, [state], ["en"])
    return [hour for hour, count in enumerate(tally.states[state].counts("en").agents) if count]


def on(weekday: int, *hours: int) -> list[int]:
    return [weekday * 24 + hour for hour in hours]


# ----- agents: weekly hours in the consumers' local hours -----------------------------------------------------------
def test_a_chicago_agents_monday_covers_arizonas_hours_shifted_by_the_season() -> None:
    # Given an agent in America/Chicago working Mondays 8-17, and nothing else
    agent = schedule("America/Chicago", {"mon": day("08:00", "17:00")})

    # When Arizona's (no daylight saving) and Texas's hours are counted in a winter and a summer week
    winter = hours_of(agent, "AZ", "America/Phoenix", WINTER_MONDAY)
    summer = hours_of(agent, "AZ", "America/Phoenix", SUMMER_MONDAY)
    texas = hours_of(agent, "TX", "America/Chicago", WINTER_MONDAY)

    # Then in winter they cover Arizona's Monday 7-16, in summer 6-15, and Texas's 8-17 whatever the season
    assert winter == on(MON, *range(7, 16))
    assert summer == on(MON, *range(6, 15))
    assert texas == on(MON, *range(8, 17))


def test_breaks_are_excluded_and_an_hour_counts_when_at_least_half_of_it_is_worked() -> None:
    # Given Monday 8-17 with a lunch hour 12-13, a break 15:00-15:30 and one 10:00-10:45
    agent = schedule(
        "America/Chicago",
        {"mon": day("08:00", "17:00", [("10:00", "10:45"), ("12:00", "13:00"), ("15:00", "15:30")])},
    )

    # When Texas's hours are counted
    hours = hours_of(agent, "TX", "America/Chicago", WINTER_MONDAY)

    # Then 10 (15 minutes worked) and 12 (none) are out; 15 (30 minutes) is in
    assert hours == on(MON, 8, 9, 11, 13, 14, 15, 16)


def test_days_off_have_no_hours_and_a_day_to_midnight_joins_the_next() -> None:
    # Given Friday 20:00-24:00 and Saturday 00:00-02:00, every other day off
    agent = schedule("America/Chicago", {"fri": day("20:00", "24:00"), "sat": day("00:00", "02:00")})

    # When Texas's hours are counted
    hours = hours_of(agent, "TX", "America/Chicago", WINTER_MONDAY)

    # Then only those six hours, across midnight
    assert hours == on(4, 20, 21, 22, 23) + on(SAT, 0, 1)


def test_out_of_office_and_todays_availability_are_not_a_schedule_and_are_ignored() -> None:
    # Given the same weekly hours, once plain and once with a week's Out of Office and Today's Availability Off
    days = {"sat": day("09:00", "12:00")}
    plain = schedule("America/Chicago", days)
    away = schedule(
        "America/Chicago",
        days,
        out_of_office={"start": "2026-11-28T00:00:00-06:00", "end": "2026-12-10T00:00:00-06:00"},
        today={"date": "2026-12-05", "available": False},
    )

    # When each is counted for that week
    # Then both cover Saturday 9-12: the map shows the standing hours, not this week's exceptions
    assert hours_of(away, "TX", "America/Chicago", WINTER_MONDAY) == on(SAT, 9, 10, 11)
    assert hours_of(plain, "TX", "America/Chicago", WINTER_MONDAY) == on(SAT, 9, 10, 11)


def test_the_week_clocks_spring_forward_moves_an_eastern_agents_sunday_in_arizona() -> None:
    # Given an agent in New York working 9-17 every day
    agent = schedule("America/New_York", {name: day("09:00", "17:00") for name in av.WEEKDAYS})

    # When Arizona's hours are counted for the week New York springs forward on Sunday
    hours = hours_of(agent, "AZ", "America/Phoenix", SPRING_FORWARD_MONDAY)

    # Then Monday to Saturday are 7-15 in Arizona (Eastern standard time), Sunday 6-14 (Eastern daylight time)
    expected = [hour for weekday in range(6) for hour in on(weekday, *range(7, 15))] + on(SUN, *range(6, 14))
    assert hours == expected


@pytest.mark.parametrize("monday", [SPRING_FORWARD_MONDAY, FALL_BACK_MONDAY])
def test_an_agent_working_around_the_clock_covers_all_168_hours_in_the_weeks_clocks_change(monday: date) -> None:
    # Given a Texas agent available every minute of the week
    agent = schedule("America/Chicago", {name: day("00:00", "24:00") for name in av.WEEKDAYS})

    # When Texas's hours are counted for a week in which its clocks change
    hours = hours_of(agent, "TX", "America/Chicago", monday)

    # Then every hour of the week counts them, the skipped and the repeated hour too
    assert hours == list(range(HOURS_PER_WEEK))


def test_the_skipped_hour_shows_the_hour_after_the_gap() -> None:
    # Given Texas's hours in the week it springs forward
    hours = week_hours(ZoneInfo("America/Chicago"), SPRING_FORWARD_MONDAY)

    # Then Sunday 02:00 (which does not exist) is read as the hour starting at 03:00 daylight time
    assert hours[SUN * 24 + 2] == hours[SUN * 24 + 3]
    assert hours[SUN * 24 + 3][0] == datetime(2027, 3, 14, 8, 0, tzinfo=UTC)


def test_a_reference_week_starts_on_a_monday() -> None:
    # When a week is asked for from a Tuesday
    # Then it is refused
    with pytest.raises(ValueError, match="Monday"):
        week_hours(ZoneInfo("America/Chicago"), date(2026, 12, 1))


def test_an_agent_counts_in_every_state_and_language_given_and_not_in_unknown_states() -> None:
    # Given one agent taking referrals in TX and OK (and in a state the tally has no zone for), speaking en and es
    tally = CoverageTally({"TX": "America/Chicago", "OK": "America/Chicago"}, WINTER_MONDAY)
    tally.add_agent(schedule("America/Chicago", {"mon": day("08:00", "09:00")}), ["TX", "OK", "CA"], ["en", "es"])

    # Then each state and language has them in Monday 8, and no other cell
    for state in ("TX", "OK"):
        for language in ("en", "es"):
            assert sum(tally.states[state].counts(language).agents) == 1
            assert tally.states[state].counts(language).agents[8] == 1
    assert "CA" not in tally.states


# ----- referrals by local hour --------------------------------------------------------------------------------------
def referral(at: datetime, state: str = "TX", language: str = "es", status: str = "accepted", net: bool = False) -> Any:
    return ReferralFact(
        created_at=at, state=state, language=language, status=status, accepted_at=None, went_to_safety_net=net
    )


def test_referrals_count_in_the_local_hour_they_arrived_with_safety_net_and_unserved() -> None:
    # Given three Texas Spanish referrals on Saturday mornings (15:00 and 15:59 UTC = 9:00 and 9:59 in Texas), one
    # accepted, one accepted from the safety net, one unserved after it; and one in a state without a zone
    tally = CoverageTally({"TX": "America/Chicago"}, WINTER_MONDAY)
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    tally.add_referral(referral(saturday))
    tally.add_referral(referral(saturday + timedelta(minutes=59), net=True))
    tally.add_referral(referral(saturday + timedelta(days=7), status="unserved", net=True))
    tally.add_referral(referral(saturday, state="CA"))

    # Then Saturday 9:00 in Texas has three referrals, two through the safety net, one unserved
    counts = tally.states["TX"].counts("es")
    hour = SAT * 24 + 9
    assert hour_of_week(saturday, ZoneInfo("America/Chicago")) == hour
    assert (counts.referrals[hour], counts.safety_net[hour], counts.unserved[hour]) == (3, 2, 1)
    assert sum(counts.referrals) == 3


def test_a_states_zone_is_the_one_most_of_its_zip_codes_keep() -> None:
    # Given ZIP codes: Texas mostly Central; Indiana split between two Eastern zone names and Central
    places = [("TX", "America/Chicago")] * 3 + [("TX", "America/Denver")]
    places += [("IN", "America/Indiana/Indianapolis")] * 2 + [("IN", "America/New_York")]
    places += [("IN", "America/Chicago")] * 2

    # When each state's zone is chosen
    zones = state_zones(places, datetime(2026, 12, 1, tzinfo=UTC))

    # Then Texas keeps Central time; Indiana Eastern (3 ZIP codes against 2), under its most common name
    assert zones == {"TX": "America/Chicago", "IN": "America/Indiana/Indianapolis"}


# ----- the job and the reads, with fakes ----------------------------------------------------------------------------
def make_agent(npn: str, availability: av.Availability, **changes: Any) -> Agent:
    """The sweep tests' Austin agent, licensed in Texas and Oklahoma, with these hours and changes."""
    base = austin_agent(npn)
    licences = tuple(Licence(state=state, status="active", lines_of_authority=("health",)) for state in ("TX", "OK"))
    record = base.record.model_copy(
        update={"licences": licences, "display_option": DisplayOption(changes.pop("display_option", 1))}
    )
    return base.evolve(record=record, availability=availability, **changes)


def scheduled(agent: Agent) -> ScheduledAgent:
    """What the store's reader gives of an agent."""
    return ScheduledAgent(
        record=agent.record,
        state_preferences=agent.state_preferences,
        suspended=agent.suspended,
        languages=agent.languages,
        availability=agent.availability,
    )


@dataclass
class FakeStore:
    stored: list[Agent]
    summaries: dict[str, tuple[str, str]] = field(default_factory=dict)
    days: dict[date, list[ReferralRow]] = field(default_factory=dict)

    def agents(self) -> Iterator[ScheduledAgent]:
        for agent in self.stored:
            yield scheduled(agent)

    def save(self, summaries: Sequence[tuple[str, str]], computed_at: str) -> None:
        self.summaries.update({state: (summary, computed_at) for state, summary in summaries})

    def load(self, state: str) -> tuple[str, str] | None:
        return self.summaries.get(state)

    def day_counts(self, days: Sequence[date]) -> dict[date, list[ReferralRow]]:
        return {day: list(self.days[day]) for day in days if day in self.days}

    def save_day_counts(self, counts: Mapping[date, Sequence[ReferralRow]]) -> None:
        self.days.update({day: list(rows) for day, rows in counts.items()})


@dataclass
class FakeReferrals:
    by_day: dict[date, list[ReferralFact]]
    asked: list[date] = field(default_factory=list)

    def day(self, day: date, limit: int) -> tuple[list[ReferralFact], list[OfferFact]]:
        self.asked.append(day)
        return self.by_day.get(day, []), []

    def suspended_agents(self, limit: int, after: str | None) -> tuple[list[Agent], str | None]:
        raise AssertionError("not read")


PLACES = [
    ZipPlace("78701", "Austin", "Travis", "TX", 30.27, -97.74, "America/Chicago"),
    ZipPlace("73102", "Oklahoma City", "Oklahoma", "OK", 35.47, -97.52, "America/Chicago"),
    ZipPlace("90012", "Los Angeles", "Los Angeles", "CA", 34.06, -118.24, "America/Los_Angeles"),
]
NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # a Wednesday


def service(store: FakeStore, referrals: FakeReferrals) -> CoverageService:
    return CoverageService(store, referrals, FakeClock(NOW), plan_year=2026, places=lambda: PLACES)


def test_the_job_counts_agents_where_matching_would_offer_them_and_stores_one_item_per_state() -> None:
    # Given a weekday agent (TX, OK; en, es), one who narrowed their states to OK, a suspended one, one who does not
    # participate (display option 4); and referrals of the last days, one older than four weeks, one of a state not on
    # HealthCare.gov
    weekdays = schedule("America/Chicago", {name: day() for name in ("mon", "tue", "wed", "thu", "fri")})
    store = FakeStore(
        [
            make_agent("1", weekdays),
            make_agent("2", weekdays, state_preferences=("OK",), languages=("es",)),
            make_agent("3", weekdays, suspended=True),
            make_agent("4", weekdays, display_option=4),
        ]
    )
    saturday_morning = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
    old = NOW - timedelta(weeks=4, days=1)
    referrals = FakeReferrals(
        {
            saturday_morning.date(): [referral(saturday_morning, net=True, status="unserved")],
            old.date(): [referral(old)],
            NOW.date(): [referral(NOW - timedelta(hours=1), state="CA")],
        }
    )

    # When the job runs
    run = service(store, referrals).recompute()

    # Then the participating agents are counted (1 in TX; 1 and 2 in OK) and one referral; TX and OK are stored
    # (the first run counts today, yesterday and the four newest days whose referrals have all ended)
    assert (run.agents, run.referrals, run.week_of, run.referral_days) == (2, 1, date(2026, 11, 30), 6)
    assert sorted(store.summaries) == ["OK", "TX"]
    assert sorted(referrals.asked) == [(NOW - timedelta(days=n)).date() for n in range(5, -1, -1)]
    for agent in store.stored:  # the same states as matching's own rule
        expected = offer_states(agent, plan_year=2026, plan_year_states=healthcare_gov_states(2026), today=NOW.date())
        states = scheduled(agent).states(plan_year=2026, plan_year_states=healthcare_gov_states(2026), now=NOW)
        assert states == expected
    tx = service(store, referrals).state_map("TX", "es")
    ok = service(store, referrals).state_map("OK", "es")
    monday_9 = 9
    assert (tx.cells[monday_9].agents, ok.cells[monday_9].agents) == (1, 2)
    saturday_9 = tx.cells[SAT * 24 + 9]
    assert (saturday_9.weekday, saturday_9.hour, saturday_9.agents, saturday_9.referrals) == ("sat", 9, 0, 1)
    assert (saturday_9.safety_net_share, saturday_9.unserved_share) == (1.0, 1.0)
    assert tx.time_zone == "America/Chicago"
    assert tx.computed_at == NOW
    assert tx.weeks == 4


def test_reads_give_every_language_or_one_and_empty_cells_before_the_first_run() -> None:
    # Given a store the job has not written yet
    store = FakeStore([make_agent("1", schedule("America/Chicago", {"mon": day()}))])
    coverage = service(store, FakeReferrals({}))

    # Then a state reads as no cells (every language) or 168 empty ones (one language), computed never
    assert coverage.state_map("TX", None).cells == []
    empty = coverage.state_map("TX", "es")
    assert empty.computed_at is None
    assert len(empty.cells) == HOURS_PER_WEEK
    assert all(cell.agents == 0 and cell.safety_net_share is None for cell in empty.cells)

    # When the job has run, a state reads as every language it has, or one it lacks as zeros
    coverage.recompute()
    every = coverage.state_map("TX", None)
    assert sorted({cell.language for cell in every.cells}) == ["en", "es"]
    assert sum(cell.agents for cell in coverage.state_map("TX", "vi").cells) == 0


def test_the_csv_has_one_row_per_cell_with_the_jsons_fields() -> None:
    # Given a computed Texas map
    store = FakeStore([make_agent("1", schedule("America/Chicago", {"sat": day("09:00", "10:00")}))])
    coverage = service(store, FakeReferrals({}))
    coverage.recompute()

    # When it is written as CSV
    lines = coverage_csv(coverage.state_map("TX", "en")).splitlines()

    # Then a header and 168 rows; Saturday 9:00 has the agent and empty shares (no referrals)
    assert lines[0].split(",")[:6] == ["state", "language", "hour_of_week", "weekday", "hour", "agents"]
    assert len(lines) == 1 + HOURS_PER_WEEK
    assert lines[1 + SAT * 24 + 9] == "TX,en,129,sat,9,1,0,0,0,,"


def test_a_summary_with_every_language_and_large_counts_stays_far_under_dynamodbs_item_limit() -> None:
    # Given a state whose every language has five-digit counts in every hour
    from hod.domain.coverage import CellCounts, StateCoverage
    from hod.domain.languages import LANGUAGES
    from hod.services.coverage import encode

    busy = [99_999] * HOURS_PER_WEEK
    coverage = StateCoverage("TX", "America/Chicago", {code: CellCounts(busy, busy, busy, busy) for code in LANGUAGES})

    # When it is encoded as the stored item's summary
    size = len(encode(coverage, WINTER_MONDAY, 4, 29).encode())

    # Then it is under 100 KB (DynamoDB allows 400 KB an item)
    assert size < 100_000

    # And a kept day with a referral in every state, language and hour is too, compressed as the store keeps it
    day = [
        (state, code, SAT * 24 + hour, 9_999, 9_999, 9_999)
        for state in healthcare_gov_states(2026)
        for code in LANGUAGES
        for hour in range(24)
    ]
    assert len(zlib.compress(json.dumps(day, separators=(",", ":")).encode())) < 100_000
    assert len(json.loads(encode(coverage, WINTER_MONDAY, 4, 29))["languages"]) == len(LANGUAGES)


def test_a_day_whose_referrals_have_all_ended_is_counted_once_and_kept_and_the_weeks_fill_in_a_few_days_a_run() -> None:
    # Given referrals on each of the last 29 UTC days (one a day, in Texas at 15:30 UTC), and a referral may stay open
    # for a day (the settle time)
    by_day = {
        (NOW - timedelta(days=n)).date(): [
            referral(datetime.combine((NOW - timedelta(days=n)).date(), NOW.time(), UTC).replace(hour=15, minute=30))
        ]
        for n in range(29)
    }
    referrals = FakeReferrals(by_day)
    store = FakeStore([])
    coverage = CoverageService(
        store, referrals, FakeClock(NOW), plan_year=2026, settle=timedelta(days=1), places=lambda: PLACES
    )

    # When the job runs the first time
    first = coverage.recompute()

    # Then it reads the open days (today and yesterday: not a whole day has passed since yesterday ended) and fills
    # in the four newest settled days, keeping those; the rest of the weeks are not counted yet
    assert sorted(referrals.asked) == sorted((NOW - timedelta(days=n)).date() for n in range(6))
    assert sorted(store.days) == sorted((NOW - timedelta(days=n)).date() for n in range(2, 6))
    assert (first.referral_days, first.referrals) == (6, 6)
    assert coverage.state_map("TX", "es").referral_days == 6

    # When it runs again until the weeks are filled in
    referrals.asked.clear()
    runs = [coverage.recompute() for _ in range(6)]

    # Then each run read the open days again and at most four more, and the weeks were complete after six runs
    assert [run.referral_days for run in runs] == [10, 14, 18, 22, 26, 29]
    assert runs[-1].referrals == 29
    assert len(referrals.asked) == 6 * 2 + 23
    referrals.asked.clear()
    assert coverage.recompute().referrals == 29
    assert sorted(referrals.asked) == [(NOW - timedelta(days=1)).date(), NOW.date()]
