"""The small pages an agent reaches from a notification link. Opening one (GET) never changes anything: the
answer is a button that POSTs. Consumer details appear only on the page of the agent who accepted."""

from __future__ import annotations

from datetime import datetime
from html import escape

from hod.domain.offer import Offer, OfferStatus
from hod.domain.referral import Referral
from hod.services.offer_links import LinkPage, Shown

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
    "color:#1b1b1b}"
    "h1{font-size:1.4rem}.box{border:1px solid #a9aeb1;border-radius:6px;padding:1rem;margin:1rem 0}"
    "button{font-size:1.1rem;padding:.7rem 1.4rem;margin:.3rem .5rem .3rem 0;border-radius:6px;border:0;cursor:pointer}"
    ".accept{background:#00713c;color:#fff}.reject{background:#e6e6e6;color:#1b1b1b}"
    ".note{color:#454545;font-size:.95rem}"
)


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>{escape(title)} — Help On Demand</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _where(city: str, county: str, state: str) -> str:
    return f'<div class="box"><b>Consumer location</b><br>{escape(city)}, {escape(county)}, {escape(state)}</div>'


def offer_page(offer: Offer, token: str, now: datetime, kind_label: str) -> str:
    minutes = max(0, int((offer.deadline - now).total_seconds() // 60))
    seconds = max(0, int((offer.deadline - now).total_seconds() % 60))
    form = (
        f'<form method="post" action="accept"><input type="hidden" name="t" value="{escape(token)}">'
        '<button class="accept" type="submit">Accept</button></form>'
        f'<form method="post" action="reject"><input type="hidden" name="t" value="{escape(token)}">'
        '<button class="reject" type="submit">Reject</button></form>'
    )
    return page(
        kind_label,
        _where(offer.city, offer.county, offer.state)
        + f'<p>Time left to answer: <b data-deadline="{offer.deadline.isoformat()}">'
        + f"{minutes} min {seconds:02d} s</b></p>"
        + form
        + '<p class="note">Rejecting is never penalised: the consumer goes at once to the next available agent.</p>',
    )


def safety_net_page(referral: Referral, token: str) -> str:
    place = referral.place
    return page(
        "A consumer needs help now",
        _where(place.city, place.county, place.state)
        + "<p>No agent is available near this consumer. The first agent to accept gets the referral.</p>"
        f'<form method="post" action="accept"><input type="hidden" name="t" value="{escape(token)}">'
        '<button class="accept" type="submit">Accept</button></form>'
        '<p class="note">There is no penalty for not answering.</p>',
    )


def accepted_page(referral: Referral) -> str:
    consumer = referral.consumer
    email = f"<br>E-mail: {escape(consumer.email)}" if consumer.email else ""
    return page(
        "Referral accepted",
        f'<div class="box"><b>{escape(consumer.first_name)} {escape(consumer.last_name)}</b><br>'
        f"Phone: {escape(consumer.phone)}{email}<br>"
        f"{escape(referral.place.city)}, {escape(referral.place.county)}, {escape(referral.place.state)} · "
        f"language: {escape(referral.language)}</div>"
        "<p>Please contact the consumer within 15 minutes (never later than 30). Make three attempts before "
        "marking the referral Not a Good Referral.</p>",
    )


def closed_page(title: str, message: str) -> str:
    return page(title, f"<p>{escape(message)}</p>")


_CLOSED: dict[Shown, tuple[str, str]] = {
    Shown.ACCEPTED_EARLIER: (
        "Referral accepted",
        "You accepted this referral. The consumer's name and contact details are in the portal, under Manage "
        "Referrals, once you sign in.",
    ),
    Shown.TAKEN: ("Referral taken", "Another agent has already accepted this referral."),
    Shown.CLOSED: ("No longer open", "This referral is no longer waiting for an agent."),
    Shown.REJECTED: ("Referral rejected", "You rejected this referral; it went to the next agent."),
    Shown.MISSED: (
        "Missed Referral",
        "Expired: this referral was not accepted within 15 minutes and has gone to the next available agent.",
    ),
}


def link_page(shown: LinkPage, token: str) -> str:
    """The page a signed link opens; its buttons post `token` back."""
    if shown.shown is Shown.ACCEPTED:
        return accepted_page(shown.referral)
    if shown.shown is Shown.SAFETY_NET:
        return safety_net_page(shown.referral, token)
    if shown.shown is Shown.OFFER and shown.offer is not None and shown.now is not None:
        return offer_page(shown.offer, token, shown.now, "New referral")
    return closed_page(*_CLOSED[shown.shown])


def status_title(status: OfferStatus) -> str:
    return {
        OfferStatus.MISSED: "Missed Referral",
        OfferStatus.REJECTED: "Referral rejected",
        OfferStatus.TAKEN: "Referral taken",
        OfferStatus.ACCEPTED: "Referral accepted",
        OfferStatus.PENDING: "Referral",
    }[status]
