"""The consumer's status page: where their request stands, reached by a signed link in the receipt (R1's receipt,
R12's contact-by time). Opening it never changes anything; it shows nothing the consumer did not enter except the
accepting agent's first name and business phone.

The link's token is signed for the purpose "status" and the referral alone (no agent, no consumer detail), valid
for STATUS_LINK_LIFETIME: long enough for R12's half hour and a follow-up weeks later."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from hod.domain.referral import Referral, ReferralStatus
from hod.errors import NotFound
from hod.ports.common import Clock
from hod.ports.links import PublicSite, ShortLink
from hod.ports.workflow import ReferralState
from hod.services.notifier import Notifier
from hod.services.workflow.notices import consumer_recipient
from hod.signing import Claims

STATUS_LINK = "status"
STATUS_LINK_LIFETIME = timedelta(days=30)
CONSUMER = "consumer"  # the token's subject: a status link stands for no person
# What "nobody has called me" records on the referral, once per acceptance (hod.services.workflow.not_called)
NOT_CALLED_KEY = "not_called:{npn}"
# The Marketplace Call Center, named wherever no agent can help now (HealthCare.gov; CuidadoDeSalud.gov in Spanish)
CALL_CENTER_PHONE = "1-800-318-2596"
CALL_CENTER_TTY = "1-855-889-4325"
CALL_CENTER_SITES = {"en": "https://www.healthcare.gov/", "es": "https://www.cuidadodesalud.gov/es/"}
# What a refused "nobody has called me" says (hod.services.workflow.not_called), and the page's words for it
NOT_YET = "The agent still has time to call you; you can tell us after the time shown."
ALREADY = "You have already told us; we have reminded the agent."


class Stage(StrEnum):
    """Where the request stands, as the consumer is told."""

    SEARCHING = "searching"  # matching, or an offer open to an agent
    SAFETY_NET = "safety_net"  # nobody available now: every agent licensed in the state was asked
    ACCEPTED = "accepted"  # an agent has it and will call
    IN_PROGRESS = "in_progress"  # the agent recorded that they reached the consumer
    COMPLETED = "completed"
    CLOSED = "closed"  # Not a Good Referral
    UNSERVED = "unserved"  # nobody accepted in time: the Call Center


_STAGES = {
    ReferralStatus.SEARCHING: Stage.SEARCHING,
    ReferralStatus.OFFERED: Stage.SEARCHING,
    ReferralStatus.SAFETY_NET: Stage.SAFETY_NET,
    ReferralStatus.ACCEPTED: Stage.ACCEPTED,
    ReferralStatus.IN_PROGRESS: Stage.IN_PROGRESS,
    ReferralStatus.COMPLETED: Stage.COMPLETED,
    ReferralStatus.NOT_A_GOOD_REFERRAL: Stage.CLOSED,
    ReferralStatus.UNSERVED: Stage.UNSERVED,
}


class Signer(Protocol):
    def issue(self, purpose: str, subject: str, ttl: timedelta, resource: str = "") -> str: ...

    def link(self, token: str | None, purposes: Collection[str]) -> Claims: ...


class ConsumerStates(Protocol):
    def consumer_state(self, referral_id: str) -> tuple[ReferralState, frozenset[str]] | None: ...


class StatusLinks:
    """The status link of a referral, and the referral a link names (Unauthorized when it is not a valid one)."""

    def __init__(self, signer: Signer, site: PublicSite) -> None:
        self._signer = signer
        self._site = site

    def token(self, referral_id: str) -> str:
        return self._signer.issue(STATUS_LINK, CONSUMER, STATUS_LINK_LIFETIME, resource=referral_id)

    def url(self, referral_id: str, token: str | None = None) -> str:
        return f"{self._site.public_base_url}/status?t={token or self.token(referral_id)}"

    def referral_id(self, token: str | None) -> str:
        return self._signer.link(token, (STATUS_LINK,)).resource


class ShortLinkDrawer(Protocol):
    def draw(self, target: str, expires: datetime) -> ShortLink: ...

    def url(self, link: ShortLink) -> str: ...


@dataclass(frozen=True)
class ReceiptLinks:
    """The receipt's status link, and the short link standing for it in the text (stored with the referral)."""

    status: str
    short: ShortLink


