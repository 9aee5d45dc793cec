"""Eligibility (R2), contact validation (R1, R3) and the import formats."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from hod.api.agent_import import parse_csv, to_csv_row
from hod.domain.agent import (
    Agent,
    AgentRecord,
    ContactMethod,
    DisplayOption,
    Location,
    ProfileUpdate,
    eligible_states,
    ineligibility_reasons,
)
from hod.domain.availability import default_availability
from hod.domain.contact import normalise_email, normalise_name, normalise_us_phone
from hod.domain.marketplace import healthcare_gov_states
from hod.domain.offer import AgentContact
from hod.errors import ValidationFailed

PY2026 = healthcare_gov_states(2026)
TODAY = date(2026, 11, 25)


def record(**overrides: Any) -> AgentRecord:
    data: dict[str, Any] = {
        "npn": "1234567",
        "first_name": "Ana",
        "last_name": "García",
        "email": "Ana@Example.COM",
        "phone": "512.555.0142",
        "business_address": {"zip": "78701"},
        "home_state": "TX",
        "licences": [
            {
                "state": "TX",
                "status": "Active",
                "lines_of_authority": ["Health", "Life"],
                "expires": "2027-01-01",
            },
            {"state": "OK", "status": "active", "lines_of_authority": ["accident and health"]},
            {"state": "GA", "status": "active", "lines_of_authority": ["health"]},
            {"state": "FL", "status": "active", "lines_of_authority": ["property"]},
            {"state": "AZ", "status": "inactive", "lines_of_authority": ["health"]},
            {"state": "UT", "status": "active", "lines_of_authority": ["health"], "expires": "2026-11-24"},
        ],
        "ffm_registration_plan_year": 2026,
        "ffm_registration_listed": True,
        "hod_training_complete": True,
        "display_option": 1,
    }
    data.update(overrides)
    return AgentRecord.model_validate(data)


def states(rec: AgentRecord, today: date = TODAY) -> set[str]:
    return set(eligible_states(rec, plan_year=2026, plan_year_states=PY2026, today=today))


def test_eligible_only_where_an_active_unexpired_health_licence_meets_a_healthcare_gov_state() -> None:
    # GA runs its own platform; FL has no health authority; AZ is inactive; UT expired yesterday
    assert states(record()) == {"TX", "OK"}
    assert states(record(), today=date(2026, 11, 24)) == {"TX", "OK", "UT"}
    assert states(record(), today=date(2027, 1, 2)) == {"OK"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"display_option": 4}, "display option 4"),
        ({"ffm_registration_plan_year": 2025}, "plan year 2026"),
        ({"ffm_registration_plan_year": None}, "plan year 2026"),
        ({"ffm_registration_listed": False}, "completion list"),
        ({"hod_training_complete": False}, "coursework"),
    ],
)
def test_any_missing_program_requirement_means_no_states_at_all(change: dict[str, Any], reason: str) -> None:
    rec = record(**change)
    assert states(rec) == set()
    assert any(reason in text for text in ineligibility_reasons(rec, 2026))


def test_display_option_3_is_home_state_only_and_2_is_every_licensed_state() -> None:
    assert states(record(display_option=3)) == {"TX"}
    assert states(record(display_option=3, home_state="GA")) == set()
    assert states(record(display_option=2)) == {"TX", "OK"}
    assert record(display_option=2).display_option is DisplayOption.ALL_STATES_NO_STREET_ADDRESS


def test_record_normalises_contact_details() -> None:
    rec = record(npn="000123")
    assert rec.npn == "123"
    assert rec.email == "Ana@example.com"
    assert rec.phone == "+15125550142"
    assert rec.contact_method is ContactMethod.EMAIL_ONLY
    assert ContactMethod.EMAIL_TEXT_APP.channels == {"email", "text", "app"}


def test_record_refuses_two_licences_for_one_state_and_bad_codes() -> None:
    with pytest.raises(ValidationError, match="one licence per state"):
        record(licences=[{"state": "TX", "status": "active", "lines_of_authority": ["health"]}] * 2)
    with pytest.raises(ValidationError, match="not a US state"):
        record(home_state="XX")
    with pytest.raises(ValidationError, match="unsupported language"):
        record(languages=["en", "klingon"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(512) 555-0100", "+15125550100"),
        ("+1 512 555 0100", "+15125550100"),
        ("15125550100", "+15125550100"),
    ],
)
def test_us_phone_numbers_become_e164(raw: str, expected: str) -> None:
    assert normalise_us_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "555-0100", "(012) 555-0100", "(512) 155-0100", "512-555-01OO", "+44 20 7946 0958"]
)
def test_non_us_or_malformed_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        normalise_us_phone(raw)


@pytest.mark.parametrize("raw", ["a@b", "no at.com", "x@@y.com", "a..b@c.com", "a@b.c", " @example.com"])
def test_bad_email_addresses_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="e-mail"):
        normalise_email(raw)


def test_names_allow_any_script_but_not_digits_or_markup() -> None:
    assert normalise_name("  Nguyễn   Thị ") == "Nguyễn Thị"
    assert normalise_name("O'Brien-Smith Jr.") == "O'Brien-Smith Jr."
    for bad in ["", "R2D2", "<script>", "x" * 51, "--"]:
        with pytest.raises(ValueError, match=r"."):
            normalise_name(bad)


def test_csv_round_trip_keeps_the_record() -> None:
    # Given a record written as a CSV row, then read back
    original = record(languages=["en", "es"], state_preferences=["TX"]).model_dump(mode="json")
    row = to_csv_row(original)
    header = ",".join(row)
    line = ",".join(f'"{v}"' for v in row.values())
    parsed = parse_csv(f"{header}\n{line}\n")
    # Then it validates to the same record
    assert AgentRecord.model_validate(parsed[0]) == AgentRecord.model_validate(original)


def test_csv_with_unknown_columns_is_refused_whole() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_csv("npn,first_name,favourite_colour\n1,Ana,blue\n")
    assert "favourite_colour" in refused.value.fields["header"]


def _agent(languages: tuple[str, ...], page_language: str | None = None) -> Agent:
    moment = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    return Agent(
        record=record(languages=languages),
        location=Location(lat=30.27, lon=-97.74),
        city="Austin",
        county="Travis County",
        languages=languages,
        page_language=page_language,
        contact_method=ContactMethod.EMAIL_ONLY,
        availability=default_availability("America/Chicago"),
        created_at=moment,
        updated_at=moment,
    )


@pytest.mark.parametrize(
    ("languages", "chosen", "expected"),
    [
        (("es", "en"), None, "es"),  # nothing chosen: the first language spoken
        (("en", "es"), "es", "es"),  # chosen: whatever the order of the languages spoken
        (("es",), "en", "en"),  # a Spanish speaker may still want English pages and messages
        (("zh", "en"), None, "zh"),  # (messages then fall back to English: no Chinese templates)
    ],
)
def test_messages_go_in_the_chosen_language_else_the_first_language_spoken(
    languages: tuple[str, ...], chosen: str | None, expected: str
) -> None:
    # Given an agent's languages and their choice for pages and messages
    agent = _agent(languages, chosen)
    # Then their messages are written in the chosen one, and in the first spoken only when none is chosen
    assert agent.message_language == expected
    assert AgentContact.of(agent).language == expected


def test_a_page_language_we_do_not_have_is_refused() -> None:
    # When an agent asks for pages and messages in a language the pages are not written in
    with pytest.raises(ValidationError):
        ProfileUpdate.model_validate({"page_language": "fr"})
    # Then only English and Spanish pass
    assert ProfileUpdate.model_validate({"page_language": "es"}).page_language == "es"
