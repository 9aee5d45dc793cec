"""Build the offline ZIP directory shipped in the `hod` package (layers/hod/hod/data/zips.tsv.gz).

Data source and licence
-----------------------
- Rows come from the PyPI package `zipcodes` (https://github.com/seanpianka/zipcodes), MIT licence,
  Copyright (c) Sean Pianka. Its dataset is assembled from unitedstateszipcodes.org (city, county, time zone,
  ZIP type), USPS ZIP Locale Detail (active delivery ZIPs; public domain) and GeoNames (coordinates;
  CC BY 4.0, https://creativecommons.org/licenses/by/4.0/, attribution: "GeoNames, www.geonames.org").
- The generated file repeats this attribution in its first line; keep it when redistributing.

Usage
-----
`zipcodes` is a build-time tool only, never a runtime dependency. Install it into a throwaway venv:

    python3 -m venv /tmp/zipvenv && /tmp/zipvenv/bin/pip install zipcodes
    /tmp/zipvenv/bin/python scripts/build_zip_table.py [--output PATH]

Output
------
Gzipped UTF-8 TSV, one header line starting with "#", then one row per active ZIP sorted by ZIP:
zip, city, county, state, lat, lon, time zone (lat/lon rounded to 4 decimals). Rows that cannot place a
consumer are left out, so a lookup of them finds nothing: military APO/FPO/DPO ZIPs (AA/AE/AP), rows at
lat = lon = 0 and rows without a valid IANA time zone. The gzip header carries no timestamp, so rebuilding
from the same `zipcodes` version gives a byte-identical file.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import importlib.metadata
import sys
import zoneinfo
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "layers" / "hod" / "hod" / "data" / "zips.tsv.gz"
COLUMNS = ("zip", "city", "county", "state", "lat", "lon", "time_zone")
MILITARY_STATES = frozenset({"AA", "AE", "AP"})

# Source rows whose time zone is not an IANA name, corrected by hand. Applied only while the source value
# is still invalid, so an upstream fix wins.
TIME_ZONE_FIXES: Mapping[str, str] = {
    # Napakiak, AK (Bethel Census Area) has "Napakiak" as time zone; Bethel (99559), 11 km away, is
    # America/Anchorage.
    "99634": "America/Anchorage",
}


def _coordinate(text: str) -> float:
    return round(float(text), 4)


def _format_coordinate(value: float) -> str:
    text = repr(value)
    return "0.0" if text == "-0.0" else text


def _clean(value: Any) -> str:
    text = str(value or "").strip()
    if any(ch in text for ch in "\t\r\n"):
        raise ValueError(f"field contains a tab or newline: {text!r}")
    return text


def build_rows(
    records: Iterable[Mapping[str, Any]], valid_zones: frozenset[str]
) -> tuple[list[str], collections.Counter[str]]:
    """Turn `zipcodes` records into sorted TSV lines; count what was left out and why."""
    skipped: collections.Counter[str] = collections.Counter()
    lines: dict[str, str] = {}
    for record in records:
        zip_code = _clean(record["zip_code"])
        if len(zip_code) != 5 or not zip_code.isascii() or not zip_code.isdigit():
            raise ValueError(f"unexpected ZIP in source: {zip_code!r}")
        if record["active"] is not True:
            skipped["inactive"] += 1
            continue
        state = _clean(record["state"])
        if state in MILITARY_STATES:
            skipped["military (AA/AE/AP)"] += 1
            continue
        lat, lon = _coordinate(record["lat"]), _coordinate(record["long"])
        if lat == 0 and lon == 0:
            skipped["lat = lon = 0"] += 1
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"{zip_code}: coordinates out of range: {lat}, {lon}")
        time_zone = _clean(record["timezone"])
        if time_zone not in valid_zones:
            time_zone = TIME_ZONE_FIXES.get(zip_code, "")
        if not time_zone:
            skipped["no valid time zone"] += 1
            continue
        if zip_code in lines:
            raise ValueError(f"duplicate ZIP in source: {zip_code}")
        fields = (
            zip_code,
            _clean(record["city"]),
            _clean(record["county"]),
            state,
            _format_coordinate(lat),
            _format_coordinate(lon),
            time_zone,
        )
        lines[zip_code] = "\t".join(fields)
    return [lines[key] for key in sorted(lines)], skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    import zipcodes  # build-time only; see the module docstring

    valid_zones = frozenset(zoneinfo.available_timezones())
    if "America/Chicago" not in valid_zones:
        print("no IANA time zone data found (install tzdata)", file=sys.stderr)
        return 1

    records = zipcodes.list_all()
    rows, skipped = build_rows(records, valid_zones)
    version = importlib.metadata.version("zipcodes")
    header = (
        "# " + "\t".join(COLUMNS) + f" | from zipcodes {version} (MIT, Sean Pianka); coordinates: GeoNames "
        "(CC BY 4.0, www.geonames.org); built by scripts/build_zip_table.py"
    )
    text = "\n".join([header, *rows]) + "\n"
    data = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)

    print(f"source records: {len(records)}; written: {len(rows)} rows, {len(data)} bytes -> {args.output}")
    for reason, count in sorted(skipped.items()):
        print(f"left out ({reason}): {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
