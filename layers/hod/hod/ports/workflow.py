"""Ports of the referral workflow: its state in the store (a referral with its offers, and every conditional move
between statuses), the state machine's callbacks, the reminders, and the consumer's "nobody has called me"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hod.domain.capacity import AgentLoad, Waiter
from hod.domain.offer import AgentContact, Offer, OfferStatus
from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from hod.ports.agents import SlotClaim, SlotRelease
from hod.ports.referrals import ReferralStore


@dataclass(frozen=True)
class OfferRecord:
    """An offer as stored: with the workflow's task token and the agent's contact details kept on it."""

    offer: Offer
    task_token: str | None = None
    contact: AgentContact | None = None


@dataclass(frozen=True)
class ReferralState:
    """A referral with its offers (all, or the one asked for), the safety net's task token, the accepting agent's
    contact details, and how it waited for busy agents: what one read of its item collection returns."""

    referral: Referral
    offers: tuple[OfferRecord, ...] = ()
    task_token: str | None = None
    contact: AgentContact | None = None
    queued_since: datetime | None = None
    queue_cycles: int = 0

    def offer_to(self, npn: str) -> OfferRecord | None:
        return next((record for record in self.offers if record.offer.agent_npn == npn), None)

    @property
    def pending(self) -> OfferRecord | None:
        return next((r for r in self.offers if r.offer.status is OfferStatus.PENDING), None)


class WorkflowStore(ReferralStore, Protocol):
    """The referral workflow's state: offers and the conditional moves between statuses (each also writes its
    audit event). A move that lost a race raises Conflict and changes nothing."""

    def offers(self, referral_id: str) -> list[Offer]: ...

    def offer(self, referral_id: str, npn: str) -> tuple[Offer, str | None] | None:
        """The offer and the workflow's task token kept on it."""
        ...

    def state(self, referral_id: str) -> ReferralState | None:
        """The referral and all its offers (one Query)."""
        ...

    def state_for(self, referral_id: str, npn: str) -> ReferralState | None:
        """The referral and the offer to one agent, if any (one BatchGetItem)."""
        ...

    def offers_for_agent(self, npn: str, since: datetime) -> list[Offer]: ...

    def record_offer(
        self,
        offer: Offer,
        task_token: str,
        contact: AgentContact,
        events: Sequence[AuditEvent],
        claim: SlotClaim | None = None,
    ) -> None: ...

    def queue(
        self,
        referral_id: str,
        task_token: str,
        waiter: Waiter,
        busy: Sequence[AgentLoad],
        events: Sequence[AuditEvent],
    ) -> None:
        """The referral waits for busy agents: the Offer task's token kept on it, and the referral listed on each
        agent's load, conditional on the loads as read (an agent who freed a slot meanwhile fails it: Conflict)."""
        ...

    def still_waiting(self, referral_ids: Sequence[str], npn: str) -> set[str]:
        """Which of these referrals still wait for an agent and were never offered to agent `npn`."""
        ...

    def take_queue_token(self, referral_id: str) -> str | None:
        """Claim the waiting referral's token (only while it still waits): the one caller that gets it wakes it."""
        ...

    def mark_undelivered(self, referral_id: str, npn: str, events: Sequence[AuditEvent]) -> None:
        """No channel delivered the offer: its lapse will not count against the agent. One write with `events` (the
        send's outcomes)."""
        ...

    def move_referral(
        self,
        referral_id: str,
        *,
        expected: Sequence[ReferralStatus],
        to: ReferralStatus,
        event: AuditEvent,
        at: datetime,
        accepted_by_must_be: str | None = None,
        extra: dict[str, Any] | None = None,
        conflict: str = ...,
        also: Sequence[AuditEvent] = (),
    ) -> None: ...

    def decide_offer(
        self,
        referral_id: str,
        npn: str,
        *,
        to: OfferStatus,
        at: datetime,
        before_deadline: bool,
        referral_to: ReferralStatus,
        event: AuditEvent,
        contact: AgentContact | None = None,
        release: SlotRelease | None = None,
        after: Referral | None = None,
    ) -> None:
        """`after`: the referral as this write leaves it, when the caller knows it (measured without a read)."""
        ...

    def accept_safety_net(
        self,
        offer: Offer,
        event: AuditEvent,
        contact: AgentContact,
        release: SlotRelease | None = None,
        after: Referral | None = None,
    ) -> None: ...

    def attach_token(self, referral_id: str, npn: str | None, token: str) -> bool: ...

    def claim_reminder(self, referral_id: str, key: str, agent_npn: str | None = None) -> ReferralState | None:
        """Mark reminder `key` as sent, only while the referral is accepted without progress (by `agent_npn`, when
        given: a reminder scheduled for an earlier acceptance is not this one's) and the reminder was not sent
        before; returns the referral and the accepting agent's contact, or None."""
        ...

    def mark_reminder_unscheduled(self, referral_id: str, events: Sequence[AuditEvent]) -> None:
        """Flag an accepted referral whose next reminder could not be scheduled, for the sweep, with the events."""
        ...

    def reminders_unscheduled(self, limit: int) -> list[str]:
        """Referrals flagged by `mark_reminder_unscheduled`."""
        ...

    def claim_unscheduled_reminder(self, referral_id: str) -> bool:
        """Clear a referral's unscheduled-reminder flag: False when another sweep already did."""
        ...


class Callbacks(Protocol):
    """The state machine's waiting tasks, woken by their task token. True when the task was still waiting."""

    def success(self, token: str, output: dict[str, Any]) -> bool: ...

    def failure(self, token: str, error: str, cause: str = "") -> bool: ...


class Reminders(Protocol):
    def schedule(self, referral_id: str, after_minutes: int, at: datetime, agent_npn: str) -> None:
        """Remind `agent_npn`, who accepted the referral, at `at` unless progress is recorded by then or the
        referral is no longer theirs (R12). Raises DependencyFailed."""
        ...


@dataclass(frozen=True)
class NotCalledReport:
    """A consumer's "nobody has called me" as one write records it (hod.services.workflow.not_called): once per
    acceptance (`key`), for an acceptance by `npn` made at or before `accepted_by_then`; with `reassign`, the referral
    goes back to searching in the same write."""

    referral_id: str
    npn: str
    key: str
    at: datetime
    accepted_by_then: datetime
    events: Sequence[AuditEvent]
    reassign: bool
