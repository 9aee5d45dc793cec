"""Notify tasks: the safety net (for the workflow) and the follow-up reminders (for EventBridge Scheduler).

  {"task": "safety_net", "referral_id", "task_token"}  queues the call to every participating agent in the state
                                                       (once; the send function e-mails them at the SES rate); the
                                                       workflow waits on the token until one accepts or the round ends
  {"task": "reminder", "referral_id", "after_minutes", "agent_npn"}
                                                       the accepting agent, when no progress is recorded and the
                                                       referral is still theirs (R12); run by a one-off schedule
                                                       created at acceptance
  {"task": "sign_in", "email", "portal_url"}            a sign-in link to each agent with this address, if any;
                                                       invoked asynchronously by the intake's POST /sign-in, so
                                                       that request does the same work whoever asks

(The offer itself is sent by the match function's Offer task, the consumer's receipt by the intake, and the
acceptance messages by whoever records the acceptance.)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from hod import wiring
from hod.tracing import traced

logger = Logger()
metrics = Metrics()


class ReminderTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["reminder"]
    referral_id: str = Field(min_length=1, max_length=64)
    after_minutes: int = Field(ge=1, le=1440)
    agent_npn: str | None = Field(default=None, min_length=1, max_length=10)  # none in schedules made before it


class SafetyNetTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["safety_net"]
    referral_id: str = Field(min_length=1, max_length=64)
    task_token: str = Field(min_length=1)


class SignInTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["sign_in"]
    email: str = Field(min_length=3, max_length=254)
    portal_url: str | None = Field(default=None, max_length=2048)


_TASKS: TypeAdapter[SafetyNetTask | ReminderTask | SignInTask] = TypeAdapter(
    Annotated[SafetyNetTask | ReminderTask | SignInTask, Field(discriminator="task")]
)


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = _TASKS.validate_python(event)
    if isinstance(task, SignInTask):  # (the address is personal data: never logged)
        agents = wiring.services.access().send_sign_in(task.email, task.portal_url)
        metrics.add_metric(name="SignInLinksAsked", unit=MetricUnit.Count, value=1)
        return {"agents": agents}
    logger.append_keys(referral_id=task.referral_id, task=task.task)
    tasks = wiring.workflow.workflow_tasks()
    result: dict[str, Any]
    if isinstance(task, ReminderTask):
        step = tasks.remind(task.referral_id, task.after_minutes, task.agent_npn)
        result = {"reminded": True, "outcomes": dict(step.outcomes)} if step.agent_npn else {"reminded": False}
    else:
        step = tasks.open_safety_net(task.referral_id, task.task_token)
        result = {"queued": (step.tally or {}).get("queued", 0)}
        metrics.add_metric(name="SafetyNetCallsQueued", unit=MetricUnit.Count, value=result["queued"])
    for outcome in step.outcomes.values():
        metrics.add_metric(name=f"Send_{outcome}", unit=MetricUnit.Count, value=1)
    logger.info("notified", extra={"result": result})
    return result
