"""Each area's summary of occupied cells, kept in step with the available-now index (read by `hod.domain.nearest`).

An area's summary says, for each precision-5 cell (about 5 x 5 km), whether it may hold entries of the area:

- ``cells``: every such cell that may hold an entry of the area;
- ``closing``: marks ``"<cell>:<token>"`` that a writer leaves while it checks whether a cell has emptied;
- ``precision``: set to `SUMMARY_PRECISION` once ``cells`` covers every entry written before the summary existed.

How it is stored is the adapter's business (`hod.adapters.available` splits it into a few records per area); every
cell and the marks on it are kept in one record, which is all the protocols below need.

**The promise the search relies on**: a cell that holds an entry whose write has finished is in ``cells``. ``cells``
may also name empty cells (a removal is noticed late, or never: entries deleted by the table's TTL), which costs a
query that finds nothing, never a wrong answer.

Writers keep it with two short protocols, run after their own index writes. Each step is one atomic read or
conditional write of the record that holds the cell (one DynamoDB request), and the adapter runs them in order:

- **after adding** entries: read the summaries (strongly consistent). A cell that is in ``cells`` with no mark on it
  needs nothing, so a refresh that keeps an agent where it was writes nothing here. Otherwise one write adds the
  cells to ``cells`` and deletes the marks it saw. A summary that is missing or not yet complete is first completed
  from the area's entries themselves.
- **after removing** entries: if the cell still holds an entry (a strongly consistent read), nothing. Otherwise mark
  it (only if it is in ``cells``), read it again, and remove it from ``cells`` only if the mark is still there; if the
  second read finds an entry, take the mark off.

Why a finished write is never hidden: a remover takes a cell out of ``cells`` only if its mark stayed from before
its second read until the removal. An entry still in the cell at the removal was (last) put after that second read,
since the read found none. The adder read the summary after its put, so between the remover's mark and its removal:
it saw the mark, and it is not finished until its write, which deletes that mark and so makes the removal fail
unless the removal came first; its write then puts the cell back. Only an adder that is still running (or that
stopped between its put and its write) can have its entry outside ``cells``; the agent's next refresh rewrites the
entry and repairs that, as it would a put that never happened. tests/unit/test_occupancy.py runs random
interleavings of writers against this argument.

The two cells a writer names are the summary cells of the index keys (``"<geohash9>#<npn>"``) it put or deleted;
roster entries have no position and no summary.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hod.domain.nearest import INDEX_PRECISION

SUMMARY_PRECISION = 5
"""Geohash precision of the summary's cells: about 5 x 5 km. Finer cells let the search pass over more empty
ground (at 100k agents at night, queries per match p95 6 at precision 5 against 18 at 4) but turn empty or occupied
more often, and each turn is a write."""


def summary_cell(index_key: str) -> str | None:
    """The summary cell of an index key ``"<geohash9>#<npn>"``; None for keys without a position (rosters)."""
    position, separator, _ = index_key.partition("#")
    return position[:SUMMARY_PRECISION] if separator and len(position) == INDEX_PRECISION else None


def cells_by_area(keys: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """The summary cells that (area, index key) pairs fall in, by area."""
    found: dict[str, set[str]] = {}
    for area, key in keys:
        cell = summary_cell(key)
        if cell is not None:
            found.setdefault(area, set()).add(cell)
    return {area: frozenset(cells) for area, cells in found.items()}


def vacated(removed: Mapping[str, frozenset[str]], added: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Cells removed from that the same write does not put an entry back into (an agent moving within a cell)."""
    left = {area: cells - added.get(area, frozenset()) for area, cells in removed.items()}
    return {area: cells for area, cells in left.items() if cells}


