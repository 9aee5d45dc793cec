from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hod import zipdir
from hod.domain.marketplace import US_STATE_NAMES, is_healthcare_gov_state
from hod.zipdir import ZipPlace, all_places, lookup

MILITARY_STATES = {"AA", "AE", "AP"}


def _utc_offset(time_zone: str, when: datetime) -> timedelta | None:
    return when.replace(tzinfo=ZoneInfo(time_zone)).utcoffset()


def test_houston_downtown() -> None:
    # Given a downtown Houston ZIP
    # When it is looked up
    place = lookup("77002")
    # Then city, county, state and time zone are Houston's
    assert place == ZipPlace(
        zip="77002",
        city="Houston",
        county="Harris County",
        state="TX",
        lat=29.7594,
        lon=-95.3594,
        time_zone="America/Chicago",
    )


def test_adak_is_west_of_the_alaska_time_zone() -> None:
    # Given Adak, Aleutian Islands
    # When it is looked up
    place = lookup("99546")
    # Then it is in America/Adak, far west, and one hour behind Anchorage in winter
    assert place is not None
    assert (place.city, place.state, place.time_zone) == ("Adak", "AK", "America/Adak")
    assert place.lon == pytest.approx(-177.09, abs=0.01)
    assert place.lat == pytest.approx(51.85, abs=0.01)
    assert _utc_offset(place.time_zone, datetime(2026, 1, 15, 12)) == timedelta(hours=-10)


def test_honolulu() -> None:
    # Given a Honolulu ZIP
    # When it is looked up
    place = lookup("96813")
    # Then it is in Hawaii, on Pacific/Honolulu (UTC-10, no DST)
    assert place is not None
    assert (place.city, place.county, place.state) == ("Honolulu", "Honolulu County", "HI")
    assert place.time_zone == "Pacific/Honolulu"
    assert place.lat == pytest.approx(21.32, abs=0.05)
    assert place.lon == pytest.approx(-157.85, abs=0.05)
    assert _utc_offset(place.time_zone, datetime(2026, 7, 1, 12)) == timedelta(hours=-10)


def test_phoenix_has_no_daylight_saving_time() -> None:
    # Given a Phoenix ZIP
    # When it is looked up
    place = lookup("85001")
    # Then it is on America/Phoenix, UTC-7 in both January and July
    assert place is not None
    assert (place.city, place.county, place.state) == ("Phoenix", "Maricopa County", "AZ")
    assert place.time_zone == "America/Phoenix"
    for month in (1, 7):
        assert _utc_offset(place.time_zone, datetime(2026, month, 15, 12)) == timedelta(hours=-7)


def test_napakiak_gets_the_corrected_time_zone() -> None:
    # Given Napakiak, AK, whose source row names the town instead of a time zone
    # When it is looked up
    place = lookup("99634")
    # Then it carries the build's correction (Alaska time, like neighbouring Bethel)
    assert place is not None
    assert place.time_zone == "America/Anchorage"
    bethel = lookup("99559")
    assert bethel is not None
    assert bethel.time_zone == place.time_zone


@pytest.mark.parametrize("text", ["77002-1234", " 77002 ", "77002-0000", "\t77002-9999\n"])
def test_zip_plus_four_and_surrounding_space_resolve_to_the_five_digit_zip(text: str) -> None:
    # Given a ZIP+4 or a padded ZIP
    # When it is looked up
    place = lookup(text)
    # Then the place is the 5-digit ZIP's
    assert place is not None
    assert place.zip == "77002"
    assert place == lookup("77002")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "7700",
        "770021",
        "77002-",
        "77002-12",
        "77002-12345",
        "77002 1234",
        "77002_1234",
        "7700A",
        "abcde",
        "77 002",
        "-77002",
        "٧٧٠٠٢",  # Arabic-Indic digits: str.isdigit() accepts them, a ZIP does not
        "７７００２",  # fullwidth digits
    ],
)
def test_malformed_input_returns_none(text: str) -> None:
    # Given text that is not a ZIP or ZIP+4
    # When it is looked up
    # Then there is no place
    assert lookup(text) is None


def test_non_string_input_returns_none() -> None:
    # Given a value that is not text at all
    # When it is looked up
    # Then there is no place, and no exception
    assert lookup(None) is None  # type: ignore[arg-type]
    assert lookup(77002) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("zip_code", ["00000", "99999", "00001"])
def test_unknown_zip_returns_none(zip_code: str) -> None:
    # Given a well-formed ZIP that USPS does not use
    # When it is looked up
    # Then there is no place
    assert lookup(zip_code) is None


