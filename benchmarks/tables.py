"""DynamoDB's capacity arithmetic for the benchmarks: item sizes, read and write units, and what a table's writes
cost in its global secondary indexes and in which partitions.

- Item sizes follow DynamoDB's rules (attribute names plus values; numbers about one byte per two digits).
- Reads: 1 unit per 4 KB strongly consistent, 0.5 eventually consistent (at least one 4 KB step); writes: 1 unit
  per 1 KB of the item (at least one).
- Index writes (`index_writes`): an item entering or leaving an index costs one index write, one whose index key
  changes costs two (a delete in the old entry's partition and a put in the new one's: `index_partition_writes`),
  one whose projected attributes change costs one, and one that is in the index neither before nor after costs
  none. Each is 1 unit per 1 KB of the index entry (the table's key, the index's key and the projected attributes).
- Tables and their indexes come from template.yaml (`table_shapes`, `global_indexes`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PartitionUse:
    """Units one call consumed in one partition: `key` is the partition key value, in the table (`index` "") or
    in one of its global secondary indexes."""

    table: str  # the table's logical id
    index: str
    key: str
    read_units: float = 0.0
    write_units: float = 0.0
    items: int = 0  # items read
    bytes: int = 0  # their size


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value in the low-level JSON form ({"S": ...}, {"N": ...}...)."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return len(raw) if isinstance(raw, bytes | bytearray) else len(str(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in raw)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in raw)
    if kind == "BS":
        return sum(len(v) for v in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    return 0


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


# ----- global secondary indexes ------------------------------------------------------------------------------------

Item = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class GlobalIndex:
    """One global secondary index: its key attributes and what it projects."""

    name: str
    keys: tuple[str, ...]
    projection: str = "ALL"  # KEYS_ONLY, INCLUDE or ALL
    non_key: frozenset[str] = frozenset()

    def entry(self, item: Item | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The index's entry for `item`: None when the item lacks one of the index's key attributes (sparse)."""
        if item is None or any(name not in item for name in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        kept = {*table_keys, *self.keys, *(self.non_key if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in kept}


@dataclass(frozen=True)
class IndexedTable:
    """A table's primary key attributes and its global secondary indexes."""

    name: str
    keys: tuple[str, ...]
    indexes: tuple[GlobalIndex, ...]

    def key_of(self, item: Item) -> dict[str, Any]:
        return {name: item[name] for name in self.keys}


def global_indexes(template: Mapping[str, Any], prefix: str | None = None) -> dict[str, IndexedTable]:
    """Table name → its key and global secondary indexes, from the template, for tables that have any."""
    return {name: table for name, table in table_shapes(template, prefix).items() if table.indexes}


def table_shapes(template: Mapping[str, Any], prefix: str | None = None) -> dict[str, IndexedTable]:
    """Table name → its key and global secondary indexes (perhaps none), from the template, for every table."""
    from local.cfn import DEFAULT_PREFIX, dynamodb_tables

    found: dict[str, IndexedTable] = {}
    for logical_id, kwargs in dynamodb_tables(template, DEFAULT_PREFIX if prefix is None else prefix).items():
        indexes = tuple(
            GlobalIndex(
                name=str(index["IndexName"]),
                keys=tuple(str(k["AttributeName"]) for k in index["KeySchema"]),
                projection=str(index["Projection"].get("ProjectionType", "ALL")),
                non_key=frozenset(str(n) for n in index["Projection"].get("NonKeyAttributes") or ()),
            )
            for index in kwargs.get("GlobalSecondaryIndexes") or ()
        )
        keys = tuple(str(k["AttributeName"]) for k in kwargs["KeySchema"])
        found[str(kwargs["TableName"])] = IndexedTable(logical_id, keys, indexes)
    return found


def key_value(item: Item, attribute: str) -> str:
    """A key attribute's value as text (keys are strings, numbers or binary)."""
    ((_, raw),) = item[attribute].items()
    return str(raw)


def index_partition_writes(before: Item | None, after: Item | None, table: IndexedTable) -> list[tuple[str, str, int]]:
    """(index, partition key value, write units) of each index write when one item goes from `before` to `after`
    (None: no item). Per index: entering or leaving it costs one write of the entry, a changed index key a delete
    (in the old entry's partition) and a put (in the new one's), changed projected attributes one put; no change,
    or no entry before or after, costs nothing."""
    writes: list[tuple[str, str, int]] = []
    for index in table.indexes:
        old, new = index.entry(before, table.keys), index.entry(after, table.keys)
        if old == new:
            continue
        if old is not None and new is not None and any(old[k] != new[k] for k in index.keys):
            entries = [old, new]
        else:
            entries = [new if new is not None else old or {}]
        writes += [(index.name, key_value(e, index.keys[0]), write_units(item_size(e))) for e in entries]
    return writes


def index_writes(before: Item | None, after: Item | None, table: IndexedTable) -> dict[str, int]:
    """Write units each of the table's global secondary indexes consumes when one item goes from `before` to
    `after`, for the indexes that consume any (`index_partition_writes`, summed by index)."""
    units: Counter[str] = Counter()
    for name, _, count in index_partition_writes(before, after, table):
        units[name] += count
    return dict(units)


def index_write_units(before: Item | None, after: Item | None, table: IndexedTable) -> int:
    """All the index write units of one item's change (`index_writes`, summed)."""
    return sum(index_writes(before, after, table).values())
