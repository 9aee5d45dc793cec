from __future__ import annotations

import bisect
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hod.domain.nearest import (
    DEFAULT_POLICY,
    IndexEntry,
    NearestResult,
    Occupancy,
    PagedCellSource,
    SearchPolicy,
    SummarisedCellSource,
    find_nearest,
)
from hod.geo import cell_bounds, encode, haversine_km, neighbours

Point = tuple[float, float]


class InMemoryIndex:
    """The available-now index as DynamoDB lays it out: per area, items sorted by "<geohash9>#<npn>"."""

    def __init__(self, rows: Iterable[tuple[str, IndexEntry]] = ()) -> None:
        by_area: dict[str, list[tuple[str, IndexEntry]]] = defaultdict(list)
        for area, entry in rows:
            by_area[area].append((f"{encode(entry.lat, entry.lon, 9)}#{entry.npn}", entry))
        self._items = {area: sorted(items) for area, items in by_area.items()}
        self._keys = {area: [key for key, _ in items] for area, items in self._items.items()}
        self.calls: list[tuple[str, str, int]] = []

    def query(self, area: str, prefix: str) -> Sequence[IndexEntry]:
        keys = self._keys.get(area, [])
        start = bisect.bisect_left(keys, prefix)
        stop = bisect.bisect_left(keys, prefix + "~")
        found = [entry for _, entry in self._items[area][start:stop]] if keys else []
        self.calls.append((area, prefix, len(found)))
        return found

    def everything(self, area: str) -> list[IndexEntry]:
        return [entry for _, entry in self._items.get(area, [])]


def snapped(entry: IndexEntry) -> IndexEntry:
    """The entry at the centre of its precision-9 cell, as DynamoAvailableIndex returns it."""
    b = cell_bounds(encode(entry.lat, entry.lon, 9))
    return entry._replace(lat=(b.south + b.north) / 2, lon=(b.west + b.east) / 2)


class InMemoryPagedIndex(InMemoryIndex):
    """The index as DynamoAvailableIndex serves it: one item per key (a later row replaces an earlier one with the
    same geohash and npn), positions at their cell's centre, and pages read in key order."""

    def __init__(self, rows: Iterable[tuple[str, IndexEntry]] = ()) -> None:
        unique: dict[tuple[str, str], IndexEntry] = {}
        for area, entry in rows:
            unique[(area, f"{encode(entry.lat, entry.lon, 9)}#{entry.npn}")] = snapped(entry)
        super().__init__((area, entry) for (area, _), entry in unique.items())

    def query_page(
        self, area: str, prefix: str, limit: int, after: IndexEntry | None = None, past_position: bool = False
    ) -> Sequence[IndexEntry]:
        keys = self._keys.get(area, [])
        start = bisect.bisect_left(keys, prefix)
        if after is not None:
            key = f"{encode(after.lat, after.lon, 9)}#{'~' if past_position else after.npn}"
            start = max(start, bisect.bisect_right(keys, key))
        stop = bisect.bisect_left(keys, prefix + "~")
        found = [entry for _, entry in self._items[area][start : min(stop, start + limit)]] if keys else []
        self.calls.append((area, prefix, len(found)))
        return found


SUMMARY_READ = "summary"
"""How a summary read is logged in `InMemoryIndex.calls` (as a prefix: no cell is named so)."""


class Summarised:
    """Adds a summary of occupied cells to an in-memory index: exact, or also naming some empty cells (a summary
    that has not caught up with removals), or incomplete (then it names none)."""

    precision = 5
    stale: frozenset[str] = frozenset()
    incomplete: frozenset[str] = frozenset()

    def occupancy(self, area: str) -> Occupancy:
        assert isinstance(self, InMemoryIndex)
        self.calls.append((area, SUMMARY_READ, 1))
        if area in self.incomplete:
            return Occupancy(self.precision, None, 1)
        cells = {encode(e.lat, e.lon, self.precision) for e in self.everything(area)}
        return Occupancy(self.precision, frozenset(cells | {c[: self.precision] for c in self.stale}), 1)


