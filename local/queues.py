"""Lambda's SQS event sources, run locally: moto stores queues and messages, but its own event source mapping
invokes the function synchronously inside SendMessage, whatever the mapping's concurrency, batch size or partial
failures. `consume_queues()` runs each function's SQS events (template.yaml) as Lambda does instead:

- at most `ScalingConfig.MaximumConcurrency` invocations at once (locally 5 when the template sets none), each with
  up to `BatchSize` messages, invoked through moto's Lambda (so local/inproc.py runs the real handler);
- messages of a batch that succeeded are deleted; with `ReportBatchItemFailures` those the function names in
  `batchItemFailures` stay on the queue; a function error leaves the whole batch. What stays becomes visible again
  when its visibility timeout ends, and the queue's redrive policy moves it to its dead-letter queue in the end.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from local.cfn import DEFAULT_PREFIX, QueueEventSource, local_function_names, local_queue_names, sqs_event_sources
from local.cfn.intrinsics import LocalResources, Resolver, local_stack_name

logger = logging.getLogger(__name__)
DEFAULT_CONCURRENCY = 5


class _Source:
    """One event source mapping: its queue, its function, and the threads that poll for it."""

    def __init__(self, spec: QueueEventSource, queue_url: str, queue_arn: str, function: str, concurrency: int) -> None:
        self.spec = spec
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function = function
        self.concurrency = concurrency


class QueueConsumers:
    """The running event sources. `invocations` counts the batches handed to functions, `idle()` says whether every
    queue is empty with no batch in flight."""

    def __init__(
        self,
        sources: list[_Source],
        wait_seconds: float,
        pause: Callable[[float], None] | None = None,
        thread_context: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        import boto3

        self._sources = sources
        self._wait = wait_seconds
        self._pause = pause
        self._thread_context = thread_context
        self._sqs = boto3.client("sqs")
        self._lambda = boto3.client("lambda")
        self._stop = threading.Event()
        self._receiving = threading.Lock()  # one ReceiveMessage at a time: moto's receive is not thread-safe
        self._busy = 0
        self._lock = threading.Lock()
        self.invocations = 0
        self._threads = [
            threading.Thread(target=self._poll, args=(source,), name=f"sqs-{source.spec.function}-{n}", daemon=True)
            for source in sources
            for n in range(source.concurrency)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def idle(self) -> bool:
        """No message waiting, delayed or in flight on any queue, and no invocation running."""
        with self._lock:
            if self._busy:
                return False
        for source in self._sources:
            counts = self._sqs.get_queue_attributes(
                QueueUrl=source.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            if any(int(value) for value in counts.values()):
                return False
        return True

    def _poll(self, source: _Source) -> None:
        with self._thread_context():
            self._poll_until_stopped(source)

    def _rest(self) -> None:
        if self._pause is None:
            self._stop.wait(self._wait)
        else:
            self._pause(self._wait)

    def _poll_until_stopped(self, source: _Source) -> None:
        while not self._stop.is_set():
            with self._receiving:
                messages = self._sqs.receive_message(
                    QueueUrl=source.queue_url,
                    MaxNumberOfMessages=min(10, source.spec.batch_size),
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if messages:
                    with self._lock:
                        self._busy += 1
            if not messages:
                self._rest()
                continue
            try:
                self._invoke(source, messages)
            except Exception:  # the event source keeps polling; the messages come back after their visibility timeout
                logger.exception("local event source failed", extra={"function": source.function})
            finally:
                with self._lock:
                    self._busy -= 1
                    self.invocations += 1

    def _invoke(self, source: _Source, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [_record(message, source.queue_arn) for message in messages]}
        response = self._lambda.invoke(FunctionName=source.function, Payload=json.dumps(event).encode())
        if response.get("FunctionError"):
            return
        answer = json.loads(response["Payload"].read() or b"null") or {}
        failed = set()
        if source.spec.report_batch_item_failures and isinstance(answer, dict):
            failed = {str(item["itemIdentifier"]) for item in answer.get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(done)
                ],
            )


def _record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS message as Lambda hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


@contextmanager
def consume_queues(
    template: Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    prefix: str = DEFAULT_PREFIX,
    wait_seconds: float = 0.02,
    pause: Callable[[float], None] | None = None,
    thread_context: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> Iterator[QueueConsumers]:
    """Run the template's SQS event sources while the block runs (inside mock_aws, the resources created by
    local.cfn with the same `parameters`, and the in-process routing of Lambda invocations). `wait_seconds`: how
    long a poller rests after finding its queue empty, by `pause` (default: the wall clock); each poller thread runs
    inside `thread_context()` (a benchmark's simulated clock counts its threads this way)."""
    import boto3

    sqs = boto3.client("sqs")
    queues = local_queue_names(template, prefix)
    names = local_function_names(template, prefix)
    resolver = Resolver(
        template,
        LocalResources(refs={}, attributes={}, region=sqs.meta.region_name, stack_name=local_stack_name(prefix)),
        parameters or {},
    )
    sources = []
    for spec in sqs_event_sources(template):
        if not spec.enabled:
            continue
        url = sqs.get_queue_url(QueueName=queues[spec.queue])["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        raw = spec.maximum_concurrency
        where = f"{spec.function}.ScalingConfig.MaximumConcurrency"
        concurrency = int(resolver.resolve(raw, where)) if raw is not None else DEFAULT_CONCURRENCY
        sources.append(_Source(spec, url, arn, names[spec.function], concurrency))
    consumers = QueueConsumers(sources, wait_seconds, pause, thread_context)
    consumers.start()
    try:
        yield consumers
    finally:
        consumers.stop()
