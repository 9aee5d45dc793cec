"""The summary of occupied cells in DynamoDB (moto): each upkeep step does what the in-memory store does (on which
the interleaving tests run), and the adapter's writes keep the summary and spend writes only on changes."""

from __future__ import annotations

import json
import random

import pytest

from benchmarks.counting import CallLog
from hod import cli
from hod.adapters.available import AvailableItem, DynamoAvailableIndex
from hod.adapters.dynamo import bind
from hod.domain import occupancy as occ
from hod.domain.nearest import find_nearest
from hod.geo import encode
from hod.ports.agents import Placement
from tests.summary_store import MemoryIndexStore, centred

AUSTIN = (30.2672, -97.7431)
MIAMI = (25.7617, -80.1918)


@pytest.fixture
def indexed(counted: tuple[CallLog, str]) -> tuple[CallLog, DynamoAvailableIndex]:
    log, table = counted
    return log, DynamoAvailableIndex(table)


def _placement(area: str, npn: str, lat: float, lon: float) -> Placement:
    return Placement(area, f"{encode(lat, lon, 9)}#{npn}", npn, lat, lon, 2_000_000_000)


def _store_raw(index: DynamoAvailableIndex, area: str, key: str) -> None:
    """An entry written without the summary's upkeep (as before summaries were kept)."""
    bind(AvailableItem, index._table)
    entry = centred(key, key.partition("#")[2])
    AvailableItem(area, key, npn=entry.npn, lat=entry.lat, lon=entry.lon, until=entry.until).save()


def _delete_raw(index: DynamoAvailableIndex, area: str, key: str) -> None:
    bind(AvailableItem, index._table)
    AvailableItem(area, key).delete()


def _view(summary: occ.AreaSummary | None, cells: frozenset[str]) -> tuple[bool, dict[str, tuple[bool, frozenset]]]:
    """What the protocols use of a read summary: whether it is complete, and for each cell asked whether it is in
    the summary and its marks."""
    if summary is None:
        return False, {cell: (False, frozenset()) for cell in cells}
    return summary.complete, {cell: (cell in summary.cells, summary.marks(cell)) for cell in cells}


def test_every_step_answers_in_dynamodb_as_in_memory(indexed: tuple[CallLog, DynamoAvailableIndex]) -> None:
    # Given the adapter and the in-memory store, with entries in a few cells of two precision-2 regions
    _, index = indexed
    memory = MemoryIndexStore()
    rng = random.Random(2026)
    spots = [AUSTIN, (AUSTIN[0] + 0.03, AUSTIN[1]), (AUSTIN[0] + 0.003, AUSTIN[1]), MIAMI, (MIAMI[0] + 0.05, MIAMI[1])]
    areas = ["TX#en", "TX#es"]
    cells = sorted({encode(lat, lon, occ.SUMMARY_PRECISION) for lat, lon in spots})
    marks: list[tuple[str, str, str]] = []
    for turn in range(150):
        area = rng.choice(areas)
        cell = rng.choice(cells)
        choice = rng.randrange(9)
        # When the same random step is taken in both (entries written or deleted directly now and then)
        if choice == 0:
            key = f"{encode(*rng.choice(spots), 9)}#{rng.randrange(4)}"
            memory.put(area, key, centred(key, key[-1]))
            _store_raw(index, area, key)
            continue
        if choice == 1 and memory.entries.get(area):
            key = rng.choice(sorted(memory.entries[area]))
            memory.delete(area, key)
            _delete_raw(index, area, key)
            continue
        if choice == 2:
            asked = {a: frozenset(rng.sample(cells, 2)) for a in areas}
            step: occ.Step = occ.ReadSummaries(asked)
            here, there = memory.execute(step), index.summary_step(step)
            for a, wanted in asked.items():
                # Then both answer alike, for every cell asked about
                assert _view(here.get(a), wanted) == _view(there.get(a), wanted)
            continue
        if choice == 3:
            step = occ.ListCells(area)
        elif choice == 4:
            step = occ.CellHasEntries(area, cell)
        elif choice == 5:
            known = [mark for a, _, mark in marks if a == area]
            clear = frozenset(rng.sample(known, min(len(known), rng.randint(0, 2))))
            step = occ.OpenCells(area, frozenset(rng.sample(cells, rng.randint(1, 2))), clear, rng.random() < 0.3)
        elif choice == 6:
            mark = f"{cell}:t{turn}"
            marks.append((area, cell, mark))
            step = occ.MarkClosing(area, cell, mark)
        elif marks:
            area, cell, mark = rng.choice(marks)
            step = occ.CloseCell(area, cell, mark) if choice == 7 else occ.Unmark(area, mark)
        else:
            continue
        assert memory.execute(step) == index.summary_step(step), step
    # And at the end both summaries say the same about every cell
    everything = {a: frozenset(cells) for a in areas}
    final = occ.ReadSummaries(everything)
    here, there = memory.execute(final), index.summary_step(final)
    for a in areas:
        assert _view(here.get(a), everything[a]) == _view(there.get(a), everything[a])


