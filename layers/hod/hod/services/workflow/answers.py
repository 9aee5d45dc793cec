"""What agents answer (R6–R8): accept or reject an offer, take a referral from the safety net, report progress on a
referral they accepted. Through signed links or the portal; each answer is one conditional write, so of two answers
racing each other, or the offer window's end, exactly one wins and the other gets a clear refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hod.domain.capacity import Slot
from hod.domain.offer import (
    AgentContact,
    CompletedOutcome,
    NotGoodReason,
    Offer,
    OfferKind,
    OfferStatus,
    check_agent_move,
)
from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from hod.errors import Conflict, DependencyFailed, Forbidden, NotFound, Reason
from hod.logs import get_logger
from hod.ports.agents import SlotRelease
from hod.ports.workflow import OfferRecord
from hod.services.notifier import went_amiss
from hod.services.workflow.common import ACCEPTED_STATES, FIRST_REMINDER, WorkflowPorts
from hod.services.workflow.notices import Notices
from hod.services.workflow.queue import WaitingReferrals, offer_slot

if TYPE_CHECKING:
    from hod.services.agents import AgentService

logger = get_logger(__name__)


class Answers:
    def __init__(self, ports: WorkflowPorts, agents: AgentService, notices: Notices, waiting: WaitingReferrals) -> None:
        self._ports = ports
        self._store = ports.store
        self._agents = agents
        self._notices = notices
        self._waiting = waiting

    def accept(self, referral_id: str, npn: str, via: str, safety_net_call: bool = False) -> Referral:
        """Take the referral. Returns it with the consumer's details — for the accepting agent only.
        `safety_net_call`: the agent answers the safety net's e-mail rather than an offer made to them."""
        state = self._store.state_for(referral_id, npn)
        if state is None:
            raise NotFound(f"Referral {referral_id}", "referral_not_found")
        referral = state.referral
        if referral.accepted_by == npn and referral.status in ACCEPTED_STATES:
            return referral  # a repeated click: already theirs, nothing changes
        now = self._ports.clock.now()
        actor = f"agent:{npn}"
        if safety_net_call and referral.status is not ReferralStatus.SAFETY_NET:
            if referral.status in ACCEPTED_STATES:
                raise Conflict("Another agent has already taken this referral.", "referral_taken")
            raise Conflict("This referral is no longer waiting for an agent.", "referral_not_waiting")
        mine = state.offer_to(npn)
        accepted = referral.model_copy(
            update={"status": ReferralStatus.ACCEPTED, "accepted_by": npn, "accepted_at": now, "updated_at": now}
        )
        if referral.status is ReferralStatus.SAFETY_NET:
            view = self._agents.view(npn)
            if referral.place.state not in view.offer_states:
                raise Forbidden("This referral is for a state you do not take referrals in.", "not_your_state")
            if mine is not None:
                raise Conflict("You have already answered this referral.", "already_answered")
            contact = AgentContact.of(view.agent)
            offer = Offer(
                referral_id=referral_id,
                agent_npn=npn,
                kind=OfferKind.SAFETY_NET,
                status=OfferStatus.ACCEPTED,
                offered_at=now,
                deadline=now,
                decided_at=now,
                city=referral.place.city,
                county=referral.place.county,
                state=referral.place.state,
                language=referral.language,
            )
            # A safety-net call held no slot; taking the referral holds one for the wrap-up, like any acceptance
            wrap_up = self._waiting.wrap_up(referral_id, now)
            release = SlotRelease(npn, wrap_up=wrap_up) if wrap_up else None
            channels = self._notices.acceptance_channels(accepted, contact)
            event = self._ports.event(actor, "safety_net.accepted", via=via, **channels)
            self._store.accept_safety_net(offer, event, contact, release, after=accepted)
            token = state.task_token
        else:
            if mine is None:
                raise Forbidden("This referral was not offered to you.", "not_your_referral")
            contact = mine.contact or AgentContact.of(self._agents.view(npn).agent)
            channels = self._notices.acceptance_channels(accepted, contact)
            event = self._ports.event(actor, "offer.accepted", via=via, **channels)
            wrap_up = self._waiting.wrap_up(referral_id, now)
            self._decide(mine, OfferStatus.ACCEPTED, ReferralStatus.ACCEPTED, event, now, contact, wrap_up, accepted)
            token = mine.task_token
            if wrap_up is None:
                self._waiting.wake_for(npn)  # no wrap-up: accepting freed the offer's slot
        if token:
            self._wake(referral_id, lambda: self._ports.tokens.accepted(token, npn))
        self._after_acceptance(accepted, contact, channels)
        return accepted

    def _after_acceptance(self, referral: Referral, contact: AgentContact, channels: dict[str, list[str]]) -> None:
        """The acceptance messages (the acceptance itself is the claim: only its winner sends), their outcomes on
        the audit trail when a channel the acceptance's record names (`channels`) did not take one, and the first
        follow-up reminder scheduled (R12)."""
        to_agent, to_consumer = self._notices.accepted(referral, contact)
        events = []
        if went_amiss(to_agent, channels["agent_channels"]):
            events.append(self._ports.event("system", "accepted.notified", agent_npn=contact.npn, **to_agent))
        if went_amiss(to_consumer, channels["consumer_channels"]):
            events.append(self._ports.event("system", "consumer.notified", message="agent_assigned", **to_consumer))
        if referral.accepted_at is not None:
            at = referral.accepted_at + timedelta(seconds=self._ports.policy.follow_up_seconds)
            events += self._ports.schedule_reminder(referral.referral_id, at, FIRST_REMINDER, contact.npn)
        if events:
            self._store.append_events(referral.referral_id, events)

    def reject(self, referral_id: str, npn: str, via: str) -> None:
        """Pass on the referral: it moves at once to the next agent. Never penalised."""
        state = self._store.state_for(referral_id, npn)
        if state is None:
            raise NotFound(f"Referral {referral_id}", "referral_not_found")
        if state.referral.status is ReferralStatus.SAFETY_NET:
            return  # passing on a safety-net call needs no answer
        mine = state.offer_to(npn)
        if mine is None:
            raise Forbidden("This referral was not offered to you.", "not_your_referral")
        event = self._ports.event(f"agent:{npn}", "offer.rejected", via=via)
        self._decide(mine, OfferStatus.REJECTED, ReferralStatus.SEARCHING, event, self._ports.clock.now())
        if mine.task_token:
            token = mine.task_token
            self._wake(referral_id, lambda: self._ports.tokens.rejected(token))
        self._waiting.wake_for(npn)  # the agent's slot is free: a referral waiting for them gets it

    @staticmethod
    def _wake(referral_id: str, wake: Callable[[], None]) -> None:
        """Wake the execution waiting on the answered offer. The answer is already stored, so a wake-up call Step
        Functions keeps refusing fails nothing: when its window ends, the waiting execution's lapse reads the
        answer (accepted: it ends; rejected: the next round)."""
        try:
            wake()
        except DependencyFailed as exc:
            logger.error("workflow not woken", extra={"referral_id": referral_id, "error": str(exc)})

    def _decide(
        self,
        mine: OfferRecord,
        to: OfferStatus,
        referral_to: ReferralStatus,
        event: AuditEvent,
        now: datetime,
        contact: AgentContact | None = None,
        wrap_up: Slot | None = None,
        after: Referral | None = None,
    ) -> None:
        """The agent's answer to their own offer: one conditional write, while it is pending and before its
        deadline, that also frees the offer's slot (and holds the wrap-up's). An offer already closed (answered, or
        lapsed) changes nothing and the agent is told why. `after`: the referral as the answer leaves it."""
        offer = mine.offer
        release = SlotRelease(offer.agent_npn, offer=offer_slot(offer), wrap_up=wrap_up)
        try:
            self._store.decide_offer(
                offer.referral_id,
                offer.agent_npn,
                to=to,
                at=now,
                before_deadline=True,
                referral_to=referral_to,
                event=event,
                contact=contact,
                release=release,
                after=after,
            )
        except Conflict:
            raise Conflict(*_closed(offer, now)) from None

    def set_status(
        self,
        referral_id: str,
        npn: str,
        target: ReferralStatus,
        reason: NotGoodReason | None = None,
        outcome: CompletedOutcome | None = None,
    ) -> Referral:
        """The accepting agent reports progress (R8): In Progress, Not a Good Referral (reason), Completed (outcome)."""
        referral = self._ports.referral(referral_id)
        if referral.accepted_by != npn:
            raise Forbidden("Only the agent who accepted this referral can update it.", "not_accepted_by_you")
        check_agent_move(referral.status, target, reason, outcome)
        try:
            self._move(referral, npn, target, reason, outcome)
        except Conflict as exc:
            raise Conflict(exc.message, "referral_moved_on") from None
        if referral.status is ReferralStatus.ACCEPTED and referral.accepted_at is not None:
            # The agent has called the consumer: the wrap-up ends, and their slot can take the next referral
            self._waiting.end_wrap_up(referral_id, npn, referral.accepted_at)
        return self._ports.referral(referral_id)

    def _move(
        self,
        referral: Referral,
        npn: str,
        target: ReferralStatus,
        reason: NotGoodReason | None,
        outcome: CompletedOutcome | None,
    ) -> None:
        """The progress report's one conditional write with its audit event (a Conflict when the referral moved)."""
        referral_id = referral.referral_id
        self._store.move_referral(
            referral_id,
            expected=[referral.status],
            to=target,
            at=self._ports.clock.now(),
            accepted_by_must_be=npn,
            extra={
                "not_good_reason": reason.value if reason else None,
                "outcome": outcome.value if outcome else None,
            },
            event=self._ports.event(
                f"agent:{npn}",
                "referral.status",
                status=target.value,
                reason=reason.value if reason else None,
                outcome=outcome.value if outcome else None,
            ),
            conflict="The referral changed at the same time; reload and try again.",
        )


def _closed(offer: Offer, now: datetime) -> tuple[str, Reason]:
    """Why an answer to `offer` (as read before the answer's write failed) found it closed, and that reason's key."""
    status = offer.status
    if status is OfferStatus.ACCEPTED:
        return "You have already accepted this referral.", "already_accepted"
    if status is OfferStatus.REJECTED:
        return "You have already rejected this referral.", "already_rejected"
    if status is OfferStatus.MISSED or now >= offer.deadline:
        return "This offer expired: the referral has gone to the next available agent.", "offer_expired"
    return "This offer is no longer open.", "offer_closed"