class SummarisedIndex(Summarised, InMemoryIndex):
    pass


class SummarisedPagedIndex(Summarised, InMemoryPagedIndex):
    pass


def summarised(
    rows: Iterable[tuple[str, IndexEntry]],
    precision: int = 5,
    *,
    paged: bool = True,
    stale: Collection[str] = (),
    incomplete: Collection[str] = (),
) -> InMemoryIndex:
    index = SummarisedPagedIndex(rows) if paged else SummarisedIndex(rows)
    index.precision, index.stale, index.incomplete = precision, frozenset(stale), frozenset(incomplete)
    return index


def brute_force(
    index: InMemoryIndex,
    area: str,
    lat: float,
    lon: float,
    exclude: Collection[str] = (),
    accept: Callable[[IndexEntry], bool] | None = None,
) -> IndexEntry | None:
    eligible = [e for e in index.everything(area) if e.npn not in exclude and (accept is None or accept(e))]
    if not eligible:
        return None
    return min(eligible, key=lambda e: (haversine_km(lat, lon, e.lat, e.lon), e.npn, e.lat, e.lon, e.until))


def assert_exact(
    index: InMemoryIndex,
    area: str,
    lat: float,
    lon: float,
    exclude: Collection[str] = (),
    accept: Callable[[IndexEntry], bool] | None = None,
    policy: SearchPolicy = DEFAULT_POLICY,
) -> NearestResult:
    index.calls.clear()
    result = find_nearest(index, area, lat, lon, exclude=exclude, accept=accept, policy=policy)
    expected = brute_force(index, area, lat, lon, exclude, accept)
    assert result.entry == expected
    if expected is None:
        assert result.distance_km is None
    else:
        assert result.distance_km == haversine_km(lat, lon, expected.lat, expected.lon)
    assert result.queries == len(index.calls)
    assert result.items_read == sum(count for _, _, count in index.calls)
    assert all(len(prefix) <= 9 for _, prefix, _ in index.calls)
    assert sum(prefix == SUMMARY_READ for _, prefix, _ in index.calls) <= 1
    return result


# --- hand-picked cases ----------------------------------------------------------------------------------------


def test_empty_area_finds_nobody_after_reading_the_whole_area() -> None:
    # Given an index with agents in Texas only
    index = InMemoryIndex([("TX#en", IndexEntry("1", 29.76, -95.37))])
    # When a consumer in Wyoming is matched in the (empty) Wyoming area
    result = assert_exact(index, "WY#en", 42.87, -106.31)
    # Then nobody is found, nothing is read, and the last query covered the whole area
    assert result.entry is None
    assert result.items_read == 0
    assert index.calls[-1] == ("WY#en", "", 0)


def test_same_coordinates_are_decided_by_npn() -> None:
    # Given twelve agents registered at the same ZIP centroid, in shuffled order
    npns = [f"{n:08d}" for n in (17, 3, 99, 42, 5, 64, 8, 23, 71, 12, 30, 55)]
    index = InMemoryIndex(("TX#es", IndexEntry(npn, 30.2672, -97.7431)) for npn in npns)
    # When a consumer elsewhere in Austin is matched, first plainly, then with the first two excluded
    first = assert_exact(index, "TX#es", 30.30, -97.70)
    later = assert_exact(index, "TX#es", 30.30, -97.70, exclude={"00000003", "00000005"})
    # Then the lowest npn wins, and then the lowest npn not excluded
    assert first.entry is not None
    assert first.entry.npn == "00000003"
    assert later.entry is not None
    assert later.entry.npn == "00000008"


