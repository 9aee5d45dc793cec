"""Time-driven work.

EventBridge schedule (every minute)                   queue the agents' availability changes falling due in the
                                                      next minutes (the refresh function applies them as they fall
                                                      due, so the available-now index matching reads stays true);
                                                      start workflows that failed to start; send due invitations;
                                                      schedule reminders that could not be scheduled
{"task": "offer_lapsed", "referral_id", "error"}      the offer window closed: mark the pending offer missed
                                                      (unless an answer won the race) -> {"next": "match" | "done"},
                                                      "safety_net" when the round opened the safety net, or
                                                      "failed" when the round failed before making an offer
{"task": "safety_net_lapsed", "referral_id"}          a safety-net round passed unanswered -> {"next": ...}
{"task": "coverage"} (EventBridge schedule, hourly)   recompute the administrator's coverage map: one summary item
                                                      per state (hod.services.coverage)
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

# Leave time for the workflows and invitations: stop queueing availability changes when less than this remains.
_RESERVE_MS = 3000
# Account invitations sent per sweep: a 1,000-agent import is invited within ten minutes, at SES's default rate.
_INVITES = 100


class OfferLapsed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["offer_lapsed"]
    referral_id: str = Field(min_length=1, max_length=64)
    error: str = Field(default="States.Timeout", max_length=256)  # why the Offer task ended


class SafetyNetLapsed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Literal["safety_net_lapsed"]
    referral_id: str = Field(min_length=1, max_length=64)


_TASKS: TypeAdapter[OfferLapsed | SafetyNetLapsed] = TypeAdapter(
    Annotated[OfferLapsed | SafetyNetLapsed, Field(discriminator="task")]
)


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "task" not in event:
        return _sweep(context)
    if event == {"task": "coverage"}:
        return _coverage()
    task = _TASKS.validate_python(event)
    logger.append_keys(referral_id=task.referral_id, task=task.task)
    tasks = wiring.workflow.workflow_tasks()
    if isinstance(task, OfferLapsed):
        step = tasks.offer_lapsed(task.referral_id, task.error)
        metrics.add_metric(name="OffersLapsed", unit=MetricUnit.Count, value=1)
    else:
        step = tasks.safety_net_lapsed(task.referral_id)
        metrics.add_metric(name="SafetyNetRoundsLapsed", unit=MetricUnit.Count, value=1)
    logger.info("lapsed", extra={"next": step.next})
    return {"next": step.next}


def _coverage() -> dict[str, Any]:
    run = wiring.views.coverage().recompute()
    metrics.add_metric(name="CoverageAgentsCounted", unit=MetricUnit.Count, value=run.agents)
    summary = {
        "computed_at": run.computed_at.isoformat(),
        "week_of": run.week_of.isoformat(),
        "states": run.states,
        "agents": run.agents,
        "referrals": run.referrals,
        "referral_days": run.referral_days,
    }
    logger.info("coverage computed", extra=summary)
    return summary


def _sweep(context: LambdaContext) -> dict[str, Any]:
    # Queue the availability changes falling due in the next minutes, for the refresh workers to apply on time
    sweep = wiring.services.availability_sweep().dispatch(
        has_time=lambda: context.get_remaining_time_in_millis() >= _RESERVE_MS
    )
    started = wiring.services.intake().start_unstarted()
    invites = wiring.services.access().send_due_invites(limit=_INVITES)
    reminders = wiring.workflow.workflow_tasks().reschedule_reminders()
    metrics.add_metric(name="RefreshesQueued", unit=MetricUnit.Count, value=sweep.queued)
    metrics.add_metric(name="RefreshesRequeued", unit=MetricUnit.Count, value=sweep.requeued)
    metrics.add_metric(name="AvailabilityIndexLagSeconds", unit=MetricUnit.Seconds, value=sweep.lag_seconds)
    metrics.add_metric(name="WorkflowsRecovered", unit=MetricUnit.Count, value=started)
    metrics.add_metric(name="InvitationsSent", unit=MetricUnit.Count, value=invites.sent)
    metrics.add_metric(name="InvitationsFailed", unit=MetricUnit.Count, value=invites.failed)
    metrics.add_metric(name="RemindersRescheduled", unit=MetricUnit.Count, value=reminders)
    logger.info(
        "sweep",
        extra={
            "refreshes_queued": sweep.queued,
            "refreshes_requeued": sweep.requeued,
            "index_lag_seconds": sweep.lag_seconds,
            "workflows_started": started,
            "invites_sent": invites.sent,
            "reminders_rescheduled": reminders,
        },
    )
    return {
        "queued": sweep.queued,
        "requeued": sweep.requeued,
        "index_lag_seconds": sweep.lag_seconds,
        "queued_through": sweep.through,
        "complete": sweep.complete,
        "workflows_started": started,
        "invitations": {
            "sent": invites.sent,
            "failed": invites.failed,
            "dropped": invites.dropped,
            "held": invites.held,
        },
        "reminders_rescheduled": reminders,
    }
