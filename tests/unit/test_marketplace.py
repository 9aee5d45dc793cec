from __future__ import annotations

import json
from importlib import resources

import pytest

from hod.domain.marketplace import (
    US_STATE_NAMES,
    healthcare_gov_states,
    is_healthcare_gov_state,
    marketplace_kind,
    own_marketplace,
)

# Plan year 2026 as published by CMS (SPEC.md R2), typed out independently of the data file.
PY2026 = frozenset(
    {"AL", "AK", "AZ", "AR", "DE", "FL", "HI", "IN", "IA", "KS", "LA", "MI", "MS", "MO", "MT"}
    | {"NE", "NH", "NC", "ND", "OH", "OK", "OR", "SC", "SD", "TN", "TX", "UT", "WV", "WI", "WY"}
)
OWN_PLATFORM = ["CA", "CO", "CT", "DC", "GA", "ID", "IL", "KY", "MA", "MD", "ME", "MN", "NJ", "NM", "NV"]
OWN_PLATFORM += ["NY", "PA", "RI", "VA", "VT", "WA"]
NOT_STATES = {"DC", "AS", "GU", "MP", "PR", "VI", "FM", "MH", "PW"}


def test_plan_year_2026_is_the_cms_list() -> None:
    # Given plan year 2026
    # When its HealthCare.gov states are asked for
    states = healthcare_gov_states(2026)
    # Then they are exactly the 30 states CMS lists
    assert states == PY2026
    assert len(states) == 30


def test_plan_year_2027_drops_oregon() -> None:
    # Given plan year 2027
    # When its HealthCare.gov states are asked for
    states = healthcare_gov_states(2027)
    # Then they are 2026's without Oregon
    assert states == PY2026 - {"OR"}
    assert not is_healthcare_gov_state("OR", 2027)
    assert is_healthcare_gov_state("OR", 2026)


def test_kinds_per_plan_year() -> None:
    # Given the two plan years on file
    # Then Arkansas and Oregon are SBM-FP in 2026, the rest FFM
    kinds_2026 = {state: marketplace_kind(state, 2026) for state in PY2026}
    assert {state for state, kind in kinds_2026.items() if kind == "SBM-FP"} == {"AR", "OR"}
    assert {state for state, kind in kinds_2026.items() if kind == "FFM"} == PY2026 - {"AR", "OR"}
    # And in 2027 Arkansas is the only SBM-FP and Oregon has no HealthCare.gov kind
    assert marketplace_kind("AR", 2027) == "SBM-FP"
    assert marketplace_kind("OR", 2027) is None
    assert marketplace_kind("TX", 2027) == "FFM"


@pytest.mark.parametrize("plan_year", [2026, 2027])
@pytest.mark.parametrize("state", OWN_PLATFORM)
def test_states_with_their_own_platform_are_out(state: str, plan_year: int) -> None:
    # Given a state running its own enrolment platform
    # When it is checked
    # Then it does not enrol through HealthCare.gov
    assert not is_healthcare_gov_state(state, plan_year)
    assert marketplace_kind(state, plan_year) is None


def test_state_code_is_matched_case_insensitively() -> None:
    # Given a state code in lower case with spaces
    # When it is checked
    # Then it matches the upper-case code
    assert is_healthcare_gov_state(" tx ", 2026)
    assert marketplace_kind("ar", 2026) == "SBM-FP"


@pytest.mark.parametrize("plan_year", [2025, 2028, 0])
def test_unknown_plan_year_is_a_clear_error(plan_year: int) -> None:
    # Given a plan year with no data
    # When its states are asked for
    # Then a ValueError names that plan year and the ones on file
    with pytest.raises(ValueError, match=rf"plan year {plan_year}\b.*2026, 2027"):
        healthcare_gov_states(plan_year)
    with pytest.raises(ValueError, match=rf"plan year {plan_year}\b"):
        is_healthcare_gov_state("TX", plan_year)


def test_result_cannot_be_changed_by_a_caller() -> None:
    # Given the 2026 set
    states = healthcare_gov_states(2026)
    # Then it is immutable and a later call is unaffected by what a caller builds from it
    assert isinstance(states, frozenset)
    _ = states - {"TX"}
    assert "TX" in healthcare_gov_states(2026)


def test_data_file_documents_each_year() -> None:
    # Given the data file
    document = json.loads((resources.files("hod") / "data" / "marketplace_states.json").read_text("utf-8"))
    years = document["plan_years"]
    # Then every plan year names its source, and 2027 is flagged for re-checking against CMS's list
    assert set(years) == {"2026", "2027"}
    for entry in years.values():
        assert entry["source"].strip()
        assert set(entry["states"].values()) <= {"FFM", "SBM-FP"}
    assert "CMS" in years["2027"]["to_check"]


def test_state_names_cover_states_dc_and_territories() -> None:
    # Given the state-name table
    # Then it has the 50 states, DC and the territories, with their names
    assert len(set(US_STATE_NAMES) - NOT_STATES) == 50
    assert set(US_STATE_NAMES) >= NOT_STATES
    assert US_STATE_NAMES["TX"] == "Texas"
    assert US_STATE_NAMES["DC"] == "District of Columbia"
    assert US_STATE_NAMES["PR"] == "Puerto Rico"
    assert US_STATE_NAMES["NC"] == "North Carolina"
    assert all(len(code) == 2 and code.isupper() for code in US_STATE_NAMES)
    assert len(set(US_STATE_NAMES.values())) == len(US_STATE_NAMES)
    # And every HealthCare.gov state has a name
    assert set(US_STATE_NAMES) >= PY2026


def test_state_names_are_read_only() -> None:
    # Given the state-name table
    # When a caller tries to change it
    # Then it refuses
    with pytest.raises(TypeError):
        US_STATE_NAMES["XX"] = "Nowhere"  # type: ignore[index]


@pytest.mark.parametrize("plan_year", [2026, 2027])
def test_every_state_off_healthcare_gov_has_its_own_marketplace_named_with_its_site(plan_year: int) -> None:
    # Given the 50 states and DC
    states = {code for code in US_STATE_NAMES if code not in NOT_STATES} | {"DC"}
    # Then each state not on HealthCare.gov that plan year names its own Marketplace, with an https site and the
    # state's name in Spanish, and no HealthCare.gov state has one
    for state in sorted(states):
        site = own_marketplace(state, plan_year)
        if is_healthcare_gov_state(state, plan_year):
            assert site is None, state
        else:
            assert site is not None, state
            assert site.url.startswith("https://")
            assert site.name
            assert site.state_name == US_STATE_NAMES[state]
            assert site.state_name_es


def test_new_york_sends_its_residents_to_ny_state_of_health_and_oregon_joins_in_2027() -> None:
    # Given plan years 2026 and 2027
    new_york = own_marketplace("NY", 2026)
    # Then New York's own Marketplace is NY State of Health, "Nueva York" in Spanish
    assert new_york is not None
    assert (new_york.name, new_york.url, new_york.state_name_es) == (
        "NY State of Health",
        "https://nystateofhealth.ny.gov/",
        "Nueva York",
    )
    # And Oregon, on HealthCare.gov in 2026, has its own platform in 2027
    assert own_marketplace("OR", 2026) is None
    oregon = own_marketplace("or", 2027)
    assert oregon is not None
    assert oregon.state_name_es == "Oregón"
