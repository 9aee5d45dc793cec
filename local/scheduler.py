"""EventBridge Scheduler, run locally: moto stores schedules but never fires them. `run_schedules()` fires the
one-off `at(...)` schedules as they fall due, invoking their Lambda target through moto (so the in-process routing
of local/inproc.py runs the real handler) and deleting those created with ActionAfterCompletion=DELETE, as the
service does. Recurring (rate/cron) schedules are left alone: the template has none that moto would hold."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")


def _due(now: datetime) -> list[tuple[Any, Any]]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.scheduler.models import scheduler_backends

    backend = scheduler_backends[DEFAULT_ACCOUNT_ID][os.environ.get("AWS_REGION", "us-east-1")]
    found = []
    for group in list(backend.schedule_groups.values()):
        for schedule in list(group.schedules.values()):
            match = _AT.fullmatch(schedule.schedule_expression)
            if match is None or schedule.state != "ENABLED":
                continue
            zone = ZoneInfo(schedule.schedule_expression_timezone or "UTC")
            if datetime.fromisoformat(match.group(1)).replace(tzinfo=zone) <= now:
                found.append((group, schedule))
    return found


def fire_due(now: datetime | None = None) -> int:
    """Invoke every due one-off schedule's target once; returns how many fired."""
    import boto3

    fired = 0
    for group, schedule in _due(now or datetime.now(UTC)):
        if schedule.action_after_completion == "DELETE":
            group.delete_schedule(schedule.name)
        else:
            schedule.state = "DISABLED"  # a one-off schedule fires once
        target = schedule.target
        try:
            boto3.client("lambda").invoke(FunctionName=target["Arn"], Payload=target.get("Input", "{}").encode())
        except Exception:  # the service retries; locally a failed reminder is logged
            logger.exception("scheduled invocation failed", extra={"schedule": schedule.name})
        fired += 1
    return fired


@contextmanager
def run_schedules(every_seconds: float = 0.25) -> Iterator[None]:
    """Fire due schedules in a background thread while the block runs (inside mock_aws and the in-process
    routing of Lambda invocations)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_seconds):
            try:
                fire_due()
            except Exception:
                logger.exception("local scheduler failed")

    thread = threading.Thread(target=loop, name="local-scheduler", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
