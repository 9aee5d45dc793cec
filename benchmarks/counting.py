"""Counting AWS API calls from botocore's own events, with DynamoDB read and write units worked out per call.

`CallLog.install()` hooks every botocore client created afterwards (boto3's and pynamodb's own alike): each call is
recorded on 'after-call' with its service, operation, the scope it was made in (`log.scope("MatchFunction")`,
per thread) and, for DynamoDB, the items it read and the capacity units DynamoDB would bill for it:

- reads: a Query or Scan costs its items' total size rounded up to 4 KB (at least one unit), a GetItem its item's
  size rounded up to 4 KB (at least one), a BatchGetItem each item so; strongly consistent = 1 unit per 4 KB,
  eventually consistent = 0.5 (a BatchGetItem asks for consistency table by table);
- writes: 1 unit per 1 KB of each item written (rounded up per item), twice that inside TransactWriteItems. The
  size of an updated item is read from moto after the call; a deleted item counts 1 unit.
- index writes (`Call.index_write_units`), for the tables in `CallLog.indexes` (their global secondary indexes, read
  from template.yaml by `global_indexes`): each write of the call is compared, index by index, before and after
  (`index_write_units`). The "before" item is read from moto just before the request is sent, the "after" one is
  the item put, the item moto holds after an update, or nothing after a delete. An item entering or leaving an
  index costs one index write, one whose index key changes costs two (delete and put), one whose projected
  attributes change costs one, and one that is in the index neither before nor after costs none. Each index write
  is 1 unit per 1 KB of the index entry (the table's key, the index's key and the projected attributes), at the
  standard rate inside transactions too.

Item sizes follow DynamoDB's rules (attribute names plus values; numbers about one byte per two digits).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

_READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Call:
    service: str
    operation: str
    scope: str | None
    items_read: int = 0
    read_units: float = 0.0
    write_units: float = 0.0
    # "<table's logical id>.<index>" → write units that index consumed (global secondary indexes)
    index_writes: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    @property
    def index_write_units(self) -> float:
        return float(sum(self.index_writes.values()))

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


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


def _read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _moto_item(region: str, table: str, key: Mapping[str, Any]) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    found = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table)
    hash_value = DynamoType(key[found.hash_key_attr])
    range_value = DynamoType(key[found.range_key_attr]) if found.range_key_attr else None
    return found.get_item(hash_value, range_value)


def _stored_size(region: str, table: str, key: Mapping[str, Any]) -> int:
    """Size of an item as moto now holds it (after an update); 0 when it is not there."""
    item = _moto_item(region, table, key)
    return int(item.size()) if item is not None else 0


def _stored_item(region: str, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """The item as moto now holds it, in the low-level JSON form; None when it is not there."""
    from moto.dynamodb.exceptions import ResourceNotFoundException

    try:
        item = _moto_item(region, table, key)
    except ResourceNotFoundException:
        return None
    return dict(item.to_json()["Attributes"]) if item is not None else None


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
        if indexes:
            keys = tuple(str(k["AttributeName"]) for k in kwargs["KeySchema"])
            found[str(kwargs["TableName"])] = IndexedTable(logical_id, keys, indexes)
    return found


def index_writes(before: Item | None, after: Item | None, table: IndexedTable) -> dict[str, int]:
    """Write units each of the table's global secondary indexes consumes when one item goes from `before` to
    `after` (None: no item), for the indexes that consume any. Per index: entering or leaving it costs one write
    of the entry, a changed index key a delete and a put, changed projected attributes one put; no change, or no
    entry before or after, costs nothing."""
    units: dict[str, int] = {}
    for index in table.indexes:
        old, new = index.entry(before, table.keys), index.entry(after, table.keys)
        if old == new:
            continue
        if old is not None and new is not None and any(old[k] != new[k] for k in index.keys):
            units[index.name] = _write_units(item_size(old)) + _write_units(item_size(new))
        else:
            units[index.name] = _write_units(item_size(new if new is not None else old or {}))
    return units


def index_write_units(before: Item | None, after: Item | None, table: IndexedTable) -> int:
    """All the index write units of one item's change (`index_writes`, summed)."""
    return sum(index_writes(before, after, table).values())


