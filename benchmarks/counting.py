"""Counting AWS API calls from botocore's own events, with DynamoDB read and write units worked out per call.

`CallLog.install()` hooks every botocore client created afterwards (boto3's and pynamodb's own alike): each call is
recorded on 'after-call' with its service, operation, the scope it was made in (`log.scope("MatchFunction")`,
per thread) and, for DynamoDB, the items it read and the capacity units DynamoDB would bill for it (the arithmetic
is in `benchmarks/tables.py`):

- reads: a Query or Scan costs its items' total size rounded up to 4 KB (at least one unit), a GetItem its item's
  size rounded up to 4 KB (at least one), a BatchGetItem each item so; strongly consistent = 1 unit per 4 KB,
  eventually consistent = 0.5 (a BatchGetItem asks for consistency table by table);
- writes: 1 unit per 1 KB of each item written (rounded up per item), twice that inside TransactWriteItems. The
  size of an updated item is read from moto after the call; a deleted item counts 1 unit.
- index writes (`Call.index_write_units`), for the tables in `CallLog.indexes` (their global secondary indexes, read
  from template.yaml by `global_indexes`): each write of the call is compared, index by index, before and after
  (`tables.index_writes`). The "before" item is read from moto just before the request is sent, the "after" one is
  the item put, the item moto holds after an update, or nothing after a delete. Index writes count at the standard
  rate inside transactions too.
- partitions (`Call.partitions`, when `CallLog.partitions` is on): the same units split by the partition that
  consumed them, a table's or an index's partition key value (`PartitionUse`): each item written, each index
  entry written or removed, each item read (a Query reads the one partition its key condition names).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from benchmarks.tables import (
    IndexedTable,
    Item,
    PartitionUse,
    index_partition_writes,
    item_size,
    key_value,
    read_units,
    write_units,
)

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
    partitions: list[PartitionUse] = field(default_factory=list)
    error: str | None = None
    # Messages the call sent, as billed: e-mails (one per destination of a bulk send) and text-message parts.
    emails: int = 0
    text_parts: int = 0

    @property
    def index_write_units(self) -> float:
        return float(sum(self.index_writes.values()))

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


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


def _table_write_units(kind: str, table: str, item_or_key: Mapping[str, Any], region: str) -> int:
    """One item's write to its table: 1 unit per 1 KB of the item put or as updated; a delete 1 unit."""
    if kind == "put":
        return write_units(item_size(item_or_key))
    if kind == "update":
        return write_units(_stored_size(region, table, item_or_key))
    return 1


_EQUALS = re.compile(r"(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)")


def _queried_key(params: Mapping[str, Any], attribute: str) -> str | None:
    """The partition key value a Query's key condition names (`attribute` = :value), or None."""
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for name, placeholder in _EQUALS.findall(str(params.get("KeyConditionExpression", ""))):
        if names.get(name, name) == attribute and placeholder in values:
            return key_value({attribute: values[placeholder]}, attribute)
    return None


def _read_partitions(
    operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any], shapes: Mapping[str, IndexedTable]
) -> list[PartitionUse]:
    """The read units of one call by partition: a GetItem's or BatchGetItem's items by their table's partition key,
    a Query's by the partition its key condition names, a Scan's under "*" (every partition)."""
    consistent = bool(params.get("ConsistentRead"))

    def shape(table: str) -> IndexedTable:
        return shapes.get(table) or IndexedTable(table, (), ())

    if operation == "GetItem":
        table = shape(params["TableName"])
        item = parsed.get("Item")
        size = item_size(item) if item else 0
        key = key_value(params["Key"], table.keys[0])
        return [PartitionUse(table.name, "", key, read_units(size, consistent), items=int(bool(item)), bytes=size)]
    if operation == "BatchGetItem":
        uses = []
        for name, items in parsed.get("Responses", {}).items():
            table = shape(name)
            for item in items:
                size = item_size(item)
                key = key_value(item, table.keys[0])
                units = read_units(size, _batch_consistent(params, name))
                uses.append(PartitionUse(table.name, "", key, units, items=1, bytes=size))
        return uses
    if operation in ("Query", "Scan"):
        table = shape(params["TableName"])
        index_name = str(params.get("IndexName", ""))
        index = next((i for i in table.indexes if i.name == index_name), None)
        attribute = index.keys[0] if index else table.keys[0] if table.keys else ""
        key = _queried_key(params, attribute) if operation == "Query" else "*"
        items = parsed.get("Items", [])
        size = sum(item_size(i) for i in items)
        units = read_units(size, consistent)
        return [PartitionUse(table.name, index_name, key or "?", units, items=len(items), bytes=size)]
    return []


