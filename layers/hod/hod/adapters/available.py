"""The available-now index in DynamoDB, with each area's summary of occupied cells.

One table holds three kinds of item: an entry per (state#language, geohash#npn) for each agent available now (area
"TX#es"), the roster of each state (area "ROSTER#TX", sort key the npn) and each area's summary of occupied cells
(`hod.domain.occupancy`) in its own partition ("CELLS#TX#es"), so no Query of an area's entries returns it.

The summary is split by precision-2 cell (about 1,250 x 625 km; a state spans a few): the record with sort key "9v"
lists, as the rest of their geohash, the cells under "9v" that may hold entries, and the marks on them. A write to
it is billed by its size, so a cell turning empty or occupied in Houston does not rewrite all of Texas's cells.
The record "complete" says the summary covers every entry. An area with no records at all holds no entries once
the table's own record (area "CELLS", "complete") says that every area's summary is complete: `complete_summaries`
writes it (`hod-admin complete-summaries`, once per deployment that starts keeping summaries); until then such an
area is searched as if it had no summary.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DeleteError, UpdateError
from pynamodb.models import Model

from hod.adapters.dynamo import _conditional_failed, _sdk, bind
from hod.domain import occupancy as occ
from hod.domain.nearest import INDEX_PRECISION, IndexEntry, Occupancy
from hod.geo import cell_bounds, encode
from hod.ports.agents import Placement


class AvailableItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    area = UnicodeAttribute(hash_key=True)
    cell = UnicodeAttribute(range_key=True)
    npn = UnicodeAttribute()
    lat = NumberAttribute()
    lon = NumberAttribute()
    until = NumberAttribute()
    expires_at = NumberAttribute(null=True)


class AreaCellsItem(Model):
    """One record of an area's summary: under a precision-2 cell, the cells that may hold entries (the rest of
    their geohash) and the marks of writers checking whether one emptied; or the "complete" record, with the
    summary's precision."""

    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    area = UnicodeAttribute(hash_key=True)
    cell = UnicodeAttribute(range_key=True)
    cells = UnicodeSetAttribute(null=True)
    closing = UnicodeSetAttribute(null=True)
    precision = NumberAttribute(null=True)


SHARD_PRECISION = 2
COMPLETE_KEY = "complete"
TABLE_RECORD = "CELLS"


def summary_area(area: str) -> str:
    return f"CELLS#{area}"


def _shard(cell: str) -> str:
    return cell[:SHARD_PRECISION]


