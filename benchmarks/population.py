"""A national population for the benchmarks: agents where people live, and a day of consumers.

The ZIP directory (`hod.zipdir`) has no population, so places are weighted in two steps:

1. **States** by their resident population in the 2020 Census (the table below).
2. **Within a state**, each distinct ZIP centroid by the number of ZIP centroids in its precision-4 geohash cell
   (about 40 x 20 km) raised to `DENSITY_EXPONENT`. ZIP areas are small where people are many, so the local
   count of ZIPs is a density proxy: a downtown centroid weighs far more than a ranch-country one. ZIPs that
   share one centroid (PO-box and single-firm ZIPs at the post office) count once, as one place.

`calibration()` compares the result with a few county populations (2020 Census) so the proxy can be judged.
Agents sit at their business ZIP's centroid, as the service places them, so agents stack on shared points.
Everything is deterministic for a seed; names are invented and e-mails are at example.com.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hod import zipdir
from hod.domain import availability as av
from hod.domain.agent import Agent, AgentRecord, Location
from hod.domain.marketplace import healthcare_gov_states
from hod.geo import encode, haversine_km

PLAN_YEAR = 2026

STATE_POPULATION_2020: dict[str, int] = {
    "AL": 5_024_279,
    "AK": 733_391,
    "AZ": 7_151_502,
    "AR": 3_011_524,
    "DE": 989_948,
    "FL": 21_538_187,
    "HI": 1_455_271,
    "IN": 6_785_528,
    "IA": 3_190_369,
    "KS": 2_937_880,
    "LA": 4_657_757,
    "MI": 10_077_331,
    "MS": 2_961_279,
    "MO": 6_154_913,
    "MT": 1_084_225,
    "NE": 1_961_504,
    "NH": 1_377_529,
    "NC": 10_439_388,
    "ND": 779_094,
    "OH": 11_799_448,
    "OK": 3_959_353,
    "OR": 4_237_256,
    "SC": 5_118_425,
    "SD": 886_667,
    "TN": 6_910_840,
    "TX": 29_145_505,
    "UT": 3_271_616,
    "WV": 1_793_716,
    "WI": 5_893_718,
    "WY": 576_851,
}
"""Resident population, 2020 Census (April 1, 2020), of the plan-year-2026 HealthCare.gov states."""

COUNTY_CHECKS: dict[tuple[str, str], int] = {
    ("TX", "Harris County"): 4_731_145,
    ("TX", "Dallas County"): 2_613_539,
    ("FL", "Miami-Dade County"): 2_701_767,
    ("AZ", "Maricopa County"): 4_420_568,
    ("MI", "Wayne County"): 1_793_561,
    ("UT", "Salt Lake County"): 1_185_238,
    ("WY", "Laramie County"): 100_512,
}
"""2020 Census county populations used only to judge the density proxy (`calibration`)."""

DENSITY_CELL_PRECISION = 4
DENSITY_EXPONENT = 0.75

# Share of agents who also speak Spanish, by state (elsewhere DEFAULT_SPANISH); 3% speak no English.
AGENT_SPANISH = {"TX": 0.38, "FL": 0.40, "AZ": 0.30, "UT": 0.12, "OR": 0.12, "NC": 0.10, "OK": 0.10, "NE": 0.10}
AGENT_OTHER_LANGUAGES = [("vi", 0.008), ("zh", 0.01), ("ko", 0.006), ("tl", 0.006), ("ru", 0.005), ("ar", 0.005)]
AGENT_STATE_LANGUAGES = {"FL": [("ht", 0.02), ("pt", 0.01)], "TX": [("vi", 0.02)], "LA": [("vi", 0.015)]}
DEFAULT_SPANISH = 0.06
# What consumers ask for: Spanish by state (elsewhere 4%), a few other languages.
CONSUMER_SPANISH = {"TX": 0.28, "FL": 0.22, "AZ": 0.20, "UT": 0.08, "OR": 0.08, "NC": 0.07, "OK": 0.07}
CONSUMER_OTHER_LANGUAGES = [("vi", 0.004), ("zh", 0.003), ("ko", 0.002), ("ru", 0.002), ("ar", 0.002)]
CONSUMER_STATE_LANGUAGES = {"FL": [("ht", 0.01)]}

# Consumers' requests by local hour of day (relative weights).
HOURLY_REQUESTS = [1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 4, 6, 7, 7, 7, 7, 7, 6.5, 6, 5.5, 5, 4.5, 4, 3, 2, 1.5]

_LAST_NAMES = ("Smith", "García", "Nguyen", "Johnson", "Martínez", "Brown", "Lee", "Davis", "Pierre", "Wilson")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = (*WEEKDAYS, "sat", "sun")


def _hours(
    days: Sequence[str], start: str, end: str, breaks: Sequence[tuple[str, str]] = ()
) -> dict[str, dict[str, Any]]:
    return {
        day: {
            "enabled": day in days,
            "start": start,
            "end": end,
            "breaks": [{"start": s, "end": e} for s, e in breaks],
        }
        for day in ALL_DAYS
    }


# Weekly patterns (share of agents, local hours). None: never set, the default Monday–Friday 08:00–17:00.
SCHEDULES: list[tuple[str, float, dict[str, dict[str, Any]] | None]] = [
    ("office 8-17, lunch", 0.23, _hours(WEEKDAYS, "08:00", "17:00", [("12:00", "13:00")])),
    ("office 9-17:30, lunch", 0.12, _hours(WEEKDAYS, "09:00", "17:30", [("12:30", "13:15")])),
    ("default Mon-Fri 8-17", 0.15, None),
    ("early 7-15:30", 0.08, _hours(WEEKDAYS, "07:00", "15:30")),
    ("weekdays and Saturday", 0.14, _hours((*WEEKDAYS, "sat"), "09:00", "18:00", [("12:30", "13:30")])),
    ("part-time Mon/Wed/Fri", 0.06, _hours(("mon", "wed", "fri"), "09:00", "14:00")),
    ("part-time Tue-Thu", 0.04, _hours(("tue", "wed", "thu"), "10:00", "16:00")),
    ("late shift", 0.10, _hours((*WEEKDAYS, "sat"), "12:00", "21:00", [("16:00", "16:30")])),
    ("long days", 0.07, _hours((*WEEKDAYS, "sat"), "08:00", "20:00", [("12:00", "12:30"), ("17:00", "17:30")])),
    ("open late every day", 0.008, _hours(ALL_DAYS, "07:00", "23:00")),
    ("around the clock", 0.002, _hours(ALL_DAYS, "00:00", "24:00")),
]
TODAY_OFF = 0.02
TODAY_ON_UNTIL = [("20:00", 0.01), ("22:00", 0.01), ("24:00", 0.01)]
VACATION = 0.04  # out of office for the whole benchmark week
ON_LEAVE = 0.01  # out of office with no end date


@dataclass(frozen=True, slots=True)
class Site:
    """A distinct ZIP centroid in a HealthCare.gov state, with the share of people living there."""

    zip: str
    city: str
    county: str
    state: str
    lat: float
    lon: float
    time_zone: str
    weight: float


@dataclass(frozen=True, slots=True)
class Consumer:
    """One "Get Contacted" request: where (a ZIP), in which language, when."""

    zip: str
    state: str
    lat: float
    lon: float
    language: str
    at: datetime


@functools.cache
def sites(plan_year: int = PLAN_YEAR) -> tuple[Site, ...]:
    """Every distinct ZIP centroid of the plan year's HealthCare.gov states, weighted by population."""
    states = healthcare_gov_states(plan_year)
    missing = states - set(STATE_POPULATION_2020)
    if missing:
        raise ValueError(f"no population for {sorted(missing)}")
    first_at_point: dict[tuple[str, float, float], zipdir.ZipPlace] = {}
    for place in zipdir.all_places():
        if place.state in states:
            first_at_point.setdefault((place.state, place.lat, place.lon), place)
    places = list(first_at_point.values())
    per_cell = Counter(encode(p.lat, p.lon, DENSITY_CELL_PRECISION) for p in places)
    raw = [per_cell[encode(p.lat, p.lon, DENSITY_CELL_PRECISION)] ** DENSITY_EXPONENT for p in places]
    state_raw: dict[str, float] = defaultdict(float)
    for place, value in zip(places, raw, strict=True):
        state_raw[place.state] += value
    return tuple(
        Site(
            p.zip,
            p.city,
            p.county,
            p.state,
            p.lat,
            p.lon,
            p.time_zone,
            STATE_POPULATION_2020[p.state] * value / state_raw[p.state],
        )
        for p, value in zip(places, raw, strict=True)
    )


