"""Message templates: complete in every language, values escaped in HTML, committed examples current."""

from __future__ import annotations

import pytest

from hod.messages import render, template_languages
from local.message_examples import KINDS, OUT, SAMPLE, examples

STATUS_LINKS = {
    "status_link": "https://hod.test/status?t=x",
    "text_status_link": "https://hod.test/l/x",
    "code": "HK7M-4QXZ",
}


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
    message = render(
        "consumer_received", "en", {**STATUS_LINKS, "first_name": "<b>Ann</b> & co", "consumer_phone": "+1"}
    )
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; co" in message.html
    assert "<b>Ann</b> & co" in message.text


def test_a_language_without_templates_falls_back_to_english_and_missing_values_are_named() -> None:
    assert (
        render("consumer_received", "vi", {**STATUS_LINKS, "first_name": "An", "consumer_phone": "+1"}).language == "en"
    )
    with pytest.raises(ValueError, match="first_name"):
        render("consumer_received", "en", {**STATUS_LINKS, "consumer_phone": "+1"})


def test_committed_examples_are_current() -> None:
    for name, content in examples().items():
        assert (OUT / name).read_text(encoding="utf-8") == content, (
            f"regenerate: python -m local.message_examples ({name})"
        )


def test_times_phones_counties_and_languages_read_as_a_spanish_speaker_in_the_us_expects() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from hod.messages import language_name, local_time

    # Given a deadline of 3:45 p.m. in Austin and 9:05 a.m. in Honolulu
    chicago, honolulu = ZoneInfo("America/Chicago"), ZoneInfo("Pacific/Honolulu")
    afternoon, morning = datetime(2026, 1, 13, 21, 45, tzinfo=UTC), datetime(2026, 7, 1, 19, 5, tzinfo=UTC)
    # Then English reads "3:45 PM CST", Spanish "3:45 p. m. (hora del Centro)"; summer time is named the same way
    assert local_time(afternoon, chicago) == "3:45 PM CST"
    assert local_time(afternoon, chicago, "es") == "3:45 p. m. (hora del Centro)"
    assert local_time(morning, honolulu, "es") == "9:05 a. m. (hora de Hawái)"
    assert local_time(datetime(2026, 7, 1, 21, 45, tzinfo=UTC), chicago, "es") == "4:45 p. m. (hora del Centro)"
    # And a phone number reads (512) 555-0188, a county "condado de Travis" / "parroquia de Orleans" in Spanish
    values = {**SAMPLE, "language_name": "x", "consumer_phone": "+15125550188", "county": "Orleans Parish"}
    spanish = render("accepted", "es", values)
    assert "Teléfono: (512) 555-0188" in spanish.text
    assert "condado" not in spanish.text
    assert "parroquia de Orleans" in spanish.text
    assert "Orleans Parish" in render("accepted", "en", values).text
    # And a consumer's language is named in Spanish, in lower case, in a Spanish message
    assert (language_name("zh", "es"), language_name("es", "es"), language_name("zh", "en")) == (
        "chino",
        "español",
        "Chinese",
    )
