"""The available-now index adapter read in pages, against moto: what the paged search relies on."""

from __future__ import annotations

import random

import pytest

from hod.adapters.available import DynamoAvailableIndex
from hod.domain.nearest import IndexEntry, PagedCellSource, find_nearest
from hod.geo import cell_bounds, encode, haversine_km
from hod.ports.agents import Placement

pytestmark = pytest.mark.usefixtures("stack")

AUSTIN = (30.2672, -97.7431)


def _placement(area: str, npn: str, lat: float, lon: float, until: int = 2_000_000_000) -> Placement:
    return Placement(area, f"{encode(lat, lon, 9)}#{npn}", npn, lat, lon, until)


@pytest.fixture
def index(stack: dict[str, str]) -> DynamoAvailableIndex:
    return DynamoAvailableIndex(stack["HOD_AVAILABLE_TABLE"])


def test_entries_come_back_at_their_cell_centre_and_rosters_unchanged(index: DynamoAvailableIndex) -> None:
    # Given an agent 2 m off the centre of their precision-9 cell, and a roster entry
    cell = cell_bounds(encode(*AUSTIN, 9))
    centre = ((cell.south + cell.north) / 2, (cell.west + cell.east) / 2)
    index.replace(
        (), [_placement("TX#es", "7", centre[0] + 0.000018, centre[1]), Placement("ROSTER#TX", "7", "7", *AUSTIN, 0)]
    )
    # When both are read
    (entry,) = index.query("TX#es", "")
    (roster,) = index.query("ROSTER#TX", "")
    # Then the available entry sits at the cell's centre, within 3.4 m of where it was stored; the roster is as stored
    assert (entry.lat, entry.lon) == centre
    assert haversine_km(entry.lat, entry.lon, centre[0] + 0.000018, centre[1]) < 0.0034
    assert encode(entry.lat, entry.lon, 9) == encode(*AUSTIN, 9)
    assert (roster.lat, roster.lon) == AUSTIN


def test_pages_follow_key_order_and_can_skip_past_a_position(index: DynamoAvailableIndex) -> None:
    # Given twelve agents at one point and three at another point in the same precision-5 cell
    stack = [_placement("TX#en", f"{n:03d}", *AUSTIN) for n in range(100, 112)]
    others = [_placement("TX#en", f"{n:03d}", AUSTIN[0] + 0.01, AUSTIN[1]) for n in (5, 6, 7)]
    index.replace((), stack + others)
    prefix = encode(*AUSTIN, 5)
    assert isinstance(index, PagedCellSource)
    everything = index.query("TX#en", prefix)
    # When the cell is read in pages of four, then from after the fifth entry, then past the first position
    first = index.query_page("TX#en", prefix, 4)
    later = index.query_page("TX#en", prefix, 4, after=everything[4])
    beyond = index.query_page("TX#en", prefix, 20, after=everything[0], past_position=True)
    # Then each page is the next slice in key order, and skipping lands on the next position's first agent
    assert list(first) == list(everything[:4])
    assert list(later) == list(everything[5:9])
    first_position = (everything[0].lat, everything[0].lon)
    assert all((e.lat, e.lon) != first_position for e in beyond)
    assert list(beyond) == [e for e in everything if (e.lat, e.lon) != first_position]


def test_the_paged_search_over_the_adapter_matches_brute_force(index: DynamoAvailableIndex) -> None:
    # Given 400 agents on 25 Austin ZIP-like points, some with expired availability
    rng = random.Random(25)
    points = [(round(AUSTIN[0] + rng.gauss(0, 0.08), 4), round(AUSTIN[1] + rng.gauss(0, 0.08), 4)) for _ in range(25)]
    placements = [
        _placement("TX#es", f"{2000 + i}", *rng.choice(points), until=rng.choice([100, 2_000_000_000]))
        for i in range(400)
    ]
    index.replace((), placements)
    entries = index.query("TX#es", "")
    for _ in range(25):
        lat, lon = AUSTIN[0] + rng.gauss(0, 0.08), AUSTIN[1] + rng.gauss(0, 0.08)
        excluded = {e.npn for e in rng.sample(list(entries), 20)}

        def live(entry: IndexEntry) -> bool:
            return entry.until > 1000

        # When the nearest live, not excluded agent is searched for through the adapter's pages
        found = find_nearest(index, "TX#es", lat, lon, exclude=excluded, accept=live)
        # Then it is the brute-force answer, and far fewer than the 400 items were read
        expected = min(
            (e for e in entries if live(e) and e.npn not in excluded),
            key=lambda e: (haversine_km(lat, lon, e.lat, e.lon), e.npn),
        )
        assert found.entry == expected
        assert found.items_read < 100
