"""The consumer's status page, rendered for each stage in the consumer's language (hod/web/status.html and
status.json); its script only reloads it when the JSON twin says the request moved on."""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from html import escape
from importlib import resources
from string import Template
from zoneinfo import ZoneInfo

from hod.messages import local_time
from hod.services.status import CALL_CENTER_PHONE, CALL_CENTER_SITES, CALL_CENTER_TTY, Stage, StatusView

_US_PHONE = re.compile(r"\+1(\d{3})(\d{3})(\d{4})")


@functools.cache
def _read(name: str) -> str:
    return (resources.files("hod") / "web" / name).read_text(encoding="utf-8")


@functools.cache
def texts(language: str) -> dict[str, str]:
    found: dict[str, dict[str, str]] = json.loads(_read("status.json"))
    return found.get(language, found["en"])


def display_phone(phone: str) -> str:
    """A US number as people read it: +15125550188 → (512) 555-0188."""
    found = _US_PHONE.fullmatch(phone)
    return f"({found[1]}) {found[2]}-{found[3]}" if found else phone


def version(view: StatusView) -> str:
    """What the page shows changes only when this does (the script compares it with the JSON twin's)."""
    return (
        f"{view.stage}|{view.updated_at.isoformat()}|{int(view.can_report_not_called)}|{int(view.not_called_reported)}"
    )


def at(moment: datetime | None, view: StatusView) -> str:
    """A moment in the consumer's time zone (their ZIP code's), in their language: "3:45 PM CST"."""
    if moment is None:
        return ""
    return local_time(moment, ZoneInfo(view.time_zone), view.language if view.language in ("en", "es") else "en")


def call_center(language: str) -> str:
    text = texts(language)
    site = (
        f'<a href="{CALL_CENTER_SITES.get(language, CALL_CENTER_SITES["en"])}">{escape(text["call_center_site"])}</a>'
    )
    phone = f'<a href="tel:{CALL_CENTER_PHONE}">{CALL_CENTER_PHONE}</a>'
    tty = f'<a href="tel:{CALL_CENTER_TTY}">{CALL_CENTER_TTY}</a>'
    return f'<p id="call-center">{escape(text["call_center"]).format(phone=phone, tty=tty, site=site)}</p>'


def _p(text: str, css: str = "", element_id: str = "") -> str:
    attributes = (f' class="{css}"' if css else "") + (f' id="{element_id}"' if element_id else "")
    return f"<p{attributes}>{text}</p>"


def _agent_box(view: StatusView, text: dict[str, str]) -> str:
    agent = escape(view.agent_first_name or "")
    phone = view.agent_phone or ""
    by = escape(at(view.contact_by, view))
    line = escape(text["accepted"]).format(agent=f"<b>{agent}</b>", contact_by=f'<b id="contact-by">{by}</b>')
    link = f'<a id="agent-phone" href="tel:{escape(phone)}">{escape(display_phone(phone))}</a>'
    call = f"{escape(text['agent_phone'])} {link}"
    return f'<div class="alert success" id="agent">{_p(line)}{_p(call)}</div>'


def _not_called(view: StatusView, token: str, text: dict[str, str]) -> str:
    agent = escape(view.agent_first_name or "")
    if view.not_called_reported:
        return _p(escape(text["not_called_done"]).format(agent=agent), "alert info", "not-called-done")
    if not view.can_report_not_called:
        return _p(escape(text["not_called_wait"]).format(contact_by=escape(at(view.contact_by, view))), "muted")
    return (
        f"<h2>{escape(text['not_called_question'])}</h2>"
        '<form method="post" action="status">'
        f'<input type="hidden" name="t" value="{escape(token)}">'
        f'<button type="submit" id="not-called">{escape(text["not_called_button"])}</button></form>'
    )


def _body(view: StatusView, token: str, text: dict[str, str], language: str) -> str:
    agent = f"<b>{escape(view.agent_first_name or '')}</b>"
    stage = view.stage
    if stage is Stage.SEARCHING:
        return _p(escape(text["searching"]), "lead")
    if stage is Stage.SAFETY_NET and view.safety_net is not None:
        times = view.safety_net
        asked = escape(text["safety_net"]).format(asked_at=f"<b>{escape(at(times.asked_at, view))}</b>")
        when = escape(text["safety_net_when"]).format(
            next_search=f"<b>{escape(at(times.next_search_at, view))}</b>",
            until=f"<b>{escape(at(times.tries_until, view))}</b>",
        )
        return f'<div class="alert warning" id="after-hours">{_p(asked)}{_p(when)}</div>{call_center(language)}'
    if stage is Stage.ACCEPTED:
        return _agent_box(view, text) + _not_called(view, token, text)
    if stage in (Stage.IN_PROGRESS, Stage.COMPLETED):
        return _p(escape(text[stage.value]).format(agent=agent), "lead")
    return _p(escape(text[stage.value]), "lead") + call_center(language)


def status_page(view: StatusView, token: str, language: str, notice: str = "") -> str:
    """The page for `view`, in `language` (one of the page languages); `notice`: a key of status.json to show
    above it (the answer to the page's button)."""
    text = texts(language)
    heading = text[f"{view.stage.value}_title"]
    shown = ""
    if notice:
        shown = _p(escape(text[notice]).format(contact_by=escape(at(view.contact_by, view))), "alert info", "notice")
    return Template(_read("status.html")).substitute(
        lang=language,
        title=escape(text["title"]),
        heading=escape(heading),
        body=shown + _body(view, token, text, language),
        updates=escape(text["updates"]),
        token=escape(token),
        version=escape(version(view)),
    )


def refusal_page(language: str, kind: str) -> str:
    """A link that is not valid (kind "invalid"), expired ("expired") or whose request is gone ("not_found")."""
    text = texts(language)
    return Template(_read("status.html")).substitute(
        lang=language,
        title=escape(text["title"]),
        heading=escape(text[f"{kind}_title"]),
        body=_p(escape(text[kind])) + call_center(language),
        updates="",
        token="",
        version="",
    )
