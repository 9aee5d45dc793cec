"""Notify tasks of the referral workflow: hold the workflow's task token and tell agents.

  {"task": "offer", "referral_id", "agent_npn", "task_token"}   the offer to one agent (accept/reject link)
  {"task": "safety_net", "referral_id", "task_token"}           every participating agent in the state, e-mail only
  {"task": "receipt", "referral_id"}                            the consumer: "we received your request"
  {"task": "reminder", "referral_id", "after_minutes"}          the accepting agent, when no progress is recorded

The state machine waits on the token until the agent answers (or the window closes); the answer itself is written to
DynamoDB by whoever receives it, and the token only wakes the workflow.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from hod import wiring

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class OfferTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["offer"]
    referral_id: str = Field(min_length=1, max_length=64)
    agent_npn: str = Field(min_length=1, max_length=10)
    task_token: str = Field(min_length=1)


class ReceiptTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["receipt"]
    referral_id: str = Field(min_length=1, max_length=64)


class ReminderTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["reminder"]
    referral_id: str = Field(min_length=1, max_length=64)
    after_minutes: int = Field(ge=1, le=1440)


class SafetyNetTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["safety_net"]
    referral_id: str = Field(min_length=1, max_length=64)
    task_token: str = Field(min_length=1)


_TASKS: TypeAdapter[OfferTask | SafetyNetTask | ReceiptTask | ReminderTask] = TypeAdapter(
    Annotated[OfferTask | SafetyNetTask | ReceiptTask | ReminderTask, Field(discriminator="task")]
)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = _TASKS.validate_python(event)
    logger.append_keys(referral_id=task.referral_id, task=task.task)
    service = wiring.referral_workflow()
    if isinstance(task, OfferTask):
        result = service.deliver_offer(task.referral_id, task.agent_npn, task.task_token)
        metrics.add_metric(name="OffersNotified", unit=MetricUnit.Count, value=1 if result["delivered"] else 0)
    elif isinstance(task, ReceiptTask):
        result = service.acknowledge(task.referral_id)
    elif isinstance(task, ReminderTask):
        result = service.remind(task.referral_id, task.after_minutes)
    else:
        result = service.open_safety_net(task.referral_id, task.task_token)
        metrics.add_metric(name="SafetyNetEmails", unit=MetricUnit.Count, value=result.get("sent", 0))
    for outcome in result.get("outcomes", {}).values():
        metrics.add_metric(name=f"Send_{outcome}", unit=MetricUnit.Count, value=1)
    logger.info("notified", extra={"result": result})
    return result
