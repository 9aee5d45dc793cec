"""The signed links in offer and safety-net notifications: what the page a link opens shows (opening it never
changes anything), and the answers its buttons post.

A link travels in an e-mail or a text and may be forwarded, so once its agent has accepted it shows the consumer's
name and contact details only for DETAILS_BY_LINK after the acceptance (the answer to Accept, a reload); then it
says where to find them: the portal, signed in as that agent (R7)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from hod.domain.offer import AgentContact, Offer, OfferStatus
from hod.domain.referral import Referral, ReferralStatus
from hod.errors import Forbidden, NotFound
from hod.ports.common import Clock
from hod.ports.workflow import ReferralState
from hod.services.workflow.notices import OFFER_LINK, SAFETY_NET_LINK
from hod.signing import Claims

LINK_PURPOSES = (OFFER_LINK, SAFETY_NET_LINK)
DETAILS_BY_LINK = timedelta(minutes=10)


class LinkVerifier(Protocol):
    def link(self, token: str | None, purposes: Collection[str]) -> Claims: ...


class LinkStates(Protocol):
    def state_for(self, referral_id: str, npn: str) -> ReferralState | None: ...


class Answers(Protocol):
    """The agent's answers to an offer (the referral workflow's)."""

    def accept(self, referral_id: str, npn: str, via: str, safety_net_call: bool = False) -> Referral: ...

    def reject(self, referral_id: str, npn: str, via: str) -> None: ...


class Shown(StrEnum):
    """What a link's page shows."""

    ACCEPTED = "accepted"  # this agent accepted, minutes ago: the consumer's details
    ACCEPTED_EARLIER = "accepted_earlier"  # this agent accepted longer ago: the details are in the portal
    OFFER = "offer"  # an open offer to this agent: Accept and Reject buttons
    SAFETY_NET = "safety_net"  # an open safety-net call: an Accept button
    TAKEN = "taken"  # a safety-net call another agent answered first
    CLOSED = "closed"  # a safety-net call no longer waiting for an agent
    REJECTED = "rejected"  # this agent rejected the offer
    MISSED = "missed"  # the offer's window passed


@dataclass(frozen=True)
class LinkPage:
    shown: Shown
    referral: Referral
    offer: Offer | None = None
    now: datetime | None = None
    contact: AgentContact | None = None  # the link's agent as the offer keeps them: language, time zone


class LinkPages:
    def __init__(self, links: LinkVerifier, states: LinkStates, clock: Clock) -> None:
        self._links = links
        self._states = states
        self._clock = clock

    def page(self, token: str | None) -> LinkPage:
        """What the link's page shows its agent now; an invalid link, another agent's referral or an unknown one
        raise (Unauthorized, Forbidden, NotFound)."""
        claims = self._links.link(token, LINK_PURPOSES)
        npn = claims.subject
        state = self._states.state_for(claims.resource, npn)  # the referral and this agent's offer, one read
        if state is None:
            raise NotFound("This referral", "referral_not_found")
        referral = state.referral
        mine = state.offer_to(npn)
        if referral.accepted_by == npn:
            return accepted_page(referral, self._clock.now(), state.contact or (mine.contact if mine else None))
        if claims.purpose == SAFETY_NET_LINK and mine is None:
            if referral.status is ReferralStatus.SAFETY_NET:
                return LinkPage(Shown.SAFETY_NET, referral)
            return LinkPage(Shown.TAKEN if referral.accepted_by else Shown.CLOSED, referral)
        if mine is None:
            raise Forbidden("This referral was not offered to you.", "not_your_referral")
        offer, now = mine.offer, self._clock.now()
        if offer.open_at(now):
            return LinkPage(Shown.OFFER, referral, offer, now, mine.contact)
        if offer.status is OfferStatus.REJECTED:
            return LinkPage(Shown.REJECTED, referral, offer, now, mine.contact)
        return LinkPage(Shown.MISSED, referral, offer, now, mine.contact)


def accepted_page(referral: Referral, now: datetime, contact: AgentContact | None = None) -> LinkPage:
    """The page of a link whose agent accepted: the consumer's details only in the minutes after the acceptance."""
    recent = referral.accepted_at is not None and now - referral.accepted_at < DETAILS_BY_LINK
    return LinkPage(Shown.ACCEPTED if recent else Shown.ACCEPTED_EARLIER, referral, contact=contact)


class LinkAnswers:
    def __init__(self, links: LinkVerifier, answers: Answers, clock: Clock) -> None:
        self._links = links
        self._answers = answers
        self._clock = clock

    def accept(self, token: str | None) -> LinkPage:
        """Accept the link's referral; the page to show (a replay after DETAILS_BY_LINK shows no details)."""
        claims = self._links.link(token, LINK_PURPOSES)
        referral = self._answers.accept(
            claims.resource, claims.subject, via="link", safety_net_call=claims.purpose == SAFETY_NET_LINK
        )
        return accepted_page(referral, self._clock.now())

    def reject(self, token: str | None) -> None:
        claims = self._links.link(token, LINK_PURPOSES)
        self._answers.reject(claims.resource, claims.subject, via="link")
