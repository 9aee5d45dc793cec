"""Agent availability (R4): weekly hours, breaks, Today's Availability, Out of Office, DST and next_change."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hod.domain.availability import (
    Availability,
    DayHours,
    Interval,
    OutOfOffice,
    TodayOverride,
    WeeklySchedule,
    default_availability,
    is_available,
    local_date,
    next_change,
)

NY = "America/New_York"
NY_ZONE = ZoneInfo(NY)
MONDAY = date(2025, 6, 2)
MIN = timedelta(minutes=1)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Adak",
    "America/Puerto_Rico",
)
# Zones that observe DST, with their standard UTC offset in hours; all switch at 02:00 local.
DST_ZONES = (
    ("America/New_York", -5),
    ("America/Chicago", -6),
    ("America/Denver", -7),
    ("America/Los_Angeles", -8),
    ("America/Anchorage", -9),
    ("America/Adak", -10),
)
SPRING_2025 = date(2025, 3, 9)
FALL_2025 = date(2025, 11, 2)


def at(day: date, hh: int, mm: int = 0, zone: str = NY, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo(zone), fold=fold)


def utc(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


def week(default: DayHours | None = None, **days: DayHours) -> WeeklySchedule:
    base = default if default is not None else DayHours(enabled=False)
    return WeeklySchedule(days={name: days.get(name, base) for name in DAY_NAMES})


def hours(start: str, end: str, *breaks: tuple[str, str]) -> DayHours:
    return DayHours.model_validate({"start": start, "end": end, "breaks": [{"start": s, "end": e} for s, e in breaks]})


def chain(av: Availability, after: datetime, horizon: timedelta) -> list[datetime]:
    """Every change in (after, after + horizon], found by calling next_change repeatedly."""
    found: list[datetime] = []
    cursor, last = after, after + horizon
    while True:
        change = next_change(av, cursor, last - cursor)
        if change is None:
            return found
        assert cursor < change <= last
        found.append(change)
        cursor = change
        assert len(found) < 200


# --- Independent oracle: evaluates the documented rules on the local wall clock, minute by minute. ---


def _minutes(t: time, end: bool = False) -> int:
    m = t.hour * 60 + t.minute
    return 1440 if end and m == 0 else m


def oracle(av: Availability, t: datetime) -> bool:
    ooo = av.out_of_office
    if ooo is not None and ooo.start <= t and (ooo.end is None or t < ooo.end):
        return False
    zone = ZoneInfo(av.time_zone)
    local = t.astimezone(zone)
    if local.fold == 1:
        # Second pass through a repeated hour: it counts as the minute before the first later wall time.
        later = t
        while later.astimezone(zone).fold == 1:
            later += MIN
        local = later.astimezone(zone).replace(tzinfo=None) - MIN
    day, minute = local.date(), local.hour * 60 + local.minute
    if av.today is not None and av.today.date == day:
        if not av.today.available:
            return False
        stop = 1440 if av.today.stop_at is None else _minutes(av.today.stop_at, end=True)
        return minute < stop
    dh = av.weekly.days[DAY_NAMES[day.weekday()]]  # type: ignore[index]
    if not dh.enabled or not _minutes(dh.start) <= minute < _minutes(dh.end, end=True):
        return False
    return not any(_minutes(b.start) <= minute < _minutes(b.end, end=True) for b in dh.breaks)


# --- Defaults, days off, breaks ---


def test_default_is_monday_to_friday_eight_to_five_in_the_agents_zone() -> None:
    # Given the default availability in Chicago
    av = default_availability("America/Chicago")
    # When it is evaluated around the edges of the working day and on the weekend
    # Then it is half-open [08:00, 17:00) local on weekdays and off on Saturday and Sunday
    assert av.time_zone == "America/Chicago"
    assert av.today is None
    assert av.out_of_office is None
    for offset in range(7):
        day = MONDAY + timedelta(days=offset)
        weekday = offset < 5
        assert is_available(av, at(day, 7, 59, "America/Chicago")) is False
        assert is_available(av, at(day, 8, 0, "America/Chicago")) is weekday
        assert is_available(av, at(day, 16, 59, "America/Chicago")) is weekday
        assert is_available(av, at(day, 17, 0, "America/Chicago")) is False
    # And the same instant seen from another zone gives the same answer (08:00 CDT = 13:00 UTC)
    assert is_available(av, utc(MONDAY, 13, 0)) is True
    assert is_available(av, utc(MONDAY, 12, 59)) is False


def test_default_serialises_to_hh_mm_json() -> None:
    # Given the default availability
    av = default_availability(NY)
    # When dumped to JSON
    data = json.loads(av.model_dump_json())
    # Then times are "HH:MM", Saturday and Sunday are off and it reads back equal
    assert data["weekly"]["days"]["mon"] == {"enabled": True, "start": "08:00", "end": "17:00", "breaks": []}
    assert data["weekly"]["days"]["sat"]["enabled"] is False
    assert data["weekly"]["days"]["sun"]["enabled"] is False
    assert list(data["weekly"]["days"]) == list(DAY_NAMES)
    assert Availability.model_validate_json(av.model_dump_json()) == av


def test_day_toggled_off_gives_no_referrals_that_day() -> None:
    # Given Wednesday switched off and Saturday switched on
    av = Availability(time_zone=NY, weekly=week(DayHours(), wed=DayHours(enabled=False), sun=DayHours(enabled=False)))
    # When evaluated at noon on each day of the week
    # Then only Wednesday and Sunday are off
    got = [is_available(av, at(MONDAY + timedelta(days=i), 12)) for i in range(7)]
    assert got == [True, True, False, True, True, True, False]


def test_break_is_excluded_half_open() -> None:
    # Given a Monday with a lunch break 12:00–13:00
    av = Availability(time_zone=NY, weekly=week(mon=hours("08:00", "17:00", ("12:00", "13:00"))))
    # When evaluated around the break
    # Then the agent is unavailable on [12:00, 13:00) only
    assert is_available(av, at(MONDAY, 11, 59)) is True
    assert is_available(av, at(MONDAY, 12, 0)) is False
    assert is_available(av, at(MONDAY, 12, 59)) is False
    assert is_available(av, at(MONDAY, 13, 0)) is True
    # And next_change walks the day exactly
    assert chain(av, at(MONDAY, 0), timedelta(days=1)) == [
        at(MONDAY, 8),
        at(MONDAY, 12),
        at(MONDAY, 13),
        at(MONDAY, 17),
    ]


def test_touching_breaks_and_break_at_hours_edge() -> None:
    # Given breaks that touch each other and the start of the day, given out of order
    dh = hours("09:00", "17:00", ("09:30", "10:00"), ("09:00", "09:30"), ("16:00", "17:00"))
    av = Availability(time_zone=NY, weekly=week(mon=dh))
    # When the availability changes are listed
    # Then the breaks are stored in order and the day runs 10:00–16:00 only
    assert [b.start for b in dh.breaks] == [time(9, 0), time(9, 30), time(16, 0)]
    assert chain(av, at(MONDAY, 0), timedelta(hours=24)) == [at(MONDAY, 10), at(MONDAY, 16)]


# --- Today's Availability ---


def test_today_on_before_hours_until_stop_time_then_off_for_the_rest_of_the_day() -> None:
    # Given the default schedule and Today's Availability On with Stop Referrals at 20:00
    av = default_availability(NY).model_copy(
        update={"today": TodayOverride(date=MONDAY, available=True, stop_at=time(20, 0))}
    )
    # When evaluated before hours, after hours and after the stop time
    # Then On covers before and after the standard hours until 20:00, and nothing after
    assert is_available(av, at(MONDAY, 6, 0)) is True
    assert is_available(av, at(MONDAY, 18, 30)) is True
    assert is_available(av, at(MONDAY, 19, 59)) is True
    assert is_available(av, at(MONDAY, 20, 0)) is False
    assert is_available(av, at(MONDAY, 23, 0)) is False
    # And the next day follows the weekly schedule again
    tuesday = MONDAY + timedelta(days=1)
    assert is_available(av, at(tuesday, 6, 0)) is False
    assert next_change(av, at(MONDAY, 6, 0)) == at(MONDAY, 20, 0)
    assert next_change(av, at(MONDAY, 20, 0)) == at(tuesday, 8, 0)


def test_today_on_without_stop_runs_to_midnight_and_covers_breaks_and_days_off() -> None:
    # Given a Saturday (off) and a Monday with a lunch break, each with Today's Availability On, no stop time
    saturday = MONDAY + timedelta(days=5)
    weekly = week(DayHours(), mon=hours("08:00", "17:00", ("12:00", "13:00")), sat=DayHours(enabled=False))
    on_saturday = Availability(time_zone=NY, weekly=weekly, today=TodayOverride(date=saturday, available=True))
    on_monday = Availability(time_zone=NY, weekly=weekly, today=TodayOverride(date=MONDAY, available=True))
    # When evaluated
    # Then the override holds through the break, the day off and up to midnight
    assert is_available(on_monday, at(MONDAY, 12, 30)) is True
    assert is_available(on_monday, at(MONDAY, 23, 59)) is True
    assert is_available(on_saturday, at(saturday, 21, 0)) is True
    assert next_change(on_saturday, at(saturday, 21, 0)) == at(saturday + timedelta(days=1), 0, 0)
    # And Tuesday 00:00 falls back to the schedule (not available until 08:00)
    assert next_change(on_monday, at(MONDAY, 10, 0)) == at(MONDAY + timedelta(days=1), 0, 0)


def test_today_on_stop_time_24_00_is_midnight() -> None:
    # Given Today's Availability On with Stop Referrals written "24:00"
    override = TodayOverride.model_validate({"date": "2025-06-02", "available": True, "stop_at": "24:00"})
    av = default_availability(NY).model_copy(update={"today": override})
    # When evaluated just before midnight
    # Then still on, and it serialises back as "24:00"
    assert is_available(av, at(MONDAY, 23, 59)) is True
    assert json.loads(override.model_dump_json())["stop_at"] == "24:00"


def test_today_on_with_stop_before_scheduled_hours_stops_referrals_for_the_day() -> None:
    # Given On from early morning with Stop Referrals at 07:00, before the 08:00 standard start
    av = default_availability(NY).model_copy(
        update={"today": TodayOverride(date=MONDAY, available=True, stop_at=time(7, 0))}
    )
    # When evaluated during the standard hours of that day
    # Then the stop time wins for the rest of the day
    assert is_available(av, at(MONDAY, 6, 59)) is True
    assert is_available(av, at(MONDAY, 10, 0)) is False
    assert next_change(av, at(MONDAY, 7, 0)) == at(MONDAY + timedelta(days=1), 8, 0)


def test_today_off_stops_early_for_that_day_only() -> None:
    # Given the default schedule and Today's Availability Off on Monday
    av = default_availability(NY).model_copy(update={"today": TodayOverride(date=MONDAY, available=False)})
    # When evaluated during Monday's hours
    # Then the agent is unavailable until Tuesday's hours start
    assert is_available(av, at(MONDAY, 10, 0)) is False
    assert is_available(av, at(MONDAY, 16, 59)) is False
    assert next_change(av, at(MONDAY, 10, 0)) == at(MONDAY + timedelta(days=1), 8, 0)
    assert is_available(av, at(MONDAY + timedelta(days=1), 10, 0)) is True


def test_override_for_another_date_is_ignored() -> None:
    # Given an Off override for Tuesday and an On override for Sunday (yesterday)
    off_tomorrow = default_availability(NY).model_copy(
        update={"today": TodayOverride(date=MONDAY + timedelta(days=1), available=False)}
    )
    on_yesterday = default_availability(NY).model_copy(
        update={"today": TodayOverride(date=MONDAY - timedelta(days=1), available=True)}
    )
    # When evaluated on Monday
    # Then Monday follows the weekly schedule in both cases
    for av in (off_tomorrow, on_yesterday):
        assert is_available(av, at(MONDAY, 7, 0)) is False
        assert is_available(av, at(MONDAY, 10, 0)) is True
        assert is_available(av, at(MONDAY, 18, 0)) is False


def test_override_date_is_the_agents_local_date() -> None:
    # Given a Honolulu agent, On for 2025-06-02, at 2025-06-03 05:00 UTC (19:00 on 06-02 in Honolulu)
    zone = "Pacific/Honolulu"
    av = default_availability(zone).model_copy(update={"today": TodayOverride(date=MONDAY, available=True)})
    moment = utc(MONDAY + timedelta(days=1), 5, 0)
    # When evaluated and the local date is asked for
    # Then the override applies, because it is still Monday in Honolulu
    assert local_date(av, moment) == MONDAY
    assert is_available(av, moment) is True
    assert next_change(av, moment) == utc(MONDAY + timedelta(days=1), 10, 0)


# --- Out of office and precedence ---


def test_out_of_office_range_is_half_open() -> None:
    # Given out of office from Monday 10:00 to Wednesday 12:00 New York time, stated in UTC
    ooo = OutOfOffice(start=utc(MONDAY, 14, 0), end=utc(MONDAY + timedelta(days=2), 16, 0))
    av = default_availability(NY).model_copy(update={"out_of_office": ooo})
    wednesday = MONDAY + timedelta(days=2)
    # When evaluated around the range
    # Then [start, end) is unavailable and the schedule resumes at end
    assert is_available(av, at(MONDAY, 9, 59)) is True
    assert is_available(av, at(MONDAY, 10, 0)) is False
    assert is_available(av, at(MONDAY + timedelta(days=1), 12, 0)) is False
    assert is_available(av, at(wednesday, 11, 59)) is False
    assert is_available(av, at(wednesday, 12, 0)) is True
    assert next_change(av, at(MONDAY, 9, 0)) == at(MONDAY, 10, 0)
    assert next_change(av, at(MONDAY, 10, 0)) == at(wednesday, 12, 0)


def test_out_of_office_with_no_end_lasts_until_switched_off() -> None:
    # Given out of office with no end date
    av = default_availability(NY).model_copy(update={"out_of_office": OutOfOffice(start=at(MONDAY, 9, 0))})
    # When evaluated long afterwards
    # Then unavailable, and there is no change within the horizon
    assert is_available(av, at(MONDAY, 8, 59)) is True
    assert is_available(av, at(MONDAY, 9, 0)) is False
    assert is_available(av, at(date(2030, 1, 7), 10, 0)) is False
    assert next_change(av, at(MONDAY, 8, 30)) == at(MONDAY, 9, 0)
    assert next_change(av, at(MONDAY, 9, 0)) is None


def test_out_of_office_boundaries_are_exact_to_the_second() -> None:
    # Given out of office starting at 10:00:30 and ending at 11:15:45.5 local
    start = at(MONDAY, 10, 0) + timedelta(seconds=30)
    end = at(MONDAY, 11, 15) + timedelta(seconds=45, microseconds=500_000)
    av = default_availability(NY).model_copy(update={"out_of_office": OutOfOffice(start=start, end=end)})
    # When asked for the next changes
    # Then they are the exact instants
    assert chain(av, at(MONDAY, 9, 0), timedelta(hours=3)) == [start, end]
    assert is_available(av, start - timedelta(microseconds=1)) is True
    assert is_available(av, end - timedelta(microseconds=1)) is False


def test_out_of_office_ending_a_minute_before_hours_end_leaves_that_minute() -> None:
    # Given out of office from 08:01 to 16:59 on a default Monday
    ooo = OutOfOffice(start=at(MONDAY, 8, 1), end=at(MONDAY, 16, 59))
    av = default_availability(NY).model_copy(update={"out_of_office": ooo})
    # When the day's changes are listed
    # Then the first and last minute of the hours remain available
    assert chain(av, at(MONDAY, 0), timedelta(days=1)) == [
        at(MONDAY, 8, 0),
        at(MONDAY, 8, 1),
        at(MONDAY, 16, 59),
        at(MONDAY, 17, 0),
    ]


def test_precedence_out_of_office_over_today_over_weekly() -> None:
    # Given Today's Availability On (overriding a lunch break) and an out-of-office hour inside it
    weekly = week(DayHours(), mon=hours("08:00", "17:00", ("12:00", "13:00")))
    today_on = TodayOverride(date=MONDAY, available=True)
    ooo = OutOfOffice(start=at(MONDAY, 14, 0), end=at(MONDAY, 15, 0))
    av = Availability(time_zone=NY, weekly=weekly, today=today_on, out_of_office=ooo)
    # When evaluated
    # Then the override beats the break and the schedule's end, and out of office beats the override
    assert is_available(av, at(MONDAY, 12, 30)) is True
    assert is_available(av, at(MONDAY, 14, 30)) is False
    assert is_available(av, at(MONDAY, 15, 0)) is True
    assert is_available(av, at(MONDAY, 20, 0)) is True
    # And Today's Off beats the weekly hours
    off = av.model_copy(update={"today": TodayOverride(date=MONDAY, available=False), "out_of_office": None})
    assert is_available(off, at(MONDAY, 10, 0)) is False


# --- Midnight and 24:00 ---


def test_day_ending_24_00_runs_continuously_into_next_day_starting_00_00() -> None:
    # Given Monday 12:00–24:00 and Tuesday 00:00–10:00, read from JSON
    payload = {
        "time_zone": NY,
        "weekly": {
            "days": {
                name: {"enabled": name in ("mon", "tue"), "start": "00:00", "end": "10:00", "breaks": []}
                for name in DAY_NAMES
            }
            | {"mon": {"enabled": True, "start": "12:00", "end": "24:00", "breaks": []}}
        },
    }
    av = Availability.model_validate(payload)
    tuesday = MONDAY + timedelta(days=1)
    # When evaluated across midnight
    # Then there is no gap at midnight and the only changes are Monday 12:00 and Tuesday 10:00
    assert is_available(av, at(MONDAY, 23, 59)) is True
    assert is_available(av, at(tuesday, 0, 0)) is True
    assert chain(av, at(MONDAY, 0), timedelta(days=2)) == [at(MONDAY, 12), at(tuesday, 10)]
    # And "24:00" is written back as "24:00"
    assert json.loads(av.model_dump_json())["weekly"]["days"]["mon"]["end"] == "24:00"


def test_end_00_00_means_end_of_day() -> None:
    # Given an interval and day hours whose end is 00:00
    # When validated
    # Then they mean until midnight
    assert Interval(start=time(22, 0), end=time(0, 0)).minutes == (1320, 1440)
    av = Availability(time_zone=NY, weekly=week(mon=DayHours(start=time(22, 0), end=time(0, 0))))
    assert is_available(av, at(MONDAY, 23, 59)) is True
    assert next_change(av, at(MONDAY, 23, 0)) == at(MONDAY + timedelta(days=1), 0, 0)


def test_always_on_has_no_change_within_horizon() -> None:
    # Given every day 00:00–24:00
    av = Availability(time_zone=NY, weekly=week(hours("00:00", "24:00")))
    # When asked for the next change (crossing both DST changes of 2025)
    # Then there is none and the agent is always available
    for start in (at(SPRING_2025, 0), at(FALL_2025, 0)):
        assert next_change(av, start - timedelta(days=2)) is None
        assert is_available(av, start + timedelta(hours=2, minutes=30)) is True


def test_horizon_is_inclusive_and_zero_horizon_sees_nothing() -> None:
    # Given the default schedule, Monday 07:00
    av = default_availability(NY)
    # When the horizon ends exactly at, or just before, the 08:00 change
    # Then the change is reported only when it lies within (after, after + horizon]
    assert next_change(av, at(MONDAY, 7), timedelta(hours=1)) == at(MONDAY, 8)
    assert next_change(av, at(MONDAY, 7), timedelta(minutes=59)) is None
    assert next_change(av, at(MONDAY, 8), timedelta(0)) is None
    # And the result is strictly after `after`, in UTC
    result = next_change(av, at(MONDAY, 8))
    assert result == at(MONDAY, 17)
    assert result is not None
    assert result.tzinfo is UTC


# --- Daylight saving time ---


@pytest.mark.parametrize(("zone", "std"), DST_ZONES)
def test_spring_forward_nonexistent_start_is_first_instant_after_the_gap(zone: str, std: int) -> None:
    # Given Sunday hours 02:30–05:00 on the spring-forward Sunday (02:30 does not exist)
    av = Availability(time_zone=zone, weekly=week(sun=hours("02:30", "05:00")))
    transition = utc(SPRING_2025, 2) - timedelta(hours=std)  # 02:00 standard = 03:00 daylight
    # When the changes of that day are listed
    # Then availability starts at the transition and ends at 05:00 daylight time
    assert chain(av, at(SPRING_2025, 0, zone=zone), timedelta(days=1)) == [
        transition,
        utc(SPRING_2025, 5) - timedelta(hours=std + 1),
    ]
    assert is_available(av, transition - timedelta(seconds=1)) is False
    assert is_available(av, transition) is True


@pytest.mark.parametrize(("zone", "std"), DST_ZONES)
def test_spring_forward_break_inside_the_gap_vanishes(zone: str, std: int) -> None:
    # Given Sunday 00:00–04:00 with a break 02:00–02:45, which lies wholly in the skipped hour
    av = Availability(time_zone=zone, weekly=week(sun=hours("00:00", "04:00", ("02:00", "02:45"))))
    start = at(SPRING_2025, 0, zone=zone)
    # When the changes are listed
    # Then the agent is available without a gap until 04:00 daylight, three real hours
    changes = chain(av, start - timedelta(hours=1), timedelta(days=1))
    assert changes == [start, utc(SPRING_2025, 4) - timedelta(hours=std + 1)]
    assert changes[1] - changes[0] == timedelta(hours=3)


@pytest.mark.parametrize(("zone", "std"), DST_ZONES)
def test_fall_back_repeated_hour_is_not_counted_twice(zone: str, std: int) -> None:
    # Given Sunday 00:00–01:30 on the fall-back Sunday (01:00–01:59 happens twice)
    av = Availability(time_zone=zone, weekly=week(sun=hours("00:00", "01:30")))
    first_0130 = utc(FALL_2025, 1, 30) - timedelta(hours=std + 1)
    # When the changes of that day are listed
    # Then it ends once, at the first 01:30, and the second pass through 01:00–01:30 is not available
    assert chain(av, at(FALL_2025, 0, zone=zone), timedelta(days=1)) == [first_0130]
    assert is_available(av, at(FALL_2025, 1, 15, zone=zone, fold=0)) is True
    assert is_available(av, at(FALL_2025, 1, 15, zone=zone, fold=1)) is False


@pytest.mark.parametrize(("zone", "std"), DST_ZONES)
def test_fall_back_break_in_repeated_hour_happens_once(zone: str, std: int) -> None:
    # Given Sunday 00:00–03:00 with a break 01:00–01:30 on the fall-back Sunday
    av = Availability(time_zone=zone, weekly=week(sun=hours("00:00", "03:00", ("01:00", "01:30"))))
    daylight = timedelta(hours=std + 1)
    # When the changes are listed
    # Then the break happens once (first pass) and the day ends at 03:00 standard time
    assert chain(av, at(FALL_2025, 0, zone=zone), timedelta(days=1)) == [
        utc(FALL_2025, 1) - daylight,
        utc(FALL_2025, 1, 30) - daylight,
        utc(FALL_2025, 3) - timedelta(hours=std),
    ]
    assert is_available(av, at(FALL_2025, 1, 15, zone=zone, fold=1)) is True


@pytest.mark.parametrize(("zone", "std"), DST_ZONES)
def test_fall_back_hours_inside_repeated_hour_last_real_time(zone: str, std: int) -> None:
    # Given Sunday hours 01:30–02:00 on the fall-back Sunday
    av = Availability(time_zone=zone, weekly=week(sun=hours("01:30", "02:00")))
    # When the changes are listed
    # Then it runs from the first 01:30 to 02:00 standard time: 90 real minutes
    changes = chain(av, at(FALL_2025, 0, zone=zone), timedelta(days=1))
    assert changes == [
        utc(FALL_2025, 1, 30) - timedelta(hours=std + 1),
        utc(FALL_2025, 2) - timedelta(hours=std),
    ]
    assert changes[1] - changes[0] == timedelta(minutes=90)


@pytest.mark.parametrize("zone", ALL_ZONES)
def test_standard_hours_stay_on_local_time_across_both_dst_changes(zone: str) -> None:
    # Given the default schedule in each zone
    av = default_availability(zone)
    # When the weekdays around each 2025 DST change are checked at local 08:00 and 16:59
    # Then the hours follow the local clock (zones without DST simply keep their offset)
    for day in (date(2025, 3, 7), date(2025, 3, 10), date(2025, 10, 31), date(2025, 11, 3)):
        assert is_available(av, at(day, 7, 59, zone)) is False
        assert is_available(av, at(day, 8, 0, zone)) is True
        assert is_available(av, at(day, 16, 59, zone)) is True
        assert is_available(av, at(day, 17, 0, zone)) is False
        assert next_change(av, at(day, 8, 0, zone)) == at(day, 17, 0, zone).astimezone(UTC)


@pytest.mark.parametrize("zone", ["America/Phoenix", "Pacific/Honolulu", "America/Puerto_Rico"])
def test_zones_without_dst_keep_a_fixed_utc_time(zone: str) -> None:
    # Given a Sunday schedule 02:30–03:30 in a zone without DST
    av = Availability(time_zone=zone, weekly=week(sun=hours("02:30", "03:30")))
    offset = at(SPRING_2025, 12, zone=zone).utcoffset()
    assert offset is not None
    # When listed on the date other zones spring forward
    # Then 02:30 local exists and the hour is a full hour
    assert chain(av, at(SPRING_2025, 0, zone=zone), timedelta(days=1)) == [
        utc(SPRING_2025, 2, 30) - offset,
        utc(SPRING_2025, 3, 30) - offset,
    ]


def test_today_stop_time_inside_the_spring_gap_is_the_transition() -> None:
    # Given Today's Availability On on the spring-forward Sunday with Stop Referrals at 02:30 (nonexistent)
    av = Availability(
        time_zone=NY,
        weekly=week(),
        today=TodayOverride(date=SPRING_2025, available=True, stop_at=time(2, 30)),
    )
    # When asked for the next change after midnight
    # Then referrals stop at 03:00 EDT = 07:00 UTC
    assert next_change(av, at(SPRING_2025, 0)) == utc(SPRING_2025, 7)


# --- next_change against brute force ---

ANCHORS = (SPRING_2025, FALL_2025, date(2026, 3, 8), date(2026, 11, 1))
EDGE_MINUTES = (0, 60, 90, 119, 120, 121, 150, 180, 1380, 1439, 1440)


@st.composite
def minute_pairs(draw: st.DrawFn, low: int = 0, high: int = 1440) -> tuple[int, int]:
    edge = st.sampled_from([m for m in EDGE_MINUTES if low <= m <= high])
    a = draw(st.one_of(edge, st.integers(low, high)))
    b = draw(st.one_of(edge, st.integers(low, high)).filter(lambda m: m != a))
    return min(a, b), max(a, b)


def _clock(m: int) -> time:
    return time((m // 60) % 24, m % 60)


@st.composite
def day_hours(draw: st.DrawFn) -> DayHours:
    start, end = draw(minute_pairs())
    points = sorted(draw(st.lists(st.integers(start, end), max_size=4)))
    breaks = [
        Interval(start=_clock(points[i]), end=_clock(points[i + 1]))
        for i in range(0, len(points) - 1, 2)
        if points[i] < points[i + 1]
    ]
    return DayHours(enabled=draw(st.booleans()), start=_clock(start), end=_clock(end), breaks=tuple(breaks))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Availability, datetime]:
    zone_name = draw(st.sampled_from(ALL_ZONES))
    zone = ZoneInfo(zone_name)
    anchor = draw(st.one_of(st.sampled_from(ANCHORS), st.dates(date(2025, 1, 1), date(2027, 12, 31))))
    after = datetime.combine(anchor, time(0), tzinfo=zone).astimezone(UTC)
    after += timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))
    weekly = WeeklySchedule(days={name: draw(day_hours()) for name in DAY_NAMES})
    today = None
    if draw(st.booleans()):
        on = draw(st.booleans())
        stop = draw(st.one_of(st.none(), st.integers(1, 1440))) if on else None
        today = TodayOverride(
            date=after.astimezone(zone).date() + timedelta(days=draw(st.integers(-1, 2))),
            available=on,
            stop_at=None if stop is None else _clock(stop),
        )
    ooo = None
    if draw(st.integers(0, 3)) == 0:
        # Local wall times, often on the edge minutes the schedules use, so boundaries meet and touch.
        first, second = draw(minute_pairs())
        local_day = after.astimezone(zone).date() + timedelta(days=draw(st.integers(-2, 2)))
        ooo_start = (datetime.combine(local_day, time(0), tzinfo=zone) + timedelta(minutes=first)).astimezone(UTC)
        length = draw(st.one_of(st.none(), st.just(second - first), st.integers(1, 3 * 1440)))
        ooo = OutOfOffice(
            start=ooo_start.astimezone(draw(st.sampled_from([UTC, zone]))),
            end=None if length is None else ooo_start + timedelta(minutes=length),
        )
    return Availability(time_zone=zone_name, weekly=weekly, today=today, out_of_office=ooo), after


def _brute_force_changes(av: Availability, after: datetime, horizon: timedelta) -> tuple[bool, list[datetime]]:
    steps = int(horizon / MIN)
    states = [oracle(av, after + i * MIN) for i in range(steps + 1)]
    return states[0], [after + i * MIN for i in range(1, steps + 1) if states[i] != states[i - 1]]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_next_change_matches_minute_by_minute_brute_force(scenario: tuple[Availability, datetime]) -> None:
    # Given a random schedule, override and out-of-office period, and an instant near a DST change or anywhere
    av, after = scenario
    horizon = timedelta(days=2)
    # When every change within the horizon is found by chaining next_change
    changes = chain(av, after, horizon)
    # Then they are exactly the minutes at which the independent wall-clock oracle flips
    initial, expected = _brute_force_changes(av, after, horizon)
    assert changes == expected
    assert is_available(av, after) is initial
    for change in changes:
        assert is_available(av, change) is oracle(av, change)
        assert is_available(av, change - MIN) is oracle(av, change - MIN)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_next_change_with_default_horizon_matches_brute_force(
    scenario: tuple[Availability, datetime],
) -> None:
    # Given a random scenario
    av, after = scenario
    # When next_change is asked once with the default eight-day horizon
    change = next_change(av, after)
    # Then it is the first flip of the oracle within eight days, or None when there is none
    _, expected = _brute_force_changes(av, after, timedelta(days=8))
    assert change == (expected[0] if expected else None)


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.integers(-3 * 1440, 3 * 1440), st.sampled_from(ALL_ZONES))
def test_is_available_matches_oracle_from_any_zone(
    scenario: tuple[Availability, datetime], shift: int, view_zone: str
) -> None:
    # Given a random scenario and an instant expressed in an arbitrary zone
    av, after = scenario
    moment = (after + timedelta(minutes=shift)).astimezone(ZoneInfo(view_zone))
    # When evaluated
    # Then it agrees with the oracle
    assert is_available(av, moment) is oracle(av, moment.astimezone(UTC))


# --- Invalid input ---


def _errors(model: type[Any], data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return str(caught.value)


def test_overlapping_breaks_are_rejected() -> None:
    # Given breaks 12:00–13:00 and 12:30–13:30
    data = {
        "start": "08:00",
        "end": "17:00",
        "breaks": [{"start": "12:00", "end": "13:00"}, {"start": "12:30", "end": "13:30"}],
    }
    # When validated / Then refused
    assert "breaks must not overlap" in _errors(DayHours, data)


@pytest.mark.parametrize(("brk_start", "brk_end"), [("07:30", "08:30"), ("16:30", "17:30"), ("18:00", "19:00")])
def test_break_outside_hours_is_rejected(brk_start: str, brk_end: str) -> None:
    # Given a break that is not inside 08:00–17:00
    data = {"start": "08:00", "end": "17:00", "breaks": [{"start": brk_start, "end": brk_end}]}
    # When validated / Then refused
    assert "within the day's hours" in _errors(DayHours, data)


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Interval, {"start": "13:00", "end": "12:00"}),
        (Interval, {"start": "12:00", "end": "12:00"}),
        (DayHours, {"start": "17:00", "end": "08:00"}),
        (OutOfOffice, {"start": "2025-06-02T10:00:00-04:00", "end": "2025-06-02T14:00:00Z"}),
        (OutOfOffice, {"start": "2025-06-02T10:00:00-04:00", "end": "2025-06-02T09:00:00-04:00"}),
    ],
)
def test_end_not_after_start_is_rejected(model: type[Any], data: dict[str, Any]) -> None:
    # Given an end equal to or before the start (the OOO pair is the same instant in two offsets)
    # When validated / Then refused
    assert "end must be after start" in _errors(model, data)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "EST+5", "../etc/passwd", "/etc/localtime", "localtime"])
def test_unknown_time_zone_is_rejected(name: str) -> None:
    # Given a name that is not an IANA time zone
    # When validated / Then refused
    assert "is not an IANA time zone" in _errors(Availability, {"time_zone": name})


def test_naive_out_of_office_datetimes_are_rejected() -> None:
    # Given out-of-office datetimes without an offset
    # When validated / Then refused
    assert "timezone" in _errors(OutOfOffice, {"start": "2025-06-02T10:00:00"}).lower()
    with pytest.raises(ValidationError):
        OutOfOffice(start=at(MONDAY, 9), end=datetime(2025, 6, 3, 9, 0))


@pytest.mark.parametrize("value", ["8:00", "25:00", "12:60", "24:01", "08:00:30", "noon", 480, "08:00+01:00"])
def test_malformed_times_are_rejected(value: Any) -> None:
    # Given a time of day that is not "HH:MM" on the 24-hour clock
    # When validated / Then refused
    assert "HH:MM" in _errors(Interval, {"start": "00:00", "end": value})


def test_start_24_00_and_seconds_are_rejected() -> None:
    # Given "24:00" used as a start, and a Python time with seconds
    # When validated / Then refused
    assert "HH:MM" in _errors(Interval, {"start": "24:00", "end": "24:00"})
    with pytest.raises(ValidationError, match="whole minutes"):
        Interval(start=time(8, 0, 30), end=time(9, 0))


def test_weekly_schedule_needs_all_seven_known_days() -> None:
    # Given a week missing Sunday, and one with an unknown day
    six = {name: {"enabled": True} for name in DAY_NAMES[:6]}
    eight = {**six, "sun": {"enabled": False}, "funday": {"enabled": True}}
    # When validated / Then refused, naming the problem
    assert "missing: sun" in _errors(WeeklySchedule, {"days": six})
    assert "funday" in _errors(WeeklySchedule, {"days": eight})


def test_stop_time_with_off_and_unknown_fields_are_rejected() -> None:
    # Given an Off override with a stop time, and a payload with an unknown field
    # When validated / Then refused
    assert "only when" in _errors(TodayOverride, {"date": "2025-06-02", "available": False, "stop_at": "12:00"})
    assert "Extra inputs" in _errors(Availability, {"time_zone": NY, "holidays": []})


def test_models_are_frozen() -> None:
    # Given an availability
    av = default_availability(NY)
    # When a field is assigned / Then it is refused
    with pytest.raises(ValidationError):
        av.time_zone = "America/Chicago"  # type: ignore[misc]


@pytest.mark.parametrize(
    "call",
    [
        lambda av: is_available(av, datetime(2025, 6, 2, 10, 0)),
        lambda av: next_change(av, datetime(2025, 6, 2, 10, 0)),
        lambda av: local_date(av, datetime(2025, 6, 2, 10, 0)),
        lambda av: next_change(av, at(MONDAY, 10), timedelta(minutes=-1)),
    ],
)
def test_naive_instants_and_negative_horizon_raise_value_error(call: Any) -> None:
    # Given a valid availability
    av = default_availability(NY)
    # When asked about a naive datetime or with a negative horizon / Then ValueError
    with pytest.raises(ValueError, match=r"aware|negative"):
        call(av)


def test_json_schema_describes_hh_mm_times() -> None:
    # Given the models
    # When JSON Schema is generated for requests and for responses
    for mode in ("validation", "serialization"):
        schema = Availability.model_json_schema(mode=mode)
        # Then times are strings with HH:MM patterns and defaults shown as HH:MM
        day = schema["$defs"]["DayHours"]["properties"]
        assert day["start"]["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9]$"
        assert "24:00" in day["end"]["pattern"]
        assert day["start"]["default"] == "08:00"
        assert day["end"]["default"] == "17:00"
        assert schema["$defs"]["OutOfOffice"]["properties"]["start"]["format"] == "date-time"