def test_accept_filter_and_exclusions_are_respected_and_accept_is_asked_once_per_entry() -> None:
    # Given agents around Dallas
    rng = random.Random(11)
    entries = [IndexEntry(f"{i:04d}", 32.78 + rng.gauss(0, 0.05), -96.80 + rng.gauss(0, 0.05)) for i in range(300)]
    index = InMemoryIndex(("TX#en", e) for e in entries)
    asked: Counter[IndexEntry] = Counter()

    def odd_only(entry: IndexEntry) -> bool:
        asked[entry] += 1
        return int(entry.npn) % 2 == 1

    # When the nearest odd-numbered agent is searched for, excluding the three nearest of those
    nearest_odd = sorted(
        (e for e in entries if int(e.npn) % 2 == 1), key=lambda e: haversine_km(32.78, -96.80, e.lat, e.lon)
    )
    excluded = {e.npn for e in nearest_odd[:3]}
    result = find_nearest(index, "TX#en", 32.78, -96.80, exclude=excluded, accept=odd_only)
    # Then the fourth nearest odd agent is chosen, as brute force agrees, and no entry was judged twice
    assert result.entry == nearest_odd[3]
    assert result.entry == brute_force(index, "TX#en", 32.78, -96.80, excluded, lambda e: int(e.npn) % 2 == 1)
    assert asked
    assert max(asked.values()) == 1


def test_lone_agent_500_km_away_is_found() -> None:
    # Given a Montana area whose only available agent is in Billings
    index = InMemoryIndex([("MT#en", IndexEntry("7", 45.7833, -108.5007))])
    # When a consumer in the far north-west corner of the state (Libby) is matched
    result = assert_exact(index, "MT#en", 48.3883, -115.5560)
    # Then the Billings agent is found about 600 km away, reading only that one item
    assert result.entry == IndexEntry("7", 45.7833, -108.5007)
    assert result.distance_km is not None
    assert 550 < result.distance_km < 650
    assert result.items_read == 1


def test_agent_across_the_180_meridian_is_nearer_than_one_on_the_same_side() -> None:
    # Given Aleutian agents at Attu-side +179.5 and at Adak -176.6
    near_but_east = IndexEntry("east", 51.9, 179.5)
    far_but_west = IndexEntry("west", 51.88, -176.6)
    index = InMemoryIndex([("AK#en", near_but_east), ("AK#en", far_but_west)])
    # When a consumer just west of the meridian (at -179.8) is matched
    result = assert_exact(index, "AK#en", 51.85, -179.8)
    # Then the agent across the meridian wins, at under 60 km
    assert result.entry == near_but_east
    assert result.distance_km is not None
    assert result.distance_km < 60


def test_agents_across_the_state_border_are_not_in_the_area() -> None:
    # Given an Oklahoma agent just across the Red River and a Texas agent 80 km away
    index = InMemoryIndex([("OK#en", IndexEntry("ok", 33.95, -98.50)), ("TX#en", IndexEntry("tx", 33.20, -98.50))])
    # When a Wichita Falls consumer is matched in Texas
    result = assert_exact(index, "TX#en", 33.91, -98.49)
    # Then the Texas agent is chosen
    assert result.entry is not None
    assert result.entry.npn == "tx"


def test_search_policy_rejects_nonsense() -> None:
    # Given impossible policies
    # Then they are refused at construction
    for probes in [(), ((10, 4),), ((0, 4),), ((3, 4), (4, 4)), ((5, 4), (5, 4)), ((5, 0),)]:
        with pytest.raises(ValueError, match=r"precision|budget"):
            SearchPolicy(probes=probes)
    with pytest.raises(ValueError, match="budget"):
        SearchPolicy(max_cells_per_precision=0)
    for page_size, max_page_size in [(0, 8), (9, 8), (1, 0)]:
        with pytest.raises(ValueError, match="page"):
            SearchPolicy(page_size=page_size, max_page_size=max_page_size)
    for summary_after, max_skipped_cells in [(-1, 8), (1, -1)]:
        with pytest.raises(ValueError, match="summary"):
            SearchPolicy(summary_after=summary_after, max_skipped_cells=max_skipped_cells)


# --- paged sources: stacks of agents at one point ------------------------------------------------------------


def test_only_the_dynamodb_like_index_is_read_in_pages() -> None:
    # Given the two in-memory indexes
    # Then only the one serving pages is taken for a paged source
    assert isinstance(InMemoryPagedIndex(), PagedCellSource)
    assert not isinstance(InMemoryIndex(), PagedCellSource)


