"""How people's typing is read: confirmation codes (no look-alike symbols, any case, hyphen optional) and names and
addresses folded for search (case, accents and punctuation ignored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hod.domain import confirmation
from hod.domain.agent_metrics import RowFact, agent_metrics
from hod.domain.folding import fold, name_key, name_prefixes


def test_the_alphabet_has_no_symbol_that_reads_as_another() -> None:
    # Given the code's alphabet
    # Then it has 30 symbols, none of 0, O, 1, I, L or U
    assert len(set(confirmation.ALPHABET)) == len(confirmation.ALPHABET) == 30
    assert not set(confirmation.ALPHABET) & set("0O1ILU")


@pytest.mark.parametrize("typed", ["HK7M-4QXZ", "hk7m4qxz", " hk7m 4qxz ", "HK7M - 4QXZ", "hK7m-4QxZ"])
def test_a_code_is_read_in_any_case_with_or_without_its_hyphen(typed: str) -> None:
    # When a code is typed as people type it
    # Then it reads as the stored code
    assert confirmation.normalised(typed) == "HK7M4QXZ"


@pytest.mark.parametrize("typed", ["HK7M-4QX", "HK7M-4QXZ2", "HK7M-4QX0", "HK7M-4QXO", "HK1M-4QXZ", "0123456789abcdef"])
def test_what_is_not_a_code_is_not_read_as_one(typed: str) -> None:
    # When text too short or long, or with a look-alike symbol, is typed
    # Then it is no code (a look-up then takes it as a referral's id)
    assert confirmation.normalised(typed) is None


def test_a_code_is_made_from_eight_numbers_and_shown_in_two_groups() -> None:
    # Given eight numbers below 30
    code = confirmation.from_numbers([0, 1, 2, 3, 26, 27, 28, 29])
    # Then they name eight symbols, shown as two groups of four
    assert code == "2345WXYZ"
    assert confirmation.grouped(code) == "2345-WXYZ"
    with pytest.raises(ValueError, match="8 numbers"):
        confirmation.from_numbers([0] * 7)
    with pytest.raises(ValueError, match="8 numbers"):
        confirmation.from_numbers([30] * 8)


def test_names_are_folded_for_search_and_found_by_either_order() -> None:
    # Given names as they are written
    # Then search compares them without case, accents or punctuation, last name first
    assert fold("  García-López, Ana ") == "garcia lopez ana"
    assert fold("JOSÉ Núñez") == "jose nunez"
    assert name_key("Ana", "García") == "garcia ana"
    assert name_prefixes("garc") == ["garc"]
    assert name_prefixes("Ana García") == ["ana garcia", "garcia ana"]
    assert name_prefixes(" -- ") == []


def test_an_agents_metrics_count_acceptance_over_answered_or_lapsed_offers() -> None:
    # Given an accepted offer (60 s), a rejected one (30 s), a missed one and a safety-net call another agent took
    at = datetime(2026, 11, 24, 15, tzinfo=UTC)
    rows = [
        RowFact("completed", "referred_to_medicaid", at, at + timedelta(seconds=60)),
        RowFact("rejected", None, at, at + timedelta(seconds=30)),
        RowFact("missed", None, at, None),
        RowFact("taken", None, at, None),
    ]
    # When they are counted
    found = agent_metrics(rows)
    # Then the taken call counts as an offer but not in the rate; response times are over answered offers
    assert (found.offers, found.accepted, found.missed) == (4, 1, 1)
    assert found.acceptance_rate_pct == 33.3
    assert (found.response_p50_s, found.response_p90_s) == (30, 60)
    assert found.by_outcome == {"referred_to_medicaid": 1}
    assert agent_metrics([]).acceptance_rate_pct is None
