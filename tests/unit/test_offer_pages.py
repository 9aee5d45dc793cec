"""The offer link's pages as written: clock times in the agent's zone and language, and the answer's page written
the way the page that posted it was."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from hod.api.pages import clock, reader_language, rejected_page
from hod.domain.offer import AgentContact

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("moment", "language", "expected"),
    [
        (datetime(2026, 1, 15, 21, 45, tzinfo=UTC), "en", "3:45 PM CST"),
        (datetime(2026, 1, 15, 21, 45, tzinfo=UTC), "es", "las 3:45 p. m. (hora del Centro)"),
        (datetime(2026, 1, 15, 19, 5, tzinfo=UTC), "es", "la 1:05 p. m. (hora del Centro)"),  # one o'clock: "la"
        (datetime(2026, 7, 15, 16, 10, tzinfo=UTC), "es", "las 11:10 a. m. (hora del Centro)"),  # CDT, summer
    ],
)
def test_a_deadline_reads_as_a_clock_time_in_the_agents_zone_and_language(
    moment: datetime, language: str, expected: str
) -> None:
    # Given a moment and the agent's zone; Then it is written as the sentence around it needs it
    assert clock(moment, CHICAGO, language) == expected


def _contact(language: str) -> AgentContact:
    return AgentContact(
        npn="101",
        first_name="Ana",
        last_name="García",
        email="ana@example.com",
        phone="+15125550142",
        text_phone="+15125550142",
        language=language,
        channels=("email",),
        time_zone="America/Chicago",
    )


def test_the_page_speaks_the_agents_language_else_the_browsers() -> None:
    # Given the agent's language as the offer keeps it; Then it wins over the browser's
    assert reader_language(_contact("es"), "en") == "es"
    # And a language the pages are not written in, or none known, gives way to the browser's
    assert reader_language(_contact("zh"), "es") == "es"
    assert reader_language(None, "en") == "en"


def test_the_answer_to_reject_is_in_the_posting_pages_language_and_leads_to_the_portal() -> None:
    # When the rejection's page is written in Spanish
    page = rejected_page("es")
    # Then it says so in Spanish and is no dead end
    assert '<html lang="es">' in page
    assert "Referido rechazado" in page
    assert 'href="../portal#referrals"' in page