def _batch_consistent(params: Mapping[str, Any], table: str) -> bool:
    """Whether a BatchGetItem asked `table` for strongly consistent reads (it is asked table by table)."""
    return bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))


def _dynamodb_units(
    call: Call,
    params: Mapping[str, Any],
    parsed: Mapping[str, Any],
    region: str,
    shapes: Mapping[str, IndexedTable] | None = None,
) -> None:
    """Items read, read and write units of one call; with `shapes` (table name → key and indexes), the table's
    units by partition too (index writes are added by `CallLog._index_units`)."""
    operation = call.operation
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        item = parsed.get("Item")
        call.items_read = 1 if item else 0
        call.read_units = read_units(item_size(item) if item else 0, consistent)
    elif operation in ("Query", "Scan"):
        items = parsed.get("Items", [])
        call.items_read = int(parsed.get("ScannedCount", len(items)))
        call.read_units = read_units(sum(item_size(i) for i in items), consistent)
    elif operation == "BatchGetItem":  # consistency is asked per table
        responses = parsed.get("Responses", {}).items()
        call.items_read = sum(len(items) for _, items in responses)
        call.read_units = sum(
            read_units(item_size(i), _batch_consistent(params, table)) for table, items in responses for i in items
        )
    elif operation in _WRITES:
        factor = 2 if operation == "TransactWriteItems" else 1
        for kind, table, item_or_key in _written_items(operation, params):
            units = factor * _table_write_units(kind, table, item_or_key, region)
            call.write_units += units
            if shapes is not None and table in shapes:
                shape = shapes[table]
                key = key_value(item_or_key, shape.keys[0])
                call.partitions.append(PartitionUse(shape.name, "", key, write_units=units))
    if shapes is not None and operation in _READS:
        call.partitions += _read_partitions(operation, params, parsed, shapes)


# GSM 03.38: the basic set costs one septet a character, the extension table two; anything else sends as UCS-2.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def text_parts(message: str) -> int:
    """The parts (segments) a text message is billed as: 160 GSM-7 septets in one part or 153 a part when split;
    70 UCS-2 code units in one part or 67 a part when split."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in message):
        septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in message)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(message.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def _messages(service: str, operation: str, params: Mapping[str, Any]) -> tuple[int, int]:
    """(e-mails, text-message parts) a successful call sent."""
    if service in ("sesv2", "ses") and operation in ("SendEmail", "SendRawEmail"):
        return 1, 0
    if service == "sesv2" and operation == "SendBulkEmail":
        return len(params.get("BulkEmailEntries", [])), 0
    if service == "sns" and operation == "Publish" and params.get("PhoneNumber"):
        return 0, text_parts(str(params.get("Message", "")))
    return 0, 0


@dataclass
class CallLog:
    calls: list[Call] = field(default_factory=list)
    # Table name → its global secondary indexes (`global_indexes`): writes to these tables count index writes too.
    indexes: dict[str, IndexedTable] = field(default_factory=dict)
    # Record each DynamoDB call's units by partition (`Call.partitions`) for the tables in `indexes` (give it
    # `table_shapes`, every table, for a complete picture).
    partitions: bool = False
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
            for index, key, units in index_partition_writes(old, new, shape):
                call.index_writes[f"{shape.name}.{index}"] += units
                if self.partitions:
                    call.partitions.append(PartitionUse(shape.name, index, key, write_units=units))

    def _after_call(self, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = str(model.service_model.service_id).lower().replace(" ", "")
        call = Call(service=service, operation=model.name, scope=self.current_scope())
        error = parsed.get("Error") if isinstance(parsed, Mapping) else None
        if error:
            call.error = str(error.get("Code"))
        if not error:
            call.emails, call.text_parts = _messages(service, model.name, context.get("bench_params") or {})
        if service == "dynamodb" and not error:
            region = str(context.get("client_region") or "us-east-1")
            shapes = self.indexes if self.partitions else None
            _dynamodb_units(call, context.get("bench_params") or {}, parsed, region, shapes)
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