def test_a_stack_at_one_point_is_read_only_until_its_first_acceptable_agent() -> None:
    # Given forty agents registered at one ZIP centroid, and a consumer 3 km away
    rows = [("TX#es", IndexEntry(f"{n:08d}", 30.2672, -97.7431, 100)) for n in range(100, 140)]
    plain, paged = InMemoryIndex(rows), InMemoryPagedIndex(rows)
    # When the nearest is searched for in both, then with the ten lowest npns excluded (a cascade)
    whole = assert_exact(plain, "TX#es", 30.29, -97.72)
    first = assert_exact(paged, "TX#es", 30.29, -97.72)
    excluded = {f"{n:08d}" for n in range(100, 110)}
    later = assert_exact(paged, "TX#es", 30.29, -97.72, exclude=excluded)
    # Then the same lowest npn wins; the plain read takes the whole stack, the paged one stops after the winner
    assert whole.entry is not None
    assert first.entry is not None
    assert later.entry is not None
    assert whole.entry.npn == first.entry.npn == "00000100"
    assert later.entry.npn == "00000110"
    assert whole.items_read == 40
    assert first.items_read <= 2
    assert later.items_read <= 2 + 4 + 8


def test_a_stack_that_cannot_win_costs_one_page() -> None:
    # Given a winner 1 km from the consumer and a stack of fifty agents 2 km away, inside one precision-5 cell
    winner = IndexEntry("99999999", 30.2672, -97.7431, 100)
    stack = [IndexEntry(f"{n:08d}", 30.2672, -97.7627, 100) for n in range(50)]
    index = InMemoryPagedIndex([("TX#en", winner)] + [("TX#en", e) for e in stack])
    # When a consumer between them, nearer the winner, is matched
    result = assert_exact(index, "TX#en", 30.2672, -97.7520)
    # Then the winner is found and the stack costs only the page that showed it was farther
    assert result.entry == snapped(winner)
    assert result.items_read <= 2 * DEFAULT_POLICY.page_size


def test_equal_distances_from_two_points_are_still_decided_by_npn_in_pages() -> None:
    # Given two stacks mirrored across the prime meridian, so exactly as far from a consumer on it: the western
    # one (first in key order) holds npn 50, the eastern one npns 10 and 11 (excluded) and 12
    west, east = snapped(IndexEntry("50", 30.0, -0.01, 100)), snapped(IndexEntry("x", 30.0, 0.01, 100))
    consumer = (west.lat, 0.0)
    assert haversine_km(*consumer, west.lat, west.lon) == haversine_km(*consumer, east.lat, east.lon)
    rows = [("XX#en", west)] + [("XX#en", east._replace(npn=npn)) for npn in ("10", "11", "12")]
    # When the nearest is searched for with 10 and 11 excluded, reading pages of two
    result = assert_exact(InMemoryPagedIndex(rows), "XX#en", *consumer, exclude={"10", "11"})
    # Then 12 wins the tie: the eastern stack is read past its excluded agents
    assert result.entry is not None
    assert result.entry.npn == "12"


def test_paged_reads_keep_a_stacked_city_within_budget() -> None:
    # Given 5,000 agents on 120 Houston ZIP centroids (about 42 per point)
    rng = random.Random(120)
    houston = (29.7604, -95.3698)
    points = [
        (round(houston[0] + rng.gauss(0, 0.11), 4), round(houston[1] + rng.gauss(0, 0.13), 4)) for _ in range(120)
    ]
    rows = [("TX#en", IndexEntry(f"{i:07d}", *rng.choice(points), 100)) for i in range(5000)]
    index = InMemoryPagedIndex(rows)
    # When 200 consumers at street addresses across the city are matched
    consumers = [(houston[0] + rng.gauss(0, 0.11), houston[1] + rng.gauss(0, 0.13)) for _ in range(200)]
    items = [assert_exact(index, "TX#en", lat, lon).items_read for lat, lon in consumers]
    # Then every match is exact and reads a few dozen items at most (budget: p95 <= 50, max <= 200)
    assert _percentile(items, 0.95) <= 50
    assert max(items) <= 200