class ConsumerReceipt:
    """The consumer's receipt (sent once, by the intake call that stored the referral) with their status link: the
    signed link in the e-mail, a short link standing for it in the text message (one SMS segment less than three).
    The links are made before the referral is stored (`links`) and the short one stored in the same write, so the
    receipt costs no call of its own before the workflow starts."""

    def __init__(self, notifier: Notifier, links: StatusLinks, short_links: ShortLinkDrawer, clock: Clock) -> None:
        self._notifier = notifier
        self._links = links
        self._short_links = short_links
        self._clock = clock

    def links(self, referral_id: str) -> ReceiptLinks:
        status = self._links.url(referral_id)
        return ReceiptLinks(status, self._short_links.draw(status, self._clock.now() + STATUS_LINK_LIFETIME))

    def __call__(self, referral: Referral, links: ReceiptLinks) -> dict[str, str]:
        consumer = referral.consumer
        rid = referral.referral_id
        values = {
            "first_name": consumer.first_name,
            "consumer_phone": consumer.phone,
            "code": referral.shown_code,
            "status_link": links.status,
            "text_status_link": self._short_links.url(links.short),
        }
        recipient = consumer_recipient(referral)
        return dict(
            self._notifier.send(rid, "received", recipient, "consumer_received", values, claim=False, trail=rid)
        )


@dataclass(frozen=True)
class SafetyNetTimes:
    """When a referral in the safety net was last offered to every agent of its state, when matching runs again
    (an agent whose hours start meanwhile gets an offer), and until when it keeps trying."""

    asked_at: datetime
    next_search_at: datetime
    tries_until: datetime


@dataclass(frozen=True)
class StatusView:
    referral_id: str
    stage: Stage
    language: str
    state: str
    time_zone: str
    updated_at: datetime
    matched: bool = False  # an agent available now was offered the request, or has it
    agent_first_name: str | None = None
    agent_phone: str | None = None
    contact_by: datetime | None = None
    not_called_reported: bool = False
    can_report_not_called: bool = False
    safety_net: SafetyNetTimes | None = None


@dataclass(frozen=True)
class StatusTimes:
    """The workflow's durations the page's promises come from (the template's parameters)."""

    follow_up_seconds: int = 900  # R12: the contact-by time is this long after the acceptance
    safety_net_window_seconds: int = 1800
    safety_net_rounds: int = 24


def contact_by(referral: Referral, follow_up_seconds: int) -> datetime | None:
    """R12: when the accepting agent should have called (the first follow-up reminder's time)."""
    if referral.accepted_at is None:
        return None
    return referral.accepted_at + timedelta(seconds=follow_up_seconds)


def safety_net_times(referral: Referral, times: StatusTimes) -> SafetyNetTimes:
    """From what the referral stores: its current safety-net round opened at its last update (`safety_net.opened`
    moves it), each round lasts the window, and after the last round it is closed."""
    window = timedelta(seconds=times.safety_net_window_seconds)
    opened = referral.updated_at
    rounds_left = max(1, times.safety_net_rounds - referral.safety_net_round + 1)
    return SafetyNetTimes(asked_at=opened, next_search_at=opened + window, tries_until=opened + rounds_left * window)


def status_view(state: ReferralState, follow_ups: frozenset[str], now: datetime, times: StatusTimes) -> StatusView:
    referral, contact = state.referral, state.contact
    stage = _STAGES[referral.status]
    view = StatusView(
        referral_id=referral.referral_id,
        stage=stage,
        language=referral.language,
        state=referral.place.state,
        time_zone=referral.place.time_zone,
        updated_at=referral.updated_at,
        matched=referral.status is ReferralStatus.OFFERED or referral.accepted_by is not None,
    )
    if stage is Stage.SAFETY_NET:
        return replace(view, safety_net=safety_net_times(referral, times))
    if referral.accepted_by is None or contact is None:
        return view
    due = contact_by(referral, times.follow_up_seconds)
    reported = NOT_CALLED_KEY.format(npn=referral.accepted_by) in follow_ups
    return replace(
        view,
        agent_first_name=contact.first_name,
        agent_phone=contact.phone,
        contact_by=due,
        not_called_reported=reported,
        can_report_not_called=stage is Stage.ACCEPTED and not reported and due is not None and now >= due,
    )


class ConsumerStatus:
    def __init__(self, links: StatusLinks, states: ConsumerStates, clock: Clock, times: StatusTimes) -> None:
        self._links = links
        self._states = states
        self._clock = clock
        self._times = times

    def view(self, token: str | None) -> StatusView:
        """Where the link's referral stands now (one read); Unauthorized for a bad or expired link."""
        return self.of(self._links.referral_id(token))

    def of(self, referral_id: str) -> StatusView:
        found = self._states.consumer_state(referral_id)
        if found is None:
            raise NotFound("This request")
        return status_view(*found, self._clock.now(), self._times)
