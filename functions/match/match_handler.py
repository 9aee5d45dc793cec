"""Offer task of the referral workflow (R5, R6), one per round: offer the referral to the closest qualifying agent
who has not been offered it yet, record the offer with the workflow's task token and tell the agent at once; or, when
nobody qualifies, open the safety net. The state machine invokes this with .waitForTaskToken and waits on the token
(the agent's answer, the safety net, or the offer window's end), not on what this returns.

Input:  {"task": "offer", "task_token": "...", "execution": "<execution ARN>", "state": <the execution's state>}
Output: {"next": "offer" | "safety_net" | "done", "agent_npn": "..." | null, "outcomes": {channel: outcome}}
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from hod import wiring
from hod.tracing import traced

logger = Logger()
metrics = Metrics()


class OfferTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["offer"]
    task_token: str = Field(min_length=1)
    execution: str = ""
    state: dict[str, Any]


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = OfferTask.model_validate(event)
    logger.append_keys(referral_id=task.state.get("referral_id"))
    step = wiring.workflow.workflow_tasks().offer_round(task.state, task.task_token, task.execution)
    metrics.add_metric(name=f"Next_{step.next}", unit=MetricUnit.Count, value=1)
    if step.next == "offer":
        metrics.add_metric(
            name="OffersNotified", unit=MetricUnit.Count, value=1 if "sent" in step.outcomes.values() else 0
        )
    for outcome in step.outcomes.values():
        metrics.add_metric(name=f"Send_{outcome}", unit=MetricUnit.Count, value=1)
    result = {"next": step.next, "agent_npn": step.agent_npn, "outcomes": dict(step.outcomes)}
    logger.info("next step", extra=result)
    return result
