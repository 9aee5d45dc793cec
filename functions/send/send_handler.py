"""Send tasks, from the send queue (SQS FIFO, one message an invocation, at most `SafetyNetSenders` side by side):

  {"kind": "safety_net", "referral_id", "group", "city", "county", "state", "calls": [{"npn", "link"}, ...]}
      up to 50 agents' safety-net calls, e-mailed through SES bulk sending at this sender's share of the account's
      SES rate (SesSendRate); what SES throttled is tried again after a back-off
  {"kind": "held", "scope", "key", "channel", "to", "subject", "text", "html", "not_after", ...}
      one message its channel refused for now when it was due (throttling): sent unless its moment has passed

A message with calls left to make (throttled, out of time, the referral between two rounds) is put off: it stays on
the queue, out of sight for a back-off (ChangeMessageVisibility), and is reported as this batch's failure so the event
source does not delete it. A message that keeps failing moves to the dead-letter queue (its alarm fires). The send
ledger keeps every retry from e-mailing anyone twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from hod import wiring
from hod.domain.sending import QueuedMessage, SafetyNetCalls
from hod.tracing import traced

logger = Logger()
metrics = Metrics()
# One message an invocation (BatchSize 1), so no later message of its group waits behind a failed one in a batch; a
# message put off is this batch's failure, not the function's error (its alarm is for real errors).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

_MESSAGES: TypeAdapter[QueuedMessage] = TypeAdapter(QueuedMessage)


class PutOff(Exception):
    """The message stays on the queue, out of sight for a while: reported as failed so it is not deleted."""


def send(record: SQSRecord, lambda_context: LambdaContext) -> None:
    message = _MESSAGES.validate_json(record.body)
    attempt = int(record.attributes.approximate_receive_count or 1) - 1
    sender = wiring.sending.sender()
    if isinstance(message, SafetyNetCalls):
        logger.append_keys(referral_id=message.referral_id)

        def seconds_left() -> float:
            return lambda_context.get_remaining_time_in_millis() / 1000

        delivery = sender.deliver(message, seconds_left, attempt)
        for outcome, count in delivery.counts.items():
            metrics.add_metric(name=f"SafetyNet_{outcome}", unit=MetricUnit.Count, value=count)
        later = delivery.later
    else:
        outcome, later = sender.resend(message, attempt)
        metrics.add_metric(name=f"Held_{outcome}", unit=MetricUnit.Count, value=1)
    if later is not None:
        wiring.adapters.send_queue().postpone(record.receipt_handle, later)
        raise PutOff(f"put off for {later} s")


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=send, processor=processor, context=context))
