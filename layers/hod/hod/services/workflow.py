"""The referral workflow's decisions (R5–R10). The state machine calls these as tasks; agents call them through
signed links and the portal. Each decision is one conditional write in the store, so every race has one winner."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal, Protocol

from hod.domain.agent import Agent
from hod.domain.offer import (
    CompletedOutcome,
    NotGoodReason,
    Offer,
    OfferKind,
    OfferStatus,
    check_agent_move,
)
from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from hod.errors import Conflict, Forbidden, NotFound
from hod.messages import language_name
from hod.ports import Clock, WorkflowStore
from hod.services.agents import AgentService
from hod.services.matching import MatchingService
from hod.services.notifier import Notifier, Recipient

logger = logging.getLogger(__name__)

OFFER_LINK = "offer"
SAFETY_NET_LINK = "safety-net"
ACCEPTED_STATES = frozenset(
    {ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, ReferralStatus.NOT_A_GOOD_REFERRAL, ReferralStatus.COMPLETED}
)
Next = Literal["offer", "safety_net", "match", "done"]
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
    window_seconds: int = 1
    follow_up_seconds: int = 900

    def as_dict(self) -> dict[str, Any]:
        return {
            "next": self.next,
            "agent_npn": self.agent_npn,
            "window_seconds": self.window_seconds,
            "follow_up_seconds": self.follow_up_seconds,
        }


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
    ) -> None:
        self._store = store
        self._agents = agents
        self._matching = matching
        self._callbacks = callbacks
        self._notifier = notifier
        self._clock = clock
        self._policy = policy
        self._link = link  # (purpose, referral_id, npn, expires) -> URL of the signed link page

    def _event(self, actor: str, action: str, **detail: Any) -> AuditEvent:
        return AuditEvent(at=self._clock.now(), actor=actor, action=action, detail=detail)

    def _referral(self, referral_id: str) -> Referral:
        referral = self._store.get(referral_id)
        if referral is None:
            raise NotFound(f"Referral {referral_id}")
        return referral

    # ----- the state machine's tasks ------------------------------------------------------------------------------
    def next_step(self, referral_id: str) -> Step:
        """Match task (see `_next_step`), carrying the follow-up delay the workflow waits after an acceptance."""
        step = self._next_step(referral_id)
        return Step(step.next, step.agent_npn, step.window_seconds, self._policy.follow_up_seconds)

    def _next_step(self, referral_id: str) -> Step:
        """Match task: offer the referral to the closest qualifying agent not yet offered it, else open the safety
        net, else (after the last safety-net round) close it as unserved."""
        referral = self._referral(referral_id)
        now = self._clock.now()
        if referral.status is ReferralStatus.OFFERED:  # a retried task: the offer was already recorded
            pending = [o for o in self._store.offers(referral_id) if o.status is OfferStatus.PENDING]
            if pending:
                left = int((pending[0].deadline - now).total_seconds())
                return Step("offer", pending[0].agent_npn, max(1, left))
        if referral.status is ReferralStatus.SAFETY_NET:
            return Step("safety_net", None, self._policy.safety_net_window_seconds)
        if referral.status is not ReferralStatus.SEARCHING:
            return Step("done")
        offered = {offer.agent_npn for offer in self._store.offers(referral_id)}
        found = self._matching.next_agent(referral, exclude=offered)
        if found.entry is not None:
            window = self._policy.offer_window_seconds
            offer = Offer(
                referral_id=referral_id,
                agent_npn=found.entry.npn,
                kind=OfferKind.DIRECT,
                status=OfferStatus.PENDING,
                offered_at=now,
                deadline=now + timedelta(seconds=window),
                city=referral.place.city,
                county=referral.place.county,
                state=referral.place.state,
                language=referral.language,
                distance_km=round(found.distance_km or 0.0, 3),
            )
            self._store.record_offer(
                offer,
                self._event(
                    "system",
                    "offer.made",
                    agent_npn=offer.agent_npn,
                    distance_km=offer.distance_km,
                    deadline=offer.deadline.isoformat(),
                    items_read=found.items_read,
                    already_offered=len(offered),
                ),
            )
            return Step("offer", offer.agent_npn, window)
        round_number = referral.safety_net_round + 1
        if round_number > self._policy.safety_net_rounds:
            self._store.move_referral(
                referral_id,
                expected=[ReferralStatus.SEARCHING],
                to=ReferralStatus.UNSERVED,
                at=now,
                event=self._event("system", "referral.unserved", safety_net_rounds=referral.safety_net_round),
            )
            logger.warning("referral unserved", extra={"referral_id": referral_id})
            return Step("done")
        self._store.move_referral(
            referral_id,
            expected=[ReferralStatus.SEARCHING],
            to=ReferralStatus.SAFETY_NET,
            at=now,
            extra={"safety_net_round": round_number},
            event=self._event("system", "safety_net.opened", round=round_number, already_offered=len(offered)),
        )
        return Step("safety_net", None, self._policy.safety_net_window_seconds)

    def remind(self, referral_id: str, after_minutes: int) -> dict[str, Any]:
        """Follow-up task (R12): remind the accepting agent when no progress is recorded since the acceptance."""
        referral = self._referral(referral_id)
        if referral.status is not ReferralStatus.ACCEPTED or referral.accepted_by is None:
            return {"reminded": False, "status": referral.status.value}
        agent = self._agents.view(referral.accepted_by).agent
        consumer = referral.consumer
        recipient = agent_recipient(agent, channels=frozenset({"email", "text"}) & agent.contact_method.channels)
        values = {
            "consumer_name": f"{consumer.first_name} {consumer.last_name}",
            "consumer_phone": consumer.phone,
            "after_minutes": str(after_minutes),
        }
        key = f"reminder:{after_minutes}"
        outcomes = self._notifier.send(referral_id, key, recipient, "reminder", values)
        self._store.append_events(
            referral_id,
            [self._event("system", "agent.reminded", agent_npn=agent.npn, after_minutes=after_minutes, **outcomes)],
        )
        return {"reminded": True, "outcomes": outcomes}

    def deliver_offer(self, referral_id: str, npn: str, task_token: str) -> dict[str, Any]:
        """Offer task: keep the workflow's token on the offer, then tell the agent."""
        if not self._store.attach_token(referral_id, npn, task_token):
            found = self._store.offer(referral_id, npn)
            decided = found[0].status if found else None
            if decided is OfferStatus.ACCEPTED:
                self._callbacks.success(task_token, {"accepted_by": npn})
            else:
                self._callbacks.failure(task_token, "Rejected", f"offer {decided}")
            return {"delivered": False, "status": str(decided)}
        found = self._store.offer(referral_id, npn)
        if found is None:
            raise NotFound(f"Offer of {referral_id} to {npn}")
        offer = found[0]
        agent = self._agents.view(npn).agent
        recipient = agent_recipient(agent)
        values = {
            "city": offer.city,
            "county": offer.county,
            "state": offer.state,
            "deadline": local_time(offer.deadline, agent.availability.zone),
            "link": self._link(OFFER_LINK, referral_id, npn, offer.deadline + LINK_VIEWABLE),
            "language_name": language_name(offer.language, recipient.language),
        }
        outcomes = self._notifier.send(referral_id, f"offer:{npn}", recipient, "offer", values)
        self._store.append_events(referral_id, [self._event("system", "offer.notified", agent_npn=npn, **outcomes)])
        return {"delivered": "sent" in outcomes.values(), "outcomes": outcomes}

    def acknowledge(self, referral_id: str) -> dict[str, Any]:
        """Tell the consumer, in their language, that the request arrived and an agent will contact them."""
        referral = self._referral(referral_id)
        consumer = referral.consumer
        values = {"first_name": consumer.first_name, "consumer_phone": consumer.phone}
        outcomes = self._notifier.send(
            referral_id, "received", consumer_recipient(referral), "consumer_received", values
        )
        self._store.append_events(referral_id, [self._event("system", "consumer.notified", **outcomes)])
        return {"outcomes": outcomes}

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
        referral = self._referral(referral_id)
        if referral.safety_net_round != 1:
            return {"sent": 0}
        passed = {offer.agent_npn for offer in self._store.offers(referral_id)}
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

    def offer_lapsed(self, referral_id: str, npn: str) -> Step:
        """OfferLapsed task: the window closed. Mark the offer missed unless an answer got there first."""
        now = self._clock.now()
        try:
            self._store.decide_offer(
                referral_id,
                npn,
                to=OfferStatus.MISSED,
                at=now,
                before_deadline=False,
                referral_to=ReferralStatus.SEARCHING,
                event=self._event("system", "offer.missed", agent_npn=npn),
            )
        except Conflict:
            found = self._store.offer(referral_id, npn)
            return Step("done" if found and found[0].status is OfferStatus.ACCEPTED else "match")
        self._after_miss(referral_id, npn)
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
        referral = self._referral(referral_id)
        if referral.accepted_by == npn and referral.status in ACCEPTED_STATES:
            return referral  # a repeated click: already theirs, nothing changes
        now = self._clock.now()
        actor = f"agent:{npn}"
        if safety_net_call and referral.status is not ReferralStatus.SAFETY_NET:
            if referral.status in ACCEPTED_STATES:
                raise Conflict("Another agent has already taken this referral.")
            raise Conflict("This referral is no longer waiting for an agent.")
        if referral.status is ReferralStatus.SAFETY_NET:
            view = self._agents.view(npn)
            if referral.place.state not in view.offer_states:
                raise Forbidden("This referral is for a state you do not take referrals in.")
            if self._store.offer(referral_id, npn) is not None:
                raise Conflict("You have already answered this referral.")
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
            self._store.accept_safety_net(offer, self._event(actor, "safety_net.accepted", via=via))
            token = self._store.safety_net_token(referral_id)
        else:
            found = self._store.offer(referral_id, npn)
            if found is None:
                raise Forbidden("This referral was not offered to you.")
            offer, token = found
            try:
                self._store.decide_offer(
                    referral_id,
                    npn,
                    to=OfferStatus.ACCEPTED,
                    at=now,
                    before_deadline=True,
                    referral_to=ReferralStatus.ACCEPTED,
                    event=self._event(actor, "offer.accepted", via=via),
                )
            except Conflict:
                raise Conflict(self._closed_message(referral_id, npn, now)) from None
        if token:
            self._callbacks.success(token, {"accepted_by": npn})
        accepted = self._referral(referral_id)
        self._announce_acceptance(accepted, npn)
        return accepted

    def _announce_acceptance(self, referral: Referral, npn: str) -> None:
        """The consumer's details to the accepting agent; the agent's name and number to the consumer."""
        agent = self._agents.view(npn).agent
        consumer = referral.consumer
        agent_channels = frozenset({"email", "text"}) & agent.contact_method.channels
        recipient = agent_recipient(agent, channels=agent_channels)
        agent_values = {
            "consumer_name": f"{consumer.first_name} {consumer.last_name}",
            "consumer_phone": consumer.phone,
            "consumer_email": consumer.email or "—",
            "city": referral.place.city,
            "county": referral.place.county,
            "state": referral.place.state,
            "language_name": language_name(referral.language, recipient.language),
        }
        to_agent = self._notifier.send(referral.referral_id, f"accepted:{npn}", recipient, "accepted", agent_values)
        consumer_values = {
            "first_name": consumer.first_name,
            "agent_name": f"{agent.record.first_name} {agent.record.last_name}",
            "agent_phone": agent.record.phone,
        }
        to_consumer = self._notifier.send(
            referral.referral_id,
            "agent_assigned",
            consumer_recipient(referral),
            "consumer_agent_assigned",
            consumer_values,
        )
        self._store.append_events(
            referral.referral_id,
            [
                self._event("system", "accepted.notified", agent_npn=npn, **to_agent),
                self._event("system", "consumer.notified", message="agent_assigned", **to_consumer),
            ],
        )

    def reject(self, referral_id: str, npn: str, via: str) -> None:
        """Pass on the referral: it moves at once to the next agent. Never penalised."""
        referral = self._referral(referral_id)
        if referral.status is ReferralStatus.SAFETY_NET:
            return  # passing on a safety-net call needs no answer
        found = self._store.offer(referral_id, npn)
        if found is None:
            raise Forbidden("This referral was not offered to you.")
        _, token = found
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
            raise Conflict(self._closed_message(referral_id, npn, now)) from None
        if token:
            self._callbacks.failure(token, "Rejected", "rejected by the agent")

    def _closed_message(self, referral_id: str, npn: str, now: datetime) -> str:
        found = self._store.offer(referral_id, npn)
        status = found[0].status if found else None
        if status is OfferStatus.ACCEPTED:
            return "You have already accepted this referral."
        if status is OfferStatus.REJECTED:
            return "You have already rejected this referral."
        if status is OfferStatus.MISSED or (found and now >= found[0].deadline):
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

    def _after_miss(self, referral_id: str, npn: str) -> None:
        """Tell the agent about the missed referral and apply the suspension policy (R9)."""
        try:
            agent = self._agents.view(npn).agent
        except NotFound:
            return  # the agent was removed meanwhile
        missed = self.missed_recently(npn)
        found = self._store.offer(referral_id, npn)
        place = {"city": found[0].city, "state": found[0].state} if found else {"city": "", "state": ""}
        recipient = agent_recipient(agent, channels=frozenset({"email"}))
        values = {**place, "missed_count": str(missed)}
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