class _Sampler:
    def __init__(self, items: Sequence[Site]) -> None:
        self.items = items
        self.cumulative = list(itertools.accumulate(site.weight for site in items))

    def pick(self, rng: random.Random) -> Site:
        point = rng.random() * self.cumulative[-1]
        return self.items[min(bisect.bisect_right(self.cumulative, point), len(self.items) - 1)]


def calibration(plan_year: int = PLAN_YEAR) -> dict[str, dict[str, float]]:
    """The population share the weighting gives a few counties, beside their 2020 Census share of the state."""
    by_county: dict[tuple[str, str], float] = defaultdict(float)
    for site in sites(plan_year):
        by_county[(site.state, site.county)] += site.weight
    return {
        f"{county}, {state}": {
            "model_share": round(by_county[(state, county)] / STATE_POPULATION_2020[state], 3),
            "census_share": round(people / STATE_POPULATION_2020[state], 3),
        }
        for (state, county), people in COUNTY_CHECKS.items()
    }


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, float]]) -> Any:
    point = rng.random() * sum(weight for _, weight in choices)
    for value, weight in choices:
        point -= weight
        if point < 0:
            return value
    return choices[-1][0]


@functools.cache
def _state_centres(plan_year: int) -> dict[str, tuple[float, float]]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for site in sites(plan_year):
        acc = sums[site.state]
        acc[0] += site.lat * site.weight
        acc[1] += site.lon * site.weight
        acc[2] += site.weight
    return {state: (lat / total, lon / total) for state, (lat, lon, total) in sums.items()}


