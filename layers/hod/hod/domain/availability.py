"""When an agent may receive referrals (R4): weekly hours, Today's Availability and Out of Office.

Precedence, highest first:

1. **Out of office** — unavailable on the instants [start, end); no end means until it is switched off.
2. **Today's override**, on its own local date only — On: available from the start of that date until
   ``stop_at`` (the "Stop Referrals" time; None means midnight), then unavailable for the rest of that
   date, whatever the weekly hours and breaks say. Off: unavailable for the whole date. The override covers
   the whole date because the service only sets it for the agent's current local date, whose earlier part
   is already past.
3. **Weekly schedule** — on an enabled day, available on [start, end) minus its breaks.

Times of day are whole minutes, ``"HH:MM"`` in JSON. Every *end* (an interval or day end, ``stop_at``) may
be ``"24:00"``, the midnight that ends the day; it is held as ``time(0, 0)`` and written back as ``"24:00"``.
An end of ``00:00`` therefore always means end of day (it cannot mean the start, since start < end).

Local wall-clock times become instants in the agent's time zone as follows:

- a wall time that happens twice (the repeated hour when clocks fall back) means its first occurrence, so
  every boundary happens once; the second pass through the repeated hour counts like the last minute before
  the clock first shows a later time (01:59 in New York);
- a wall time that does not exist (02:30 when clocks spring forward) means the first instant after the gap
  (03:00 daylight time); breaks or hours lying wholly inside the gap are empty.

So each local date is one unbroken run of instants from its 00:00 to the next date's 00:00, nothing is
counted twice, and a day ending at 24:00 followed by a day starting at 00:00 is one continuous stretch.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from hod.errors import problem

MINUTES_PER_DAY = 24 * 60

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_END_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
_NOT_ZONES = frozenset({"localtime", "posixrules"})


def _parse_clock(value: Any, *, end: bool) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None or value.second or value.microsecond:
            raise ValueError("must be a local time of day in whole minutes")
        return value
    if not isinstance(value, str):
        raise problem("time_format", 'must be a time of day written "HH:MM"')
    text = value.strip()
    if end and text == "24:00":
        return time(0, 0)
    match = _CLOCK.match(text)
    if match is None:
        raise problem(
            "time_format", 'must be a time of day written "HH:MM" (24-hour clock)' + (' or "24:00"' if end else "")
        )
    return time(int(match.group(1)), int(match.group(2)))


def _parse_start(value: Any) -> time:
    return _parse_clock(value, end=False)


def _parse_end(value: Any) -> time:
    return _parse_clock(value, end=True)


def _write_start(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _write_end(value: time) -> str:
    return "24:00" if value == time(0, 0) else _write_start(value)


StartTime = Annotated[
    time,
    PlainValidator(_parse_start),
    PlainSerializer(_write_start, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _CLOCK_PATTERN, "examples": ["08:00"]}),
]
"""A local time of day in whole minutes, "HH:MM"."""

EndTime = Annotated[
    time,
    PlainValidator(_parse_end),
    PlainSerializer(_write_end, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _END_PATTERN, "examples": ["17:00", "24:00"]}),
]
"""A local end time in whole minutes, "HH:MM"; "24:00" (held as 00:00) is the midnight ending the day."""


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


def _end_minute(t: time) -> int:
    return _minute(t) or MINUTES_PER_DAY


class Interval(BaseModel):
    """A stretch of one local day, [start, end)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: StartTime
    end: EndTime

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if _minute(self.start) >= _end_minute(self.end):
            raise problem("end_before_start", "end must be after start")
        return self

    @property
    def minutes(self) -> tuple[int, int]:
        """Start and end as minutes since local midnight (end up to 1440)."""
        return _minute(self.start), _end_minute(self.end)