# --- a summary of occupied cells ------------------------------------------------------------------------------


def test_only_an_index_that_keeps_a_summary_is_read_through_one() -> None:
    # Given in-memory indexes with and without a summary
    # Then only those with one are taken for a summarised source
    assert isinstance(summarised([]), SummarisedCellSource)
    assert isinstance(summarised([], paged=False), SummarisedCellSource)
    assert not isinstance(InMemoryPagedIndex(), SummarisedCellSource)


def test_a_lone_agent_far_away_costs_a_handful_of_queries_with_a_summary() -> None:
    # Given a Montana area whose only available agent is in Billings, with and without a summary (as at night)
    rows = [("MT#en", IndexEntry("7", 45.7833, -108.5007))]
    plain, summary = InMemoryPagedIndex(rows), summarised(rows)
    # When a consumer in Libby, about 600 km away, is matched in each
    without = assert_exact(plain, "MT#en", 48.3883, -115.5560)
    with_summary = assert_exact(summary, "MT#en", 48.3883, -115.5560)
    # Then both find the Billings agent; the summary spares the walk through empty cells
    assert without.entry == with_summary.entry == snapped(rows[0][1])
    assert without.queries > 30
    assert with_summary.queries <= 4


def test_cells_the_summary_shows_empty_are_never_queried() -> None:
    # Given forty agents scattered over Texas (a night) and a summary of their precision-5 cells
    rng = random.Random(40)
    rows = [("TX#en", IndexEntry(f"{i:03d}", rng.uniform(26.0, 36.0), rng.uniform(-106.0, -94.0))) for i in range(40)]
    index = summarised(rows)
    occupied = {encode(e.lat, e.lon, 5) for _, e in rows}
    for _ in range(30):
        # When consumers anywhere in the state are matched
        assert_exact(index, "TX#en", rng.uniform(26.0, 36.0), rng.uniform(-106.0, -94.0))
        # Then after the summary is read, every query is of a cell that holds an occupied cell or lies in one
        prefixes = [prefix for _, prefix, _ in index.calls]
        after = prefixes[prefixes.index(SUMMARY_READ) + 1 :] if SUMMARY_READ in prefixes else []
        assert all(any(c.startswith(p) or p.startswith(c) for c in occupied) for p in after)


def test_an_area_whose_summary_is_empty_costs_two_queries() -> None:
    # Given a summary that shows nobody in Texas in Vietnamese
    index = summarised([("TX#en", IndexEntry("1", 32.78, -96.80))])
    # When a Dallas consumer asks for Vietnamese
    result = assert_exact(index, "TX#vi", 32.78, -96.80)
    # Then nobody is found after the consumer's own cell and the summary, and nothing else is read
    assert result.entry is None
    assert [prefix for _, prefix, _ in index.calls] == [encode(32.78, -96.80, 6), SUMMARY_READ]


def test_a_match_found_at_once_does_not_read_the_summary() -> None:
    # Given 300 agents around Austin and a summary
    rng = random.Random(300)
    rows = [
        ("TX#en", IndexEntry(f"{i:03d}", 30.27 + rng.gauss(0, 0.05), -97.74 + rng.gauss(0, 0.05))) for i in range(300)
    ]
    index = summarised(rows)
    # When a consumer whose own cell holds an agent is matched
    lat, lon = rows[0][1].lat, rows[0][1].lon
    assert_exact(index, "TX#en", lat, lon)
    # Then the summary was never read
    assert SUMMARY_READ not in [prefix for _, prefix, _ in index.calls]


def test_an_incomplete_summary_is_not_trusted() -> None:
    # Given a summary that is not yet complete (entries were written before it existed)
    rows = [("MT#en", IndexEntry("7", 45.7833, -108.5007))]
    index = summarised(rows, incomplete={"MT#en"})
    # When a consumer far away is matched
    result = assert_exact(index, "MT#en", 48.3883, -115.5560)
    # Then the agent is found all the same, the way it is found without a summary
    assert result.entry == snapped(rows[0][1])
    assert index.calls[-1] == ("MT#en", "", 1)


