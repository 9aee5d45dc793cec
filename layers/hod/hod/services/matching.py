"""Matching (R5): the nearest agent who is available now, speaks the language, is eligible in the state and, when
capacity is counted, has a free slot."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from hod.domain.capacity import AgentLoad, most_rested
from hod.domain.nearest import INDEX_PRECISION, IndexEntry, NearestResult, find_nearest
from hod.domain.referral import Place, Referral
from hod.geo import encode
from hod.ports import AgentLoads, AvailableIndex, Clock


@dataclass(frozen=True)
class Pick:
    """The agent an offer can go to, and the qualifying agents passed over on the way because they were at capacity.

    entry, distance_km  the chosen agent's index entry (None: nobody with a free slot was found)
    load                the chosen agent's load as read: the offer's write is conditional on it
    busy                the agents at capacity nearer than the chosen one (or all that were looked at), nearest first
    queries, items_read what the search cost
    """

    entry: IndexEntry | None
    distance_km: float | None
    load: AgentLoad | None
    busy: tuple[AgentLoad, ...]
    queries: int
    items_read: int


class MatchingService:
    def __init__(self, index: AvailableIndex, clock: Clock, loads: AgentLoads | None = None) -> None:
        self._index = index
        self._clock = clock
        self._loads = loads

    def next_agent(self, referral: Referral, exclude: Collection[str] = ()) -> NearestResult:
        """The closest agent not yet offered this referral (ties: lowest NPN), or none."""
        return self.nearest(referral.place, referral.language, exclude)

    def nearest(self, place: Place, language: str, exclude: Collection[str] = ()) -> NearestResult:
        """The closest agent to `place` speaking `language`, not in `exclude` (ties: lowest NPN), or none.

        The index holds only agents eligible in the state, speaking the language and available; an entry whose
        availability window has passed (the sweep has not yet removed it) is skipped."""
        now = int(self._clock.now().timestamp())

        def still_available(entry: IndexEntry) -> bool:
            return entry.until > now

        return find_nearest(
            self._index,
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
        passed = set(exclude)
        busy: list[AgentLoad] = []
        queries = items = 0
        while True:
            found = self.nearest(place, language, passed)
            queries += found.queries
            items += found.items_read
            if found.entry is None:
                return Pick(None, None, None, tuple(busy), queries, items)
            stack = self._at_point(place, language, found.entry, passed, now)
            queries += 1
            items += stack.read
            loads = self._loads.loads([entry.npn for entry in stack.entries])
            free = [loads[entry.npn] for entry in stack.entries if loads[entry.npn].has_room(capacity, now)]
            if free:
                chosen = most_rested(free)
                entry = next(entry for entry in stack.entries if entry.npn == chosen.npn)
                return Pick(entry, found.distance_km, chosen, tuple(busy), queries, items)
            busy.extend(loads[entry.npn] for entry in stack.entries)
            passed.update(entry.npn for entry in stack.entries)
            if len(busy) >= look_past:
                return Pick(None, None, None, tuple(busy), queries, items)

    def _at_point(self, place: Place, language: str, nearest: IndexEntry, passed: set[str], now: int) -> _Stack:
        """Every qualifying agent at the nearest agent's point (the same distance): one Query of its cell of the
        index, whose entries all share one position."""
        cell = encode(nearest.lat, nearest.lon, INDEX_PRECISION)
        read = self._index.query(f"{place.state}#{language}", cell)
        entries: dict[str, IndexEntry] = {nearest.npn: nearest}
        for entry in read:
            if (entry.lat, entry.lon) == (nearest.lat, nearest.lon) and entry.npn not in passed and entry.until > now:
                entries.setdefault(entry.npn, entry)
        return _Stack(tuple(entries.values()), len(read))


@dataclass(frozen=True)
class _Stack:
    entries: tuple[IndexEntry, ...]
    read: int
