"""Message templates: complete in every language, values escaped in HTML, committed examples current."""

from __future__ import annotations

import pytest

from hod.messages import render, template_languages
from local.message_examples import KINDS, OUT, SAMPLE, examples


def test_english_and_spanish_have_every_message() -> None:
    assert {"en", "es"} <= set(template_languages())
    for language in template_languages():
        for kind in KINDS:
            message = render(kind, language, {**SAMPLE, "language_name": "x"})
            assert message.language == language
            assert "${" not in message.subject + message.text + message.html + (message.sms or "")


def test_the_words_of_a_text_fit_one_sms_segment_besides_the_link() -> None:
    # (signed links are ~260 characters on their own: shortening them is open work)
    for language in template_languages():
        for kind in KINDS:
            sms = render(kind, language, {**SAMPLE, "language_name": "x"}).sms
            words = (sms or "").replace(SAMPLE["link"], "")
            assert len(words) <= 160, (kind, language, len(words))


def test_values_are_escaped_in_html_but_not_in_text() -> None:
    message = render("consumer_received", "en", {"first_name": "<b>Ann</b> & co", "consumer_phone": "+1"})
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; co" in message.html
    assert "<b>Ann</b> & co" in message.text


def test_a_language_without_templates_falls_back_to_english_and_missing_values_are_named() -> None:
    assert render("consumer_received", "vi", {"first_name": "An", "consumer_phone": "+1"}).language == "en"
    with pytest.raises(ValueError, match="first_name"):
        render("consumer_received", "en", {"consumer_phone": "+1"})


def test_committed_examples_are_current() -> None:
    for name, content in examples().items():
        assert (OUT / name).read_text(encoding="utf-8") == content, (
            f"regenerate: python -m local.message_examples ({name})"
        )
