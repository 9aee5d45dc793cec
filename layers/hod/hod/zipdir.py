"""Offline US ZIP directory: where a consumer lives (city, county, state, coordinates, time zone) from a ZIP.

The table ships in the package (`hod/data/zips.tsv.gz`, built by `scripts/build_zip_table.py`). It is read
on first use and kept as sorted raw lines; a lookup is a binary search and parses only the line it finds.
"""

from __future__ import annotations

import bisect
import gzip
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

__all__ = ["ZipPlace", "all_places", "lookup"]

_DATA_FILE = "zips.tsv.gz"
_ZIP_PATTERN = re.compile(r"(\d{5})(?:-\d{4})?", re.ASCII)

_lock = threading.Lock()
_lines: list[str] | None = None
_places: tuple[ZipPlace, ...] | None = None


@dataclass(frozen=True, slots=True)
class ZipPlace:
    """A deliverable ZIP code and where it is."""

    zip: str
    city: str
    county: str
    state: str
    lat: float
    lon: float
    time_zone: str


def lookup(zip_code: str) -> ZipPlace | None:
    """The place of a 5-digit ZIP or ZIP+4 ("77002", "77002-1234").

    None when the input is malformed, the ZIP is unknown or inactive, or it has no usable location
    (military APO/FPO/DPO, no coordinates or no time zone).
    """
    if not isinstance(zip_code, str):
        return None
    match = _ZIP_PATTERN.fullmatch(zip_code.strip())
    if match is None:
        return None
    key = match.group(1)
    lines = _table()
    index = bisect.bisect_left(lines, key)
    if index < len(lines) and lines[index].startswith(key + "\t"):
        return _parse(lines[index])
    return None


def all_places() -> Sequence[ZipPlace]:
    """Every place in the directory, sorted by ZIP."""
    global _places
    places = _places
    if places is None:
        lines = _table()
        with _lock:
            if _places is None:
                shared: dict[str, str] = {}
                _places = tuple(_parse(line, shared) for line in lines)
            places = _places
    return places


def _table() -> list[str]:
    global _lines
    lines = _lines
    if lines is None:
        with _lock:
            if _lines is None:
                _lines = _load()
            lines = _lines
    return lines


def _load() -> list[str]:
    raw = (resources.files("hod") / "data" / _DATA_FILE).read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    if lines and lines[0].startswith("#"):
        del lines[0]
    return lines


def _parse(line: str, shared: dict[str, str] | None = None) -> ZipPlace:
    zip_code, city, county, state, lat, lon, time_zone = line.split("\t")
    if shared is not None:
        city = shared.setdefault(city, city)
        county = shared.setdefault(county, county)
        state = shared.setdefault(state, state)
        time_zone = shared.setdefault(time_zone, time_zone)
    return ZipPlace(zip_code, city, county, state, float(lat), float(lon), time_zone)