def _other_licences(rng: random.Random, home: str, plan_year: int) -> list[str]:
    """Further states an agent is licensed in: mostly nearby states, sometimes a large one far away."""
    count = _weighted(rng, [(0, 0.55), (1, 0.25), (2, 0.12), (3, 0.05), (5, 0.03)])
    centres = _state_centres(plan_year)
    lat, lon = centres[home]
    nearby = sorted((s for s in centres if s != home), key=lambda s: haversine_km(lat, lon, *centres[s]))[:6]
    anywhere = [(s, STATE_POPULATION_2020[s]) for s in centres if s != home]
    chosen: list[str] = []
    while len(chosen) < count:
        state = rng.choice(nearby) if rng.random() < 0.7 else _weighted(rng, anywhere)
        if state not in chosen:
            chosen.append(state)
    return chosen


def _languages(rng: random.Random, state: str) -> list[str]:
    languages = ["en"] if rng.random() < 0.97 else []
    if rng.random() < AGENT_SPANISH.get(state, DEFAULT_SPANISH) or not languages:
        languages.append("es")
    for code, share in AGENT_OTHER_LANGUAGES + AGENT_STATE_LANGUAGES.get(state, []):
        if rng.random() < share and code not in languages:
            languages.append(code)
    return languages


class _Availabilities:
    """Availability settings are immutable, so agents with the same pattern and time zone share one object."""

    def __init__(self, today: date) -> None:
        self.today = today
        self._weekly = {
            name: av.WeeklySchedule.model_validate({"days": days}) if days else av.WeeklySchedule()
            for name, _, days in SCHEDULES
        }
        self._cache: dict[tuple[str, str, str, str], av.Availability] = {}

    def get(self, zone: str, schedule: str, today: str, away: str) -> av.Availability:
        key = (zone, schedule, today, away)
        found = self._cache.get(key)
        if found is None:
            tz = ZoneInfo(zone)
            override = None
            if today == "off":
                override = av.TodayOverride(date=self.today, available=False)
            elif today:
                override = av.TodayOverride.model_validate({"date": self.today, "available": True, "stop_at": today})
            out = None
            monday = self.today - timedelta(days=self.today.weekday())
            if away == "vacation":
                out = av.OutOfOffice(
                    start=datetime.combine(monday, time(0), tz),
                    end=datetime.combine(monday + timedelta(days=7), time(0), tz),
                )
            elif away == "leave":
                out = av.OutOfOffice(start=datetime.combine(monday - timedelta(days=40), time(0), tz))
            found = av.Availability(time_zone=zone, weekly=self._weekly[schedule], today=override, out_of_office=out)
            self._cache[key] = found
        return found


