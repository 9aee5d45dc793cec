"""The referral workflow's tasks (R5, R6, R9, R10, R12): what the state machine, and the reminders' schedules, run.
Each decision is one conditional write in the store, so every race has one winner; each task answers with a `Step`.

The Offer and SafetyNet tasks are waited on through their task token, not their return value: where such a task
moves the execution is said through `TaskTokens`, by name (`hand_over_to_safety_net`, `accepted`, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from hod.domain.offer import AgentContact, Offer, OfferKind, OfferStatus
from hod.domain.referral import AuditEvent, Place, Referral, ReferralStatus, WorkflowStart
from hod.errors import Conflict, DependencyFailed, NotFound
from hod.logs import get_logger
from hod.ports.agents import SlotClaim, SlotRelease
from hod.ports.workflow import ReferralState
from hod.services.notifier import went_amiss
from hod.services.workflow.common import ACCEPTED_STATES, FIRST_REMINDER, SECOND_REMINDER, WorkflowPorts
from hod.services.workflow.missed import MissedOffers
from hod.services.workflow.notices import LINK_VIEWABLE, Notices
from hod.services.workflow.queue import WaitingReferrals, offer_slot

if TYPE_CHECKING:
    from hod.services.agents import AgentService
    from hod.services.matching import MatchingService

logger = get_logger(__name__)

Next = Literal["offer", "queued", "safety_net", "match", "done", "failed"]
TIMEOUT = "States.Timeout"
# A round whose write lost a race for an agent's slot (or an agent freed one while it was deciding to wait) decides
# again from what is stored, this many times, then fails as retryable so Step Functions retries it after a pause.
_ATTEMPTS = 5


@dataclass(frozen=True)
class _Asked:
    """What a round knows of the referral's past: who was offered it, its safety-net round, its rounds so far
    (direct offers and waits: the cascade's cap counts them) and since when it has waited for busy agents."""

    offered: frozenset[str] = frozenset()
    safety_net_round: int = 0
    rounds: int = 0
    queued_since: datetime | None = None

    @classmethod
    def of(cls, state: ReferralState) -> _Asked:
        direct = [r.offer for r in state.offers if r.offer.kind is OfferKind.DIRECT]
        return cls(
            offered=frozenset(record.offer.agent_npn for record in state.offers),
            safety_net_round=state.referral.safety_net_round,
            rounds=len(direct) + state.queue_cycles,
            queued_since=state.queued_since,
        )


# A reminder scheduled late is due no sooner than this (EventBridge Scheduler's precision is a minute).
RESCHEDULE_DELAY = timedelta(minutes=1)


@dataclass(frozen=True)
class Step:
    """What a task did, and where the referral's execution goes next.

    next       "offer": it waits on the Offer task's token for the agent's answer; "queued": it waits on the Offer
               task's token for a busy agent to free a slot; "safety_net": it waits in the safety net; "match":
               another offer round; "done": nothing more to do; "failed": the execution ends failed (its alarm
               fires; the sweep restarts the referral).
    agent_npn  the agent this task made the offer to, or reminded.
    outcomes   the outcome, per channel, of the one message this task sent that agent.
    tally      the safety net's call: how many agents' calls it queued (None: none this round).
    """

    next: Next
    agent_npn: str | None = None
    outcomes: Mapping[str, str] = field(default_factory=dict)
    tally: Mapping[str, int] | None = None


class WorkflowTasks:
    def __init__(
        self,
        ports: WorkflowPorts,
        agents: AgentService,
        matching: MatchingService,
        notices: Notices,
        missed: MissedOffers,
        waiting: WaitingReferrals,
    ) -> None:
        self._ports = ports
        self._store = ports.store
        self._tokens = ports.tokens
        self._agents = agents
        self._matching = matching
        self._notices = notices
        self._missed = missed
        self._waiting = waiting

    # ----- Offer (match function) ----------------------------------------------------------------------------------
    def offer_round(self, execution_state: Mapping[str, Any], task_token: str, execution: str = "") -> Step:
        """Offer task, one per round: the closest qualifying agent not offered this referral before who has a free
        slot gets a pending offer, recorded with the workflow's task token, and is told at once; the workflow then
        waits on the token for the agent's answer or the window's end. When the qualifying agents near the consumer
        are all at capacity the referral waits for them on the same token (`WaitingReferrals`). Nobody qualifies, or
        the cascade's cap is reached: the execution is handed over to the safety net; after the last safety-net
        round the referral is closed as unserved.

        The first round needs no read: the execution's input carries where the consumer is, and the transaction
        that records the offer also writes the start of the audit trail (the workflow started, the receipt's
        outcomes). Later rounds (`answer` present: a rejection or a lapse led here) read the referral and its
        offers in one Query."""
        start = WorkflowStart.model_validate(execution_state)
        if "answer" not in execution_state and start.run == 0:
            opening = [
                AuditEvent(at=start.at, actor="system", action="workflow.started", detail={"run": execution}),
            ]
            if start.receipt:
                opening.append(
                    AuditEvent(at=start.at, actor="system", action="consumer.notified", detail=start.receipt)
                )
            try:
                return self._offer_from(start.referral_id, start.place, start.language, _Asked(), task_token, opening)
            except Conflict:
                pass  # a retried first round: the referral has moved on; decide from what is stored
        return self._later_round(start.referral_id, task_token)

    def _later_round(
        self, referral_id: str, task_token: str, attempt: int = 0, opening: list[AuditEvent] | None = None
    ) -> Step:
        state = self._ports.state(referral_id)
        referral = state.referral
        pending = state.pending
        if referral.status is ReferralStatus.OFFERED and pending is not None:
            if self._ports.clock.now() >= pending.offer.deadline and attempt < _ATTEMPTS:
                # Its window closed while no execution waited on it (the referral was restarted): lapse it first
                self.offer_lapsed(referral_id)
                return self._later_round(referral_id, task_token, attempt + 1)
            # A retried task: the offer was recorded (and sent, at most once) by the attempt before; wait on it
            if self._store.attach_token(referral_id, pending.offer.agent_npn, task_token):
                channels = pending.contact.channels if pending.contact else ("email",)
                return Step("offer", pending.offer.agent_npn, dict.fromkeys(channels, "duplicate"))
            state = self._ports.state(referral_id)  # answered in between
            referral = state.referral
        if referral.status in ACCEPTED_STATES:
            self._tokens.accepted(task_token, referral.accepted_by)
            return Step("done")
        if referral.status is ReferralStatus.SAFETY_NET:
            self._tokens.hand_over_to_safety_net(task_token, referral.safety_net_round)
            return Step("safety_net")
        if referral.status is not ReferralStatus.SEARCHING:
            self._tokens.finished(task_token, referral.status)
            return Step("done")
        asked = _Asked.of(state)
        return self._offer_from(
            referral_id, referral.place, referral.language, asked, task_token, opening or [], attempt
        )

    def _offer_from(
        self,
        referral_id: str,
        place: Place,
        language: str,
        asked: _Asked,
        task_token: str,
        opening: list[AuditEvent],
        attempt: int = 0,
    ) -> Step:
        policy = self._ports.policy
        if asked.rounds >= policy.max_offer_rounds:
            return self._nobody(referral_id, asked, task_token, opening, capped=True)
        skipped: set[str] = set()
        while True:
            found = self._matching.nearest_free(
                place, language, asked.offered | skipped, policy.offer_capacity, policy.queue_for_nearest
            )
            if found.entry is None or found.load is None:
                if found.busy and self._waiting.may_wait(asked.queued_since):
                    try:
                        self._waiting.wait(referral_id, asked.queued_since, found.busy, task_token, opening)
                    except Conflict:
                        return self._after_conflict(referral_id, task_token, opening, attempt)
                    return Step("queued")
                return self._nobody(referral_id, asked, task_token, opening)
            try:
                agent = found.agent or self._agents.view(found.entry.npn).agent
            except NotFound:  # removed since the index was last refreshed
                skipped.add(found.entry.npn)
                continue
            break
        now = self._ports.clock.now()
        offer = Offer(
            referral_id=referral_id,
            agent_npn=agent.npn,
            kind=OfferKind.DIRECT,
            status=OfferStatus.PENDING,
            offered_at=now,
            deadline=now + timedelta(seconds=self._ports.policy.offer_window_seconds),
            city=place.city,
            county=place.county,
            state=place.state,
            language=language,
            distance_km=round(found.distance_km or 0.0, 3),
            available_until=datetime.fromtimestamp(found.entry.until, UTC) if found.entry.until else None,
        )
        contact = AgentContact.of(agent)
        channels = self._notices.offer_channels(contact)
        made = self._ports.event(
            "system",
            "offer.made",
            agent_npn=offer.agent_npn,
            channels=channels,
            distance_km=offer.distance_km,
            deadline=offer.deadline.isoformat(),
            items_read=found.items_read,
            already_offered=len(asked.offered),
            busy_passed=len(found.busy),
        )
        link = self._notices.offer_link(offer)
        claim = SlotClaim(found.load, offer_slot(offer), int(now.timestamp()))
        try:
            self._store.record_offer(offer, task_token, contact, [*opening, made], claim)
        except Conflict:
            return self._after_conflict(referral_id, task_token, opening, attempt)
        outcomes = self._notices.offer(offer, contact, link)
        notified = [self._ports.event("system", "offer.notified", agent_npn=agent.npn, **outcomes)]
        if "sent" not in outcomes.values():
            self._store.mark_undelivered(referral_id, agent.npn, notified)  # never got it: a lapse will not count
        elif went_amiss(outcomes, channels):
            self._store.append_events(referral_id, notified)
        return Step("offer", agent.npn, dict(outcomes))

    def _after_conflict(self, referral_id: str, task_token: str, opening: list[AuditEvent], attempt: int) -> Step:
        """The round's write lost a race: for the agent's slot, or an agent freed one while the referral was about
        to wait, or (a retried task) the referral moved on. Decide again from what is stored; the opening events go
        with the next write unless a write of this round already landed."""
        if attempt + 1 >= _ATTEMPTS:
            raise DependencyFailed("dynamodb", "TransactWriteItems", "the agents' loads kept changing")
        state = self._ports.state(referral_id)
        referral = state.referral
        landed = state.offers or state.queue_cycles or referral.status is not ReferralStatus.SEARCHING
        return self._later_round(referral_id, task_token, attempt + 1, [] if landed else opening)

    def _nobody(
        self, referral_id: str, asked: _Asked, task_token: str, opening: list[AuditEvent], capped: bool = False
    ) -> Step:
        """Nobody qualifies now (or the cascade reached its cap): open a safety-net round, or after the last one
        close the referral as unserved."""
        now = self._ports.clock.now()
        safety_net_round = asked.safety_net_round
        round_number = safety_net_round + 1
        if round_number > self._ports.policy.safety_net_rounds:
            self._store.move_referral(
                referral_id,
                expected=[ReferralStatus.SEARCHING],
                to=ReferralStatus.UNSERVED,
                at=now,
                extra={"needs_start": None},
                event=self._ports.event("system", "referral.unserved", safety_net_rounds=safety_net_round),
                also=opening,
            )
            logger.warning("referral unserved", extra={"referral_id": referral_id})
            self._tokens.finished(task_token, ReferralStatus.UNSERVED)
            return Step("done")
        self._store.move_referral(
            referral_id,
            expected=[ReferralStatus.SEARCHING],
            to=ReferralStatus.SAFETY_NET,
            at=now,
            extra={"safety_net_round": round_number, "needs_start": None},
            event=self._ports.event(
                "system",
                "safety_net.opened",
                round=round_number,
                already_offered=len(asked.offered),
                cascade_capped=capped,
            ),
            also=opening,
        )
        self._tokens.hand_over_to_safety_net(task_token, round_number)
        return Step("safety_net")

    # ----- SafetyNet (notify function) -----------------------------------------------------------------------------
    def open_safety_net(self, referral_id: str, task_token: str) -> Step:
        """SafetyNet task: keep the token on the referral and, unless an earlier round did, queue the call to every
        participating agent licensed in the consumer's state (e-mail only), except agents who already passed on
        it. The send function e-mails them at the account's SES rate while the referral waits in the safety net."""
        if not self._store.attach_token(referral_id, None, task_token):
            referral = self._ports.referral(referral_id)
            if referral.status in ACCEPTED_STATES:
                self._tokens.accepted(task_token, referral.accepted_by)
            else:
                self._tokens.closed(task_token, referral.status)
            return Step("done")
        state = self._ports.state(referral_id)
        referral = state.referral
        passed = {record.offer.agent_npn for record in state.offers}

        def recipients() -> list[str]:
            return [npn for npn in self._agents.roster(referral.place.state) if npn not in passed]

        # Viewable for at least a day, like offer links: whether it can still be accepted is the referral's state.
        policy = self._ports.policy
        rounds = timedelta(seconds=policy.safety_net_window_seconds * policy.safety_net_rounds)
        now = self._ports.clock.now()
        queued = self._notices.safety_net_call(referral, recipients, now + max(rounds, LINK_VIEWABLE), now)
        if queued is None:
            return Step("safety_net")
        self._store.append_events(
            referral_id,
            [self._ports.event("system", "safety_net.queued", recipients=queued, round=referral.safety_net_round)],
        )
        return Step("safety_net", tally={"queued": queued})

    # ----- OfferLapsed and SafetyNetLapsed (expire function) -------------------------------------------------------
    def offer_lapsed(self, referral_id: str, error: str = TIMEOUT) -> Step:
        """OfferLapsed task: the window closed (or the round failed: `error`). Mark the pending offer missed unless
        an answer got there first. A round that failed before making any offer ends the workflow as failed (its
        alarm fires) rather than looping on a failing function; one that opened the safety net goes there."""
        state = self._ports.state(referral_id)
        if state.referral.status in ACCEPTED_STATES:
            return Step("done")
        pending = state.pending
        if pending is None:
            if state.referral.status is ReferralStatus.SAFETY_NET:
                # The round opened the safety net, but its hand-over never reached this execution (the callback
                # kept failing past every retry, or the round outlasted its window): the execution goes there now.
                return Step("safety_net")
            if state.referral.status is not ReferralStatus.SEARCHING:
                return Step("done")
            if error == TIMEOUT:
                return Step("match")
            # The round kept failing before it could make an offer: this execution ends (its alarm fires) and the
            # referral is flagged, so the one-minute sweep starts a new execution for it. Never lost.
            failed = self._ports.event("system", "workflow.round_failed", error=error[:200])
            self._store.mark_round_failed(referral_id, [failed])
            return Step("failed")
        npn = pending.offer.agent_npn
        try:
            self._store.decide_offer(
                referral_id,
                npn,
                to=OfferStatus.MISSED,
                at=self._ports.clock.now(),
                before_deadline=False,
                referral_to=ReferralStatus.SEARCHING,
                event=self._ports.event("system", "offer.missed", agent_npn=npn),
                release=SlotRelease(npn, offer=offer_slot(pending.offer)),
            )
        except Conflict:
            found = self._store.offer(referral_id, npn)
            return Step("done" if found and found[0].status is OfferStatus.ACCEPTED else "match")
        if self._missed.after_miss(pending.offer):
            self._waiting.wake_for(npn)  # (a suspended agent takes no offers: their freed slot wakes nobody)
        return Step("match")

    def safety_net_lapsed(self, referral_id: str) -> Step:
        """SafetyNetLapsed task: nobody answered this round; look for an available agent again."""
        referral = self._ports.referral(referral_id)
        if referral.status is ReferralStatus.SAFETY_NET:
            try:
                self._store.move_referral(
                    referral_id,
                    expected=[ReferralStatus.SAFETY_NET],
                    to=ReferralStatus.SEARCHING,
                    at=self._ports.clock.now(),
                    event=self._ports.event("system", "safety_net.lapsed", round=referral.safety_net_round),
                )
            except Conflict:
                referral = self._ports.referral(referral_id)
            else:
                return Step("match")
        return Step("match" if referral.status is ReferralStatus.SEARCHING else "done")

    # ----- reminders (notify function, run by a one-off schedule; not in the state machine) ------------------------
    def remind(self, referral_id: str, after_minutes: int, agent_npn: str | None = None) -> Step:
        """Follow-up (R12): remind the accepting agent when no progress is recorded since the acceptance, and
        schedule the next reminder (30 minutes after acceptance). One conditional write both checks for progress
        and claims the reminder, so a repeated delivery sends nothing twice. A reminder names the agent whose
        acceptance it follows (`agent_npn`): once the referral has gone on to another agent, it sends nothing, and
        the new acceptance's own reminders are counted apart. (A schedule made before reminders named their agent
        follows whoever has the referral.)"""
        key = f"{after_minutes}" if agent_npn is None else f"{after_minutes}:{agent_npn}"
        claimed = self._store.claim_reminder(referral_id, key, agent_npn)
        if claimed is None or claimed.contact is None:
            return Step("done")
        referral, contact = claimed.referral, claimed.contact
        if after_minutes == FIRST_REMINDER and referral.accepted_at is not None:
            # No progress yet: the wrap-up ends here at the latest, and the agent can take the next referral
            self._waiting.end_wrap_up(referral_id, contact.npn, referral.accepted_at)
        outcomes = self._notices.reminder(referral, contact, after_minutes)
        events = [
            self._ports.event(
                "system", "agent.reminded", agent_npn=contact.npn, after_minutes=after_minutes, **outcomes
            )
        ]
        events += self._second_reminder(referral, after_minutes, contact.npn)
        self._store.append_events(referral_id, events)
        return Step("done", contact.npn, dict(outcomes))

    def reschedule_reminders(self, limit: int = 100) -> int:
        """The sweep's part in R12: schedule each reminder that could not be scheduled when it should have been
        (EventBridge Scheduler unavailable at the acceptance, or at the first reminder), if the referral is still
        accepted without progress: at its time, or a minute from now if that has passed. One that cannot be
        scheduled yet is flagged again. How many were tried."""
        tried = 0
        for referral_id in self._store.reminders_unscheduled(limit):
            if not self._store.claim_unscheduled_reminder(referral_id):
                continue  # another sweep took it
            referral = self._store.get(referral_id)
            unscheduled = [e for e in self._store.audit_trail(referral_id) if e.action == "reminder.not_scheduled"]
            if referral is None or referral.status is not ReferralStatus.ACCEPTED or not unscheduled:
                continue
            npn = str(unscheduled[-1].detail.get("agent_npn") or referral.accepted_by or "")
            if not npn or npn != referral.accepted_by:
                continue  # the acceptance it was for has ended: the referral went on to another agent
            after_minutes = int(unscheduled[-1].detail.get("after_minutes", FIRST_REMINDER))
            follow_ups = 1 if after_minutes == FIRST_REMINDER else 2
            due = (referral.accepted_at or referral.updated_at) + follow_ups * timedelta(
                seconds=self._ports.policy.follow_up_seconds
            )
            at = max(due, self._ports.clock.now() + RESCHEDULE_DELAY)
            events = self._ports.schedule_reminder(referral_id, at, after_minutes, npn)
            if events:
                self._store.append_events(referral_id, events)
            tried += 1
        return tried

    def _second_reminder(self, referral: Referral, after_minutes: int, npn: str) -> list[AuditEvent]:
        if after_minutes != FIRST_REMINDER or referral.accepted_at is None:
            return []
        at = referral.accepted_at + 2 * timedelta(seconds=self._ports.policy.follow_up_seconds)
        return self._ports.schedule_reminder(referral.referral_id, at, SECOND_REMINDER, npn)
