"""Exact nearest-agent search over a geohash-keyed index (requirement R5).

The index holds, per area ("<STATE>#<language>"), one entry per available agent keyed by the agent's precision-9
geohash. The search reads cells nearest-first and stops only when no unread cell can hold an entry that beats the
best one found, so it returns exactly what a scan of the whole area would. docs/matching.md has the argument.

A source that can also read a cell a page at a time (`PagedCellSource`) lets the search stop reading a stack of
agents at one point as soon as the rest of the stack cannot win: they are in npn order, so the first acceptable
one beats all that follow.

A source that also keeps a summary of which coarse cells may hold entries (`SummarisedCellSource`) lets the search
pass over empty cells without querying them: at night, when the nearest agent is far away, that is most cells.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from hod.geo import cell_bounds, children, encode, haversine_km, min_distance_km, neighbours

INDEX_PRECISION = 9
"""Geohash precision of the index keys; no query prefix is longer."""


class IndexEntry(NamedTuple):
    """An agent in the available-now index of one area, at the position its geohash key was made from."""

    npn: str
    lat: float
    lon: float
    until: int = 0
    """Epoch seconds at which the agent's current availability ends, as stored in the index (0: not given).
    The search only carries it; filtering on it is the caller's ``accept``."""


class CellSource(Protocol):
    """Reads an area's index; every entry returned counts as one item read."""

    def query(self, area: str, prefix: str) -> Sequence[IndexEntry]:
        """All entries of ``area`` whose geohash starts with ``prefix`` ("" is the whole area)."""
        ...


@runtime_checkable
class PagedCellSource(CellSource, Protocol):
    """A source that can also read in index order, a page at a time.

    Index order is (precision-9 geohash of the position, npn), and every entry in one precision-9 cell has the
    same position. So all the agents at one point form one run, in npn order, and the first acceptable entry
    of a run beats the rest of it."""

    def query_page(
        self, area: str, prefix: str, limit: int, after: IndexEntry | None = None, past_position: bool = False
    ) -> Sequence[IndexEntry]:
        """At most ``limit`` entries of ``area`` with ``prefix``, in index order, after ``after`` (None: from the
        first); with ``past_position``, after every entry at ``after``'s position."""
        ...


class Occupancy(NamedTuple):
    """What an area's summary says: every cell of ``precision`` that holds an entry is in ``cells``.

    Cells in ``cells`` may be empty (the summary may lag behind removals); a cell not in it holds nothing. ``cells``
    is None when the area has no usable summary, and then any cell may hold entries."""

    precision: int
    cells: frozenset[str] | None
    items_read: int
    """Stored items read to learn this (the summary's own read, counted like the index's)."""
    queries: int = 1
    """Requests made to learn it."""


@runtime_checkable
class SummarisedCellSource(CellSource, Protocol):
    """A source that keeps, beside the index, which coarse cells of each area hold entries."""

    def occupancy(self, area: str) -> Occupancy:
        """The area's summary, in one read (occasionally two)."""
        ...


@dataclass(frozen=True)
class NearestResult:
    """The chosen entry (None when nobody qualifies) and what the search cost."""

    entry: IndexEntry | None
    distance_km: float | None
    queries: int
    items_read: int


@dataclass(frozen=True)
class SearchPolicy:
    """Cost tuning of the search. Every valid policy returns the same, exact answer."""

    probes: tuple[tuple[int, int], ...] = ((6, 6), (5, 6), (4, 16), (3, 16))
    """Precisions searched in turn, each with how many of its cells are read while nobody acceptable has been
    found before moving on to the next; after the last the whole area is read. Precision 6 cells are about
    1.2 x 0.6 km, 5 about 5 km, 4 about 40 x 20 km, 3 about 150 km."""
    max_cells_per_precision: int = 48
    """Cells read at one precision to finish around a candidate before moving to the next precision."""
    split_up_to: int = 8
    """Once a candidate is known, a cell is read as its children when at most this many of them can hold a
    closer entry..."""
    split_size_ratio: float = 1.0
    """...and its shorter side is at least this multiple of the candidate's distance."""
    page_size: int = 2
    """With a `PagedCellSource`, a cell is read in pages of this many entries; a page that ends inside a run
    that can still win is followed by one twice as large (up to `max_page_size`)."""
    max_page_size: int = 128
    summary_after: int = 1
    """With a `SummarisedCellSource`, the summary is read before the next query once this many have found nobody
    acceptable (0: before the first), and always before the whole area would be read. A match that finds its agent
    in the first queries never pays for it."""
    max_skipped_cells: int = 8
    """Cells the summary shows empty that a walk may pass over at one precision before moving coarser."""

    def __post_init__(self) -> None:
        precisions = [precision for precision, _ in self.probes]
        if not precisions or precisions != sorted(set(precisions), reverse=True):
            raise ValueError("probes must list distinct precisions, finest first")
        if precisions[-1] < 1 or precisions[0] > INDEX_PRECISION:
            raise ValueError("probe precisions must be within 1..9")
        if min(cells for _, cells in self.probes) < 1 or self.max_cells_per_precision < 1:
            raise ValueError("cell budgets must be positive")
        if not 1 <= self.page_size <= self.max_page_size:
            raise ValueError("page sizes must be positive, the first no larger than the largest")
        if self.summary_after < 0 or self.max_skipped_cells < 0:
            raise ValueError("summary budgets must not be negative")