def test_a_refresh_in_place_writes_nothing_to_the_summary(indexed: tuple[CallLog, DynamoAvailableIndex]) -> None:
    # Given an agent in the index, with the summary complete
    log, index = indexed
    index.complete_summaries()
    agent = _placement("TX#en", "1", *AUSTIN)
    index.replace((), [agent])
    mark = log.mark()
    # When the sweep rewrites the agent's entry
    with log.scope("refresh"):
        index.replace((), [agent])
    # Then the only calls are the write and one strongly consistent read of the summary's records
    calls = log.since(mark, {"refresh"})
    assert [c.name for c in calls] == ["dynamodb.BatchWriteItem", "dynamodb.BatchGetItem"]
    assert calls[1].read_units == 2.0  # the area's "complete" record and its precision-2 record


def test_cells_leave_and_return_as_agents_go_and_come(indexed: tuple[CallLog, DynamoAvailableIndex]) -> None:
    # Given two agents in one cell of Austin and one in Miami, in Texas's Spanish area
    log, index = indexed
    index.complete_summaries()
    first, second = _placement("TX#es", "1", *AUSTIN), _placement("TX#es", "2", AUSTIN[0] + 0.003, AUSTIN[1])
    miami = _placement("TX#es", "3", *MIAMI)
    index.replace((), [first, second, miami])
    austin_cell, miami_cell = encode(*AUSTIN, 5), encode(*MIAMI, 5)
    assert index.occupancy("TX#es").cells == {austin_cell, miami_cell}
    # When one Austin agent leaves, the cell stays (one read, no write)
    mark = log.mark()
    with log.scope("leave"):
        index.replace([(first.area, first.cell)], [])
    assert [c.name for c in log.since(mark, {"leave"})] == ["dynamodb.BatchWriteItem", "dynamodb.Query"]
    assert index.occupancy("TX#es").cells == {austin_cell, miami_cell}
    # When the other leaves too, the cell is taken out; when Miami's agent leaves, Miami's record is deleted
    index.replace([(second.area, second.cell)], [])
    assert index.occupancy("TX#es").cells == {miami_cell}
    index.replace([(miami.area, miami.cell)], [])
    found = index.occupancy("TX#es")
    assert found.cells == frozenset()
    assert found.items_read == 1  # only the "complete" record is left
    # Then an agent coming back puts the cell back, and the search finds them with a handful of queries
    index.replace((), [first])
    assert index.occupancy("TX#es").cells == {austin_cell}
    result = find_nearest(index, "TX#es", *MIAMI)
    assert result.entry is not None
    assert result.entry.npn == "1"
    assert result.queries <= 4


def test_completing_summaries_covers_entries_written_before_them(
    indexed: tuple[CallLog, DynamoAvailableIndex],
) -> None:
    # Given entries in two areas written before summaries were kept, and a roster entry
    _, index = indexed
    old = [("TX#en", _placement("TX#en", "1", *AUSTIN).cell), ("FL#es", _placement("FL#es", "2", *MIAMI).cell)]
    for area, key in old:
        _store_raw(index, area, key)
    index.replace((), [Placement("ROSTER#TX", "1", "1", *AUSTIN, 0)])
    # Then no summary is trusted yet, not even for an area that has no entries
    assert index.occupancy("TX#en").cells is None
    assert index.occupancy("WY#en").cells is None
    # When the summaries are completed
    assert index.complete_summaries() == 2
    # Then each area's summary holds its cell, and an area without entries is known to be empty (by a fresh
    # adapter too, which looks at the table's record once)
    assert index.occupancy("TX#en").cells == {encode(*AUSTIN, 5)}
    assert index.occupancy("FL#es").cells == {encode(*MIAMI, 5)}
    fresh = DynamoAvailableIndex(index._table)
    first, later = fresh.occupancy("WY#en"), fresh.occupancy("WY#en")
    assert (first.cells, first.queries) == (frozenset(), 2)
    assert (later.cells, later.queries) == (frozenset(), 1)


def test_the_administrators_command_completes_the_summaries(
    indexed: tuple[CallLog, DynamoAvailableIndex], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an entry written before summaries were kept
    _, index = indexed
    _store_raw(index, "TX#en", _placement("TX#en", "1", *AUSTIN).cell)
    # When the administrator runs hod-admin complete-summaries on the table
    assert cli.main(["complete-summaries", "--table", index._table]) == 0
    # Then it reports the areas it completed, and the summary is in use
    assert json.loads(capsys.readouterr().out) == {"areas_with_entries": 1}
    assert index.occupancy("TX#en").cells == {encode(*AUSTIN, 5)}