class DynamoAvailableIndex:
    """The sparse available-now index: one item per (state#language, geohash#npn) for agents available right now.

    Entries are read back at the centre of their precision-9 cell (under 3.4 m from the stored position), so all
    the entries of one cell share a position, as `PagedCellSource` requires. Every write keeps the areas'
    summaries (`SummarisedCellSource`) in step."""

    def __init__(self, table_name: str, grace_seconds: int = 3600) -> None:
        self._table = table_name
        self._grace = grace_seconds
        self._every_summary_complete = False  # once the table says so, it stays so

    @staticmethod
    def _entry(item: AvailableItem) -> IndexEntry:
        cell = item.cell.split("#", 1)[0] if "#" in item.cell else ""
        if len(cell) == INDEX_PRECISION:
            south, west, north, east = cell_bounds(cell)
            lat, lon = (south + north) / 2, (west + east) / 2
        else:  # a roster entry ("ROSTER#TX", npn): no position key
            lat, lon = float(item.lat), float(item.lon)
        return IndexEntry(item.npn, lat, lon, int(item.until))

    def query(self, area: str, prefix: str) -> Sequence[IndexEntry]:
        bind(AvailableItem, self._table)
        condition = AvailableItem.cell.startswith(prefix) if prefix else None
        with _sdk("Query"):
            return [self._entry(item) for item in AvailableItem.query(area, condition)]

    def query_page(
        self, area: str, prefix: str, limit: int, after: IndexEntry | None = None, past_position: bool = False
    ) -> Sequence[IndexEntry]:
        """One Query with Limit: keys are "<geohash9>#<npn>", so "<geohash9>#~" sorts after every npn there."""
        bind(AvailableItem, self._table)
        condition = AvailableItem.cell.startswith(prefix) if prefix else None
        start = None
        if after is not None:
            key = f"{encode(after.lat, after.lon, INDEX_PRECISION)}#{'~' if past_position else after.npn}"
            start = {"area": {"S": area}, "cell": {"S": key}}
        with _sdk("Query"):
            return [
                self._entry(item)
                for item in AvailableItem.query(area, condition, limit=limit, last_evaluated_key=start)
            ]

    def occupancy(self, area: str) -> Occupancy:
        """The area's summary: one eventually consistent Query of its records, like the index's own Queries (and,
        for an area without records, a look at the table's record, once per process)."""
        bind(AreaCellsItem, self._table)
        with _sdk("Query"):
            records = list(AreaCellsItem.query(summary_area(area)))
        if records:
            summary = _area_summary(records)
            return Occupancy(occ.SUMMARY_PRECISION, summary.cells if summary.complete else None, len(records))
        if self._every_summary_complete:
            return Occupancy(occ.SUMMARY_PRECISION, frozenset(), 0)
        with _sdk("GetItem"):
            try:
                AreaCellsItem.get(TABLE_RECORD, COMPLETE_KEY)
            except AreaCellsItem.DoesNotExist:
                return Occupancy(occ.SUMMARY_PRECISION, None, 0, queries=2)
        self._every_summary_complete = True
        return Occupancy(occ.SUMMARY_PRECISION, frozenset(), 1, queries=2)

    def complete_summaries(self) -> int:
        """Complete the summary of every area that holds entries (those written before summaries were kept), then
        record that all are complete, so an area without one is known to be empty. Returns the areas with
        entries. Run once the functions that write the index all keep summaries (this version deployed)."""
        bind(AvailableItem, self._table)
        bind(AreaCellsItem, self._table)
        with _sdk("Scan"):
            keys = [(item.area, item.cell) for item in AvailableItem.scan(consistent_read=True)]
        found = occ.cells_by_area((area, key) for area, key in keys if not area.startswith("CELLS#"))
        occ.run(occ.after_adding(found), self.summary_step)
        with _sdk("PutItem"):
            AreaCellsItem(TABLE_RECORD, COMPLETE_KEY, precision=occ.SUMMARY_PRECISION).save()
        self._every_summary_complete = True
        return len(found)

    def replace(self, remove: Iterable[tuple[str, str]], add: Iterable[Placement]) -> None:
        """Delete and put entries, then bring the areas' summaries in step (`hod.domain.occupancy`): a write only
        where a cell turns occupied or empty, strongly consistent reads otherwise."""
        removed, placed = list(remove), list(add)
        bind(AvailableItem, self._table)
        with _sdk("BatchWriteItem"), AvailableItem.batch_write() as batch:
            for area, cell in removed:
                batch.delete(AvailableItem(area, cell))
            for p in placed:
                batch.save(
                    AvailableItem(
                        p.area,
                        p.cell,
                        npn=p.npn,
                        lat=p.lat,
                        lon=p.lon,
                        until=p.until,
                        expires_at=p.until + self._grace if p.until else None,
                    )
                )
        added = occ.cells_by_area((p.area, p.cell) for p in placed)
        occ.run(occ.after_adding(added), self.summary_step)
        left = occ.vacated(occ.cells_by_area(removed), added)
        occ.run(occ.after_removing(left, secrets.token_hex(4)), self.summary_step)

    def summary_step(self, step: occ.Step) -> Any:
        """One step of the summary's upkeep: one DynamoDB request per record it touches."""
        bind(AvailableItem, self._table)
        bind(AreaCellsItem, self._table)
        if isinstance(step, occ.ReadSummaries):
            keys = [
                (summary_area(area), key)
                for area, cells in step.cells.items()
                for key in sorted({COMPLETE_KEY} | {_shard(cell) for cell in cells})
            ]
            with _sdk("BatchGetItem"):
                records = list(AreaCellsItem.batch_get(keys, consistent_read=True))
            by_area: dict[str, list[AreaCellsItem]] = {}
            for record in records:
                by_area.setdefault(record.area.removeprefix("CELLS#"), []).append(record)
            return {area: _area_summary(found) for area, found in by_area.items()}
        if isinstance(step, occ.ListCells):
            with _sdk("Query"):
                stored = [item.cell for item in AvailableItem.query(step.area, consistent_read=True)]
            return occ.cells_by_area((step.area, key) for key in stored).get(step.area, frozenset())
        if isinstance(step, occ.CellHasEntries):
            condition = AvailableItem.cell.startswith(step.cell)
            with _sdk("Query"):
                found = list(AvailableItem.query(step.area, condition, consistent_read=True, limit=1))
            return bool(found)
        if isinstance(step, occ.OpenCells):
            marks_by_shard: dict[str, set[str]] = {}
            for mark in step.clear:
                marks_by_shard.setdefault(_shard(mark), set()).add(mark)
            for shard in sorted({_shard(cell) for cell in step.cells} | set(marks_by_shard)):
                suffixes = {cell[SHARD_PRECISION:] for cell in step.cells if _shard(cell) == shard}
                actions: list[Any] = [AreaCellsItem.cells.add(suffixes)] if suffixes else []
                if shard in marks_by_shard:
                    actions.append(AreaCellsItem.closing.delete(marks_by_shard[shard]))
                _update(self._record(step.area, shard), actions)
            if step.complete:
                _update(self._record(step.area, COMPLETE_KEY), [AreaCellsItem.precision.set(occ.SUMMARY_PRECISION)])
            return None
        record = self._record(step.area, _shard(step.mark))  # a mark starts with its cell
        if isinstance(step, occ.MarkClosing):
            added = [AreaCellsItem.closing.add({step.mark})]
            return _update(record, added, AreaCellsItem.cells.contains(step.cell[SHARD_PRECISION:]))
        if isinstance(step, occ.CloseCell):
            removed = [
                AreaCellsItem.cells.delete({step.cell[SHARD_PRECISION:]}),
                AreaCellsItem.closing.delete({step.mark}),
            ]
            closed = _update(record, removed, AreaCellsItem.closing.contains(step.mark))
            if closed and not record.cells and not record.closing:
                _delete_if_empty(record)
            return closed
        _update(record, [AreaCellsItem.closing.delete({step.mark})])
        return None

    @staticmethod
    def _record(area: str, key: str) -> AreaCellsItem:
        return AreaCellsItem(summary_area(area), key)


