"""Choosing the language of a page or an answer from the browser's Accept-Language header."""

from __future__ import annotations

import pytest

from hod.domain.languages import preferred_language

OURS = ("en", "es")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("en;q=0.1, es;q=0.9", "es"),  # the weights decide, not the order
        ("es-MX,es;q=0.9,en;q=0.8", "es"),  # a regional variant counts as its language
        ("fr-CA, en;q=0.5", "en"),  # the first one we have
        ("en, es", "en"),  # equal weights: the order decides
        ("es;q=0, en;q=0.2", "en"),  # q=0 refuses a language
        ("de, fr", None),  # none of ours
        ("", None),
        (None, None),
        ("es;q=abc, en;q=0.3", "en"),  # a malformed weight counts as a refusal
    ],
)
def test_the_browsers_most_preferred_language_of_ours_is_chosen(header: str | None, chosen: str | None) -> None:
    # Given an Accept-Language header; Then the language of ours it weighs highest is chosen, or none
    assert preferred_language(header, OURS) == chosen
