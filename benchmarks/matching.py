"""Read cost of one match at 1k / 10k / 100k agents, day and night, beside a scan of the state's agents.

For each population size the available-now table is created from template.yaml's definition in moto and filled
with `AgentService.placements` of every agent, written with the index adapter's own batch writes
(`DynamoAvailableIndex.replace`); importing 100,000 agents through the API would take too long, and importing
stores exactly these items. Consumers come from a 24-hour stream (`population.consumer_stream`); those arriving
within half an hour of each snapshot are matched with the service's `MatchingService` at the snapshot instant.
Every DynamoDB call is counted from botocore's events (`counting.CallLog`); the result is also checked against a
brute-force scan of the area in memory.
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3

from benchmarks import population
from benchmarks.counting import CallLog
from benchmarks.fastquery import fast_queries
from benchmarks.tables import item_size
from hod import zipdir
from hod.adapters.available import DynamoAvailableIndex
from hod.domain import availability as av
from hod.domain.agent import Agent
from hod.domain.nearest import IndexEntry, Occupancy
from hod.domain.referral import ConsumerRequest, Place, Referral, ReferralStatus
from hod.geo import haversine_km
from hod.ports.agents import Placement
from hod.services.agents import AgentService, roster_areas
from hod.services.matching import MatchingService
from local.cfn import dynamodb_tables, load_template

DAY = datetime(2026, 1, 13, 16, 30, tzinfo=UTC)
"""Tuesday 13 January 2026 (open enrolment), 10:30 Central: 11:30 Eastern, 8:30 Pacific, 5:30 in Hawaii."""
NIGHT = datetime(2026, 1, 14, 7, 30, tzinfo=UTC)
"""The following night, 1:30 a.m. Central: 2:30 Eastern, 11:30 p.m. Pacific, 9:30 p.m. in Hawaii."""
STREAM_START = datetime(2026, 1, 13, 8, 0, tzinfo=UTC)
"""The consumer stream covers the 24 hours from 2 a.m. Central on the day of the day snapshot."""
TODAY = date(2026, 1, 13)
ARRIVAL_WINDOW = timedelta(minutes=30)
STREAM_SIZE = 40_000
WRITE_CHUNK = 5_000


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _spread(values: Sequence[float], digits: int = 1) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), digits),
        "p95": round(percentile(values, 0.95), digits),
        "max": round(max(values, default=0.0), digits),
        "mean": round(statistics.fmean(values), digits) if values else 0.0,
    }


@contextmanager
def _shared_availability_evaluation() -> Iterator[None]:
    """Agents share Availability objects (population.py), so evaluate each once per instant while loading."""
    is_available, next_change = av.is_available, av.next_change

    @functools.cache
    def cached(availability_id: int, at: datetime) -> tuple[bool, datetime | None]:
        availability = by_id[availability_id]
        return is_available(availability, at), next_change(availability, at)

    by_id: dict[int, av.Availability] = {}

    def fast_is_available(availability: av.Availability, at: datetime) -> bool:
        by_id[id(availability)] = availability
        return cached(id(availability), at)[0]

    def fast_next_change(availability: av.Availability, after: datetime, horizon: Any = None) -> datetime | None:
        if horizon is not None:
            return next_change(availability, after, horizon)
        by_id[id(availability)] = availability
        return cached(id(availability), after)[1]

    av.is_available, av.next_change = fast_is_available, fast_next_change  # type: ignore[assignment]
    try:
        yield
    finally:
        av.is_available, av.next_change = is_available, next_change


def placements_at(agents: Sequence[Agent], at: datetime, rosters: bool) -> list[Placement]:
    service = AgentService(None, None, FixedClock(at), population.PLAN_YEAR)  # type: ignore[arg-type]
    found: list[Placement] = []
    with _shared_availability_evaluation():
        for agent in agents:
            entries, _ = service.placements(agent, at)
            found += [p for p in entries if rosters or not p.area.startswith("ROSTER#")]
    return found


def _create_index_table(prefix: str) -> str:
    """A new available-now table, marked as keeping every area's summary (as `hod-admin complete-summaries` does
    after a deployment): an area that never had an entry has no summary and is then known to be empty."""
    kwargs = dynamodb_tables(load_template(), prefix)["AvailableAgentsTable"]
    boto3.client("dynamodb").create_table(**kwargs)
    DynamoAvailableIndex(str(kwargs["TableName"])).complete_summaries()
    return str(kwargs["TableName"])


def _load(index: DynamoAvailableIndex, entries: Sequence[Placement]) -> float:
    started = time.perf_counter()
    for start in range(0, len(entries), WRITE_CHUNK):
        index.replace(remove=(), add=entries[start : start + WRITE_CHUNK])
    return time.perf_counter() - started


def _referral(consumer: population.Consumer, at: datetime, serial: int) -> Referral:
    place = zipdir.lookup(consumer.zip)
    assert place is not None
    return Referral(
        referral_id=f"bench{serial:06d}",
        consumer=ConsumerRequest(first_name="Bench", last_name="Consumer", phone="5125550100", zip=consumer.zip),
        place=Place(
            zip=place.zip,
            city=place.city,
            county=place.county,
            state=place.state,
            lat=place.lat,
            lon=place.lon,
            time_zone=place.time_zone,
        ),
        language=consumer.language,
        status=ReferralStatus.SEARCHING,
        created_at=at,
        updated_at=at,
    )


class _TimedIndex:
    """The adapter, with the time spent inside its calls added up (to separate store time from search time)."""

    def __init__(self, index: DynamoAvailableIndex) -> None:
        self.index = index
        self.seconds = 0.0
        self.summary_reads = 0

    def _timed(self, call: Callable[..., Sequence[IndexEntry]], *args: Any) -> Sequence[IndexEntry]:
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.seconds += time.perf_counter() - started

    def query(self, area: str, prefix: str) -> Sequence[IndexEntry]:
        return self._timed(self.index.query, area, prefix)

    def query_page(
        self, area: str, prefix: str, limit: int, after: IndexEntry | None = None, past_position: bool = False
    ) -> Sequence[IndexEntry]:
        return self._timed(self.index.query_page, area, prefix, limit, after, past_position)

    def occupancy(self, area: str) -> Occupancy:
        self.summary_reads += 1
        started = time.perf_counter()
        try:
            return self.index.occupancy(area)
        finally:
            self.seconds += time.perf_counter() - started

    def replace(self, remove: Any, add: Any) -> None:
        self.index.replace(remove, add)


def _in_memory_areas(entries: Sequence[Placement]) -> dict[str, list[IndexEntry]]:
    """The index as the adapter returns it (positions at their precision-9 cell's centre), for brute force."""
    areas: dict[str, list[IndexEntry]] = {}
    centre = functools.cache(_cell_centre)
    for p in entries:
        if p.area.startswith("ROSTER#"):
            continue
        lat, lon = centre(p.cell.split("#", 1)[0])
        areas.setdefault(p.area, []).append(IndexEntry(p.npn, lat, lon, p.until))
    return areas


def _cell_centre(cell: str) -> tuple[float, float]:
    from hod.geo import cell_bounds

    south, west, north, east = cell_bounds(cell)
    return (south + north) / 2, (west + east) / 2


def _brute_force(entries: Sequence[IndexEntry], lat: float, lon: float, now: int) -> str | None:
    best: tuple[float, str] | None = None
    for e in entries:
        if e.until > now:
            candidate = (haversine_km(lat, lon, e.lat, e.lon), e.npn)
            if best is None or candidate < best:
                best = candidate
    return None if best is None else best[1]


def _scan_counts(log: CallLog, table: str, partitions: set[str]) -> dict[str, tuple[int, float]]:
    """Items and read units of reading each partition whole. Select=COUNT: DynamoDB reads, and bills, every item
    either way, and moto need not serialise them; the units use the partition's mean item size."""
    client = log.hook(boto3.client("dynamodb"))
    found: dict[str, tuple[int, float]] = {}
    for partition in sorted(partitions):
        condition = {"KeyConditionExpression": "area = :a", "ExpressionAttributeValues": {":a": {"S": partition}}}
        mark = log.mark()
        with log.scope("scan"):
            request: dict[str, Any] = {"TableName": table, "Select": "COUNT", **condition}
            while True:
                page = client.query(**request)
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        calls = log.since(mark, {"scan"})
        items = sum(c.items_read for c in calls)
        sample = client.query(TableName=table, Limit=100, **condition)["Items"]
        mean_size = statistics.fmean(item_size(i) for i in sample) if sample else 0.0
        found[partition] = (items, 0.5 * max(len(calls), math.ceil(items * mean_size / 4096)))
    return found


def _roster_count(counts: dict[str, tuple[int, float]], state: str) -> tuple[int, float]:
    """Items and read units of reading a state's whole roster: every shard of it."""
    shards = [counts[area] for area in roster_areas(state)]
    return sum(items for items, _ in shards), sum(units for _, units in shards)


def _scenario(
    log: CallLog,
    table: str,
    entries: Sequence[Placement],
    consumers: Sequence[population.Consumer],
    at: datetime,
    roster_counts: dict[str, tuple[int, float]],
) -> dict[str, Any]:
    index = _TimedIndex(DynamoAvailableIndex(table))
    service = MatchingService(index, FixedClock(at))
    areas = _in_memory_areas(entries)
    area_counts = _scan_counts(log, table, {f"{c.state}#{c.language}" for c in consumers})
    now = int(at.timestamp())
    items: list[float] = []
    units: list[float] = []
    queries: list[float] = []
    latency: list[float] = []
    search: list[float] = []
    scan_items: list[float] = []
    scan_units: list[float] = []
    area_items: list[float] = []
    wrong = disagree = found = 0
    for serial, consumer in enumerate(consumers):
        referral = _referral(consumer, at, serial)
        mark = log.mark()
        index.seconds = 0.0
        started = time.perf_counter()
        with log.scope("match"):
            result = service.next_agent(referral)
        elapsed = time.perf_counter() - started
        calls = [c for c in log.since(mark, {"match"}) if c.service == "dynamodb"]
        read = sum(c.items_read for c in calls)
        items.append(read)
        units.append(sum(c.read_units for c in calls))
        queries.append(len(calls))
        latency.append(elapsed * 1000)
        search.append((elapsed - index.seconds) * 1000)
        disagree += read != result.items_read
        expected = _brute_force(areas.get(referral.area, []), referral.place.lat, referral.place.lon, now)
        wrong += (result.entry.npn if result.entry else None) != expected
        found += result.entry is not None
        scan_items.append(roster_counts[referral.place.state][0])
        scan_units.append(roster_counts[referral.place.state][1])
        area_items.append(area_counts[referral.area][0])
    return {
        "matches": len(consumers),
        "found": found,
        "wrong": wrong,
        "count_disagreements": disagree,
        "summary_reads": index.summary_reads,
        "items_read": _spread(items, 0),
        "read_units": _spread(units, 1),
        "queries": _spread(queries, 0),
        "latency_ms": _spread(latency, 1),
        "search_ms": _spread(search, 1),
        "scan_items_read": _spread(scan_items, 0),
        "scan_read_units": _spread(scan_units, 1),
        "scan_ratio_read_units_p50": round(percentile(scan_units, 0.5) / max(0.5, percentile(units, 0.5)), 1),
        "area_scan_items_read": _spread(area_items, 0),
        "available_entries": sum(1 for p in entries if not p.area.startswith("ROSTER#")),
        "raw": {
            "items_read": items,
            "read_units": units,
            "latency_ms": latency,
            "scan_items_read": scan_items,
            "scan_read_units": scan_units,
        },
    }


def check_fast_path(log: CallLog, table: str, samples: int = 25) -> int:
    """Runs sample Queries with moto's own Query and with the fast one; returns how many answers differed."""
    client = boto3.client("dynamodb")
    areas = ["TX#en", "FL#es", "OH#en", "ROSTER#TX"]
    prefixes = ["", "9", "9v", "9vk", "dhw", "dn", "c2", "zzz"]
    differences = 0
    requests = []
    for i in range(samples):
        prefix = prefixes[i % 8]
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "area = :a" + (" AND begins_with(cell, :p)" if prefix else ""),
            "ExpressionAttributeValues": {":a": {"S": areas[i % 4]}, **({":p": {"S": prefix}} if prefix else {})},
        }
        if i % 3:
            request["Limit"] = 1 + i % 5
        if i % 4 == 3:
            request["ExclusiveStartKey"] = {"area": {"S": areas[i % 4]}, "cell": {"S": prefix + "m"}}
        requests.append(request)
    with fast_queries():
        fast = [client.query(**r) for r in requests]
    slow = [client.query(**r) for r in requests]
    for a, b in zip(fast, slow, strict=True):
        for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey"):
            differences += a.get(key) != b.get(key)
    return differences


