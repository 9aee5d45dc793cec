"""What the service counts in CloudWatch (embedded metric format, through Powertools Metrics): the workflow's
decisions and the channels' failures.

Every decision about a referral is one conditional write that carries its audit events (workflow_store.py). Once
such a write has committed, its events are counted here: each decision exactly once, however often the workflow
retries a task, and always in step with the audit trail. A message a channel fails to send is counted where the
channel's SDK call fails. The counts join the invocation's own metrics (Powertools keeps one metric set per
process) and are published when the handler returns.

Names, in the functions' namespace with the `service` dimension (template.yaml's dashboard and alarms read them):
ReferralsCreated, OffersMade, OffersAccepted, OffersRejected, OffersMissed, SafetyNetAccepted, ReferralsToSafetyNet
(a referral's first safety-net round), ReferralsUnserved, TimeToAccept (seconds from the consumer's request to the
agent's acceptance, as in the administrator's program metrics), and EmailFailures, TextFailures, PushFailures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from hod.domain.referral import AuditEvent, Referral
from hod.errors import DependencyFailed

logger = logging.getLogger(__name__)

COUNTED: dict[str, str] = {
    "referral.created": "ReferralsCreated",
    "offer.made": "OffersMade",
    "offer.accepted": "OffersAccepted",
    "offer.rejected": "OffersRejected",
    "offer.missed": "OffersMissed",
    "safety_net.accepted": "SafetyNetAccepted",
    "referral.unserved": "ReferralsUnserved",
}
ACCEPTED = frozenset({"offer.accepted", "safety_net.accepted"})
SAFETY_NET_OPENED = "safety_net.opened"
TO_SAFETY_NET = "ReferralsToSafetyNet"
TIME_TO_ACCEPT = "TimeToAccept"
CHANNEL_FAILURES: dict[str, str] = {"email": "EmailFailures", "text": "TextFailures", "app": "PushFailures"}


@dataclass(frozen=True)
class Measure:
    name: str
    unit: MetricUnit
    value: float


def measures(events: Sequence[AuditEvent], referral: Callable[[], Referral | None]) -> list[Measure]:
    """What a committed decision's events count for. `referral` reads the referral as the decision left it; it is
    called only when an acceptance needs it for the time to accept (None: not measured)."""
    found: list[Measure] = []
    for event in events:
        name = COUNTED.get(event.action)
        if name is not None:
            found.append(Measure(name, MetricUnit.Count, 1))
        if event.action == SAFETY_NET_OPENED and event.detail.get("round") == 1:
            found.append(Measure(TO_SAFETY_NET, MetricUnit.Count, 1))
        if event.action in ACCEPTED:
            accepted = referral()
            if accepted is not None and accepted.accepted_at is not None:
                seconds = max(0.0, (accepted.accepted_at - accepted.created_at).total_seconds())
                found.append(Measure(TIME_TO_ACCEPT, MetricUnit.Seconds, seconds))
    return found


def count_decision(events: Sequence[AuditEvent], referral: Callable[[], Referral | None]) -> None:
    """Add a committed decision's measures to the invocation's metrics. The decision stands whatever happens here:
    when the referral cannot be read back, only the time to accept goes unmeasured."""

    def read_back() -> Referral | None:
        try:
            return referral()
        except DependencyFailed as exc:
            logger.warning("time to accept not measured", extra={"error": str(exc)})
            return None

    _add(measures(events, read_back))


def count_channel_failure(channel: str) -> None:
    """A message the channel ("email", "text" or "app") failed to send."""
    _add([Measure(CHANNEL_FAILURES[channel], MetricUnit.Count, 1)])


def _add(found: Sequence[Measure]) -> None:
    if not found:
        return
    metrics = Metrics()
    try:
        for measure in found:
            metrics.add_metric(name=measure.name, unit=measure.unit, value=measure.value)
    except Exception:  # counting must never undo a committed decision: whatever fails here is logged, not raised
        logger.warning("metrics not recorded", extra={"metrics": [m.name for m in found]}, exc_info=True)
