"""The referral workflow's decisions (R5–R10). The state machine calls these as tasks; agents call them through
signed links and the portal. Each decision is one conditional write in the store, so every race has one winner."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from hod.domain.agent import Agent
from hod.domain.offer import (
    AgentContact,
    CompletedOutcome,
    NotGoodReason,
    Offer,
    OfferKind,
    OfferStatus,
    check_agent_move,
)
from hod.domain.referral import AuditEvent, Place, Referral, ReferralStatus, WorkflowStart
from hod.errors import ConfigurationError, Conflict, DependencyFailed, Forbidden, NotFound
from hod.logs import get_logger
from hod.messages import language_name
from hod.ports import Clock, ReferralState, Reminders, WorkflowStore
from hod.services.agents import AgentService
from hod.services.matching import MatchingService
from hod.services.notifier import Notifier, Recipient

logger = get_logger(__name__)

OFFER_LINK = "offer"
SAFETY_NET_LINK = "safety-net"
ACCEPTED_STATES = frozenset(
    {ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, ReferralStatus.NOT_A_GOOD_REFERRAL, ReferralStatus.COMPLETED}
)
Next = Literal["offer", "safety_net", "match", "done", "failed"]
TIMEOUT = "States.Timeout"
# How long a link keeps showing its referral (acceptance itself is limited by the offer's deadline).
LINK_VIEWABLE = timedelta(days=1)


class Callbacks(Protocol):
    def success(self, token: str, output: dict[str, Any]) -> bool: ...

    def failure(self, token: str, error: str, cause: str = "") -> bool: ...


@dataclass(frozen=True)
class WorkflowPolicy:
    offer_window_seconds: int = 900
    follow_up_seconds: int = 900  # R12: remind the accepting agent at 15 and 30 minutes without progress
    safety_net_window_seconds: int = 1800
    safety_net_rounds: int = 24
    suspend_after_missed: int = 5  # missed offers in the last 7 days; 0 = never suspend
    missed_window: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Step:
    next: Next
    agent_npn: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"next": self.next, "agent_npn": self.agent_npn, "outcomes": self.outcomes}


# R12: the agent should contact the consumer within 15 minutes of accepting, never later than 30. The reminders'
# labels; their delay is WorkflowPolicy.follow_up_seconds (15 minutes in production), then twice that.
FIRST_REMINDER = 15
SECOND_REMINDER = 30

# What the Offer task's callback tells the state machine when the round does not end in an offer.
SAFETY_NET_ERROR = "SafetyNet"
REJECTED_ERROR = "Rejected"


class WorkflowService:
    def __init__(
        self,
        store: WorkflowStore,
        agents: AgentService,
        matching: MatchingService,
        callbacks: Callbacks,
        notifier: Notifier,
        clock: Clock,
        policy: WorkflowPolicy,
        link: Callable[[str, str, str, datetime], str],
        reminders: Reminders | None = None,
        shorten: Callable[[str, datetime], str] | None = None,
    ) -> None:
        self._shorten = shorten  # (url, expires) -> a short URL for text messages
        self._store = store
        self._agents = agents
        self._matching = matching
        self._callbacks = callbacks
        self._notifier = notifier
        self._clock = clock
        self._policy = policy
        self._link = link  # (purpose, referral_id, npn, expires) -> URL of the signed link page
        self._reminders = reminders

    def _event(self, actor: str, action: str, **detail: Any) -> AuditEvent:
        return AuditEvent(at=self._clock.now(), actor=actor, action=action, detail=detail)

    def _referral(self, referral_id: str) -> Referral:
        referral = self._store.get(referral_id)
        if referral is None:
            raise NotFound(f"Referral {referral_id}")
        return referral

    def _state(self, referral_id: str) -> ReferralState:
        found = self._store.state(referral_id)
        if found is None:
            raise NotFound(f"Referral {referral_id}")
        return found

    # ----- the state machine's tasks ------------------------------------------------------------------------------
    def offer_round(self, execution_state: Mapping[str, Any], task_token: str, execution: str = "") -> Step:
        """Offer task, one per round: the closest qualifying agent not offered this referral before gets a pending
        offer, recorded with the workflow's task token, and is told at once; the workflow then waits on the token
        for the agent's answer or the window's end. Nobody qualifies: the safety net opens (the token is failed
        with SafetyNet); after the last safety-net round the referral is closed as unserved (token succeeds).

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
        state = self._state(referral_id)
        referral = state.referral
        pending = state.pending
        if referral.status is ReferralStatus.OFFERED and pending is not None:
            # A retried task: the offer was recorded (and sent, at most once) by the attempt before; wait on it
            if self._store.attach_token(referral_id, pending.offer.agent_npn, task_token):
                channels = pending.contact.channels if pending.contact else ("email",)
                return Step("offer", pending.offer.agent_npn, dict.fromkeys(channels, "duplicate"))
            state = self._state(referral_id)  # answered in between
            referral = state.referral
        if referral.status in ACCEPTED_STATES:
            self._callbacks.success(task_token, {"accepted_by": referral.accepted_by})
            return Step("done")
        if referral.status is ReferralStatus.SAFETY_NET:
            self._callbacks.failure(task_token, SAFETY_NET_ERROR, f"round {referral.safety_net_round}")
            return Step("safety_net")
        if referral.status is not ReferralStatus.SEARCHING:
            self._callbacks.success(task_token, {"status": referral.status.value})
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
        now = self._clock.now()
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
        window = self._policy.offer_window_seconds
        offer = Offer(
            referral_id=referral_id,
            agent_npn=agent.npn,
            kind=OfferKind.DIRECT,
            status=OfferStatus.PENDING,
            offered_at=now,
            deadline=now + timedelta(seconds=window),
            city=place.city,
            county=place.county,
            state=place.state,
            language=language,
            distance_km=round(found.distance_km or 0.0, 3),
        )
        contact = AgentContact.of(agent)
        made = self._event(
            "system",
            "offer.made",
            agent_npn=offer.agent_npn,
            distance_km=offer.distance_km,
            deadline=offer.deadline.isoformat(),
            items_read=found.items_read,
            already_offered=len(offered),
        )
        self._store.record_offer(offer, task_token, contact, [*opening, made])
        recipient = contact_recipient(contact)
        expires = offer.deadline + LINK_VIEWABLE
        link = self._link(OFFER_LINK, referral_id, agent.npn, expires)
        texted = "text" in recipient.channels and recipient.phone and self._shorten is not None
        values = {
            "city": offer.city,
            "county": offer.county,
            "state": offer.state,
            "deadline": local_time(offer.deadline, ZoneInfo(contact.time_zone)),
            "link": link,
            # a text keeps to one or two SMS segments with a short link (one more write, only for texted offers)
            "text_link": self._shorten(link, expires) if texted and self._shorten else link,
            "language_name": language_name(offer.language, recipient.language),
        }
        outcomes = self._notifier.send(referral_id, f"offer:{agent.npn}", recipient, "offer", values, claim=False)
        self._store.append_events(
            referral_id, [self._event("system", "offer.notified", agent_npn=agent.npn, **outcomes)]
        )
        return Step("offer", agent.npn, dict(outcomes))

    def _nobody(
        self, referral_id: str, safety_net_round: int, offered: int, task_token: str, opening: list[AuditEvent]
    ) -> Step:
        """Nobody qualifies now: open a safety-net round, or after the last one close the referral as unserved."""
        now = self._clock.now()
        round_number = safety_net_round + 1
        if round_number > self._policy.safety_net_rounds:
            self._store.move_referral(
                referral_id,
                expected=[ReferralStatus.SEARCHING],
                to=ReferralStatus.UNSERVED,
                at=now,
                extra={"needs_start": None},
                event=self._event("system", "referral.unserved", safety_net_rounds=safety_net_round),
                also=opening,
            )
            logger.warning("referral unserved", extra={"referral_id": referral_id})
            self._callbacks.success(task_token, {"status": ReferralStatus.UNSERVED.value})
            return Step("done")
        self._store.move_referral(
            referral_id,
            expected=[ReferralStatus.SEARCHING],
            to=ReferralStatus.SAFETY_NET,
            at=now,
            extra={"safety_net_round": round_number, "needs_start": None},
            event=self._event("system", "safety_net.opened", round=round_number, already_offered=offered),
            also=opening,
        )
        self._callbacks.failure(task_token, SAFETY_NET_ERROR, f"round {round_number}")
        return Step("safety_net")

    def remind(self, referral_id: str, after_minutes: int) -> dict[str, Any]:
        """Follow-up task (R12), run by a one-off schedule: remind the accepting agent when no progress is recorded
        since the acceptance, and schedule the next reminder (30 minutes after acceptance). One conditional write
        both checks for progress and claims the reminder, so a repeated delivery sends nothing twice."""
        claimed = self._store.claim_reminder(referral_id, f"{after_minutes}")
        if claimed is None or claimed.contact is None:
            return {"reminded": False}
        referral, contact = claimed.referral, claimed.contact
        consumer = referral.consumer
        recipient = contact_recipient(contact, channels=frozenset({"email", "text"}) & frozenset(contact.channels))
        values = {
            "consumer_name": f"{consumer.first_name} {consumer.last_name}",
            "consumer_phone": consumer.phone,
            "after_minutes": str(after_minutes),
        }
        outcomes = self._notifier.send(
            referral_id, f"reminder:{after_minutes}", recipient, "reminder", values, claim=False
        )
        events = [
            self._event("system", "agent.reminded", agent_npn=contact.npn, after_minutes=after_minutes, **outcomes)
        ]
        if after_minutes == FIRST_REMINDER and referral.accepted_at is not None:
            at = referral.accepted_at + 2 * timedelta(seconds=self._policy.follow_up_seconds)
            events += self._schedule_reminder(referral_id, at, SECOND_REMINDER)
        self._store.append_events(referral_id, events)
        return {"reminded": True, "outcomes": outcomes}

    def _schedule_reminder(self, referral_id: str, at: datetime, after_minutes: int) -> list[AuditEvent]:
        """Schedule a reminder; a failure to schedule is recorded, never raised (the acceptance stands)."""
        if self._reminders is None:
            return []
        try:
            self._reminders.schedule(referral_id, after_minutes, at)
        except (DependencyFailed, ConfigurationError) as exc:
            logger.error("reminder not scheduled", extra={"referral_id": referral_id, "error": str(exc)})
            return [self._event("system", "reminder.not_scheduled", after_minutes=after_minutes)]
        return []

    def open_safety_net(self, referral_id: str, task_token: str) -> dict[str, Any]:
        """Safety-net task: keep the token on the referral and, in the first round, e-mail every participating
        agent licensed in the consumer's state (e-mail only), except agents who already passed on it."""
        if not self._store.attach_token(referral_id, None, task_token):
            referral = self._referral(referral_id)
            if referral.status in ACCEPTED_STATES:
                self._callbacks.success(task_token, {"accepted_by": referral.accepted_by})
            else:
                self._callbacks.failure(task_token, "Closed", referral.status.value)
            return {"sent": 0}
        state = self._state(referral_id)
        referral = state.referral
        if referral.safety_net_round != 1:
            return {"sent": 0}
        passed = {record.offer.agent_npn for record in state.offers}
        recipients = [npn for npn in self._agents.roster(referral.place.state) if npn not in passed]
        # Viewable for at least a day, like offer links: whether it can still be accepted is the referral's state.
        rounds = timedelta(seconds=self._policy.safety_net_window_seconds * self._policy.safety_net_rounds)
        expires = self._clock.now() + max(rounds, LINK_VIEWABLE)
        place = referral.place
        tally: dict[str, int] = {}
        for npn in recipients:
            try:
                agent = self._agents.view(npn).agent
            except NotFound:
                continue
            values = {
                "city": place.city,
                "county": place.county,
                "state": place.state,
                "link": self._link(SAFETY_NET_LINK, referral_id, npn, expires),
            }
            # The safety net is e-mail only, whatever the agent's preferred method (R10).
            recipient = agent_recipient(agent, channels=frozenset({"email"}))
            for outcome in self._notifier.send(
                referral_id, f"safety_net:{npn}", recipient, "safety_net", values
            ).values():
                tally[outcome] = tally.get(outcome, 0) + 1
        self._store.append_events(
            referral_id, [self._event("system", "safety_net.notified", recipients=len(recipients), **tally)]
        )
        return {"sent": tally.get("sent", 0), "failed": tally.get("failed", 0)}

    def offer_lapsed(self, referral_id: str, error: str = TIMEOUT) -> Step:
        """OfferLapsed task: the window closed (or the round failed: `error`). Mark the pending offer missed unless
        an answer got there first. A round that failed before making any offer ends the workflow as failed (its
        alarm fires) rather than looping on a failing function."""
        state = self._state(referral_id)
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
            failed = self._event("system", "workflow.round_failed", error=error[:200])
            self._store.mark_round_failed(referral_id, [failed])
            return Step("failed")
        npn = pending.offer.agent_npn
        try:
            self._store.decide_offer(
                referral_id,
                npn,
                to=OfferStatus.MISSED,
                at=self._clock.now(),
                before_deadline=False,
                referral_to=ReferralStatus.SEARCHING,
                event=self._event("system", "offer.missed", agent_npn=npn),
            )
        except Conflict:
            found = self._store.offer(referral_id, npn)
            return Step("done" if found and found[0].status is OfferStatus.ACCEPTED else "match")
        self._after_miss(referral_id, pending.offer)
        return Step("match")

    def safety_net_lapsed(self, referral_id: str) -> Step:
        """SafetyNetLapsed task: nobody answered this round; look for an available agent again."""
        referral = self._referral(referral_id)
        if referral.status is ReferralStatus.SAFETY_NET:
            try:
                self._store.move_referral(
                    referral_id,
                    expected=[ReferralStatus.SAFETY_NET],
                    to=ReferralStatus.SEARCHING,
                    at=self._clock.now(),
                    event=self._event("system", "safety_net.lapsed", round=referral.safety_net_round),
                )
            except Conflict:
                referral = self._referral(referral_id)
            else:
                return Step("match")
        return Step("match" if referral.status is ReferralStatus.SEARCHING else "done")

    # ----- what agents do ------------------------------------------------------------------------------------------
    def accept(self, referral_id: str, npn: str, via: str, safety_net_call: bool = False) -> Referral:
        """Take the referral. Returns it with the consumer's details — for the accepting agent only.
        `safety_net_call`: the agent answers the safety net's e-mail rather than an offer made to them."""
        state = self._store.state_for(referral_id, npn)
        if state is None:
            raise NotFound(f"Referral {referral_id}")
        referral = state.referral
        if referral.accepted_by == npn and referral.status in ACCEPTED_STATES:
            return referral  # a repeated click: already theirs, nothing changes
        now = self._clock.now()
        actor = f"agent:{npn}"
        if safety_net_call and referral.status is not ReferralStatus.SAFETY_NET:
            if referral.status in ACCEPTED_STATES:
                raise Conflict("Another agent has already taken this referral.")
            raise Conflict("This referral is no longer waiting for an agent.")
        mine = state.offer_to(npn)
        if referral.status is ReferralStatus.SAFETY_NET:
            view = self._agents.view(npn)
            if referral.place.state not in view.offer_states:
                raise Forbidden("This referral is for a state you do not take referrals in.")
            if mine is not None:
                raise Conflict("You have already answered this referral.")
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
            self._store.accept_safety_net(offer, self._event(actor, "safety_net.accepted", via=via), contact)
            token = state.task_token
        else:
            if mine is None:
                raise Forbidden("This referral was not offered to you.")
            contact = mine.contact or AgentContact.of(self._agents.view(npn).agent)
            try:
                self._store.decide_offer(
                    referral_id,
                    npn,
                    to=OfferStatus.ACCEPTED,
                    at=now,
                    before_deadline=True,
                    referral_to=ReferralStatus.ACCEPTED,
                    event=self._event(actor, "offer.accepted", via=via),
                    contact=contact,
                )
            except Conflict:
                raise Conflict(self._closed_message(mine.offer, now)) from None
            token = mine.task_token
        if token:
            self._callbacks.success(token, {"accepted_by": npn})
        accepted = referral.model_copy(
            update={"status": ReferralStatus.ACCEPTED, "accepted_by": npn, "accepted_at": now, "updated_at": now}
        )
        self._after_acceptance(accepted, contact)
        return accepted

    def _after_acceptance(self, referral: Referral, contact: AgentContact) -> None:
        """The consumer's details to the accepting agent, the agent's name and number to the consumer, and the
        first follow-up reminder scheduled (R12). The acceptance itself is the claim: only its winner sends."""
        consumer = referral.consumer
        recipient = contact_recipient(contact, channels=frozenset({"email", "text"}) & frozenset(contact.channels))
        agent_values = {
            "consumer_name": f"{consumer.first_name} {consumer.last_name}",
            "consumer_phone": consumer.phone,
            "consumer_email": consumer.email or "—",
            "city": referral.place.city,
            "county": referral.place.county,
            "state": referral.place.state,
            "language_name": language_name(referral.language, recipient.language),
        }
        rid = referral.referral_id
        to_agent = self._notifier.send(rid, f"accepted:{contact.npn}", recipient, "accepted", agent_values, claim=False)
        consumer_values = {
            "first_name": consumer.first_name,
            "agent_name": f"{contact.first_name} {contact.last_name}",
            "agent_phone": contact.phone,
        }
        to_consumer = self._notifier.send(
            rid, "agent_assigned", consumer_recipient(referral), "consumer_agent_assigned", consumer_values, claim=False
        )
        events = [
            self._event("system", "accepted.notified", agent_npn=contact.npn, **to_agent),
            self._event("system", "consumer.notified", message="agent_assigned", **to_consumer),
        ]
        if referral.accepted_at is not None:
            at = referral.accepted_at + timedelta(seconds=self._policy.follow_up_seconds)
            events += self._schedule_reminder(rid, at, FIRST_REMINDER)
        self._store.append_events(rid, events)

    def reject(self, referral_id: str, npn: str, via: str) -> None:
        """Pass on the referral: it moves at once to the next agent. Never penalised."""
        state = self._store.state_for(referral_id, npn)
        if state is None:
            raise NotFound(f"Referral {referral_id}")
        if state.referral.status is ReferralStatus.SAFETY_NET:
            return  # passing on a safety-net call needs no answer
        mine = state.offer_to(npn)
        if mine is None:
            raise Forbidden("This referral was not offered to you.")
        now = self._clock.now()
        try:
            self._store.decide_offer(
                referral_id,
                npn,
                to=OfferStatus.REJECTED,
                at=now,
                before_deadline=True,
                referral_to=ReferralStatus.SEARCHING,
                event=self._event(f"agent:{npn}", "offer.rejected", via=via),
            )
        except Conflict:
            raise Conflict(self._closed_message(mine.offer, now)) from None
        if mine.task_token:
            self._callbacks.failure(mine.task_token, REJECTED_ERROR, "rejected by the agent")

    @staticmethod
    def _closed_message(offer: Offer, now: datetime) -> str:
        """Why an answer to `offer` (as read before the answer's write failed) found it closed."""
        status = offer.status
        if status is OfferStatus.ACCEPTED:
            return "You have already accepted this referral."
        if status is OfferStatus.REJECTED:
            return "You have already rejected this referral."
        if status is OfferStatus.MISSED or now >= offer.deadline:
            return "This offer expired: the referral has gone to the next available agent."
        return "This offer is no longer open."

    def set_status(
        self,
        referral_id: str,
        npn: str,
        target: ReferralStatus,
        reason: NotGoodReason | None = None,
        outcome: CompletedOutcome | None = None,
    ) -> Referral:
        """The accepting agent reports progress (R8): In Progress, Not a Good Referral (reason), Completed (outcome)."""
        referral = self._referral(referral_id)
        if referral.accepted_by != npn:
            raise Forbidden("Only the agent who accepted this referral can update it.")
        check_agent_move(referral.status, target, reason, outcome)
        self._store.move_referral(
            referral_id,
            expected=[referral.status],
            to=target,
            at=self._clock.now(),
            accepted_by_must_be=npn,
            extra={
                "not_good_reason": reason.value if reason else None,
                "outcome": outcome.value if outcome else None,
            },
            event=self._event(
                f"agent:{npn}",
                "referral.status",
                status=target.value,
                reason=reason.value if reason else None,
                outcome=outcome.value if outcome else None,
            ),
            conflict="The referral changed at the same time; reload and try again.",
        )
        return self._referral(referral_id)

    # ----- missed referrals (R9) -----------------------------------------------------------------------------------
    def missed_recently(self, npn: str) -> int:
        since = self._clock.now() - self._policy.missed_window
        return sum(
            1
            for offer in self._store.offers_for_agent(npn, since)
            if offer.kind is OfferKind.DIRECT and offer.status is OfferStatus.MISSED
        )

    def _after_miss(self, referral_id: str, offer: Offer) -> None:
        """Tell the agent about the missed referral and apply the suspension policy (R9)."""
        npn = offer.agent_npn
        try:
            agent = self._agents.view(npn).agent
        except NotFound:
            return  # the agent was removed meanwhile
        missed = self.missed_recently(npn)
        recipient = agent_recipient(agent, channels=frozenset({"email"}))
        values = {"city": offer.city, "state": offer.state, "missed_count": str(missed)}
        self._notifier.send(referral_id, f"missed:{npn}", recipient, "missed", values)
        limit = self._policy.suspend_after_missed
        if not limit or missed < limit or agent.suspended:
            return
        self._agents.suspend(npn, f"missed {missed} referrals in the last 7 days")
        self._notifier.send(
            f"AGENT#{npn}",
            f"suspended:{self._clock.now().date()}",
            recipient,
            "suspended",
            {"missed_count": str(missed)},
        )
        logger.warning("agent suspended", extra={"agent_npn": npn, "missed": missed})


