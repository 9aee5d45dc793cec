"""Matching (R5): the nearest agent who is available now, speaks the language, is eligible in the state and, when
capacity is counted, has a free slot."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from hod.domain.agent import Agent
from hod.domain.capacity import AgentLoad, most_rested
from hod.domain.nearest import (
    INDEX_PRECISION,
    CellSource,
    IndexEntry,
    NearestResult,
    Occupancy,
    PagedCellSource,
    SummarisedCellSource,
    find_nearest,
)
from hod.domain.referral import Place, Referral
from hod.geo import encode
from hod.ports.agents import AgentLoads, AvailableIndex
from hod.ports.common import Clock


@dataclass(frozen=True)
class Pick:
    """The agent an offer can go to, and the qualifying agents passed over on the way because they were at capacity.

    entry, distance_km  the chosen agent's index entry (None: nobody with a free slot was found)
    load                the chosen agent's load as read: the offer's write is conditional on it
    busy                the agents at capacity nearer than the chosen one (or all that were looked at), nearest first
    queries, items_read what the search cost
    agent               the chosen agent's record, when it was read with the loads (None: not read yet)
    """

    entry: IndexEntry | None
    distance_km: float | None
    load: AgentLoad | None
    busy: tuple[AgentLoad, ...]
    queries: int
    items_read: int
    agent: Agent | None = None


# Agents at one point whose records are read together with their loads (one read for both); at a larger stack only
# the loads are read, and the chosen agent's record after.
AGENTS_WITH_LOADS = 4


class MatchingService:
    def __init__(self, index: AvailableIndex, clock: Clock, loads: AgentLoads | None = None) -> None:
        self._index = index
        self._clock = clock
        self._loads = loads

    def next_agent(self, referral: Referral, exclude: Collection[str] = ()) -> NearestResult:
        """The closest agent not yet offered this referral (ties: lowest NPN), or none."""
        return self.nearest(referral.place, referral.language, exclude)

    def nearest(
        self, place: Place, language: str, exclude: Collection[str] = (), source: CellSource | None = None
    ) -> NearestResult:
        """The closest agent to `place` speaking `language`, not in `exclude` (ties: lowest NPN), or none.

        The index holds only agents eligible in the state, speaking the language and available; an entry whose
        availability window has passed (the sweep has not yet removed it) is skipped. `source`: the index as read
        through a cache (several searches of one match)."""
        now = int(self._clock.now().timestamp())

        def still_available(entry: IndexEntry) -> bool:
            return entry.until > now

        return find_nearest(
            source or self._index,
            f"{place.state}#{language}",
            place.lat,
            place.lon,
            exclude=exclude,
            accept=still_available,
        )

    def nearest_free(
        self, place: Place, language: str, exclude: Collection[str], capacity: int, look_past: int
    ) -> Pick:
        """The closest qualifying agent not in `exclude` who holds fewer than `capacity` referrals; of agents at the
        same point (equal distance), the one who has waited longest since their last offer.

        Agents at capacity are passed over, nearest first; after `look_past` of them the search stops and returns
        nobody, with the busy agents it saw (the referral can wait for them rather than go ever farther)."""
        if self._loads is None:
            raise RuntimeError("nearest_free needs the agents' loads")
        now = int(self._clock.now().timestamp())
        index = _RememberedPages(self._index) if isinstance(self._index, PagedCellSource) else _Remembered(self._index)
        passed = set(exclude)
        busy: list[AgentLoad] = []
        while True:
            found = self.nearest(place, language, passed, source=index)
            if found.entry is None:
                return Pick(None, None, None, tuple(busy), index.queries, index.items_read)
            stack = self._at_point(index, place, language, found.entry, passed, now)
            npns = [entry.npn for entry in stack]
            agents: dict[str, Agent] | None = None
            if len(npns) <= AGENTS_WITH_LOADS:
                loads, agents = self._loads.loads_and_agents(npns)
                gone = [npn for npn in npns if npn not in agents]  # removed since the index was last refreshed
                passed.update(gone)
                stack = [entry for entry in stack if entry.npn not in gone]
            else:
                loads = self._loads.loads(npns)
            free = [loads[entry.npn] for entry in stack if loads[entry.npn].has_room(capacity, now)]
            if free:
                chosen = most_rested(free)
                entry = next(entry for entry in stack if entry.npn == chosen.npn)
                agent = agents.get(chosen.npn) if agents is not None else None
                return Pick(entry, found.distance_km, chosen, tuple(busy), index.queries, index.items_read, agent)
            busy.extend(loads[entry.npn] for entry in stack)
            passed.update(entry.npn for entry in stack)
            if len(busy) >= look_past:
                return Pick(None, None, None, tuple(busy), index.queries, index.items_read)

    @staticmethod
    def _at_point(
        index: _Remembered, place: Place, language: str, nearest: IndexEntry, passed: set[str], now: int
    ) -> list[IndexEntry]:
        """Every qualifying agent at the nearest agent's point (the same distance): its cell of the index, whose
        entries all share one position, as the search already read it whole, or else one Query of it."""
        area, cell = f"{place.state}#{language}", encode(nearest.lat, nearest.lon, INDEX_PRECISION)
        known = index.whole_cell(area, cell)
        entries: dict[str, IndexEntry] = {nearest.npn: nearest}
        for entry in known if known is not None else index.query(area, cell):
            if (entry.lat, entry.lon) == (nearest.lat, nearest.lon) and entry.npn not in passed and entry.until > now:
                entries.setdefault(entry.npn, entry)
        return list(entries.values())


@dataclass
class _Remembered:
    """The index as one match reads it: each query made once, however many searches of the match go over it (a
    match that passes busy agents searches again from the consumer), and so is the area's summary of occupied
    cells. Counts what was really read."""

    index: CellSource
    queries: int = 0
    items_read: int = 0
    _read: dict[tuple[object, ...], Sequence[IndexEntry]] = field(default_factory=dict)
    _summaries: dict[str, Occupancy] = field(default_factory=dict)

    def _once(self, key: tuple[object, ...], read: Callable[[], Sequence[IndexEntry]]) -> Sequence[IndexEntry]:
        if key not in self._read:
            self._read[key] = read()
            self.queries += 1
            self.items_read += len(self._read[key])
        return self._read[key]

    def query(self, area: str, prefix: str) -> Sequence[IndexEntry]:
        return self._once((area, prefix), lambda: self.index.query(area, prefix))

    def occupancy(self, area: str) -> Occupancy:
        """The area's summary, read once per match (an index that keeps none: no usable summary, nothing read)."""
        if area not in self._summaries:
            if isinstance(self.index, SummarisedCellSource):
                found = self.index.occupancy(area)
                self.queries += found.queries
                self.items_read += found.items_read
            else:
                found = Occupancy(INDEX_PRECISION, None, 0, queries=0)
            self._summaries[area] = found
        return self._summaries[area]

    def whole_cell(self, area: str, cell: str) -> list[IndexEntry] | None:
        """Every entry of `area` in precision-9 `cell`, if one read of this match returned them all (None: none
        did). A whole-prefix query did, if its prefix contains the cell; a page did, if it began before the cell
        and ended after it (or at the end of its prefix)."""
        for key, entries in self._read.items():
            if key[0] == area and _covers(key, entries, cell):
                return [entry for entry in entries if _cell_of(entry) == cell]
        return None


def _cell_of(entry: IndexEntry) -> str:
    return encode(entry.lat, entry.lon, INDEX_PRECISION)


def _covers(key: tuple[object, ...], entries: Sequence[IndexEntry], cell: str) -> bool:
    """Whether the read `key` names (a query's (area, prefix), or a page's (area, prefix, limit, after,
    past_position)), which returned `entries` in index order, returned every entry of `cell`."""
    prefix = str(key[1])
    if not cell.startswith(prefix):
        return False
    if len(key) == 2:
        return True
    limit, after = key[2], key[3]
    if isinstance(after, IndexEntry) and _cell_of(after) >= cell:
        return False  # began inside the cell, or past it
    return len(entries) < int(str(limit)) or (bool(entries) and _cell_of(entries[-1]) > cell)


@dataclass
class _RememberedPages(_Remembered):
    index: PagedCellSource

    def query_page(
        self, area: str, prefix: str, limit: int, after: IndexEntry | None = None, past_position: bool = False
    ) -> Sequence[IndexEntry]:
        key = (area, prefix, limit, after, past_position)
        return self._once(key, lambda: self.index.query_page(area, prefix, limit, after, past_position))
