"""The small pages an agent reaches from a notification link, in the agent's language of pages and messages (kept
on the offer with the agent's contact details; the browser's language when none is known). Opening one (GET)
never changes anything: the answer is a button that POSTs. Consumer details appear only on the page of the agent
who accepted. Every page leads on to the portal, so none is a dead end."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from string import Template
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hod.domain.offer import AgentContact, Offer, OfferStatus
from hod.domain.referral import Referral
from hod.messages import display_county, display_phone, language_name, local_time
from hod.services.offer_links import LinkPage, Shown
from hod.web import PAGE_LANGUAGES, catalogue

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
    "color:#1b1b1b}a{color:#005ea2}"
    "h1{font-size:1.4rem}h2{font-size:1.15rem}"
    ".box{border:1px solid #a9aeb1;border-radius:6px;padding:1rem;margin:1rem 0}"
    "button,.button{font:inherit;font-size:1.1rem;padding:.7rem 1.4rem;margin:.3rem .5rem .3rem 0;border-radius:6px;"
    "border:0;cursor:pointer;display:inline-block;text-decoration:none}"
    ".accept{background:#00713c;color:#fff}.reject{background:#e6e6e6;color:#1b1b1b}"
    ".button{background:#fff;color:#005ea2;border:2px solid #005ea2;font-size:1rem;padding:.5rem 1rem}"
    ".note{color:#454545;font-size:.95rem}.big{font-size:1.25rem}"
)
# R12: the consumer is contacted within 15 minutes of the acceptance, never later than 30
CONTACT_WITHIN = timedelta(minutes=15)
CONTACT_AT_LATEST = timedelta(minutes=30)
_STATUSES = ("in_progress", "not_a_good_referral", "completed")


def _words(language: str) -> dict[str, str]:
    return catalogue("offer")[language if language in PAGE_LANGUAGES else "en"]


def page(title: str, body: str, language: str = "en", script: bool = False) -> str:
    tag = '<script src="../assets/offer.js" defer></script>' if script else ""
    return (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>{escape(title)} — Help On Demand</title><style>{_STYLE}</style>{tag}</head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _where(city: str, county: str, state: str, consumer_language: str, words: dict[str, str], lang: str) -> str:
    spoken = language_name(consumer_language, lang)
    return (
        f'<div class="box"><b>{escape(words["location"])}</b><br>'
        f"{escape(city)}, {escape(display_county(county, lang))}, {escape(state)}"
        f"<br><b>{escape(words['consumer_language'])}:</b> {escape(spoken[:1].upper() + spoken[1:])}</div>"
    )


def _zone(contact: AgentContact | None, posted: str | None = None) -> ZoneInfo | None:
    """The agent's time zone: as the offer keeps it, else as the page that posted the answer sent it (if valid)."""
    name = contact.time_zone if contact is not None else posted
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def clock(moment: datetime, zone: ZoneInfo, language: str) -> str:
    """A clock time as the sentence around it needs it: "3:45 PM CST"; in Spanish with its article, "las 3:45 p. m.
    (hora del Centro)" ("la 1:05 p. m." at one o'clock)."""
    text = local_time(moment, zone, language)
    if language != "es":
        return text
    return ("la " if text.startswith("1:") else "las ") + text


def _clock_element(moment: datetime, zone: ZoneInfo | None, language: str) -> str:
    """The clock time; without the agent's zone, offer.js writes it in the browser's."""
    text = clock(moment, zone, language) if zone is not None else ""
    return f'<b data-clock="{moment.isoformat()}">{escape(text)}</b>'


def _button_form(action: str, token: str, css: str, label: str, language: str, zone: ZoneInfo | None) -> str:
    """A button posting the answer; the page's language and the agent's zone go with it, so the answer's page is
    written the same way without another read."""
    zone_field = f'<input type="hidden" name="tz" value="{escape(zone.key)}">' if zone is not None else ""
    return (
        f'<form method="post" action="{action}"><input type="hidden" name="t" value="{escape(token)}">'
        f'<input type="hidden" name="lang" value="{escape(language)}">{zone_field}'
        f'<button class="{css}" type="submit">{escape(label)}</button></form>'
    )


def _portal_link(words: dict[str, str], key: str = "portal", referral_id: str | None = None) -> str:
    target = "../portal#referrals" if referral_id is None else f"../portal#referral={quote(referral_id, safe='')}"
    return f'<p><a class="button" href="{target}">{escape(words[key])}</a></p>'


