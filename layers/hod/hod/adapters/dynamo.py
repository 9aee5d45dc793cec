"""DynamoDB through pynamodb, what every table's adapter shares: the process's one connection, models bound to their
tables, SDK errors raised as the project's exceptions, and transactions sent again when DynamoDB cancels them for
capacity or a conflict.

The tables' items are in `hod.adapters.agent_items` and `hod.adapters.referral_items`; the stores that use them in
`hod.adapters.agent_store`, `hod.adapters.referral_store` and `hod.adapters.workflow_store` (the available-now index is
in `hod.adapters.available`). Table names come from settings at run time (never at import): `bind()` points each model
at its table before use. Every SDK error leaves these modules as one of the project's exceptions.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TableError, TransactWriteError
from pynamodb.transactions import TransactWrite

from hod.adapters import aws
from hod.errors import Conflict, DependencyFailed


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


# Throttling (a hot partition, an index that cannot keep up) and transient errors are retried by botocore's standard
# mode, with exponential back-off and full jitter, up to this many attempts in all (pynamodb's default is 4).
DYNAMODB_ATTEMPTS = 8


class _SharedSessionConnection(Connection):
    """A pynamodb connection on the process's one botocore session (`hod.adapters.aws.session`) instead of a
    session of its own, which would load the endpoints and DynamoDB's service model a second time."""

    @property
    def session(self) -> botocore.session.Session:
        return aws.session()

    @property
    def client(self) -> Any:
        with aws.clients_lock:  # its first use creates the client, on the session the other clients share
            return Connection.client.fget(self)  # type: ignore[attr-defined]


@functools.cache
def _transactions(region: str) -> Connection:
    """The process's DynamoDB connection, for the models and the transactions alike: each new pynamodb Connection
    creates its own botocore client, loading DynamoDB's service model again (tens of milliseconds)."""
    return _SharedSessionConnection(
        region=region, retry_configuration={"mode": "standard", "total_max_attempts": DYNAMODB_ATTEMPTS}
    )


def transactions() -> Connection:
    return _transactions(_region())


_BOUND: set[Any] = set()  # every model bind() has pointed at a table (other modules define models too)


def bind(model: Any, table_name: str) -> None:
    """Point a model class at its table (cheap when already bound). Every model shares the process's one
    connection (and so one botocore client) instead of creating its own."""
    meta = model.Meta
    if getattr(meta, "table_name", None) != table_name or getattr(meta, "region", None) != _region():
        _BOUND.add(model)
        meta.table_name = table_name
        meta.region = _region()
        model._connection = None
        table = model._get_connection()
        shared = transactions()
        own = table.connection.get_meta_table(table_name)
        try:
            known = shared.get_meta_table(table_name)
        except TableError:
            shared.add_meta_table(own)
        else:
            _merge_schema(known.data, own.data)  # two models of one table: the shared schema knows both's indexes
        table.connection = shared


def _merge_schema(into: dict[str, Any], other: dict[str, Any]) -> None:
    """Add ``other``'s attribute definitions and indexes to ``into`` (pynamodb schemas, as DescribeTable gives)."""
    for section, key in (
        ("AttributeDefinitions", "AttributeName"),
        ("GlobalSecondaryIndexes", "IndexName"),
        ("LocalSecondaryIndexes", "IndexName"),
    ):
        present = {entry[key] for entry in into.get(section, [])}
        extra = [entry for entry in other.get(section, []) if entry[key] not in present]
        if extra:
            into[section] = [*into.get(section, []), *extra]


@contextmanager
def _sdk(operation: str) -> Iterator[None]:
    try:
        yield
    except (Conflict, DependencyFailed):
        raise
    except PynamoDBException as exc:
        detail = exc.cause_response_code or (type(exc.cause).__name__ if exc.cause else str(exc))
        raise DependencyFailed("dynamodb", operation, detail) from exc


def _conditional_failed(exc: PynamoDBException) -> bool:
    """A condition said no. A transaction DynamoDB cancelled for another reason (want of capacity, a conflicting
    transaction in flight) is not one: nothing was decided, and the same transaction may succeed when sent again."""
    code = exc.cause_response_code
    if code != "TransactionCanceledException":
        return code == "ConditionalCheckFailedException"
    reasons = _cancellation_reasons(exc)
    return not reasons or "ConditionalCheckFailed" in reasons


def _cancellation_reasons(exc: PynamoDBException) -> set[str]:
    found = exc.cancellation_reasons if isinstance(exc, TransactWriteError) else []
    return {reason.code for reason in found if reason is not None and reason.code != "None"}


# Why DynamoDB may cancel a transaction without applying any of it, so that sending it again is safe. The SDK does
# not retry a cancellation (TransactionCanceledException), whatever its reasons.
_TRANSIENT_CANCELLATIONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})
TRANSACTION_ATTEMPTS = 3


def transact(build: Callable[[TransactWrite], None]) -> None:
    """One TransactWriteItems, its items added by `build`. Cancelled only for capacity or a conflicting transaction,
    it is sent again (up to TRANSACTION_ATTEMPTS, backing off with jitter); any other failure, or the last one, is
    raised as pynamodb's TransactWriteError (`_conditional_failed` tells a condition's refusal from the rest)."""
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            with TransactWrite(connection=transactions()) as tx:
                build(tx)
            return
        except TransactWriteError as exc:
            reasons = _cancellation_reasons(exc)
            if attempt == TRANSACTION_ATTEMPTS or not reasons or not reasons <= _TRANSIENT_CANCELLATIONS:
                raise
        time.sleep(random.uniform(0, 0.05 * 2**attempt))


def forget_connections() -> None:
    """Unbind every model and drop the shared connection (tests and the local stack, after changing the
    environment)."""
    for model in _BOUND:
        model.Meta.table_name = None
        model._connection = None
    _BOUND.clear()
    _transactions.cache_clear()
