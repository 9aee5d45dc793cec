"""Every message the service sends, rendered from the templates in hod/templates/<language>.json.

A template has a subject, plain text and HTML (e-mail), and optionally `sms` and `push_title`/`push_body`; a message
kind without an `sms` entry is never texted. Values are inserted with ${name}; in HTML they are escaped. Languages
without templates fall back to English.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from importlib import resources
from string import Template

from hod.domain.languages import LANGUAGES, SPANISH_NAMES

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Message:
    kind: str
    language: str
    subject: str
    text: str
    html: str
    sms: str | None = None
    push_title: str | None = None
    push_body: str | None = None
    push_link: str | None = None  # what an app push opens: the message's link, when it has one


@functools.cache
def _templates(language: str) -> dict[str, dict[str, str]]:
    path = resources.files("hod") / "templates" / f"{language}.json"
    if not path.is_file():
        return {}
    data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def template_languages() -> list[str]:
    return [code for code in LANGUAGES if _templates(code)]


def _fill(template: str, values: Mapping[str, str], kind: str, field: str) -> str:
    try:
        return Template(template).substitute(values)
    except KeyError as missing:
        raise ValueError(f"message {kind}.{field} needs a value for {missing}") from None


_US_PHONE = re.compile(r"\+1(\d{3})(\d{3})(\d{4})")
# A county's kind, as the ZIP directory names it, in Spanish: "Travis County" reads "condado de Travis"
_COUNTY_KINDS_ES = {
    "County": "condado",
    "Parish": "parroquia",
    "Borough": "distrito",
    "City and Borough": "ciudad y distrito",
    "Census Area": "área censal",
    "Municipality": "municipio",
}
_COUNTY_ES = re.compile(r"(.+) (" + "|".join(sorted(_COUNTY_KINDS_ES, key=len, reverse=True)) + r")")
# US time zones by abbreviation, as Spanish speakers in the US name them
_ZONES_ES = {
    "EST": "hora del Este",
    "EDT": "hora del Este",
    "CST": "hora del Centro",
    "CDT": "hora del Centro",
    "MST": "hora de la Montaña",
    "MDT": "hora de la Montaña",
    "PST": "hora del Pacífico",
    "PDT": "hora del Pacífico",
    "AKST": "hora de Alaska",
    "AKDT": "hora de Alaska",
    "HST": "hora de Hawái",
    "AST": "hora del Atlántico",
    "ChST": "hora de Chamorro",
    "SST": "hora de Samoa",
}


def local_time(moment: datetime, zone: tzinfo, language: str = DEFAULT_LANGUAGE) -> str:
    """A time read at a glance, in the reader's zone: "3:45 PM CST"; in Spanish "3:45 p. m. (hora del Centro)"."""
    local = moment.astimezone(zone)
    hour = local.strftime("%I").lstrip("0")
    if language == "es":
        abbreviation = local.tzname() or ""
        period = "a. m." if local.hour < 12 else "p. m."
        return f"{hour}:{local:%M} {period} ({_ZONES_ES.get(abbreviation, abbreviation)})"
    return f"{hour}:{local:%M %p %Z}"


def display_phone(value: str) -> str:
    """A US number as people write it, (512) 555-0188; any other value as it is."""
    phone = _US_PHONE.fullmatch(value)
    return f"({phone[1]}) {phone[2]}-{phone[3]}" if phone else value


def _for_display(values: Mapping[str, str], language: str) -> dict[str, str]:
    """Values as a reader expects them: US phone numbers as (512) 555-0188; in Spanish, "condado de Travis"."""
    shown = dict(values)
    for name, value in values.items():
        if name.endswith("_phone"):
            shown[name] = display_phone(value)
        elif name == "county":
            shown[name] = display_county(value, language)
    return shown


def channels_of(kind: str, language: str) -> frozenset[str]:
    """The channels message `kind` has content for in `language` (or English): e-mail always, a text when it has an
    `sms` entry, an app push when it has a `push_title`."""
    chosen = language if kind in _templates(language) else DEFAULT_LANGUAGE
    entry = _templates(chosen).get(kind)
    if entry is None:
        raise ValueError(f"no template for message {kind!r}")
    return frozenset(
        {"email"} | ({"text"} if "sms" in entry else set()) | ({"app"} if "push_title" in entry else set())
    )


def display_county(value: str, language: str) -> str:
    """A county as a reader of `language` writes it: "Travis County"; in Spanish "condado de Travis"."""
    county = _COUNTY_ES.fullmatch(value) if language == "es" else None
    return f"{_COUNTY_KINDS_ES[county[2]]} de {county[1]}" if county else value


def county_kinds(language: str) -> dict[str, str]:
    """The words for a kind of county ("County", "Parish") in `language`, for pages that name counties themselves."""
    return dict(_COUNTY_KINDS_ES) if language == "es" else {}


def render(kind: str, language: str, values: Mapping[str, str]) -> Message:
    """The message `kind` in `language` (or English), with `values` filled in as a reader expects them (phone
    numbers, county names)."""
    chosen = language if kind in _templates(language) else DEFAULT_LANGUAGE
    entry = _templates(chosen).get(kind)
    if entry is None:
        raise ValueError(f"no template for message {kind!r}")
    values = _for_display(values, chosen)
    escaped = {name: html.escape(value) for name, value in values.items()}

    def optional(field: str) -> str | None:
        return _fill(entry[field], values, kind, field) if field in entry else None

    return Message(
        kind=kind,
        language=chosen,
        subject=_fill(entry["subject"], values, kind, "subject"),
        text=_fill(entry["text"], values, kind, "text"),
        html=_fill(entry["html"], escaped, kind, "html"),
        sms=optional("sms"),
        push_title=optional("push_title"),
        push_body=optional("push_body"),
        push_link=values.get("link") if "push_title" in entry else None,
    )


def language_name(code: str, in_language: str) -> str:
    """A language's name for a message written in `in_language`: its Spanish name in Spanish messages ("chino"),
    its English name otherwise."""
    english, _own = LANGUAGES.get(code, (code, code))
    return SPANISH_NAMES.get(code, english) if in_language == "es" else english


def bulk_template(kind: str, language: str, values: Mapping[str, str], personal: tuple[str, ...]) -> Message:
    """The message `kind` for SES bulk sending: `values` filled in, and each name in `personal` (a value that differs
    per recipient) left as an SES placeholder — `{{name}}` in the subject and text, `{{name_html}}` in the HTML, as
    SES inserts values unescaped. Each recipient's values then come from `bulk_data`."""
    marks = {name: f"\x00{name}\x00" for name in personal}
    message = render(kind, language, {**values, **marks})
    parts = (message.subject, message.text, message.html)
    if any("{{" in part for part in parts):
        raise ValueError(f"message {kind} contains '{{{{', which SES would read as a placeholder")

    def place(part: str, suffix: str) -> str:
        for name, mark in marks.items():
            part = part.replace(mark, "{{" + name + suffix + "}}")
        return part

    return Message(
        kind=kind,
        language=message.language,
        subject=place(message.subject, ""),
        text=place(message.text, ""),
        html=place(message.html, "_html"),
    )


def bulk_data(values: Mapping[str, str]) -> dict[str, str]:
    """One recipient's values for a `bulk_template`: each as given, and escaped for the HTML part."""
    return {**values, **{f"{name}_html": html.escape(value) for name, value in values.items()}}