@dataclass(frozen=True)
class AreaSummary:
    """What an area's summary says, as read: about the cells asked for at least."""

    cells: frozenset[str]
    closing: frozenset[str]
    precision: int | None

    @property
    def complete(self) -> bool:
        return self.precision == SUMMARY_PRECISION

    def marks(self, cell: str) -> frozenset[str]:
        return frozenset(mark for mark in self.closing if mark.partition(":")[0] == cell)

    def settled(self, cell: str) -> bool:
        """In ``cells`` and nobody is checking whether it emptied: an adder needs to write nothing for it."""
        return cell in self.cells and not self.marks(cell)


# ----- the steps: each is one atomic read or write of the store ---------------------------------------------------


@dataclass(frozen=True)
class ReadSummaries:
    """Strongly consistent read of what these areas' summaries say about these cells (and whether each summary is
    complete). Answers {area: AreaSummary}, leaving out areas that have no summary at all."""

    cells: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class ListCells:
    """Strongly consistent read of every entry of the area. Answers the frozenset of their summary cells."""

    area: str


@dataclass(frozen=True)
class OpenCells:
    """Add ``cells`` to the area's ``cells`` and delete the marks ``clear``; with ``complete``, also record the
    summary as complete. Creates the record if missing. Answers None."""

    area: str
    cells: frozenset[str]
    clear: frozenset[str]
    complete: bool = False


@dataclass(frozen=True)
class CellHasEntries:
    """Strongly consistent read of at most one entry of the area in ``cell``. Answers whether there was one."""

    area: str
    cell: str


@dataclass(frozen=True)
class MarkClosing:
    """Add ``mark`` to ``closing`` if ``cell`` is in ``cells``. Answers whether it was added."""

    area: str
    cell: str
    mark: str


@dataclass(frozen=True)
class CloseCell:
    """Remove ``cell`` from ``cells`` and ``mark`` from ``closing`` if ``mark`` is still there. Answers whether
    it did."""

    area: str
    cell: str
    mark: str


@dataclass(frozen=True)
class Unmark:
    """Delete ``mark`` from ``closing``. Answers None."""

    area: str
    mark: str


Step = ReadSummaries | ListCells | OpenCells | CellHasEntries | MarkClosing | CloseCell | Unmark
Upkeep = Generator[Step, Any, None]
"""A protocol run: it yields steps and is sent each step's answer."""


def after_adding(added: Mapping[str, frozenset[str]]) -> Upkeep:
    """Run after putting entries into these cells: makes sure each is in its area's ``cells``, unmarked."""
    if not added:
        return
    summaries: Mapping[str, AreaSummary] = yield ReadSummaries(added)
    for area in sorted(added):
        cells, summary = added[area], summaries.get(area)
        if summary is None or not summary.complete:
            listed: frozenset[str] = yield ListCells(area)
            clear = summary.closing if summary is not None else frozenset()
            yield OpenCells(area, cells | listed, clear, complete=True)
            continue
        unsettled = frozenset(cell for cell in cells if not summary.settled(cell))
        if unsettled:
            yield OpenCells(area, unsettled, frozenset().union(*(summary.marks(cell) for cell in unsettled)))


def after_removing(removed: Mapping[str, frozenset[str]], token: str) -> Upkeep:
    """Run after deleting entries from these cells: takes each cell that emptied out of its area's ``cells``.
    ``token`` tells this writer's marks from others' (unique per run)."""
    for area in sorted(removed):
        for cell in sorted(removed[area]):
            if (yield CellHasEntries(area, cell)):
                continue
            mark = f"{cell}:{token}"
            if not (yield MarkClosing(area, cell, mark)):
                continue  # not in cells, or the record is missing: nothing to take out
            if (yield CellHasEntries(area, cell)):
                yield Unmark(area, mark)
                continue
            yield CloseCell(area, cell, mark)


def run(upkeep: Upkeep, execute: Callable[[Step], Any]) -> None:
    """Run a protocol to the end, answering each step with ``execute(step)``."""
    try:
        step = next(upkeep)
        while True:
            step = upkeep.send(execute(step))
    except StopIteration:
        return
