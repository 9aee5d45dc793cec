"""The availability sweep's workers: apply agents' availability changes to the available-now index as they fall due.

Input: an SQS event from the refresh queue (the sweep's batches, each handed over when it falls due), every record's
body {"due_at": <epoch seconds>, "npns": [...]}.
Output: the records that failed ({"batchItemFailures": [...]}): SQS hands them over again after the queue's
visibility timeout, and to its dead-letter queue after too many attempts. Re-applying a change is harmless.

Metric AvailabilityIndexLagSeconds: how long after its due time the latest change of the invocation reached the
index (the sweep publishes the same metric for the oldest change not yet applied).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from hod import wiring
from hod.ports.agents import RefreshBatch
from hod.tracing import traced

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


class RefreshMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    due_at: int = Field(gt=0)
    npns: tuple[str, ...] = Field(min_length=1, max_length=100)


class ChangesNotApplied(Exception):
    """Some agents' changes in a batch could not be applied: the whole batch is handed over again."""


class _Invocation:
    def __init__(self) -> None:
        self.refreshed = 0
        self.lag = 0.0

    def record(self, record: SQSRecord) -> None:
        message = RefreshMessage.model_validate_json(record.body)
        applied = wiring.services.availability_sweep().apply(RefreshBatch(message.due_at, message.npns))
        self.refreshed += applied.refreshed
        self.lag = max(self.lag, applied.lag_seconds)
        if applied.failed:
            raise ChangesNotApplied(f"not applied for {', '.join(applied.failed)}")


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    invocation = _Invocation()
    response = process_partial_response(
        event=event, record_handler=invocation.record, processor=processor, context=context
    )
    failures = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="AgentsRefreshed", unit=MetricUnit.Count, value=invocation.refreshed)
    metrics.add_metric(name="RefreshBatchesFailed", unit=MetricUnit.Count, value=failures)
    if invocation.refreshed:
        metrics.add_metric(name="AvailabilityIndexLagSeconds", unit=MetricUnit.Seconds, value=round(invocation.lag, 3))
    logger.info(
        "availability refreshed",
        extra={"agents": invocation.refreshed, "lag_seconds": round(invocation.lag, 3), "batches_failed": failures},
    )
    return dict(response)
