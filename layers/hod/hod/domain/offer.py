"""Offers to agents and the referral's life after acceptance (R6, R8): statuses and the legal moves between them.

A referral is offered to one agent at a time (a *direct* offer with a deadline) or, when nobody qualifies, to every
participating agent licensed in the state at once (the *safety net*). Exactly one agent can accept; from then on the
referral's status is that agent's to move: In Progress, Not a Good Referral (with a reason) or Referral Completed
(with an outcome).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from hod.domain.agent import Agent
from hod.domain.referral import ReferralStatus
from hod.errors import Conflict


class OfferKind(StrEnum):
    DIRECT = "direct"
    SAFETY_NET = "safety_net"


class OfferStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MISSED = "missed"  # not answered within the offer window ("Missed Referral" / "Expired")
    TAKEN = "taken"  # a safety-net call another agent answered first, or that lapsed


class NotGoodReason(StrEnum):
    WRONG_CONTACT_DETAILS = "wrong_contact_details"
    ALREADY_HAS_BROKER = "already_has_broker"
    UNREACHABLE_AFTER_THREE_ATTEMPTS = "unreachable_after_three_attempts"


class CompletedOutcome(StrEnum):
    SELECTED_MARKETPLACE_QHP = "selected_marketplace_qhp"
    REFERRED_TO_MEDICAID = "referred_to_medicaid"
    REFERRED_TO_NAVIGATOR_ASSISTER = "referred_to_navigator_assister"
    OTHER = "other"


class Offer(BaseModel):
    """One agent's offer of one referral. Carries where the consumer is, never who they are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    referral_id: str
    agent_npn: str
    kind: OfferKind
    status: OfferStatus
    offered_at: datetime
    deadline: datetime
    city: str
    county: str
    state: str
    language: str
    distance_km: float | None = None
    decided_at: datetime | None = None
    available_until: datetime | None = None
    """When the agent's availability ended, as the index said when the offer was made (None: not known)."""
    delivered: bool = True
    """False when no channel delivered the offer to the agent."""

    def open_at(self, now: datetime) -> bool:
        return self.status is OfferStatus.PENDING and now < self.deadline

    @property
    def window_end(self) -> datetime:
        """When the offer stopped being open: its deadline, or its decision if that came first (the workflow's
        timer starts when the Offer task does, a moment before the offer is recorded with its deadline, so an offer
        lapses a moment before its recorded deadline)."""
        return min(self.deadline, self.decided_at) if self.decided_at is not None else self.deadline

    @property
    def answerable(self) -> bool:
        """Whether the agent could have answered it: it reached them, and they were available for its whole window."""
        return self.delivered and (self.available_until is None or self.available_until >= self.deadline)


def countable_misses(offers: Iterable[Offer]) -> int:
    """The missed direct offers that count towards suspension (R9): only those the agent could have answered, and
    offers whose windows overlapped count once (one absence, not one per offer that arrived during it)."""
    misses = sorted(
        (o for o in offers if o.kind is OfferKind.DIRECT and o.status is OfferStatus.MISSED and o.answerable),
        key=lambda o: o.offered_at,
    )
    count = 0
    window_end: datetime | None = None
    for offer in misses:
        if window_end is None or offer.offered_at >= window_end:
            count += 1
            window_end = offer.window_end
        else:
            window_end = max(window_end, offer.window_end)
    return count


class AgentContact(BaseModel):
    """How to reach the agent an offer went to. Copied onto the offer when it is made, and onto the referral when
    it is accepted, so answering the offer and the reminders after it need no second read of the agent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    npn: str
    first_name: str
    last_name: str
    email: str
    phone: str  # the office number the consumer is given
    text_phone: str
    language: str
    channels: tuple[str, ...]
    devices: tuple[tuple[str, str], ...] = ()  # (platform, token)
    time_zone: str

    @classmethod
    def of(cls, agent: Agent) -> AgentContact:
        return cls(
            npn=agent.npn,
            first_name=agent.record.first_name,
            last_name=agent.record.last_name,
            email=agent.record.email,
            phone=agent.record.phone,
            text_phone=agent.text_phone,
            language=agent.message_language,
            channels=tuple(sorted(agent.contact_method.channels)),
            devices=tuple((device.platform, device.token) for device in agent.devices),
            time_zone=agent.time_zone,
        )


# Moves the accepting agent may make, and what each needs.
_AGENT_MOVES: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.ACCEPTED: frozenset(
        {ReferralStatus.IN_PROGRESS, ReferralStatus.NOT_A_GOOD_REFERRAL, ReferralStatus.COMPLETED}
    ),
    ReferralStatus.IN_PROGRESS: frozenset({ReferralStatus.NOT_A_GOOD_REFERRAL, ReferralStatus.COMPLETED}),
}

AGENT_STATUSES = frozenset({ReferralStatus.IN_PROGRESS, ReferralStatus.NOT_A_GOOD_REFERRAL, ReferralStatus.COMPLETED})


def check_agent_move(
    current: ReferralStatus,
    target: ReferralStatus,
    reason: NotGoodReason | None,
    outcome: CompletedOutcome | None,
) -> None:
    """Raise Conflict unless the accepting agent may move the referral from `current` to `target`."""
    if target not in AGENT_STATUSES:
        raise Conflict(f"An agent cannot set a referral to {target.value}.", "status_not_allowed")
    if target not in _AGENT_MOVES.get(current, frozenset()):
        raise Conflict(
            f"A referral that is {current.value.replace('_', ' ')} cannot become {target.value.replace('_', ' ')}.",
            "status_not_allowed",
        )
    if target is ReferralStatus.NOT_A_GOOD_REFERRAL and reason is None:
        raise Conflict("Not a Good Referral needs a reason.", "reason_needed")
    if target is ReferralStatus.COMPLETED and outcome is None:
        raise Conflict("Referral Completed needs an outcome.", "outcome_needed")
    if target is not ReferralStatus.NOT_A_GOOD_REFERRAL and reason is not None:
        raise Conflict("A reason goes only with Not a Good Referral.", "reason_not_allowed")
    if target is not ReferralStatus.COMPLETED and outcome is not None:
        raise Conflict("An outcome goes only with Referral Completed.", "outcome_not_allowed")
