"""An agent's own numbers over a period (R11), from the rows of Manage Referrals: how many offers in each status,
how the completed ones ended, how often and how fast the agent answered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from hod.domain.metrics import percentile

# Row statuses that mean this agent accepted the referral, whatever happened after
ACCEPTED = frozenset({"accepted", "in_progress", "not_a_good_referral", "completed"})
# Offers the agent answered or let lapse (a safety-net call another agent took first, or one still open, is neither)
DECIDED = ACCEPTED | {"rejected", "missed"}


@dataclass(frozen=True)
class RowFact:
    status: str
    outcome: str | None
    offered_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class AgentMetrics:
    offers: int
    by_status: dict[str, int]
    by_outcome: dict[str, int]
    accepted: int
    missed: int
    acceptance_rate_pct: float | None
    response_p50_s: int | None
    response_p90_s: int | None


def agent_metrics(rows: Iterable[RowFact]) -> AgentMetrics:
    """Counts by status and by outcome; the acceptance rate over offers answered or lapsed; the median and 90th
    percentile (nearest rank) of the seconds from offer to answer, over offers accepted or rejected."""
    facts = list(rows)
    by_status = Counter(fact.status for fact in facts)
    by_outcome = Counter(fact.outcome for fact in facts if fact.status == "completed" and fact.outcome)
    accepted = sum(by_status[status] for status in ACCEPTED)
    decided = sum(by_status[status] for status in DECIDED)
    responses = sorted(
        (fact.answered_at - fact.offered_at).total_seconds()
        for fact in facts
        if fact.answered_at is not None and (fact.status in ACCEPTED or fact.status == "rejected")
    )
    p50, p90 = percentile(responses, 50), percentile(responses, 90)
    return AgentMetrics(
        offers=len(facts),
        by_status=dict(sorted(by_status.items())),
        by_outcome=dict(sorted(by_outcome.items())),
        accepted=accepted,
        missed=by_status["missed"],
        acceptance_rate_pct=round(100 * accepted / decided, 1) if decided else None,
        response_p50_s=None if p50 is None else round(p50),
        response_p90_s=None if p90 is None else round(p90),
    )
