"""Counting AWS API calls from botocore's own events, with DynamoDB read and write units worked out per call.

`CallLog.install()` hooks every botocore client created afterwards (boto3's and pynamodb's own alike): each call is
recorded on 'after-call' with its service, operation, the scope it was made in (`log.scope("MatchFunction")`,
per thread) and, for DynamoDB, the items it read and the capacity units DynamoDB would bill for it:

- reads: a Query or Scan costs its items' total size rounded up to 4 KB (at least one unit), a GetItem its item's
  size rounded up to 4 KB (at least one), a BatchGetItem each item so; strongly consistent = 1 unit per 4 KB,
  eventually consistent = 0.5;
- writes: 1 unit per 1 KB of each item written (rounded up per item), twice that inside TransactWriteItems. The
  size of an updated item is read from moto after the call; a deleted item counts 1 unit.

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
    error: str | None = None

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


def _stored_size(region: str, table: str, key: Mapping[str, Any]) -> int:
    """Size of an item as moto now holds it (after an update); 0 when it is not there."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    found = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table)
    hash_value = DynamoType(key[found.hash_key_attr])
    range_value = DynamoType(key[found.range_key_attr]) if found.range_key_attr else None
    item = found.get_item(hash_value, range_value)
    return int(item.size()) if item is not None else 0


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
    elif operation == "BatchGetItem":
        items = [i for table_items in parsed.get("Responses", {}).values() for i in table_items]
        call.items_read = len(items)
        call.read_units = sum(_read_units(item_size(i), consistent) for i in items)
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

    def _after_call(self, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = str(model.service_model.service_id).lower().replace(" ", "")
        call = Call(service=service, operation=model.name, scope=self.current_scope())
        error = parsed.get("Error") if isinstance(parsed, Mapping) else None
        if error:
            call.error = str(error.get("Code"))
        if service == "dynamodb" and not error:
            region = str(context.get("client_region") or "us-east-1")
            _dynamodb_units(call, context.get("bench_params") or {}, parsed, region)
        with self._lock:
            self.calls.append(call)

    def hook(self, client: Any) -> Any:
        """Record every call `client` makes (clients created after `install()` are hooked automatically)."""
        client.meta.events.register("before-parameter-build", self._remember_params)
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