def _update(record: AreaCellsItem, actions: list[Any], condition: Any = None) -> bool:
    """One UpdateItem of a summary record; False when its condition did not hold."""
    with _sdk("UpdateItem"):
        try:
            record.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
    return True


def _delete_if_empty(record: AreaCellsItem) -> None:
    """Delete a record left with no cells and no marks (if it still has none), so reading the summary does not
    return records of regions the area's agents have all left."""
    with _sdk("DeleteItem"):
        try:
            record.delete(condition=AreaCellsItem.cells.does_not_exist() & AreaCellsItem.closing.does_not_exist())
        except DeleteError as exc:
            if not _conditional_failed(exc):
                raise


def _area_summary(records: Iterable[AreaCellsItem]) -> occ.AreaSummary:
    """What an area's records say: its cells (the record's precision-2 cell and the rest of the geohash), the marks
    on them, and the precision of the "complete" record (None without it)."""
    cells: set[str] = set()
    closing: set[str] = set()
    precision = None
    for record in records:
        if record.cell == COMPLETE_KEY:
            precision = int(record.precision) if record.precision is not None else None
            continue
        cells |= {record.cell + rest for rest in record.cells or ()}
        closing |= set(record.closing or ())
    return occ.AreaSummary(frozenset(cells), frozenset(closing), precision)
