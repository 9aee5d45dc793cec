"""The API document's patterns for names, phone numbers, e-mail addresses and ZIP codes say what the validators take:
a client (or a fuzzer) that follows the document is not refused, and what the document allows is taken."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hod.api.openapi import openapi_document
from hod.domain.agent import ZIP_PATTERN, _zip
from hod.domain.contact import (
    EMAIL_PATTERN,
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    PHONE_PATTERN,
    normalise_email,
    normalise_name,
    normalise_us_phone,
)


def accepts(validate: object, value: str) -> bool:
    try:
        validate(value)  # type: ignore[operator]
    except ValueError:
        return False
    return True


@given(st.text(alphabet=string.printable[:-5] + "’", max_size=MAX_NAME_LENGTH))
def test_over_ascii_a_name_matches_the_documents_pattern_exactly_when_the_validator_takes_it(name: str) -> None:
    # Given any name of printable ASCII characters (and the typographic apostrophe), at most 50 long
    # Then the document's pattern and the validator agree on it
    assert bool(re.fullmatch(NAME_PATTERN, name)) == accepts(normalise_name, name)


@pytest.mark.parametrize("name", ["José", "Nguyễn", "Zoë O’Brien", "María-José", "李", "Ａｎａ"])
def test_names_in_other_scripts_match_the_pattern_and_are_taken(name: str) -> None:
    assert re.fullmatch(NAME_PATTERN, name)
    assert accepts(normalise_name, name)


@pytest.mark.parametrize("name", ["", "   ", "Ana2", "<b>", "--", "Ana_Lee"])
def test_empty_names_digits_and_markup_are_outside_the_pattern(name: str) -> None:
    assert not re.fullmatch(NAME_PATTERN, name)
    assert not accepts(normalise_name, name)


@given(st.text(alphabet="0123456789 ().+-x", max_size=24))
def test_a_phone_number_matches_the_pattern_exactly_when_the_validator_takes_it(phone: str) -> None:
    # Given any string of digits, separators and a stray letter
    # Then the document's pattern and the validator agree on it
    assert bool(re.fullmatch(PHONE_PATTERN, phone)) == accepts(normalise_us_phone, phone)


@given(st.text(alphabet="0123456789- \tx", max_size=12))
def test_a_zip_code_matches_the_pattern_exactly_when_the_validator_takes_it(code: str) -> None:
    assert bool(re.fullmatch(ZIP_PATTERN, code)) == accepts(_zip, code)


@pytest.mark.parametrize(
    ("email", "valid"),
    [("ana@example.com", True), ("a.b+c@mail.example.org", True), ("a..b@example.com", False), ("ana@", False)],
)
def test_an_email_address_matches_the_pattern_exactly_when_the_validator_takes_it(email: str, valid: bool) -> None:
    assert bool(re.fullmatch(EMAIL_PATTERN, email)) is valid
    assert accepts(normalise_email, email) is valid


def test_the_consumers_request_in_the_document_is_as_strict_as_its_validation() -> None:
    # Given the OpenAPI document's schema of Get Contacted
    properties = openapi_document()["components"]["schemas"]["ConsumerRequest"]["properties"]

    # Then names may not be empty, and every field carries its validator's pattern or list of values
    assert properties["first_name"]["minLength"] == 1
    assert properties["first_name"]["pattern"] == properties["last_name"]["pattern"] == NAME_PATTERN
    assert properties["phone"]["pattern"] == PHONE_PATTERN
    assert properties["zip"]["pattern"] == ZIP_PATTERN
    assert properties["email"]["anyOf"][0]["pattern"] == EMAIL_PATTERN
    assert "es" in properties["language"]["enum"]
