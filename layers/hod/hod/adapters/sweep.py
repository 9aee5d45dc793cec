"""The availability sweep's queue and cursor (hod.services.sweep).

The queue is SQS: one message per batch of agents whose changes fall due together, held back by the message's delay
(at most SQS's 15 minutes) until then; the workers consume it through the Lambda event source. The cursor is one item
in the agents table, ``SWEEP#cursor``, holding the due time up to which every change is queued.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from hod.adapters.aws import client
from hod.adapters.dynamo import _conditional_failed, _sdk, bind
from hod.errors import ConfigurationError, DependencyFailed
from hod.ports.agents import RefreshBatch

MAX_DELAY_SECONDS = 900  # SQS's longest message delay
_PER_REQUEST = 10  # SendMessageBatch's limit
_CURSOR_KEY = "SWEEP#cursor"


def message_body(batch: RefreshBatch) -> str:
    """The message a worker receives: {"due_at": <epoch seconds>, "npns": [...]}."""
    return json.dumps({"due_at": batch.due_at, "npns": list(batch.npns)}, separators=(",", ":"))


def delay_seconds(due_at: int, now: datetime) -> int:
    """Whole seconds from `now` until `due_at`, rounded up so a batch is never handed over before its time."""
    return min(MAX_DELAY_SECONDS, max(0, math.ceil(due_at - now.timestamp())))


class SqsRefreshQueue:
    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def send(self, batches: Sequence[RefreshBatch], now: datetime) -> None:
        if not self._url:
            raise ConfigurationError("HOD_REFRESH_QUEUE_URL is not set: availability changes cannot be queued.")
        for start in range(0, len(batches), _PER_REQUEST):
            entries = [
                {"Id": str(i), "MessageBody": message_body(batch), "DelaySeconds": delay_seconds(batch.due_at, now)}
                for i, batch in enumerate(batches[start : start + _PER_REQUEST])
            ]
            try:
                response = client("sqs").send_message_batch(QueueUrl=self._url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                raise DependencyFailed("sqs", "SendMessageBatch", str(exc)) from exc
            failed = response.get("Failed") or []
            if failed:
                codes = sorted({entry.get("Code", "?") for entry in failed})
                raise DependencyFailed(
                    "sqs", "SendMessageBatch", f"{len(failed)} of {len(entries)} not queued ({', '.join(codes)})"
                )


class CursorItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    npn = UnicodeAttribute(hash_key=True)  # the agents table's key: "SWEEP#cursor"
    through = NumberAttribute()


class DynamoSweepCursor:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def through(self) -> int | None:
        bind(CursorItem, self._table)
        with _sdk("GetItem"):
            try:
                return int(CursorItem.get(_CURSOR_KEY, consistent_read=True).through)
            except CursorItem.DoesNotExist:
                return None

    def advance(self, through: int) -> None:
        """Move the cursor forward to `through`; a cursor already further (an overlapping sweep) is left alone."""
        bind(CursorItem, self._table)
        item = CursorItem(_CURSOR_KEY)
        with _sdk("UpdateItem"):
            try:
                item.update(
                    actions=[CursorItem.through.set(through)],
                    condition=CursorItem.through.does_not_exist() | (CursorItem.through < through),
                )
            except UpdateError as exc:
                if not _conditional_failed(exc):
                    raise
