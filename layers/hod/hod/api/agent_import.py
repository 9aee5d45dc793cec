"""Agent import files: a JSON array (or {"agents": [...]}) of records, or CSV with one record per row.

CSV columns are the record's field names, with the business address flattened to street, city, state, zip.
List cells use "|" (languages "en|es"); licences are "STATE:STATUS:LOA|LOA:EXPIRES" entries joined by ";".
Empty cells are left out, so defaults apply.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from hod.api.routing import decode_json
from hod.errors import ValidationFailed

ADDRESS_COLUMNS = {"street": "street", "city": "city", "state": "state", "zip": "zip"}
CSV_COLUMNS = (
    "npn",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street",
    "city",
    "state",
    "zip",
    "home_state",
    "licences",
    "ffm_registration_plan_year",
    "ffm_registration_listed",
    "hod_training_complete",
    "display_option",
    "languages",
    "time_zone",
    "contact_method",
    "state_preferences",
)


def parse_import(body: bytes, content_type: str) -> list[Any]:
    """The records in an import body; a body that cannot be read at all is refused as a whole."""
    kind = content_type.split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed({"body": "must be UTF-8 text"}) from None
    if kind in ("text/csv", "application/csv"):
        return parse_csv(text)
    if kind in ("application/json", ""):
        return parse_json(text)
    raise ValidationFailed({"content-type": "send application/json or text/csv"})


def parse_json(text: str) -> list[Any]:
    data = decode_json(text)
    if isinstance(data, dict) and isinstance(data.get("agents"), list):
        data = data["agents"]
    if not isinstance(data, list):
        raise ValidationFailed({"body": 'expected a JSON array of agent records, or {"agents": [...]}'})
    return data


def parse_csv(text: str) -> list[Any]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ValidationFailed({"body": "the CSV file is empty"})
    header = [name.strip() for name in reader.fieldnames]
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    if unknown:
        raise ValidationFailed({"header": f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}"})
    if "npn" not in header:
        raise ValidationFailed({"header": "the npn column is required"})
    rows: list[Any] = []
    for raw in reader:
        row: dict[str, Any] = {}
        address: dict[str, Any] = {}
        for name, value in raw.items():
            if name is None:
                row["_extra_cells"] = value
                continue
            cell = (value or "").strip()
            if not cell:
                continue
            key = name.strip()
            if key in ADDRESS_COLUMNS:
                address[ADDRESS_COLUMNS[key]] = cell
            else:
                row[key] = cell
        if address:
            row["business_address"] = address
        rows.append(row)
    return rows


def to_csv_row(record: dict[str, Any]) -> dict[str, str]:
    """A JSON-style record flattened into the CSV columns (the inverse of parse_csv, for exports and tests)."""
    out: dict[str, str] = {}
    for key, value in record.items():
        if key == "business_address":
            for column, field in ADDRESS_COLUMNS.items():
                if value.get(field) is not None:
                    out[column] = str(value[field])
        elif key == "licences":
            out[key] = ";".join(
                ":".join(
                    [
                        lic["state"],
                        lic["status"],
                        "|".join(lic["lines_of_authority"]),
                        str(lic.get("expires") or ""),
                    ]
                )
                for lic in value
            )
        elif isinstance(value, list | tuple):
            out[key] = "|".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif value is not None:
            out[key] = str(value)
    return out
