"""The referral workflow's tasks (R5, R6, R9, R10, R12): what the state machine, and the reminders' schedules, run.
Each decision is one conditional write in the store, so every race has one winner; each task answers with a `Step`.

The Offer and SafetyNet tasks are waited on through their task token, not their return value: where such a task
moves the execution is said through `TaskTokens`, by name (`hand_over_to_safety_net`, `accepted`, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from hod.domain.offer import AgentContact, Offer, OfferKind, OfferStatus
from hod.domain.referral import AuditEvent, Place, Referral, ReferralStatus, WorkflowStart
from hod.errors import Conflict, NotFound
from hod.logs import get_logger
from hod.services.workflow.common import ACCEPTED_STATES, FIRST_REMINDER, SECOND_REMINDER, WorkflowPorts
from hod.services.workflow.missed import MissedOffers
from hod.services.workflow.notices import LINK_VIEWABLE, Notices

if TYPE_CHECKING:
    from hod.services.agents import AgentService
    from hod.services.matching import MatchingService

logger = get_logger(__name__)

Next = Literal["offer", "safety_net", "match", "done", "failed"]
TIMEOUT = "States.Timeout"


@dataclass(frozen=True)
class Step:
    """What a task did, and where the referral's execution goes next.

    next       "offer": it waits on the Offer task's token for the agent's answer; "safety_net": it waits in the
               safety net; "match": another offer round; "done": nothing more to do; "failed": the execution ends
               failed (its alarm fires; the sweep restarts the referral).
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
    ) -> None:
        self._ports = ports
        self._store = ports.store
        self._tokens = ports.tokens
        self._agents = agents
        self._matching = matching
        self._notices = notices
        self._missed = missed

    # ----- Offer (match function) ----------------------------------------------------------------------------------
    def offer_round(self, execution_state: Mapping[str, Any], task_token: str, execution: str = "") -> Step:
        """Offer task, one per round: the closest qualifying agent not offered this referral before gets a pending
        offer, recorded with the workflow's task token, and is told at once; the workflow then waits on the token
        for the agent's answer or the window's end. Nobody qualifies: the execution is handed over to the safety
        net; after the last safety-net round the referral is closed as unserved.

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
                return self._offer_from(start.referral_id, start.place, start.language, set(), 0, task_token, opening)
            except Conflict:
                pass  # a retried first round: the referral has moved on; decide from what is stored
        return self._later_round(start.referral_id, task_token)

    def _later_round(self, referral_id: str, task_token: str) -> Step:
        state = self._ports.state(referral_id)
        referral = state.referral
        pending = state.pending
        if referral.status is ReferralStatus.OFFERED and pending is not None:
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
        offered = {record.offer.agent_npn for record in state.offers}
        return self._offer_from(
            referral_id, referral.place, referral.language, offered, referral.safety_net_round, task_token, []
        )

    def _offer_from(
        self,
        referral_id: str,
        place: Place,
        language: str,
        offered: set[str],
        safety_net_round: int,
        task_token: str,
        opening: list[AuditEvent],
    ) -> Step:
        now = self._ports.clock.now()
        skipped: set[str] = set()
        while True:
            found = self._matching.nearest(place, language, exclude=offered | skipped)
            if found.entry is None:
                return self._nobody(referral_id, safety_net_round, len(offered), task_token, opening)
            try:
                agent = self._agents.view(found.entry.npn).agent
            except NotFound:  # removed since the index was last refreshed
                skipped.add(found.entry.npn)
                continue
            break
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
        )
        contact = AgentContact.of(agent)
        made = self._ports.event(
            "system",
            "offer.made",
            agent_npn=offer.agent_npn,
            distance_km=offer.distance_km,
            deadline=offer.deadline.isoformat(),
            items_read=found.items_read,
            already_offered=len(offered),
        )
        self._store.record_offer(offer, task_token, contact, [*opening, made])
        outcomes = self._notices.offer(offer, contact)
        self._store.append_events(
            referral_id, [self._ports.event("system", "offer.notified", agent_npn=agent.npn, **outcomes)]
        )
        return Step("offer", agent.npn, dict(outcomes))

    def _nobody(
        self, referral_id: str, safety_net_round: int, offered: int, task_token: str, opening: list[AuditEvent]
    ) -> Step:
        """Nobody qualifies now: open a safety-net round, or after the last one close the referral as unserved."""
        now = self._ports.clock.now()
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
            event=self._ports.event("system", "safety_net.opened", round=round_number, already_offered=offered),
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
        alarm fires) rather than looping on a failing function."""
        state = self._ports.state(referral_id)
        if state.referral.status in ACCEPTED_STATES:
            return Step("done")
        pending = state.pending
        if pending is None:
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
            )
        except Conflict:
            found = self._store.offer(referral_id, npn)
            return Step("done" if found and found[0].status is OfferStatus.ACCEPTED else "match")
        self._missed.after_miss(pending.offer)
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
    def remind(self, referral_id: str, after_minutes: int) -> Step:
        """Follow-up (R12): remind the accepting agent when no progress is recorded since the acceptance, and
        schedule the next reminder (30 minutes after acceptance). One conditional write both checks for progress
        and claims the reminder, so a repeated delivery sends nothing twice."""
        claimed = self._store.claim_reminder(referral_id, f"{after_minutes}")
        if claimed is None or claimed.contact is None:
            return Step("done")
        referral, contact = claimed.referral, claimed.contact
        outcomes = self._notices.reminder(referral, contact, after_minutes)
        events = [
            self._ports.event(
                "system", "agent.reminded", agent_npn=contact.npn, after_minutes=after_minutes, **outcomes
            )
        ]
        events += self._second_reminder(referral, after_minutes)
        self._store.append_events(referral_id, events)
        return Step("done", contact.npn, dict(outcomes))

    def _second_reminder(self, referral: Referral, after_minutes: int) -> list[AuditEvent]:
        if after_minutes != FIRST_REMINDER or referral.accepted_at is None:
            return []
        at = referral.accepted_at + 2 * timedelta(seconds=self._ports.policy.follow_up_seconds)
        return self._ports.schedule_reminder(referral.referral_id, at, SECOND_REMINDER)
