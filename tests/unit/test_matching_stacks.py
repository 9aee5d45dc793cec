"""Capacity's look at the chosen agent's point (`MatchingService.nearest_free`): everyone at that point is weighed,
from what the search already read when it read that point's cell whole, else from one more read of the cell."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from hod.domain.capacity import AgentLoad, Slot
from hod.domain.nearest import IndexEntry
from hod.domain.referral import Place
from hod.services import matching
from hod.services.matching import MatchingService
from tests.unit.test_nearest import InMemoryPagedIndex

NOW = datetime(2026, 11, 30, 15, tzinfo=UTC)
AUSTIN = Place(
    zip="78701", city="Austin", county="Travis", state="TX", lat=30.2711, lon=-97.7437, time_zone="America/Chicago"
)
FAR = int(NOW.timestamp()) + 3600


class Clock:
    def now(self) -> datetime:
        return NOW


class Loads:
    """Agents' loads: `busy` hold their one slot, `rested` were offered a referral at the given moment."""

    def __init__(self, busy: Sequence[str] = (), rested: dict[str, int] | None = None) -> None:
        self._busy, self._rested = set(busy), rested or {}

    def loads(self, npns: Sequence[str]) -> dict[str, AgentLoad]:
        return {npn: self.load(npn) for npn in npns}

    def loads_and_agents(self, npns: Sequence[str]) -> tuple[dict[str, AgentLoad], dict[str, object]]:
        return self.loads(npns), {npn: object() for npn in npns}  # (the records are only carried to the pick)

    def load(self, npn: str) -> AgentLoad:
        offers = frozenset({Slot("r0", FAR)}) if npn in self._busy else frozenset()
        return AgentLoad(npn, offers=offers, last_offer_at=self._rested.get(npn, 0))


def index_of(points: dict[str, tuple[float, float]]) -> InMemoryPagedIndex:
    return InMemoryPagedIndex(("TX#es", IndexEntry(npn, lat, lon, FAR)) for npn, (lat, lon) in points.items())


def test_a_lone_agent_at_their_point_is_offered_without_reading_their_cell_again() -> None:
    # Given one agent at a point of their own near the consumer, and another farther away
    index = index_of({"101": (30.2712, -97.7436), "102": (30.40, -97.70)})
    service = MatchingService(index, Clock(), Loads())
    # When the nearest agent with room is looked for
    pick = service.nearest_free(AUSTIN, "es", (), capacity=1, look_past=25)
    # Then it is the lone agent, and no read was made of their cell alone: the search's page showed it whole
    assert pick.entry is not None
    assert pick.entry.npn == "101"
    assert all(len(prefix) < 9 for _, prefix, _ in index.calls)
    assert pick.queries == len(index.calls)


def test_a_stack_the_search_read_only_in_part_is_read_whole_and_the_most_rested_agent_is_chosen() -> None:
    # Given four agents at one point (a page of two shows only the first two), the lowest NPN offered most recently
    point = (30.2712, -97.7436)
    index = index_of({npn: point for npn in ("101", "102", "103", "104")})
    loads = Loads(rested={"101": 50, "102": 40, "103": 30, "104": 20})
    service = MatchingService(index, Clock(), loads)
    # When the nearest agent with room is looked for
    pick = service.nearest_free(AUSTIN, "es", (), capacity=1, look_past=25)
    # Then the point's cell was read whole, and the agent who waited longest gets the offer
    assert any(len(prefix) == 9 for _, prefix, _ in index.calls)
    assert pick.entry is not None
    assert pick.entry.npn == "104"


@pytest.mark.parametrize("seed", range(40))
def test_the_pick_is_the_same_as_when_every_point_is_read_again(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given agents scattered and stacked around Austin, some busy, some rested longer than others
    rng = random.Random(seed)
    spots = [(30.27 + rng.uniform(-0.05, 0.05), -97.74 + rng.uniform(-0.05, 0.05)) for _ in range(6)]
    points = {str(100 + n): rng.choice(spots) for n in range(rng.randint(1, 14))}
    busy = rng.sample(sorted(points), rng.randint(0, len(points)))
    loads = Loads(busy, {npn: rng.randint(0, 5) for npn in points})
    excluded = set(rng.sample(sorted(points), rng.randint(0, 2)))

    def pick(reuse: bool) -> tuple[str | None, tuple[str, ...]]:
        if not reuse:
            monkeypatch.setattr(matching._Remembered, "whole_cell", lambda *_: None)
        found = MatchingService(index_of(points), Clock(), loads).nearest_free(AUSTIN, "es", excluded, 1, 25)
        return (found.entry.npn if found.entry else None), tuple(load.npn for load in found.busy)

    # When the nearest agent with room is picked reusing what the search read, and again reading every point anew
    reusing = pick(reuse=True)
    again = pick(reuse=False)
    # Then both picks, and the busy agents passed on the way, are the same
    assert reusing == again