class DayHours(BaseModel):
    """One weekday's standard hours; breaks lie inside the hours and do not overlap (they may touch)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    start: StartTime = Field(default=time(8, 0), json_schema_extra={"default": "08:00"})
    end: EndTime = Field(default=time(17, 0), json_schema_extra={"default": "17:00"})
    breaks: tuple[Interval, ...] = ()

    @field_validator("breaks")
    @classmethod
    def _sorted(cls, breaks: tuple[Interval, ...]) -> tuple[Interval, ...]:
        ordered = tuple(sorted(breaks, key=lambda b: b.minutes))
        for before, after in itertools.pairwise(ordered):
            if after.minutes[0] < before.minutes[1]:
                raise problem("breaks_overlap", "breaks must not overlap")
        return ordered

    @model_validator(mode="after")
    def _inside(self) -> DayHours:
        start, end = _minute(self.start), _end_minute(self.end)
        if start >= end:
            raise problem("end_before_start", "end must be after start")
        for brk in self.breaks:
            if brk.minutes[0] < start or brk.minutes[1] > end:
                raise problem("break_outside_hours", "breaks must lie within the day's hours")
        return self

    def segments(self) -> list[tuple[int, int]]:
        """Available minutes of the day as [start, end) pairs, breaks removed."""
        if not self.enabled:
            return []
        out: list[tuple[int, int]] = []
        cursor, end = _minute(self.start), _end_minute(self.end)
        for brk_start, brk_end in (b.minutes for b in self.breaks):
            if brk_start > cursor:
                out.append((cursor, brk_start))
            cursor = max(cursor, brk_end)
        if cursor < end:
            out.append((cursor, end))
        return out


def _default_days() -> dict[Weekday, DayHours]:
    return {day: DayHours(enabled=day not in ("sat", "sun")) for day in WEEKDAYS}


class WeeklySchedule(BaseModel):
    """Standard hours for each weekday, "mon".."sun"; by default Monday–Friday 08:00–17:00 (read-only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: dict[Weekday, DayHours] = Field(default_factory=_default_days)

    @field_validator("days")
    @classmethod
    def _all_seven(cls, days: dict[Weekday, DayHours]) -> dict[Weekday, DayHours]:
        missing = [day for day in WEEKDAYS if day not in days]
        if missing:
            raise ValueError(f"every weekday needs an entry; missing: {', '.join(missing)}")
        return {day: days[day] for day in WEEKDAYS}

    def on(self, day: date) -> DayHours:
        """The hours for the weekday of `day`."""
        return self.days[WEEKDAYS[day.weekday()]]


class TodayOverride(BaseModel):
    """Today's Availability toggle for one local date: On until `stop_at` (None = midnight), or Off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    available: bool
    stop_at: EndTime | None = None

    @model_validator(mode="after")
    def _stop_only_when_on(self) -> TodayOverride:
        if not self.available and self.stop_at is not None:
            raise ValueError("stop_at applies only when today's availability is On")
        return self

    def segments(self) -> list[tuple[int, int]]:
        """Available minutes of the date as [start, end) pairs."""
        if not self.available:
            return []
        return [(0, MINUTES_PER_DAY if self.stop_at is None else _end_minute(self.stop_at))]


# Out of Office instants an agent may set: written-out dates and times of this century (a number, read as seconds
# since 1970, or a year like 0140 is a typing slip, not a plan)
EARLIEST_MOMENT = datetime(2020, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2100, 1, 1, tzinfo=UTC)


def _written_moment(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}[T ]", value)):
        return value
    raise problem("date_time_format", "must be a date and time with its UTC offset, e.g. 2026-12-24T09:00:00-06:00")


def _this_century(moment: datetime) -> datetime:
    if not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
        raise problem("year_out_of_range", f"must be between {EARLIEST_MOMENT.year} and {LATEST_MOMENT.year - 1}")
    return moment


Moment = Annotated[AwareDatetime, BeforeValidator(_written_moment), AfterValidator(_this_century)]


class OutOfOffice(BaseModel):
    """Out of Office from `start` until `end` (exclusive), or until switched off when `end` is None. Both are
    written-out dates and times with their offset, between 2020 and 2099."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: Moment
    end: Moment | None = None

    @model_validator(mode="after")
    def _ordered(self) -> OutOfOffice:
        if self.end is not None and self.end <= self.start:
            raise problem("end_before_start", "end must be after start")
        return self


class Availability(BaseModel):
    """An agent's availability settings, evaluated in the agent's IANA time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str = Field(examples=["America/New_York"])
    weekly: WeeklySchedule = Field(default_factory=WeeklySchedule)
    today: TodayOverride | None = None
    out_of_office: OutOfOffice | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        if name in _NOT_ZONES:
            raise problem("time_zone_unknown", f"{name!r} is not an IANA time zone")
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise problem("time_zone_unknown", f"{name!r} is not an IANA time zone") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def default_availability(time_zone: str) -> Availability:
    """Monday–Friday 08:00–17:00 in `time_zone`, no override, not out of office."""
    return Availability(time_zone=time_zone)


def local_date(av: Availability, at: datetime) -> date:
    """The agent's local date at the instant `at` (the date a Today's Availability toggle applies to)."""
    return _utc(at).astimezone(av.zone).date()


def is_available(av: Availability, at: datetime) -> bool:
    """Whether the agent may receive referrals at the instant `at`."""
    moment = _utc(at)
    return any(start <= moment < end for start, end in _periods(av, moment, moment))


def next_change(av: Availability, after: datetime, horizon: timedelta = timedelta(days=8)) -> datetime | None:
    """The first instant t (UTC), after < t <= after + horizon, at which `is_available` flips; else None."""
    if horizon < timedelta(0):
        raise ValueError("horizon must not be negative")
    first = _utc(after)
    last = first + horizon
    for start, end in _periods(av, first, last):
        for boundary in (start, end):
            if first < boundary:
                return boundary if boundary <= last else None
    return None


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a time zone-aware datetime is required")
    return at.astimezone(UTC)


def _instant(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """The UTC instant of wall time `minute` on `day` (1440 = the next day's 00:00), per the module rules."""
    day, minute = day + timedelta(days=minute // MINUTES_PER_DAY), minute % MINUTES_PER_DAY
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    later = wall.replace(tzinfo=zone).astimezone(UTC)
    if later.astimezone(zone).replace(tzinfo=None) == wall:
        return later
    # In a gap: fold=0 lands after the transition, fold=1 before; find the transition to the second.
    low = int(wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    high = int(later.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _periods(av: Availability, first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    """Maximal available [start, end) UTC periods, covering at least a day either side of [first, last]."""
    zone = av.zone
    from_day = first.astimezone(zone).date() - timedelta(days=1)
    to_day = last.astimezone(zone).date() + timedelta(days=1)
    pieces: list[tuple[datetime, datetime]] = []
    for day in _dates(from_day, to_day):
        override = av.today if av.today is not None and av.today.date == day else None
        minutes = override.segments() if override is not None else av.weekly.on(day).segments()
        for start_minute, end_minute in minutes:
            start, end = _instant(zone, day, start_minute), _instant(zone, day, end_minute)
            if start < end:
                pieces.extend(_minus_out_of_office(av.out_of_office, start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in pieces:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _minus_out_of_office(ooo: OutOfOffice | None, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    if ooo is None:
        return [(start, end)]
    away_from = ooo.start.astimezone(UTC)
    away_until = None if ooo.end is None else ooo.end.astimezone(UTC)
    kept: list[tuple[datetime, datetime]] = []
    if start < away_from:
        kept.append((start, min(end, away_from)))
    if away_until is not None and away_until < end:
        kept.append((max(start, away_until), end))
    return kept
