"""Matching with capacity (`MatchingService.nearest_free`) through a summarised index: the agent it picks is exactly
the one a brute-force walk over every entry would pick, and the area's summary is read at most once per match."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hod.domain.capacity import AgentLoad, Slot, most_rested
from hod.domain.nearest import IndexEntry
from hod.domain.referral import Place
from hod.geo import haversine_km
from hod.services.matching import MatchingService, Pick
from tests.unit.test_nearest import (
    KINDS,
    SUMMARY_READ,
    InMemoryIndex,
    InMemoryPagedIndex,
    _population,
    summarised,
)

NOW = 1_750_000_000
CAPACITY = 2


class _Clock:
    def now(self) -> datetime:
        return datetime.fromtimestamp(NOW, UTC)


class _Loads:
    def __init__(self, loads: dict[str, AgentLoad]) -> None:
        self._loads = loads

    def loads(self, npns: Sequence[str]) -> dict[str, AgentLoad]:
        return {npn: self.load(npn) for npn in npns}

    def loads_and_agents(self, npns: Sequence[str]) -> tuple[dict[str, AgentLoad], dict[str, object]]:
        return self.loads(npns), {npn: object() for npn in npns}  # every agent still on record

    def load(self, npn: str) -> AgentLoad:
        return self._loads.get(npn) or AgentLoad(npn)


def _place(area: str, lat: float, lon: float) -> Place:
    return Place(zip="00000", city="C", county="K", state=area.split("#")[0], lat=lat, lon=lon, time_zone="UTC")


def _brute_force(
    entries: list[IndexEntry], lat: float, lon: float, exclude: set[str], loads: _Loads, look_past: int
) -> tuple[str | None, set[str]]:
    """Every qualifying entry, point by point from the nearest (equal distances: the point holding the lowest npn
    first): the most rested free agent of the first point with one, unless `look_past` busy agents come first."""
    live = [e for e in entries if e.npn not in exclude and e.until > NOW]
    points = {(e.lat, e.lon) for e in live}
    ranked = sorted((haversine_km(lat, lon, *p), min(e.npn for e in live if (e.lat, e.lon) == p), p) for p in points)
    busy: set[str] = set()
    for _, _, point in ranked:
        stack = [loads.load(e.npn) for e in live if (e.lat, e.lon) == point]
        free = [load for load in stack if load.has_room(CAPACITY, NOW)]
        if free:
            return most_rested(free).npn, busy
        busy |= {load.npn for load in stack}
        if len(busy) >= look_past:
            return None, busy
    return None, busy


def _random_loads(rng: random.Random, entries: list[IndexEntry], busy_share: float) -> _Loads:
    loads = {}
    for entry in entries:
        held = CAPACITY if rng.random() < busy_share else rng.randint(0, CAPACITY - 1)
        slots = frozenset(Slot(f"r{entry.npn}-{i}", NOW + rng.choice([-60, 600])) for i in range(held))
        loads[entry.npn] = AgentLoad(entry.npn, offers=slots, last_offer_at=rng.choice([0, NOW - 3600, NOW - 60]))
    return _Loads(loads)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    kind=st.sampled_from(KINDS),
    busy_share=st.sampled_from([0.0, 0.3, 0.8, 1.0]),
    expired_share=st.sampled_from([0.0, 0.0, 0.3]),
    look_past=st.integers(min_value=1, max_value=12),
    summary=st.sampled_from([None, "exact", "exact", "incomplete"]),
    paged=st.booleans(),
)
def test_matching_with_capacity_picks_what_brute_force_picks_reading_the_summary_at_most_once(
    seed: int,
    kind: str,
    busy_share: float,
    expired_share: float,
    look_past: int,
    summary: str | None,
    paged: bool,
) -> None:
    # Given a random population (some entries past their availability), agents at capacity or not with random
    # waits since their last offer, in an index with or without a summary of occupied cells
    rng = random.Random(seed)
    rows, consumers = _population(rng, kind)
    rows = [(area, e._replace(until=NOW - 1) if rng.random() < expired_share else e) for area, e in rows]
    index: InMemoryIndex
    if summary is None:
        index = InMemoryPagedIndex(rows) if paged else InMemoryIndex(rows)
    else:
        incomplete = {area for area, _ in consumers} if summary == "incomplete" else ()
        index = summarised(rows, 5, paged=paged, incomplete=incomplete)
    loads = _random_loads(rng, [e for _, e in rows], busy_share)
    service = MatchingService(index, _Clock(), loads)
    event(f"summary={summary}")
    for area, (lat, lon) in consumers:
        entries = index.everything(area)
        exclude = {e.npn for e in entries if rng.random() < 0.1}
        index.calls.clear()
        # When the nearest agent with a free slot is looked for
        pick: Pick = service.nearest_free(_place(area, lat, lon), area.split("#")[1], exclude, CAPACITY, look_past)
        # Then it is brute force's pick, the busy agents passed over are brute force's, the summary was read at
        # most once, and the pick counts every read made
        expected, busy = _brute_force(entries, lat, lon, exclude, loads, look_past)
        assert (pick.entry.npn if pick.entry else None) == expected
        assert {load.npn for load in pick.busy} == busy
        assert sum(prefix == SUMMARY_READ for _, prefix, _ in index.calls) <= 1
        assert pick.queries == len(index.calls)
        assert pick.items_read == sum(count for _, _, count in index.calls)
        event(f"summary read={any(prefix == SUMMARY_READ for _, prefix, _ in index.calls)}")


def test_a_far_free_agent_behind_busy_ones_is_found_through_the_summary_in_a_handful_of_queries() -> None:
    # Given a Montana area at night: two agents at capacity in Missoula, one free agent in Billings
    rows = [
        ("MT#en", IndexEntry("1", 46.8721, -113.9940, NOW + 3600)),
        ("MT#en", IndexEntry("2", 46.8721, -113.9940, NOW + 3600)),
        ("MT#en", IndexEntry("7", 45.7833, -108.5007, NOW + 3600)),
    ]
    full = frozenset(Slot(f"r{i}", NOW + 600) for i in range(CAPACITY))
    loads = _Loads({npn: AgentLoad(npn, offers=full) for npn in ("1", "2")})
    index = summarised(rows)
    # When a consumer in Libby is matched with capacity counted
    pick = MatchingService(index, _Clock(), loads).nearest_free(
        _place("MT#en", 48.3883, -115.5560), "en", set(), CAPACITY, 5
    )
    # Then the Billings agent is picked, the Missoula agents are passed over, and the empty cells between are
    # skipped through the summary, read once for both searches
    assert pick.entry is not None
    assert pick.entry.npn == "7"
    assert {load.npn for load in pick.busy} == {"1", "2"}
    assert [prefix for _, prefix, _ in index.calls].count(SUMMARY_READ) == 1
    assert pick.queries <= 8
