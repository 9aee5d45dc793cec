"""What the workflow's parts share: the policy, the ports every part reads and writes through, and the answers the
state machine's waiting tasks get through their task tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from hod.errors import ConfigurationError, DependencyFailed, NotFound
from hod.logs import get_logger
from hod.ports.common import Clock
from hod.ports.workflow import Callbacks, ReferralState, Reminders, WorkflowStore

logger = get_logger(__name__)

ACCEPTED_STATES = frozenset(
    {ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, ReferralStatus.NOT_A_GOOD_REFERRAL, ReferralStatus.COMPLETED}
)

# R12: the agent should contact the consumer within 15 minutes of accepting, never later than 30. The reminders'
# labels; their delay is WorkflowPolicy.follow_up_seconds (15 minutes in production), then twice that.
FIRST_REMINDER = 15
SECOND_REMINDER = 30

# The errors a waiting task's token is failed with; the state machine's Catch clauses route on these names.
SAFETY_NET_ERROR = "SafetyNet"
REJECTED_ERROR = "Rejected"
CLOSED_ERROR = "Closed"
RECHECK_ERROR = "Recheck"


@dataclass(frozen=True)
class WorkflowPolicy:
    offer_window_seconds: int = 900
    follow_up_seconds: int = 900  # R12: remind the accepting agent at 15 and 30 minutes without progress
    safety_net_window_seconds: int = 1800
    safety_net_rounds: int = 24
    suspend_after_missed: int = 5  # missed offers in the last 7 days; 0 = never suspend
    missed_window: timedelta = timedelta(days=7)
    offer_capacity: int = 1  # pending offers (and wrap-ups) an agent holds at once
    wrap_up_seconds: int = 900  # an accepted referral holds the agent's slot this long at most (R12); 0 = not at all
    queue_wait_seconds: int = 900  # how long a referral waits for a busy agent to free up; 0 = never waits
    max_offer_rounds: int = 50  # direct offers and waits per referral, then only the safety net (history limit)
    queue_for_nearest: int = 25  # busy agents matching looks past before the referral waits for them


class TaskTokens:
    """What the state machine's waiting tasks (Offer, SafetyNet) are told, each answer named for where it sends the
    execution. The decision itself is already stored: a token only wakes the execution, and one that finds its
    task gone (timed out, answered) is ignored."""

    def __init__(self, callbacks: Callbacks) -> None:
        self._callbacks = callbacks

    def accepted(self, token: str, npn: str | None) -> None:
        """An agent has the referral: the waiting task succeeds and the execution ends."""
        self._callbacks.success(token, {"accepted_by": npn})

    def finished(self, token: str, status: ReferralStatus) -> None:
        """Nothing more to wait for (e.g. closed as unserved): the waiting task succeeds and the execution ends."""
        self._callbacks.success(token, {"status": status.value})

    def rejected(self, token: str) -> None:
        """The agent passed: the Offer task fails with Rejected, and the execution starts the next round at once."""
        self._callbacks.failure(token, REJECTED_ERROR, "rejected by the agent")

    def hand_over_to_safety_net(self, token: str, round_number: int) -> None:
        """Nobody qualifies: the Offer task fails its own token with SafetyNet, which the Offer state's Catch
        routes to the SafetyNet state (the match function cannot move the execution any other way)."""
        self._callbacks.failure(token, SAFETY_NET_ERROR, f"round {round_number}")

    def recheck(self, token: str) -> bool:
        """An agent the waiting referral waits for freed a slot: its Offer task fails with Recheck, and the execution
        starts the next round at once. False when the task was no longer waiting (it timed out meanwhile)."""
        return self._callbacks.failure(token, RECHECK_ERROR, "an agent freed a slot")

    def closed(self, token: str, status: ReferralStatus) -> None:
        """The referral no longer waits in the safety net: the SafetyNet task fails, and its lapse decides what next."""
        self._callbacks.failure(token, CLOSED_ERROR, status.value)


@dataclass(frozen=True)
class WorkflowPorts:
    """The ports every part of the workflow shares: the store each decision is one conditional write to, the
    clock that stamps its audit event, the policy, the task tokens and the reminders' scheduler."""

    store: WorkflowStore
    clock: Clock
    policy: WorkflowPolicy
    tokens: TaskTokens
    reminders: Reminders | None = None

    def event(self, actor: str, action: str, **detail: Any) -> AuditEvent:
        return AuditEvent(at=self.clock.now(), actor=actor, action=action, detail=detail)

    def referral(self, referral_id: str) -> Referral:
        referral = self.store.get(referral_id)
        if referral is None:
            raise NotFound(f"Referral {referral_id}", "referral_not_found")
        return referral

    def state(self, referral_id: str) -> ReferralState:
        found = self.store.state(referral_id)
        if found is None:
            raise NotFound(f"Referral {referral_id}", "referral_not_found")
        return found

    def schedule_reminder(self, referral_id: str, at: datetime, after_minutes: int, agent_npn: str) -> list[AuditEvent]:
        """Schedule a reminder; a failure to schedule is recorded, never raised (the acceptance stands). The record
        is returned for the caller to write, except while the scheduler is unavailable: then it is written at once
        with a flag on the referral, and the one-minute sweep schedules the reminder once it can
        (`WorkflowTasks.reschedule_reminders`)."""
        if self.reminders is None:
            return []
        try:
            self.reminders.schedule(referral_id, after_minutes, at, agent_npn)
        except (DependencyFailed, ConfigurationError) as exc:
            logger.error("reminder not scheduled", extra={"referral_id": referral_id, "error": str(exc)})
            missed = self.event("system", "reminder.not_scheduled", after_minutes=after_minutes, agent_npn=agent_npn)
            if isinstance(exc, ConfigurationError):
                return [missed]
            try:
                self.store.mark_reminder_unscheduled(referral_id, [missed])
            except DependencyFailed:
                return [missed]
        return []
