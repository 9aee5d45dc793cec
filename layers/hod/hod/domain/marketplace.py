"""Which states enrol through HealthCare.gov in a plan year, and US state names.

The per-year list is data (`hod/data/marketplace_states.json`): FFM states and State-based Marketplaces on
the Federal Platform (SBM-FP). It is package data read once, not a service call.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Literal, cast

__all__ = [
    "US_STATE_NAMES",
    "MarketplaceKind",
    "StateMarketplace",
    "healthcare_gov_states",
    "is_healthcare_gov_state",
    "marketplace_kind",
    "own_marketplace",
]

MarketplaceKind = Literal["FFM", "SBM-FP"]
_KINDS: frozenset[str] = frozenset({"FFM", "SBM-FP"})
_DATA_FILE = "marketplace_states.json"

# USPS two-letter codes: 50 states, DC, inhabited territories and the freely associated states.
US_STATE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "AL": "Alabama",
        "AK": "Alaska",
        "AZ": "Arizona",
        "AR": "Arkansas",
        "CA": "California",
        "CO": "Colorado",
        "CT": "Connecticut",
        "DE": "Delaware",
        "DC": "District of Columbia",
        "FL": "Florida",
        "GA": "Georgia",
        "HI": "Hawaii",
        "ID": "Idaho",
        "IL": "Illinois",
        "IN": "Indiana",
        "IA": "Iowa",
        "KS": "Kansas",
        "KY": "Kentucky",
        "LA": "Louisiana",
        "ME": "Maine",
        "MD": "Maryland",
        "MA": "Massachusetts",
        "MI": "Michigan",
        "MN": "Minnesota",
        "MS": "Mississippi",
        "MO": "Missouri",
        "MT": "Montana",
        "NE": "Nebraska",
        "NV": "Nevada",
        "NH": "New Hampshire",
        "NJ": "New Jersey",
        "NM": "New Mexico",
        "NY": "New York",
        "NC": "North Carolina",
        "ND": "North Dakota",
        "OH": "Ohio",
        "OK": "Oklahoma",
        "OR": "Oregon",
        "PA": "Pennsylvania",
        "RI": "Rhode Island",
        "SC": "South Carolina",
        "SD": "South Dakota",
        "TN": "Tennessee",
        "TX": "Texas",
        "UT": "Utah",
        "VT": "Vermont",
        "VA": "Virginia",
        "WA": "Washington",
        "WV": "West Virginia",
        "WI": "Wisconsin",
        "WY": "Wyoming",
        "AS": "American Samoa",
        "GU": "Guam",
        "MP": "Northern Mariana Islands",
        "PR": "Puerto Rico",
        "VI": "U.S. Virgin Islands",
        "FM": "Federated States of Micronesia",
        "MH": "Marshall Islands",
        "PW": "Palau",
    }
)


def healthcare_gov_states(plan_year: int) -> frozenset[str]:
    """Two-letter codes of the states that enrol through HealthCare.gov in `plan_year`."""
    return frozenset(_platforms(plan_year))


def is_healthcare_gov_state(state: str, plan_year: int) -> bool:
    """Whether `state` (two-letter code) enrols through HealthCare.gov in `plan_year`."""
    return state.strip().upper() in _platforms(plan_year)


def marketplace_kind(state: str, plan_year: int) -> MarketplaceKind | None:
    """FFM or SBM-FP for a HealthCare.gov state in `plan_year`; None for a state with its own platform."""
    return _platforms(plan_year).get(state.strip().upper())


@dataclass(frozen=True)
class StateMarketplace:
    """The Marketplace of a state that runs its own enrolment platform: where its residents apply instead."""

    state: str
    state_name: str
    state_name_es: str
    name: str
    url: str


def own_marketplace(state: str, plan_year: int) -> StateMarketplace | None:
    """The state's own Marketplace in `plan_year` (None for a HealthCare.gov state, or one the data does not name)."""
    _platforms(plan_year)  # an unknown plan year is refused the same way
    return _own_platforms().get(plan_year, {}).get(state.strip().upper())


def _platforms(plan_year: int) -> Mapping[str, MarketplaceKind]:
    years = _plan_years()
    try:
        return years[plan_year]
    except KeyError:
        known = ", ".join(str(year) for year in sorted(years))
        raise ValueError(
            f"No HealthCare.gov state list for plan year {plan_year} (known plan years: {known}); "
            f"add it to hod/data/{_DATA_FILE}"
        ) from None


@functools.cache
def _plan_years() -> Mapping[int, Mapping[str, MarketplaceKind]]:
    text = (resources.files("hod") / "data" / _DATA_FILE).read_text(encoding="utf-8")
    document = json.loads(text)
    years: dict[int, Mapping[str, MarketplaceKind]] = {}
    for year_text, entry in document["plan_years"].items():
        states: dict[str, MarketplaceKind] = {}
        for state, kind in entry["states"].items():
            if state not in US_STATE_NAMES or kind not in _KINDS:
                raise ValueError(f"{_DATA_FILE}, plan year {year_text}: bad entry {state!r}: {kind!r}")
            states[state] = cast(MarketplaceKind, kind)
        years[int(year_text)] = MappingProxyType(states)
    return MappingProxyType(years)


@functools.cache
def _own_platforms() -> Mapping[int, Mapping[str, StateMarketplace]]:
    document = json.loads((resources.files("hod") / "data" / _DATA_FILE).read_text(encoding="utf-8"))
    years: dict[int, Mapping[str, StateMarketplace]] = {}
    for year_text, entry in document["plan_years"].items():
        found: dict[str, StateMarketplace] = {}
        for state, site in entry.get("own_platforms", {}).items():
            if state not in US_STATE_NAMES or state in entry["states"] or not str(site["url"]).startswith("https://"):
                raise ValueError(f"{_DATA_FILE}, plan year {year_text}: bad own platform {state!r}: {site!r}")
            found[state] = StateMarketplace(state, US_STATE_NAMES[state], site["state_es"], site["name"], site["url"])
        years[int(year_text)] = MappingProxyType(found)
    return MappingProxyType(years)