# --- cost on a realistic dense city ---------------------------------------------------------------------------


def _percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_items_read_stay_small_in_a_dense_city() -> None:
    # Given 5,000 available agents spread around Houston (street addresses, ~12 km spread)
    rng = random.Random(5000)
    houston = (29.7604, -95.3698)
    entries = [
        IndexEntry(f"{i:06d}", houston[0] + rng.gauss(0, 0.11), houston[1] + rng.gauss(0, 0.13)) for i in range(5000)
    ]
    index = InMemoryIndex(("TX#en", e) for e in entries)
    # When 300 consumers across the city are matched
    costs = []
    for _ in range(300):
        lat, lon = houston[0] + rng.gauss(0, 0.11), houston[1] + rng.gauss(0, 0.13)
        costs.append(assert_exact(index, "TX#en", lat, lon))
    items = [c.items_read for c in costs]
    queries = [c.queries for c in costs]
    # Then every match is exact and reads a few dozen items at most (budget: p95 <= 50, max <= 200)
    assert _percentile(items, 0.95) <= 50
    assert max(items) <= 200
    assert _percentile(queries, 0.95) <= 40


def test_items_read_do_not_grow_with_the_rest_of_the_state() -> None:
    # Given 300 agents around Austin, and then also 20,000 more in Houston and Dallas
    rng = random.Random(77)
    austin = [IndexEntry(f"a{i:05d}", 30.2672 + rng.gauss(0, 0.1), -97.7431 + rng.gauss(0, 0.1)) for i in range(300)]
    others = [
        IndexEntry(f"o{i:05d}", lat + rng.gauss(0, 0.15), lon + rng.gauss(0, 0.15))
        for i, (lat, lon) in enumerate([(29.7604, -95.3698), (32.7767, -96.7970)] * 10_000)
    ]
    small = InMemoryIndex(("TX#en", e) for e in austin)
    large = InMemoryIndex(("TX#en", e) for e in austin + others)
    # When the same Austin consumers are matched in both
    consumers = [(30.2672 + rng.gauss(0, 0.08), -97.7431 + rng.gauss(0, 0.08)) for _ in range(100)]
    small_items = [assert_exact(small, "TX#en", lat, lon).items_read for lat, lon in consumers]
    large_items = [assert_exact(large, "TX#en", lat, lon).items_read for lat, lon in consumers]
    # Then the work done is the same: only local density counts
    assert small_items == large_items


# --- property test against brute force ------------------------------------------------------------------------

CITIES: dict[str, tuple[str, Point]] = {
    "houston": ("TX", (29.7604, -95.3698)),
    "dallas": ("TX", (32.7767, -96.7970)),
    "miami": ("FL", (25.7617, -80.1918)),
    "chicago": ("IL", (41.8781, -87.6298)),
    "new_york": ("NY", (40.7128, -74.0060)),
    "honolulu": ("HI", (21.3069, -157.8583)),
}
SPARSE_BOXES: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "wyoming": ("WY", (41.0, -111.05, 45.0, -104.05)),
    "montana": ("MT", (44.4, -116.05, 49.0, -104.04)),
    "hawaii": ("HI", (18.9, -160.3, 22.25, -154.8)),
}
POLICIES = [
    DEFAULT_POLICY,
    SearchPolicy(probes=((9, 1), (7, 1), (5, 1), (3, 1), (1, 1))),
    SearchPolicy(probes=((7, 3), (6, 3)), max_cells_per_precision=2, split_up_to=32, split_size_ratio=0.0),
    SearchPolicy(probes=((4, 9),), split_up_to=0),
    SearchPolicy(probes=((6, 25), (5, 25)), max_cells_per_precision=500, split_up_to=32, split_size_ratio=0.1),
    SearchPolicy(page_size=1, max_page_size=1),
    SearchPolicy(probes=((7, 2), (4, 4)), page_size=3, max_page_size=7),
    SearchPolicy(summary_after=0, max_skipped_cells=0),
    SearchPolicy(probes=((7, 2), (5, 3)), max_cells_per_precision=3, summary_after=3, max_skipped_cells=2),
]


