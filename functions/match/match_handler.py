"""Match task: pick the closest available, eligible agent who speaks the consumer's language (R5).

Input: {"referral_id": "...", "exclude": ["npn", ...]}  (agents already offered this referral)
Output: {"referral_id": "...", "agent_npn": "..." | null, "distance_km": float | null,
         "items_read": int, "queries": int}
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from hod import wiring
from hod.domain.referral import AuditEvent
from hod.errors import NotFound

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class MatchInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    referral_id: str = Field(min_length=1, max_length=64)
    exclude: list[str] = Field(default_factory=list, max_length=10_000)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = MatchInput.model_validate(event)
    logger.append_keys(referral_id=task.referral_id)
    store = wiring.referral_store()
    referral = store.get(task.referral_id)
    if referral is None:
        raise NotFound(f"Referral {task.referral_id}")
    result = wiring.matching().next_agent(referral, exclude=task.exclude)
    npn = result.entry.npn if result.entry else None
    metrics.add_metric(name="MatchItemsRead", unit=MetricUnit.Count, value=result.items_read)
    metrics.add_metric(name="MatchFound" if npn else "MatchNone", unit=MetricUnit.Count, value=1)
    store.append_events(
        referral.referral_id,
        [
            AuditEvent(
                at=wiring.clock().now(),
                actor="system",
                action="match.found" if npn else "match.none",
                detail={
                    "agent_npn": npn,
                    "distance_km": round(result.distance_km, 3) if result.distance_km is not None else None,
                    "excluded": len(task.exclude),
                    "items_read": result.items_read,
                },
            )
        ],
    )
    logger.info("match", extra={"agent_npn": npn, "items_read": result.items_read, "queries": result.queries})
    return {
        "referral_id": referral.referral_id,
        "agent_npn": npn,
        "distance_km": result.distance_km,
        "items_read": result.items_read,
        "queries": result.queries,
    }