def test_inactive_zip_returns_none() -> None:
    # Given 10184, a New York ZIP the source marks inactive
    # When it is looked up
    # Then there is no place
    assert lookup("10184") is None


@pytest.mark.parametrize("zip_code", ["09001", "34002", "96201", "96601"])
def test_military_zips_return_none(zip_code: str) -> None:
    # Given APO/DPO/FPO ZIPs (AE, AA, AP) that have no location
    # When they are looked up
    # Then there is no place
    assert lookup(zip_code) is None


@pytest.mark.parametrize("zip_code", ["77352", "20588"])
def test_zips_without_coordinates_return_none(zip_code: str) -> None:
    # Given active ZIPs whose source coordinates are 0,0
    # When they are looked up
    # Then there is no place
    assert lookup(zip_code) is None


@pytest.mark.parametrize(
    ("zip_code", "city", "state"),
    [("94103", "San Francisco", "CA"), ("60601", "Chicago", "IL"), ("30303", "Atlanta", "GA")],
)
def test_zip_in_a_state_with_its_own_marketplace_still_resolves(zip_code: str, city: str, state: str) -> None:
    # Given a ZIP in a state that does not enrol through HealthCare.gov
    # When it is looked up
    place = lookup(zip_code)
    # Then the place is found all the same: eligibility is decided elsewhere
    assert place is not None
    assert (place.city, place.state) == (city, state)
    assert not is_healthcare_gov_state(place.state, 2026)


def test_all_places_is_sorted_unique_and_usable() -> None:
    # Given the whole directory
    places = all_places()
    # Then it holds about the number of active, locatable US ZIPs, sorted and unique
    assert 40_000 < len(places) < 43_000
    zips = [place.zip for place in places]
    assert zips == sorted(set(zips))
    # And every place has a location, a loadable time zone and a known state
    for place in places:
        assert re.fullmatch(r"\d{5}", place.zip, re.ASCII)
        assert place.state not in MILITARY_STATES
        assert place.state in US_STATE_NAMES
        assert place.city
        assert -90 <= place.lat <= 90
        assert -180 <= place.lon <= 180
        assert (place.lat, place.lon) != (0.0, 0.0)
        assert round(place.lat, 4) == place.lat
        assert round(place.lon, 4) == place.lon
    for time_zone in {place.time_zone for place in places}:
        ZoneInfo(time_zone)


def test_every_place_is_found_by_its_own_zip() -> None:
    # Given the whole directory
    places = all_places()
    # When each ZIP is looked up
    # Then the lookup returns that very place
    for place in places:
        assert lookup(place.zip) == place


def test_all_places_is_cached() -> None:
    # Given the directory was listed once
    first = all_places()
    # When it is listed again
    # Then the same sequence comes back
    assert all_places() is first


def test_table_loads_once_under_concurrent_first_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a cold directory whose loader counts its calls
    real_load = zipdir._load
    calls: list[int] = []
    started = threading.Barrier(8)

    def counting_load() -> list[str]:
        calls.append(1)
        return real_load()

    monkeypatch.setattr(zipdir, "_lines", None)
    monkeypatch.setattr(zipdir, "_places", None)
    monkeypatch.setattr(zipdir, "_load", counting_load)
    results: list[ZipPlace | None] = []

    def worker() -> None:
        started.wait()
        results.append(lookup("77002"))

    # When eight threads look up a ZIP at the same moment
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then the table was read once and every thread got Houston
    assert len(calls) == 1
    assert len(results) == 8
    assert all(place is not None and place.city == "Houston" for place in results)


_ZIP_SHAPE = re.compile(r"\s*\d{5}(-\d{4})?\s*", re.ASCII)


@given(st.text(max_size=12))
def test_lookup_never_raises_and_only_accepts_zip_shapes(text: str) -> None:
    # Given any text
    # When it is looked up
    place = lookup(text)
    # Then a place comes back only for a ZIP or ZIP+4, and it is that ZIP's
    if place is not None:
        assert _ZIP_SHAPE.fullmatch(text)
        assert place.zip == text.strip()[:5]


_DIGITS = "0123456789"


@given(st.text(_DIGITS, min_size=5, max_size=5), st.text(_DIGITS, min_size=4, max_size=4))
def test_zip_plus_four_matches_five_digit_lookup(zip5: str, plus4: str) -> None:
    # Given any 5-digit ZIP and any +4 suffix
    # When both forms are looked up
    # Then they agree
    assert lookup(f"{zip5}-{plus4}") == lookup(zip5)
