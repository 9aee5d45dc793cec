"""Every message the service sends, rendered from the templates in hod/templates/<language>.json.

A template has a subject, plain text and HTML (e-mail), and optionally `sms` and `push_title`/`push_body`; a message
kind without an `sms` entry is never texted. Values are inserted with ${name}; in HTML they are escaped. Languages
without templates fall back to English.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from string import Template

from hod.domain.languages import LANGUAGES

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


def render(kind: str, language: str, values: Mapping[str, str]) -> Message:
    """The message `kind` in `language` (or English), with `values` filled in."""
    chosen = language if kind in _templates(language) else DEFAULT_LANGUAGE
    entry = _templates(chosen).get(kind)
    if entry is None:
        raise ValueError(f"no template for message {kind!r}")
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
    )


def language_name(code: str, in_language: str) -> str:
    """A language's name for a message written in `in_language` (its own name in Spanish messages, else English)."""
    english, own = LANGUAGES.get(code, (code, code))
    return own if in_language != "en" else english


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
