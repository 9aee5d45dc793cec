"""SQS → Lambda event source mappings, run locally: moto keeps queues but never hands their messages to a function.

`QueueWorkers(template)` finds every SQS event the template gives a function, receives from that queue (moto, or any
endpoint boto3 points at) and calls the function's handler in this process with the event Lambda would send: up to
BatchSize records. Then, as Lambda does, it deletes the messages handled: all of them when the handler returns, all
but the `batchItemFailures` it reports when the event reports item failures, none when it raises. Messages not
deleted come back after the queue's visibility timeout, and move to its dead-letter queue after `maxReceiveCount`
receives (moto's SQS does both). Workers run one batch at a time: every handler shares this process's one embedded
AWS, so running several at once would only interleave them.

`drain()` hands over everything visible now (tests); `running()` polls in a background thread (the local stack).
`sqs_follows(clock)` makes moto's SQS timers (message delays, visibility timeouts, retention) read a clock that tests
and benchmarks move by hand, as the service's own clock does.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from unittest import mock

from local.cfn import DEFAULT_PREFIX, FunctionSpec, functions, local_function_names, local_queue_names, queue_sources
from local.inproc import LocalContext, resolve_handler

logger = logging.getLogger(__name__)


class _Clock(Protocol):
    def now(self) -> Any: ...


@dataclass(frozen=True)
class _Mapping:
    function: FunctionSpec
    function_name: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_failures: bool


class QueueWorkers:
    """The template's SQS event sources, run in this process (see the module's docstring)."""

    def __init__(self, template: Mapping[str, Any], prefix: str = DEFAULT_PREFIX) -> None:
        self._template = template
        self._prefix = prefix
        self._mappings: list[_Mapping] | None = None
        self.handed_over = 0  # messages given to a handler, all mappings together
        self.failed = 0  # of those, messages left on the queue (the handler raised or reported them)

    def _resolved(self) -> list[_Mapping]:
        if self._mappings is None:
            import boto3

            sqs = boto3.client("sqs")
            specs = functions(self._template)
            names = local_function_names(self._template, self._prefix)
            queues = local_queue_names(self._template, self._prefix)
            mappings = []
            for source in queue_sources(self._template):
                url = sqs.get_queue_url(QueueName=queues[source.queue])["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                mappings.append(
                    _Mapping(
                        specs[source.function],
                        names[source.function],
                        url,
                        arn,
                        min(source.batch_size, 10),  # one ReceiveMessage returns at most ten
                        source.report_failures,
                    )
                )
            self._mappings = mappings
        return self._mappings

    def poll_once(self) -> int:
        """Receive one batch from each queue that has visible messages and hand it to its function; returns how
        many messages were handed over."""
        import boto3

        sqs = boto3.client("sqs")
        handed = 0
        for mapping in self._resolved():
            received = sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=mapping.batch_size,
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if received:
                self._invoke(sqs, mapping, received)
                handed += len(received)
        return handed

    def drain(self, max_batches: int = 100_000) -> int:
        """Hand over every message visible now (and any a handler queues for now), batch after batch; returns how
        many were handed over. Messages still delayed, or failed and waiting out their visibility timeout, stay."""
        total = 0
        for _ in range(max_batches):
            handed = self.poll_once()
            if not handed:
                return total
            total += handed
        raise RuntimeError(f"{self._prefix}: queues still not drained after {max_batches} batches")

    @contextmanager
    def running(self, every_seconds: float = 0.5) -> Iterator[QueueWorkers]:
        """Poll in a background thread while the block runs (inside mock_aws)."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every_seconds):
                try:
                    while self.poll_once():
                        if stop.is_set():
                            return
                except Exception:
                    logger.exception("local queue workers failed")

        thread = threading.Thread(target=loop, name="local-queue-workers", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=30)

    def _invoke(self, sqs: Any, mapping: _Mapping, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [_record(message, mapping.queue_arn) for message in messages]}
        handler = resolve_handler(mapping.function.code_uri, mapping.function.handler)
        try:
            response = handler(event, LocalContext(mapping.function_name))
        except Exception:
            logger.exception("%s failed on a batch from its queue", mapping.function.logical_id)
            self.handed_over += len(messages)
            self.failed += len(messages)
            return
        failed: set[str] = set()
        if mapping.report_failures and isinstance(response, dict):
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        self.handed_over += len(messages)
        self.failed += len(messages) - len(done)


def _record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of the event Lambda sends for an SQS batch."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": dict(message.get("MessageAttributes") or {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": os.environ.get("AWS_REGION", "us-east-1"),
    }


@contextmanager
def sqs_follows(clock: _Clock) -> Iterator[None]:
    """Within the block, moto's SQS reads the time from `clock` (whose `now()` is an aware datetime): a message
    delayed until a change falls due becomes visible when the clock reaches it."""

    def seconds() -> float:
        return float(clock.now().timestamp())

    def milliseconds() -> float:
        return seconds() * 1000

    with mock.patch("moto.sqs.models.unix_time", seconds), mock.patch("moto.sqs.models.unix_time_millis", milliseconds):
        yield


def message_bodies(queue_url: str) -> list[dict[str, Any]]:
    """The JSON bodies of the messages visible on a queue now, without taking them (they become visible again at
    once): what a test or benchmark wants to look at."""
    import boto3

    sqs = boto3.client("sqs")
    bodies: list[dict[str, Any]] = []
    handles: list[str] = []
    while True:
        found = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages")
        if not found:
            break
        bodies += [json.loads(m["Body"]) for m in found]
        handles += [m["ReceiptHandle"] for m in found]
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return bodies
