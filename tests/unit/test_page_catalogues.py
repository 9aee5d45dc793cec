"""The pages' words: every catalogue has every key in every page language, and every word a page or its script
asks for is in its catalogue (a missing one would show as a blank or a crash in one language only)."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from hod.api.routing import _STATUS
from hod.errors import FIELD_PROBLEMS, REASONS
from hod.web import PAGE_LANGUAGES, catalogue, language_names, portal_page

CATALOGUES = ("consumer", "portal", "offer")


def _source(name: str) -> str:
    return (resources.files("hod") / "web" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CATALOGUES)
def test_every_catalogue_has_the_same_keys_in_every_page_language(name: str) -> None:
    # Given a page's catalogue
    words = catalogue(name)
    # Then it is written in exactly the page languages, each with every key, none empty
    assert sorted(words) == sorted(PAGE_LANGUAGES)
    english = set(words["en"])
    for language in PAGE_LANGUAGES:
        assert set(words[language]) == english, f"{name}.json {language}: {set(words[language]) ^ english}"
        assert all(text.strip() for text in words[language].values())


@pytest.mark.parametrize("name", CATALOGUES)
def test_each_language_fills_the_same_placeholders(name: str) -> None:
    # Given a catalogue's entries with placeholders ({n} in scripts, ${time} on the server)
    words = catalogue(name)
    for key, text in words["en"].items():
        # Then the Spanish entry asks for the same values
        found = set(re.findall(r"\$?\{(\w+)\}", text))
        assert set(re.findall(r"\$?\{(\w+)\}", words["es"][key])) == found, f"{name}.json {key}"


def test_every_word_the_portal_and_its_script_ask_for_is_in_the_catalogue() -> None:
    # Given the portal's page and script
    keys = set(catalogue("portal")["en"])
    asked = set(re.findall(r"\$\{(\w+)\}", _source("portal.html"))) - {"lang", "data"}
    script = _source("portal.js")
    asked |= set(re.findall(r"\bT\.(\w+)", script)) | set(re.findall(r'\bt\("(\w+)"', script))
    asked |= {f"{prefix}{key}" for prefix in ("day_", "s_", "r_", "o_", "c_") for key in _labels(script, prefix)}
    # Then each is in the catalogue
    assert asked - keys == set()


def _labels(script: str, prefix: str) -> list[str]:
    found = re.search(rf'labels\("{prefix}", \[([^\]]*)\]\)', script)
    return re.findall(r'"(\w+)"', found.group(1)) if found else []


@pytest.mark.parametrize("language", PAGE_LANGUAGES)
def test_the_portal_is_rendered_in_its_language_with_no_word_left_to_fill(language: str) -> None:
    # When the portal is rendered in a page language
    page = portal_page(language)
    # Then the page says which, and every placeholder was filled
    assert f'<html lang="{language}">' in page
    assert "${" not in page.split('<script type="application/json"')[0]


def test_language_names_on_spanish_pages_are_spanish_and_capitalised() -> None:
    # Then a Spanish page names languages in Spanish, capitalised as a label; an English page in English
    assert language_names("es")["es"] == "Español"
    assert language_names("es")["zh"] == "Chino"
    assert language_names("en")["es"] == "Spanish"


def test_every_refusal_the_api_can_give_has_words_in_every_page_language() -> None:
    # Given the refusals' stable keys (hod.errors), each field problem's, and every status the portal's requests can
    # be answered with (the one error map's, the gateway's throttling and the service's own failure)
    statuses = {status for status, _ in _STATUS.values()} | {429, 500, 503}
    needed = {f"e_{reason}" for reason in REASONS} | {f"f_{problem}" for problem in FIELD_PROBLEMS}
    needed |= {f"status_{status}" for status in statuses} | {"status_other", "session_ended", "session_not_valid"}
    words = catalogue("portal")
    for language in PAGE_LANGUAGES:
        # Then the portal's catalogue words each of them in that language
        assert needed - set(words[language]) == set(), language
    # And a Spanish page never shows the English words for them
    same = {key for key in needed if words["es"][key] == words["en"][key]}
    assert same == set()