def agents(
    count: int, *, today: date, seed: int = 2026, plan_year: int = PLAN_YEAR, first_npn: int = 20_000_000
) -> Iterator[Agent]:
    """`count` agents placed where people live. `today` is the local date Today's Availability toggles are for
    and the week out-of-office periods cover. The first n agents of a larger population are the same people."""
    rng = random.Random(seed)
    sampler = _Sampler(sites(plan_year))
    availabilities = _Availabilities(today)
    created = datetime.combine(today - timedelta(days=60), time(12), UTC)
    schedule_shares = [(name, share) for name, share, _ in SCHEDULES]
    for i in range(count):
        site = sampler.pick(rng)
        npn = str(first_npn + i)
        states = [site.state, *_other_licences(rng, site.state, plan_year)]
        licences = [
            {"state": s, "status": "active", "lines_of_authority": ["health", "life"], "expires": "2028-06-30"}
            for s in states
        ]
        if rng.random() < 0.04:
            licences[0] = {**licences[0], "lines_of_authority": ["property", "casualty"]}
        languages = _languages(rng, site.state)
        record = AgentRecord.model_validate(
            {
                "npn": npn,
                "first_name": "Agent",
                "last_name": _LAST_NAMES[i % len(_LAST_NAMES)],
                "email": f"agent{npn}@example.com",
                "phone": f"+1512555{rng.randint(100, 199):04d}",
                "business_address": {"street": "1 Main St", "city": site.city, "state": site.state, "zip": site.zip},
                "home_state": site.state,
                "licences": licences,
                "ffm_registration_plan_year": plan_year if rng.random() < 0.96 else plan_year - 1,
                "ffm_registration_listed": rng.random() < 0.98,
                "hod_training_complete": rng.random() < 0.97,
                "display_option": _weighted(rng, [(1, 70), (2, 15), (3, 12), (4, 3)]),
                "languages": languages,
                "contact_method": _weighted(
                    rng, [("email_text_app", 45), ("email_text", 25), ("email_app", 10), ("email_only", 20)]
                ),
            }
        )
        roll = rng.random()
        today_setting = "off" if roll < TODAY_OFF else ""
        if not today_setting:
            roll -= TODAY_OFF
            for stop_at, share in TODAY_ON_UNTIL:
                if roll < share:
                    today_setting = stop_at
                    break
                roll -= share
        away_roll = rng.random()
        away = "vacation" if away_roll < VACATION else "leave" if away_roll < VACATION + ON_LEAVE else ""
        availability = availabilities.get(site.time_zone, _weighted(rng, schedule_shares), today_setting, away)
        yield Agent(
            record=record,
            location=Location(lat=site.lat, lon=site.lon),
            city=site.city,
            county=site.county,
            languages=record.languages,
            contact_method=record.contact_method,
            availability=availability,
            created_at=created,
            updated_at=created,
        )


def _consumer_language(rng: random.Random, state: str) -> str:
    roll = rng.random()
    for code, share in [
        ("es", CONSUMER_SPANISH.get(state, 0.04)),
        *CONSUMER_OTHER_LANGUAGES,
        *CONSUMER_STATE_LANGUAGES.get(state, []),
    ]:
        if roll < share:
            return str(code)
        roll -= share
    return "en"


def consumer_stream(count: int, start: datetime, *, seed: int = 7, plan_year: int = PLAN_YEAR) -> list[Consumer]:
    """`count` requests over the 24 hours from `start`, where people live, by the local hour of day
    (`HOURLY_REQUESTS`: busy late morning to evening, a trickle at night). Sorted by arrival."""
    rng = random.Random(seed)
    sampler = _Sampler(sites(plan_year))
    peak = max(HOURLY_REQUESTS)
    zones: dict[str, ZoneInfo] = {}
    stream: list[Consumer] = []
    while len(stream) < count:
        site = sampler.pick(rng)
        at = start + timedelta(seconds=rng.randrange(86_400))
        zone = zones.setdefault(site.time_zone, ZoneInfo(site.time_zone))
        if rng.random() * peak > HOURLY_REQUESTS[at.astimezone(zone).hour]:
            continue
        stream.append(
            Consumer(site.zip, site.state, site.lat, site.lon, _consumer_language(rng, site.state), at.astimezone(UTC))
        )
    stream.sort(key=lambda c: c.at)
    return stream


def arriving(stream: Sequence[Consumer], around: datetime, window: timedelta, limit: int) -> list[Consumer]:
    """The first `limit` consumers of the stream arriving within `window` either side of `around`."""
    return [c for c in stream if abs(c.at - around) <= window][:limit]


def summary(population: Sequence[Agent]) -> dict[str, Any]:
    """Shares that describe a population (for the report)."""
    n = len(population) or 1
    languages = Counter(code for agent in population for code in agent.languages)
    points = Counter((agent.location.lat, agent.location.lon) for agent in population)
    licensed = [len(agent.record.licences) for agent in population]
    return {
        "agents": len(population),
        "speak": {code: round(count / n, 3) for code, count in languages.most_common(8)},
        "distinct_points": len(points),
        "agents_per_point_max": max(points.values(), default=0),
        "agents_per_point_p95": _percentile(sorted(points.values()), 0.95),
        "licences_mean": round(sum(licensed) / n, 2),
    }


def _percentile(ordered: Sequence[int], q: float) -> int:
    if not ordered:
        return 0
    return ordered[min(len(ordered) - 1, math.floor(q * len(ordered)))]
