"""Match task of the referral workflow (R5): offer the referral to the closest qualifying agent who has not been
offered it yet, or open the safety net when nobody qualifies.

Input:  {"task": "next", "referral_id": "..."}
Output: {"next": "offer" | "safety_net" | "done", "agent_npn": "..." | null, "window_seconds": int}
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from hod import wiring

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class NextTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["next"]
    referral_id: str = Field(min_length=1, max_length=64)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = NextTask.model_validate(event)
    logger.append_keys(referral_id=task.referral_id)
    step = wiring.referral_workflow().next_step(task.referral_id)
    metrics.add_metric(name=f"Next_{step.next}", unit=MetricUnit.Count, value=1)
    logger.info("next step", extra={"next": step.next, "agent_npn": step.agent_npn})
    return step.as_dict()
