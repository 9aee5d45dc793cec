"""Scheduled sweep (every minute): re-evaluate agents whose availability or eligibility changes now, so the
available-now index that matching reads stays true (agents come on at 8:00, go to lunch, leave, lose a licence)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from hod import wiring

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# Leave time for the last batch: stop taking new batches when less than this remains.
_RESERVE_MS = 3000
_BATCH = 200


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service = wiring.agents()
    refreshed = 0
    while True:
        done = service.refresh_due(limit=_BATCH)
        refreshed += done
        if done < _BATCH or context.get_remaining_time_in_millis() < _RESERVE_MS:
            break
    metrics.add_metric(name="AgentsRefreshed", unit=MetricUnit.Count, value=refreshed)
    logger.info("availability sweep", extra={"refreshed": refreshed})
    return {"refreshed": refreshed}
