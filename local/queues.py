"""Lambda's SQS event sources, run locally. moto keeps the template's queues (message delays, visibility timeouts, the
redrive to a dead-letter queue) but hands no message to a function as an event source mapping does (its own mapping
would invoke the function inside SendMessage, whatever the batch size, concurrency or partial failures).

`QueueWorkers(template, prefix, parameters)` finds every enabled SQS event the template gives a function, receives
from that queue (moto, or any endpoint boto3 points at) and calls the function's handler in this process with the
event Lambda would send: up to BatchSize records (one ReceiveMessage returns at most ten). Then, as Lambda does, it
deletes the messages handled: all of them when the handler returns, all but the `batchItemFailures` it reports when
the event reports item failures, none when it raises. Messages not deleted come back after the queue's visibility
timeout, and move to its dead-letter queue after `maxReceiveCount` receives (moto's SQS does both).

Two ways to run them:

- `drain()` hands over everything visible now, one batch at a time in the calling thread (tests, the sweep's
  benchmark): deterministic, and what is left on the queues afterwards is what a test looks at.
- `running()` polls in background threads while its block runs (the local stack, the running-stack tests, the
  safety net's benchmark): per event source as many pollers as its `ScalingConfig.MaximumConcurrency` (resolved with
  the stack's parameters; 5 when the template sets none, and at most 10 here: every handler shares this process's
  one embedded AWS, so more would only interleave). `idle()` says whether every queue is empty with no batch in
  flight. A poller rests between empty polls by `pause` (default: the wall clock) inside `thread_context()`: a
  benchmark's simulated clock takes part in the pollers this way.

`sqs_follows(clock)` makes moto's SQS timers (message delays, visibility timeouts, retention) read a clock that tests
and benchmarks move by hand, as the service's own clock does. `message_bodies(url)` reads a queue without taking.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol
from unittest import mock

from local.cfn import DEFAULT_PREFIX, FunctionSpec, functions, local_function_names, local_queue_names, queue_sources
from local.cfn.intrinsics import LocalResources, Resolver, local_stack_name
from local.inproc import LocalContext, resolve_handler

logger = logging.getLogger(__name__)
DEFAULT_CONCURRENCY = 5  # pollers of an event source whose template sets no MaximumConcurrency
MAX_LOCAL_CONCURRENCY = 10
IDLE_REST_S = 1.0  # the longest an idle poller rests between receives (real time)


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
    concurrency: int


class QueueWorkers:
    """The template's SQS event sources, run in this process (see the module's docstring)."""

    def __init__(
        self,
        template: Mapping[str, Any],
        prefix: str = DEFAULT_PREFIX,
        parameters: Mapping[str, Any] | None = None,
        only: Collection[str] | None = None,
    ) -> None:
        """`only`: the logical ids of the functions whose event sources run (default: every function's)."""
        self._template = template
        self._prefix = prefix
        self._parameters = dict(parameters or {})
        self._only = None if only is None else set(only)
        self._mappings: list[_Mapping] | None = None
        self._receiving = threading.Lock()  # one ReceiveMessage at a time: moto's receive is not thread-safe
        self._counting = threading.Lock()
        self._busy = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.invocations = 0  # batches handed to a handler, all mappings together
        self.handed_over = 0  # messages in those batches
        self.failed = 0  # of those, messages left on the queue (the handler raised or reported them)

    def _resolved(self) -> list[_Mapping]:
        if self._mappings is None:
            import boto3

            sqs = boto3.client("sqs")
            specs = functions(self._template)
            names = local_function_names(self._template, self._prefix)
            queues = local_queue_names(self._template, self._prefix)
            resolver = Resolver(
                self._template,
                LocalResources(
                    refs={}, attributes={}, region=sqs.meta.region_name, stack_name=local_stack_name(self._prefix)
                ),
                self._parameters,
            )
            mappings = []
            for source in queue_sources(self._template):
                if not source.enabled or (self._only is not None and source.function not in self._only):
                    continue
                url = sqs.get_queue_url(QueueName=queues[source.queue])["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                where = f"{source.function}.Events.{source.event}.ScalingConfig.MaximumConcurrency"
                raw = source.maximum_concurrency
                concurrency = DEFAULT_CONCURRENCY if raw is None else int(resolver.resolve(raw, where))
                mappings.append(
                    _Mapping(
                        specs[source.function],
                        names[source.function],
                        url,
                        arn,
                        min(source.batch_size, 10),
                        source.report_failures,
                        min(concurrency, MAX_LOCAL_CONCURRENCY),
                    )
                )
            self._mappings = mappings
        return self._mappings

    # ----- in the calling thread -------------------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Receive one batch from each queue that has visible messages and hand it to its function; returns how
        many messages were handed over."""
        return sum(self._take(mapping) for mapping in self._resolved())

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

    # ----- in background threads -------------------------------------------------------------------------------------

    @contextmanager
    def running(
        self,
        wait_seconds: float = 0.1,
        pause: Callable[[float], None] | None = None,
        thread_context: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> Iterator[QueueWorkers]:
        """Poll in background threads while the block runs (inside mock_aws, with the template's resources created
        with the same parameters), or until `stop()`. A poller that finds its queue empty rests `wait_seconds` by
        `pause` (simulated time); in real time its rest doubles while the queue stays empty, up to `IDLE_REST_S`, as
        Lambda's pollers slow down on an idle queue, so an idle local stack does not spend a core on receives."""
        stop = self._stop = threading.Event()

        def rest(seconds: float) -> float:
            if pause is not None:
                pause(wait_seconds)
                return wait_seconds
            stop.wait(seconds)
            return min(IDLE_REST_S, seconds * 2)

        def poll(mapping: _Mapping) -> None:
            with thread_context():
                idle = wait_seconds
                while not stop.is_set():
                    try:
                        handed = self._take(mapping)
                    except Exception:  # the event source keeps polling; the batch comes back after its timeout
                        logger.exception("local event source of %s failed", mapping.function.logical_id)
                        handed = 0
                    idle = wait_seconds if handed else rest(idle)

        threads = [
            threading.Thread(target=poll, args=(mapping,), name=f"sqs-{mapping.function.logical_id}-{n}", daemon=True)
            for mapping in self._resolved()
            for n in range(mapping.concurrency)
        ]
        self._threads = threads
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the background pollers, letting a batch being handled finish."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def idle(self, functions: Collection[str] | None = None, delayed: bool = True) -> bool:
        """No message waiting, delayed or in flight on the queues of `functions` (logical ids; every event source
        when None), and no batch being handled. `delayed=False` leaves out messages delayed into the future: work
        scheduled for later (an agent's availability refresh due at their next change, up to 15 minutes ahead), not
        work still to do now."""
        import boto3

        with self._counting:
            if self._busy:
                return False
        sqs = boto3.client("sqs")
        attributes = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        if delayed:
            attributes.append("ApproximateNumberOfMessagesDelayed")
        for mapping in self._resolved():
            if functions is not None and mapping.function.logical_id not in functions:
                continue
            counts = sqs.get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=attributes)["Attributes"]
            if any(int(value) for value in counts.values()):
                return False
        return True

    # ----- one batch -------------------------------------------------------------------------------------------------

    def _take(self, mapping: _Mapping) -> int:
        """Receive one batch from the mapping's queue and hand it over; returns how many messages it had."""
        import boto3

        sqs = boto3.client("sqs")
        with self._receiving:
            messages = sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=mapping.batch_size,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return 0
            with self._counting:
                self._busy += 1
        stayed = len(messages)
        try:
            stayed = self._invoke(sqs, mapping, messages)
        finally:
            with self._counting:
                self._busy -= 1
                self.invocations += 1
                self.handed_over += len(messages)
                self.failed += stayed
        return len(messages)

    def _invoke(self, sqs: Any, mapping: _Mapping, messages: list[dict[str, Any]]) -> int:
        """Call the handler with the batch and delete what it handled; returns how many messages stay."""
        event = json.loads(json.dumps({"Records": [_record(message, mapping.queue_arn) for message in messages]}))
        handler = resolve_handler(mapping.function.code_uri, mapping.function.handler)
        try:
            response = json.loads(json.dumps(handler(event, LocalContext(mapping.function_name))))
        except Exception:
            logger.exception("%s failed on a batch from its queue", mapping.function.logical_id)
            return len(messages)
        failed: set[str] = set()
        if mapping.report_failures and isinstance(response, dict):
            failed = {str(item["itemIdentifier"]) for item in response.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages) - len(done)


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
        "awsRegion": queue_arn.split(":")[3],
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