def _gauss_point(rng: random.Random, centre: Point, spread_deg: float) -> Point:
    lat = min(89.0, max(-89.0, centre[0] + rng.gauss(0, spread_deg)))
    lon = (centre[1] + rng.gauss(0, spread_deg) + 180.0) % 360.0 - 180.0
    return lat, lon


def _box_point(rng: random.Random, box: tuple[float, float, float, float]) -> Point:
    south, west, north, east = box
    return rng.uniform(south, north), rng.uniform(west, east)


def _edge_points(rng: random.Random, centre: Point, precision: int, count: int) -> list[Point]:
    """Corners, edge points and centres of a cell and its neighbours: exact geohash boundaries."""
    cells = [encode(*centre, precision)]
    cells += neighbours(cells[0])
    points = []
    for _ in range(count):
        b = cell_bounds(rng.choice(cells))
        lat = rng.choice([b.south, b.north, (b.south + b.north) / 2, rng.uniform(b.south, b.north)])
        lon = rng.choice([b.west, b.east, (b.west + b.east) / 2, rng.uniform(b.west, b.east)])
        points.append((lat, lon))
    return points


def _aleutian_point(rng: random.Random) -> Point:
    lon = rng.choice(
        [rng.uniform(-180.0, -176.0), rng.uniform(176.0, 180.0), rng.choice([-179.9, 179.9, -180.0, 180.0])]
    )
    return rng.uniform(51.2, 53.0), lon


def _population(rng: random.Random, kind: str) -> tuple[list[tuple[str, IndexEntry]], list[tuple[str, Point]]]:
    """Index rows and consumers (area, point) for one scenario kind."""
    npn_pool = rng.sample(range(10**7), 2000)
    serial = iter(npn_pool)

    def row(area: str, point: Point) -> tuple[str, IndexEntry]:
        return area, IndexEntry(f"{next(serial):08d}", point[0], point[1], rng.randrange(1_700_000_000, 1_800_000_000))

    rows: list[tuple[str, IndexEntry]] = []
    consumers: list[tuple[str, Point]] = []
    if kind == "city":
        state, centre = CITIES[rng.choice(sorted(CITIES))]
        spread = rng.choice([0.01, 0.05, 0.2])
        rows += [row(f"{state}#en", _gauss_point(rng, centre, spread)) for _ in range(rng.randint(1, 400))]
        rows += [row(f"{state}#en", _gauss_point(rng, centre, 2.0)) for _ in range(rng.randint(0, 5))]
        consumers += [(f"{state}#en", _gauss_point(rng, centre, spread * 2)) for _ in range(4)]
    elif kind == "cell_edges":
        state, centre = CITIES[rng.choice(sorted(CITIES))]
        precision = rng.randint(3, 8)
        rows += [row(f"{state}#en", p) for p in _edge_points(rng, centre, precision, rng.randint(1, 60))]
        consumers += [(f"{state}#en", p) for p in _edge_points(rng, centre, precision, 4)]
    elif kind == "sparse":
        state, box = SPARSE_BOXES[rng.choice(sorted(SPARSE_BOXES))]
        rows += [row(f"{state}#en", _box_point(rng, box)) for _ in range(rng.randint(0, 8))]
        consumers += [(f"{state}#en", _box_point(rng, box)) for _ in range(4)]
    elif kind == "aleutians":
        rows += [row("AK#en", _aleutian_point(rng)) for _ in range(rng.randint(1, 40))]
        consumers += [("AK#en", _aleutian_point(rng)) for _ in range(4)]
    elif kind == "zip_centroids":
        state, centre = CITIES[rng.choice(sorted(CITIES))]
        centroids = [_gauss_point(rng, centre, 0.1) for _ in range(rng.randint(1, 6))]
        for point in centroids:
            rows += [row(f"{state}#es", point) for _ in range(rng.randint(1, 40))]
        consumers += [(f"{state}#es", rng.choice(centroids)) for _ in range(2)]
        consumers += [(f"{state}#es", _gauss_point(rng, centre, 0.1)) for _ in range(2)]
    elif kind == "state_border":
        # The Texas/Oklahoma line at 36.5 N across the panhandle: Oklahoma's agents are in another area.
        for _ in range(rng.randint(1, 80)):
            lat, lon = rng.uniform(35.5, 37.5), rng.uniform(-103.0, -100.0)
            rows.append(row("TX#en" if lat <= 36.5 else "OK#en", (lat, lon)))
        consumers += [("TX#en", (rng.uniform(36.2, 36.5), rng.uniform(-103.0, -100.0))) for _ in range(4)]
    else:  # empty
        rows += [row("TX#en", _gauss_point(rng, CITIES["dallas"][1], 0.1)) for _ in range(rng.randint(0, 20))]
        consumers += [("TX#vi", _gauss_point(rng, CITIES["dallas"][1], 0.1)) for _ in range(2)]
    return rows, consumers