def run(sizes: Sequence[int], matches: int, log: CallLog, progress: Callable[[str], None]) -> dict[str, Any]:
    """The match-cost figures for each population size, each in a fresh moto."""
    from moto import mock_aws

    with mock_aws():
        return _run(sizes, matches, log, progress)


def _run(sizes: Sequence[int], matches: int, log: CallLog, progress: Callable[[str], None]) -> dict[str, Any]:
    largest = max(sizes)
    started = time.perf_counter()
    everyone = list(population.agents(largest, today=TODAY))
    progress(f"{largest:,} agents generated in {time.perf_counter() - started:.0f} s")
    stream = population.consumer_stream(STREAM_SIZE, STREAM_START)
    day_consumers = population.arriving(stream, DAY, ARRIVAL_WINDOW, matches)
    night_consumers = population.arriving(stream, NIGHT, ARRIVAL_WINDOW, matches)
    results: dict[str, Any] = {
        "population": {"calibration": population.calibration(), **population.summary(everyone)},
        "stream": {
            "requests": STREAM_SIZE,
            "from": STREAM_START.isoformat(),
            "arriving_by_local_hour": population.HOURLY_REQUESTS,
            "day_window_arrivals": len(population.arriving(stream, DAY, ARRIVAL_WINDOW, STREAM_SIZE)),
            "night_window_arrivals": len(population.arriving(stream, NIGHT, ARRIVAL_WINDOW, STREAM_SIZE)),
        },
        "snapshots": {"day": DAY.isoformat(), "night": NIGHT.isoformat()},
    }
    for size in sorted(sizes):
        agents = everyone[:size]
        t0 = time.perf_counter()
        day_entries = placements_at(agents, DAY, rosters=True)
        night_entries = placements_at(agents, NIGHT, rosters=False)
        day_table = _create_index_table(f"bench-{size}-day-")
        night_table = _create_index_table(f"bench-{size}-night-")
        with fast_queries():
            load_day = _load(DynamoAvailableIndex(day_table), day_entries)
            load_night = _load(DynamoAvailableIndex(night_table), night_entries)
            progress(
                f"{size:,} agents: {len(day_entries):,} + {len(night_entries):,} index items written "
                f"in {load_day + load_night:.0f} s"
            )
            states = {c.state for c in (*day_consumers, *night_consumers)}
            rosters = _scan_counts(log, day_table, {area for s in states for area in roster_areas(s)})
            roster_counts = {s: _roster_count(rosters, s) for s in states}
            day = _scenario(log, day_table, day_entries, day_consumers, DAY, roster_counts)
            night = _scenario(log, night_table, night_entries, night_consumers, NIGHT, roster_counts)
        fast_path_differences = check_fast_path(log, day_table) if size == min(sizes) else None
        boto3.client("dynamodb").delete_table(TableName=day_table)
        boto3.client("dynamodb").delete_table(TableName=night_table)
        results[f"agents_{size}"] = {
            "day": day,
            "night": night,
            "index_items_written": len(day_entries) + len(night_entries),
            "load_seconds": round(load_day + load_night, 1),
            "fast_query_differences": fast_path_differences,
        }
        progress(f"{size:,} agents measured in {time.perf_counter() - t0:.0f} s")
    return results
