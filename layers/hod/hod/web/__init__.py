"""The web pages: the consumer's "Get Contacted" form, the agent portal and the administrator's console.

Plain HTML, CSS and JavaScript in this folder, with no build step, served by the same Chalice app as the API.
Pages use relative URLs only, so they work under API Gateway's stage path (``/v1/portal``) and on the local stack
alike. Scripts are files (never inline), so the pages' Content-Security-Policy allows scripts from 'self' only.
"""

from __future__ import annotations

import functools
import json
import re
from html import escape
from importlib import resources
from string import Template
from typing import get_args

from hod.domain.agent import PageLanguage
from hod.domain.languages import LANGUAGES, SPANISH_NAMES, preferred_language

CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
}
_ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\.(css|js|svg)")
PAGE_LANGUAGES: tuple[str, ...] = get_args(PageLanguage)


@functools.cache
def _read(name: str) -> str:
    return (resources.files("hod") / "web" / name).read_text(encoding="utf-8")


def asset(name: str) -> tuple[str, str] | None:
    """The text and content type of a static file (a stylesheet or script of this folder), or None. Only a short
    plain name is looked for: nothing else reaches the file system (a 300-character name would fail there)."""
    if not _ASSET_NAME.fullmatch(name):
        return None
    suffix = name[name.rfind(".") :]
    path = resources.files("hod") / "web" / name
    if not path.is_file():
        return None
    return _read(name), CONTENT_TYPES[suffix]


@functools.cache
def catalogue(name: str) -> dict[str, dict[str, str]]:
    """A page's words in each of PAGE_LANGUAGES (``consumer``, ``portal``, ``offer``): hod/web/<name>.json."""
    data: dict[str, dict[str, str]] = json.loads(_read(f"{name}.json"))
    return data


def page_language(requested: str | None, accept_language: str | None) -> str:
    """The page's language: ``?lang=`` when it is one we have, else the one of ours the browser prefers most (its
    q-values honoured), else English."""
    if requested and requested.strip().lower() in PAGE_LANGUAGES:
        return requested.strip().lower()
    return preferred_language(accept_language, PAGE_LANGUAGES) or "en"


@functools.cache
def consumer_page(language: str) -> str:
    """The Get Contacted page in ``language`` (one of PAGE_LANGUAGES)."""
    text = catalogue("consumer")[language]
    options = "".join(
        f'<option value="{code}"{" selected" if code == language else ""}>{escape(own)}'
        f"{'' if own == english else f' ({escape(english)})'}</option>"
        for code, (english, own) in LANGUAGES.items()
    )
    other = "es" if language == "en" else "en"
    values = {key: escape(value) for key, value in text.items()}
    values.update(
        lang=language,
        language_options=options,
        other_lang=other,
        other_lang_name=escape(LANGUAGES[other][1]),
        messages=json.dumps(text, ensure_ascii=False).replace("<", "\\u003c"),  # safe inside <script>
    )
    return Template(_read("consumer.html")).substitute(values)


LOCALES = {"en": "en-US", "es": "es-US"}


def language_names(language: str) -> dict[str, str]:
    """Each language's name as a page in `language` shows it on its own: "Spanish"; in Spanish "Español"."""
    if language == "es":
        return {code: SPANISH_NAMES.get(code, english).capitalize() for code, (english, _) in LANGUAGES.items()}
    return {code: english for code, (english, _) in LANGUAGES.items()}


@functools.cache
def portal_page(language: str) -> str:
    from hod.messages import county_kinds

    """The agent portal in `language` (one of PAGE_LANGUAGES): its words, the languages' names and the locale
    travel with the page (a JSON data block, not a script) so it needs no extra requests."""
    text = catalogue("portal")[language]
    names = language_names(language)
    data = {
        "lang": language,
        "locale": LOCALES[language],
        "text": text,
        "names": names,
        "county_kinds": county_kinds(language),
        # the languages an agent may speak: each in its own name, with the page's name for it when they differ
        "languages": {
            code: own if own == names[code] else f"{own} ({names[code]})" for code, (_, own) in LANGUAGES.items()
        },
    }
    values = {key: escape(value) for key, value in text.items()}
    values.update(lang=language, data=json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"))
    return Template(_read("portal.html")).substitute(values)


def admin_page() -> str:
    """The administrator's console; it splits large imports into requests the API accepts."""
    from hod.services.agents import MAX_IMPORT_RECORDS

    names = json.dumps({code: english for code, (english, _) in LANGUAGES.items()}).replace("<", "\\u003c")
    return (
        _read("admin.html")
        .replace("{{max_import_records}}", str(MAX_IMPORT_RECORDS))
        .replace("{{language_names}}", names)
    )


def service_worker() -> str:
    """The portal's service worker (push notifications; installability)."""
    return _read("sw.js")


@functools.cache
def manifest(language: str) -> str:
    """The portal's web app manifest in `language`. Its URLs are relative to the manifest's own, which is served
    beside the portal: they hold under API Gateway's stage path too."""
    text = catalogue("portal")[language]
    document = {
        "name": text["app_name"],
        "short_name": text["app_short_name"],
        "description": text["app_description"],
        "lang": LOCALES[language],
        "start_url": f"portal?lang={language}",
        "scope": "./",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1a4480",
        "icons": [
            {"src": "assets/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": "assets/icon-maskable.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "maskable"},
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1)