KINDS = ["city", "cell_edges", "sparse", "aleutians", "zip_centroids", "state_border", "empty"]


@settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    kind=st.sampled_from(KINDS),
    exclude_share=st.sampled_from([0.0, 0.0, 0.2, 0.7]),
    exclude_nearest=st.integers(min_value=0, max_value=3),
    accept_share=st.sampled_from([None, None, 1.0, 0.5, 0.1, 0.0]),
    policy=st.sampled_from(POLICIES),
    stale_copies=st.sampled_from([0, 0, 0, 3]),
    paged=st.booleans(),
    summary=st.sampled_from([None, "exact", "exact", "stale", "incomplete"]),
    summary_precision=st.integers(min_value=2, max_value=7),
)
def test_matches_brute_force(
    seed: int,
    kind: str,
    exclude_share: float,
    exclude_nearest: int,
    accept_share: float | None,
    policy: SearchPolicy,
    stale_copies: int,
    paged: bool,
    summary: str | None,
    summary_precision: int,
) -> None:
    # Given a random population of one kind, a random exclusion set (including the nearest agents, as in a
    # cascade) and a random accept filter, in an index read whole or in pages, with or without a summary of the
    # cells that hold entries (exact, naming empty cells too, or incomplete)
    rng = random.Random(seed)
    rows, consumers = _population(rng, kind)
    if stale_copies:
        # the same agent indexed twice (a stale row left at an old position) must still match brute force
        for area, entry in rng.sample(rows, min(len(rows), stale_copies)):
            lat, lon = rng.choice([(entry.lat, entry.lon), _gauss_point(rng, (entry.lat, entry.lon), 0.05)])
            rows.append((area, IndexEntry(entry.npn, lat, lon, entry.until + rng.randint(-3600, 3600))))
    if summary is None:
        index = InMemoryPagedIndex(rows) if paged else InMemoryIndex(rows)
    else:
        stale = {encode(*_gauss_point(rng, point, 1.0), 7) for _, point in consumers} if summary == "stale" else ()
        incomplete = {area for area, _ in consumers} if summary == "incomplete" else ()
        index = summarised(rows, summary_precision, paged=paged, stale=stale, incomplete=incomplete)
    event(f"kind={kind}")
    event(f"paged={paged}")
    event(f"summary={summary}")
    accepted = {e.npn for _, e in rows if accept_share is not None and rng.random() < accept_share}
    accept = None if accept_share is None else (lambda e: e.npn in accepted)
    for area, (lat, lon) in consumers:
        everyone = sorted(index.everything(area), key=lambda e: (haversine_km(lat, lon, e.lat, e.lon), e.npn))
        exclude = {e.npn for e in everyone if rng.random() < exclude_share}
        exclude |= {e.npn for e in everyone[:exclude_nearest]}
        # When the nearest is searched for
        # Then the answer is exactly the brute-force one (same entry, same distance, deterministic tie-break)
        assert_exact(index, area, lat, lon, exclude=exclude, accept=accept, policy=policy)