def offer_page(offer: Offer, token: str, now: datetime, contact: AgentContact | None, language: str) -> str:
    words = _words(language)
    left = max(0, int((offer.deadline - now).total_seconds()))
    zone = _zone(contact)
    deadline = _clock_element(offer.deadline, zone, language)
    return page(
        words["offer_title"],
        _where(offer.city, offer.county, offer.state, offer.language, words, language)
        + f"<p>{escape(words['time_left'])} "
        + f'<b role="timer" class="big" data-deadline="{offer.deadline.isoformat()}" '
        + f'data-done="{escape(words["time_up"])}">{left // 60} min {left % 60:02d} s</b><br>'
        + Template(escape(words["accept_by"])).substitute(time=deadline)
        + "</p>"
        + _button_form("accept", token, "accept", words["accept"], language, zone)
        + _button_form("reject", token, "reject", words["reject"], language, zone)
        + f'<p class="note">{escape(words["reject_note"])}</p>',
        language,
        script=True,
    )


def safety_net_page(referral: Referral, token: str, language: str) -> str:
    words = _words(language)
    place = referral.place
    return page(
        words["safety_net_title"],
        _where(place.city, place.county, place.state, referral.language, words, language)
        + f"<p>{escape(words['safety_net_text'])}</p>"
        + _button_form("accept", token, "accept", words["accept"], language, None)
        + f'<p class="note">{escape(words["safety_net_note"])}</p>',
        language,
    )


def accepted_page(referral: Referral, contact: AgentContact | None, language: str, posted_zone: str | None) -> str:
    words = _words(language)
    consumer = referral.consumer
    email = (
        f'<br>{escape(words["email"])}: <a href="mailto:{escape(consumer.email)}">{escape(consumer.email)}</a>'
        if consumer.email
        else ""
    )
    accepted = referral.accepted_at or referral.updated_at
    zone = _zone(contact, posted_zone)
    contact_by = Template(escape(words["contact_by"])).substitute(
        soon=_clock_element(accepted + CONTACT_WITHIN, zone, language),
        latest=_clock_element(accepted + CONTACT_AT_LATEST, zone, language),
    )
    statuses = "".join(
        f'<a class="button" href="../portal#referral={quote(referral.referral_id, safe="")}&amp;status={status}">'
        f"{escape(words[status])}</a>"
        for status in _STATUSES
    )
    return page(
        words["accepted_title"],
        f'<div class="box"><b class="big">{escape(consumer.first_name)} {escape(consumer.last_name)}</b><br>'
        f'{escape(words["phone"])}: <a class="big" href="tel:{escape(consumer.phone)}">'
        f"{escape(display_phone(consumer.phone))}</a>{email}</div>"
        + _where(referral.place.city, referral.place.county, referral.place.state, referral.language, words, language)
        + f"<p>{contact_by} {escape(words['attempts'])}</p>"
        + f"<h2>{escape(words['status_title'])}</h2><p>{statuses}</p>"
        + f'<p class="note">{escape(words["status_why"])}</p>'
        + _portal_link(words, "open_portal", referral.referral_id),
        language,
        script=zone is None,
    )


def closed_page(title: str, message: str, language: str = "en", portal: bool = False) -> str:
    link = _portal_link(_words(language)) if portal else ""
    return page(title, f"<p>{escape(message)}</p>{link}", language)


_CLOSED: dict[Shown, tuple[str, str]] = {
    Shown.ACCEPTED_EARLIER: ("accepted_title", "accepted_earlier"),
    Shown.TAKEN: ("taken_title", "taken"),
    Shown.CLOSED: ("closed_title", "closed"),
    Shown.REJECTED: ("rejected_title", "rejected"),
    Shown.MISSED: ("missed_title", "missed"),
}


def reader_language(contact: AgentContact | None, browser: str) -> str:
    """The agent's language of pages and messages when the link knows it, else the browser's (`browser`)."""
    chosen = contact.language if contact is not None else None
    return chosen if chosen in PAGE_LANGUAGES else browser


def link_page(shown: LinkPage, token: str, browser_language: str = "en", posted_zone: str | None = None) -> str:
    """The page a signed link opens (or its answer: `posted_zone` the zone the answered page sent); its buttons post
    `token` back."""
    language = reader_language(shown.contact, browser_language)
    if shown.shown is Shown.ACCEPTED:
        return accepted_page(shown.referral, shown.contact, language, posted_zone)
    if shown.shown is Shown.SAFETY_NET:
        return safety_net_page(shown.referral, token, language)
    if shown.shown is Shown.OFFER and shown.offer is not None and shown.now is not None:
        return offer_page(shown.offer, token, shown.now, shown.contact, language)
    title, message = _CLOSED[shown.shown]
    words = _words(language)
    return closed_page(words[title], words[message], language, portal=True)


def rejected_page(language: str) -> str:
    words = _words(language)
    return closed_page(words["rejected_title"], words["rejected_now"], language, portal=True)


def status_title(status: OfferStatus) -> str:
    return {
        OfferStatus.MISSED: "Missed Referral",
        OfferStatus.REJECTED: "Referral rejected",
        OfferStatus.TAKEN: "Referral taken",
        OfferStatus.ACCEPTED: "Referral accepted",
        OfferStatus.PENDING: "Referral",
    }[status]