def _written_items(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(kind, table, item or key) for each item `params` writes: kind is "put" (with the item), "update" or
    "delete" (with the key)."""
    if operation == "PutItem":
        return [("put", params["TableName"], params["Item"])]
    if operation in ("UpdateItem", "DeleteItem"):
        return [("update" if operation == "UpdateItem" else "delete", params["TableName"], params["Key"])]
    writes: list[tuple[str, str, Mapping[str, Any]]] = []
    if operation == "BatchWriteItem":
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    writes.append(("put", table, request["PutRequest"]["Item"]))
                else:
                    writes.append(("delete", table, request["DeleteRequest"]["Key"]))
    elif operation == "TransactWriteItems":
        for action in params.get("TransactItems", []):
            for kind, field_name in (("Put", "Item"), ("Update", "Key"), ("Delete", "Key")):
                if kind in action:
                    writes.append((kind.lower(), action[kind]["TableName"], action[kind][field_name]))
    return writes


def _dynamodb_units(call: Call, params: Mapping[str, Any], parsed: Mapping[str, Any], region: str) -> None:
    operation = call.operation
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        item = parsed.get("Item")
        call.items_read = 1 if item else 0
        call.read_units = _read_units(item_size(item) if item else 0, consistent)
    elif operation in ("Query", "Scan"):
        items = parsed.get("Items", [])
        call.items_read = int(parsed.get("ScannedCount", len(items)))
        call.read_units = _read_units(sum(item_size(i) for i in items), consistent)
    elif operation == "BatchGetItem":  # consistency is asked per table
        requested = params.get("RequestItems", {})
        responses = parsed.get("Responses", {}).items()
        call.items_read = sum(len(items) for _, items in responses)
        call.read_units = sum(
            _read_units(item_size(i), bool(requested.get(table, {}).get("ConsistentRead")))
            for table, items in responses
            for i in items
        )
    elif operation == "PutItem":
        call.write_units = _write_units(item_size(params["Item"]))
    elif operation == "UpdateItem":
        call.write_units = _write_units(_stored_size(region, params["TableName"], params["Key"]))
    elif operation == "DeleteItem":
        call.write_units = 1
    elif operation == "BatchWriteItem":
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                put = request.get("PutRequest")
                call.write_units += _write_units(item_size(put["Item"])) if put else 1
    elif operation == "TransactWriteItems":
        for action in params.get("TransactItems", []):
            if "Put" in action:
                call.write_units += 2 * _write_units(item_size(action["Put"]["Item"]))
            elif "Update" in action:
                update = action["Update"]
                call.write_units += 2 * _write_units(_stored_size(region, update["TableName"], update["Key"]))
            elif "Delete" in action:
                call.write_units += 2


@dataclass
class CallLog:
    calls: list[Call] = field(default_factory=list)
    # Table name → its global secondary indexes (`global_indexes`): writes to these tables count index writes too.
    indexes: dict[str, IndexedTable] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ----- scopes ------------------------------------------------------------------------------------------------
    def current_scope(self) -> str | None:
        stack: list[str] = getattr(self._local, "stack", [])
        return stack[-1] if stack else None

    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Calls made by this thread inside the block are attributed to `name`."""
        stack: list[str] = getattr(self._local, "stack", None) or []
        self._local.stack = [*stack, name]
        try:
            yield
        finally:
            self._local.stack = stack

    # ----- recording ---------------------------------------------------------------------------------------------
    def _remember_params(self, params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = dict(params)

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        """Before a DynamoDB write to an indexed table is sent: the items it will write, as moto holds them."""
        if model.name not in _WRITES or not self.indexes:
            return
        if str(model.service_model.service_id).lower() != "dynamodb":
            return
        region = str(context.get("client_region") or "us-east-1")
        before: list[dict[str, Any] | None] = []
        for kind, table, item_or_key in _written_items(model.name, context.get("bench_params") or {}):
            shape = self.indexes.get(table)
            key = shape.key_of(item_or_key) if shape and kind == "put" else item_or_key
            before.append(_stored_item(region, table, key) if shape else None)
        context["bench_before"] = before

    def _index_units(self, call: Call, params: Mapping[str, Any], context: Mapping[str, Any], region: str) -> None:
        before = context.get("bench_before")
        if before is None:
            return
        for (kind, table, item_or_key), old in zip(_written_items(call.operation, params), before, strict=True):
            shape = self.indexes.get(table)
            if shape is None:
                continue
            if kind == "put":
                new: Item | None = item_or_key
            elif kind == "update":
                new = _stored_item(region, table, item_or_key)
            else:
                new = None
            for index, units in index_writes(old, new, shape).items():
                call.index_writes[f"{shape.name}.{index}"] += units

    def _after_call(self, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = str(model.service_model.service_id).lower().replace(" ", "")
        call = Call(service=service, operation=model.name, scope=self.current_scope())
        error = parsed.get("Error") if isinstance(parsed, Mapping) else None
        if error:
            call.error = str(error.get("Code"))
        if service == "dynamodb" and not error:
            region = str(context.get("client_region") or "us-east-1")
            _dynamodb_units(call, context.get("bench_params") or {}, parsed, region)
            self._index_units(call, context.get("bench_params") or {}, context, region)
        with self._lock:
            self.calls.append(call)

    def hook(self, client: Any) -> Any:
        """Record every call `client` makes (clients created after `install()` are hooked automatically)."""
        client.meta.events.register("before-parameter-build", self._remember_params)
        client.meta.events.register("before-call", self._before_call)
        client.meta.events.register("after-call", self._after_call)
        return client

    @contextmanager
    def install(self) -> Iterator[CallLog]:
        """Hook every botocore client created within the block."""
        import botocore.session

        original = botocore.session.Session.create_client
        log = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register_first(
                "before-parameter-build",
                lambda context, **_: context.setdefault("client_region", client.meta.region_name),
            )
            return log.hook(client)

        with mock.patch.object(botocore.session.Session, "create_client", create_client):
            yield self

    # ----- reading -----------------------------------------------------------------------------------------------
    def mark(self) -> int:
        return len(self.calls)

    def since(self, mark: int, scopes: set[str] | None = None) -> list[Call]:
        with self._lock:
            found = self.calls[mark:]
        return [c for c in found if c.scope is not None and (scopes is None or c.scope in scopes)]

    @staticmethod
    def by_name(calls: list[Call]) -> dict[str, int]:
        return dict(sorted(Counter(c.name for c in calls).items()))