def missed_alert(count: int) -> str | None:
    """The sign-in alert of R9, or None when nothing was missed."""
    if count <= 0:
        return None
    return (
        f"Alert! You have missed {count} referral(s) in the last seven days. As a reminder, you must accept a "
        "referral within 15 minutes of receiving your notification. Missed referrals are sent to the next available "
        "Help On Demand agent or broker."
    )


def agent_recipient(agent: Agent, channels: frozenset[str] | None = None) -> Recipient:
    """An agent as a message recipient: their preferred contact method unless `channels` narrows it."""
    return Recipient(
        label=f"agent:{agent.npn}",
        language=agent.languages[0] if agent.languages else "en",
        channels=agent.contact_method.channels if channels is None else channels,
        email=agent.record.email,
        phone=agent.text_phone,
        devices=tuple((device.platform, device.token) for device in agent.devices),
    )


def contact_recipient(contact: AgentContact, channels: frozenset[str] | None = None) -> Recipient:
    """The agent an offer went to, from the contact details kept on the offer."""
    return Recipient(
        label=f"agent:{contact.npn}",
        language=contact.language,
        channels=frozenset(contact.channels) if channels is None else channels,
        email=contact.email,
        phone=contact.text_phone,
        devices=contact.devices,
    )


def consumer_recipient(referral: Referral) -> Recipient:
    consumer = referral.consumer
    return Recipient(
        label="consumer",
        language=referral.language,
        channels=frozenset({"email", "text"}),
        email=consumer.email,
        phone=consumer.phone,
    )


def local_time(moment: datetime, zone: tzinfo) -> str:
    """ "3:45 PM CST": a time the agent reads at a glance, in their own zone."""
    return moment.astimezone(zone).strftime("%I:%M %p %Z").lstrip("0")
