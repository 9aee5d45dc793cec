"""The available-now table in memory, as the summary's upkeep (`hod.domain.occupancy`) and the search see it.

Each protocol step is carried out atomically, with the semantics `hod.adapters.available` gives it in DynamoDB
(one record per area here: the protocols reason cell by cell, and a cell and its marks always share a record);
tests/integration/test_occupancy_store.py runs the same steps against both and compares the answers.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hod.domain import occupancy as occ
from hod.domain.nearest import IndexEntry, Occupancy
from hod.geo import cell_bounds, encode


@dataclass
class Record:
    """An area's stored summary."""

    cells: set[str] = field(default_factory=set)
    closing: set[str] = field(default_factory=set)
    precision: int | None = None


def key_of(entry: IndexEntry) -> str:
    return f"{encode(entry.lat, entry.lon, 9)}#{entry.npn}"


def centred(key: str, npn: str, until: int = 2_000_000_000) -> IndexEntry:
    """The entry an index key stands for, at its precision-9 cell's centre (as the adapter reads it back)."""
    b = cell_bounds(key.partition("#")[0])
    return IndexEntry(npn, (b.south + b.north) / 2, (b.west + b.east) / 2, until)


class MemoryIndexStore:
    """Entries by area and key, and summaries by area."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, IndexEntry]] = {}
        self.summaries: dict[str, Record] = {}
        self.steps: list[occ.Step] = []

    # ----- entries ------------------------------------------------------------------------------------------
    def put(self, area: str, key: str, entry: IndexEntry) -> None:
        self.entries.setdefault(area, {})[key] = entry

    def delete(self, area: str, key: str) -> None:
        self.entries.get(area, {}).pop(key, None)

    def _keys(self, area: str) -> list[str]:
        return sorted(self.entries.get(area, {}))

    # ----- the search's view --------------------------------------------------------------------------------
    def query(self, area: str, prefix: str) -> Sequence[IndexEntry]:
        keys = self._keys(area)
        start = bisect.bisect_left(keys, prefix)
        stop = bisect.bisect_left(keys, prefix + "~")
        return [self.entries[area][key] for key in keys[start:stop]]

    def occupancy(self, area: str) -> Occupancy:
        record = self.summaries.get(area)
        if record is None:
            return Occupancy(occ.SUMMARY_PRECISION, None, 0)
        complete = record.precision == occ.SUMMARY_PRECISION
        return Occupancy(occ.SUMMARY_PRECISION, frozenset(record.cells) if complete else None, 1)

    # ----- the upkeep's steps -------------------------------------------------------------------------------
    def execute(self, step: occ.Step) -> Any:
        self.steps.append(step)
        if isinstance(step, occ.ReadSummaries):
            return {
                area: occ.AreaSummary(frozenset(record.cells), frozenset(record.closing), record.precision)
                for area in step.cells
                if (record := self.summaries.get(area)) is not None
            }
        if isinstance(step, occ.ListCells):
            return occ.cells_by_area((step.area, key) for key in self._keys(step.area)).get(step.area, frozenset())
        if isinstance(step, occ.CellHasEntries):
            return any(key.startswith(step.cell) for key in self._keys(step.area))
        record = self.summaries.get(step.area)
        if isinstance(step, occ.OpenCells):
            record = self.summaries.setdefault(step.area, Record())
            record.cells |= step.cells
            record.closing -= step.clear
            if step.complete:
                record.precision = occ.SUMMARY_PRECISION
            return None
        if isinstance(step, occ.MarkClosing):
            if record is None or step.cell not in record.cells:
                return False
            record.closing.add(step.mark)
            return True
        if isinstance(step, occ.CloseCell):
            if record is None or step.mark not in record.closing:
                return False
            record.cells.discard(step.cell)
            record.closing.discard(step.mark)
            return True
        if record is not None:  # Unmark: an update of a missing record creates it, with nothing in it
            record.closing.discard(step.mark)
        else:
            self.summaries[step.area] = Record()
        return None