DEFAULT_POLICY = SearchPolicy()


class _Best(NamedTuple):
    """Orders candidates: distance, then npn; position and ``until`` only separate duplicate rows of one agent."""

    distance_km: float
    npn: str
    entry: IndexEntry


def _shorter_side_km(cell: str) -> float:
    south, west, north, east = cell_bounds(cell)
    middle = (south + north) / 2
    return min(haversine_km(south, west, north, west), haversine_km(middle, west, middle, east))


class _Search:
    def __init__(
        self,
        source: CellSource,
        area: str,
        lat: float,
        lon: float,
        exclude: Collection[str],
        accept: Callable[[IndexEntry], bool] | None,
        policy: SearchPolicy,
    ) -> None:
        self.source = source
        self.pages = source if isinstance(source, PagedCellSource) else None
        self.summaries = source if isinstance(source, SummarisedCellSource) else None
        self.occupancy: Occupancy | None = None
        self.occupied_prefixes: frozenset[str] = frozenset()
        self.area = area
        self.lat = lat
        self.lon = lon
        self.exclude = frozenset(exclude)
        self.accept = accept
        self.policy = policy
        self.items_by_prefix: dict[str, int] = {}
        self.judged: set[IndexEntry] = set()
        self.best: _Best | None = None
        self.queries = 0
        self.items_read = 0

    def covered(self, cell: str) -> bool:
        return any(cell[:length] in self.items_by_prefix for length in range(len(cell) + 1))

    def read_inside(self, cell: str) -> int:
        """Items already read from finer cells inside ``cell``; reading ``cell`` would read them again."""
        return sum(count for prefix, count in self.items_by_prefix.items() if prefix.startswith(cell))

    def bound(self, cell: str) -> float:
        return min_distance_km(self.lat, self.lon, cell_bounds(cell))

    def may_hold(self, cell: str) -> bool:
        """False only when the summary, once read, shows that no entry lies in ``cell``."""
        occupancy = self.occupancy
        if occupancy is None or occupancy.cells is None:
            return True
        if len(cell) >= occupancy.precision:
            return cell[: occupancy.precision] in occupancy.cells
        return cell in self.occupied_prefixes

    def read_summary(self) -> Occupancy | None:
        """The area's summary, read at most once per search (None when the source keeps none)."""
        if self.occupancy is None and self.summaries is not None:
            occupancy = self.summaries.occupancy(self.area)
            self.queries += occupancy.queries
            self.items_read += occupancy.items_read
            self.occupancy = occupancy
            cells = occupancy.cells or frozenset()
            self.occupied_prefixes = frozenset(cell[:length] for cell in cells for length in range(len(cell) + 1))
        return self.occupancy

    def worth_reading(self, cell: str) -> bool:
        """Whether to query ``cell``: the summary is read first once it is due."""
        if self.best is None and self.queries >= self.policy.summary_after:
            self.read_summary()
        return self.may_hold(cell)

    def can_beat_best(self, bound_km: float) -> bool:
        return self.best is None or bound_km <= self.best.distance_km

    def judge(self, entries: Sequence[IndexEntry]) -> None:
        self.queries += 1
        self.items_read += len(entries)
        for entry in entries:
            if entry in self.judged:
                continue
            self.judged.add(entry)
            if entry.npn in self.exclude or (self.accept is not None and not self.accept(entry)):
                continue
            candidate = _Best(haversine_km(self.lat, self.lon, entry.lat, entry.lon), entry.npn, entry)
            if self.best is None or candidate < self.best:
                self.best = candidate

    def rest_of_run_loses(self, entry: IndexEntry) -> bool:
        """Whether every entry after ``entry`` at its position (same distance, larger npn) loses to the best."""
        best = self.best
        if best is None:
            return False
        distance = haversine_km(self.lat, self.lon, entry.lat, entry.lon)
        return best.distance_km < distance or (best.distance_km == distance and best.npn <= entry.npn)

    def read(self, prefix: str) -> None:
        if self.pages is None:
            entries = self.source.query(self.area, prefix)
            self.items_by_prefix[prefix] = len(entries)
            self.judge(entries)
            return
        read = 0
        limit = self.policy.page_size
        after: IndexEntry | None = None
        skip = False
        while True:
            page = self.pages.query_page(self.area, prefix, limit, after, skip)
            read += len(page)
            self.judge(page)
            if len(page) < limit:
                break
            after = page[-1]
            skip = self.rest_of_run_loses(after)
            limit = self.policy.page_size if skip else min(2 * limit, self.policy.max_page_size)
        self.items_by_prefix[prefix] = read

    def parts_to_read(self, cell: str) -> list[tuple[float, str]] | None:
        """The children to read instead of ``cell``, or None when reading ``cell`` itself is cheaper."""
        best = self.best
        if best is None or len(cell) >= INDEX_PRECISION:
            return None
        parts = [(self.bound(child), child) for child in children(cell)]
        near = [
            part
            for part in parts
            if self.can_beat_best(part[0]) and not self.covered(part[1]) and self.may_hold(part[1])
        ]
        small_share = len(near) <= self.policy.split_up_to
        large_cell = _shorter_side_km(cell) >= self.policy.split_size_ratio * best.distance_km
        if (small_share and large_cell) or self.read_inside(cell) > len(near):
            return near
        return None

    def sweep(self, precision: int, probe_cells: int) -> bool:
        """Reads the cells of one precision nearest-first; True once no unread cell can hold a better entry."""
        home = encode(self.lat, self.lon, precision)
        frontier: list[tuple[float, str]] = [(0.0, home)]
        seen = {home}
        reads = skipped = 0
        while frontier:
            bound_km, cell = heapq.heappop(frontier)
            if not self.can_beat_best(bound_km):
                return True
            if len(cell) == precision:
                for other in neighbours(cell):
                    if other not in seen:
                        seen.add(other)
                        heapq.heappush(frontier, (self.bound(other), other))
            if self.covered(cell):
                continue
            if self.may_hold(cell):
                parts = self.parts_to_read(cell) if len(cell) == precision else None
                if parts is not None:
                    for part in parts:
                        heapq.heappush(frontier, part)
                    continue
                budget = probe_cells if self.best is None else self.policy.max_cells_per_precision
                if reads >= budget:
                    return False
                if self.worth_reading(cell):
                    self.read(cell)
                    reads += 1
                    continue
            skipped += 1
            if skipped > self.policy.max_skipped_cells:
                return False
        return True

    def sweep_occupied(self, precision: int) -> bool:
        """Reads the summary's occupied cells nearest-first, descending from the whole globe through the prefixes
        that hold them (so only those are ever bounded) and splitting cells where that saves items. True once no
        unread cell can hold a better entry; False when there are more to read than one precision's budget."""
        frontier: list[tuple[float, str]] = [(0.0, "")]
        reads = 0
        while frontier:
            bound_km, cell = heapq.heappop(frontier)
            if not self.can_beat_best(bound_km):
                return True
            if self.covered(cell):
                continue
            if len(cell) < precision:
                for child in children(cell):
                    if child in self.occupied_prefixes:
                        heapq.heappush(frontier, (self.bound(child), child))
                continue
            parts = self.parts_to_read(cell)
            if parts is not None:
                for part in parts:
                    heapq.heappush(frontier, part)
                continue
            if reads >= self.policy.max_cells_per_precision:
                return False
            self.read(cell)
            reads += 1
        return True

    def result(self) -> NearestResult:
        best = self.best
        return NearestResult(
            entry=None if best is None else best.entry,
            distance_km=None if best is None else best.distance_km,
            queries=self.queries,
            items_read=self.items_read,
        )


def find_nearest(
    source: CellSource,
    area: str,
    lat: float,
    lon: float,
    *,
    exclude: Collection[str] = (),
    accept: Callable[[IndexEntry], bool] | None = None,
    policy: SearchPolicy = DEFAULT_POLICY,
) -> NearestResult:
    """The acceptable entry of ``area`` nearest to the point.

    Exactly what a scan of the whole area would choose: the minimum of (great-circle distance, npn) over the
    entries whose npn is not in ``exclude`` and that ``accept`` (when given) approves. ``accept`` is called at most
    once per entry.
    """
    search = _Search(source, area, lat, lon, exclude, accept, policy)
    for precision, probe_cells in policy.probes:
        if search.sweep(precision, probe_cells):
            return search.result()
    summary = search.read_summary()
    if summary is not None and summary.cells is not None and search.sweep_occupied(summary.precision):
        return search.result()
    search.read("")
    return search.result()
