"""The coverage map's data in DynamoDB: every agent (a paginated Scan of the agents table) and one precomputed
summary item per state, kept in the agents table under ``COVERAGE#<state>`` (hod.services.coverage).

A summary holds, per language, four lists of 168 counts (agents, referrals, safety net, unserved) as one JSON string:
at most 22 languages x 4 x 168 numbers, some 70 KB with five-digit counts, far under DynamoDB's 400 KB item limit.
The API reads one item per state it is asked for (GetItem); the job writes them all (BatchWriteItem)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import ClassVar

from pynamodb.attributes import BinaryAttribute, UnicodeAttribute
from pynamodb.models import Model

from hod.adapters.dynamo import _sdk, bind
from hod.domain.agent import AgentRecord
from hod.domain.availability import Availability, WeeklySchedule
from hod.domain.coverage import ReferralRow, ScheduledAgent

COVERAGE_PREFIX = "COVERAGE#"
DAY_PREFIX = "COVERAGE#DAY#"
_SCAN_PAGE = 500  # agents per Scan page (DynamoDB also stops a page at 1 MB)


class _AgentDoc(Model):
    """The agents table's agent items, only their key and document (the attributes AgentItem writes)."""

    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    npn = UnicodeAttribute(hash_key=True)
    doc = UnicodeAttribute(null=True)


class DayCountsItem(Model):
    """One UTC day's referrals counted by cell, kept once the day's referrals have all ended."""

    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    npn = UnicodeAttribute(hash_key=True)  # "COVERAGE#DAY#2026-11-28"
    rows = BinaryAttribute(legacy_encoding=False)  # zlib-compressed JSON: [[state, language, hour, n, sn, u], ...]


class CoverageItem(Model):
    """A state's coverage summary in the agents table."""

    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    npn = UnicodeAttribute(hash_key=True)  # "COVERAGE#TX"
    summary = UnicodeAttribute()  # JSON: hod.services.coverage.StateSummary
    computed_at = UnicodeAttribute()


def scheduled_agent(document: str, schedules: dict[str, Availability]) -> ScheduledAgent:
    """The map's part of a stored agent document; `schedules` keeps each distinct weekly schedule validated once."""
    doc = json.loads(document)
    hours = doc["availability"]
    key = json.dumps([hours["time_zone"], hours["weekly"]])
    availability = schedules.get(key)
    if availability is None:
        weekly = WeeklySchedule.model_validate(hours["weekly"])
        availability = schedules[key] = Availability(time_zone=hours["time_zone"], weekly=weekly)
    preferences = doc.get("state_preferences")
    return ScheduledAgent(
        record=AgentRecord.model_validate(doc["record"]),
        state_preferences=None if preferences is None else tuple(preferences),
        suspended=bool(doc.get("suspended")),
        languages=tuple(doc["languages"]),
        availability=availability,
    )


class DynamoCoverageStore:
    def __init__(self, agents_table: str) -> None:
        self._table = agents_table

    def agents(self) -> Iterator[ScheduledAgent]:
        """Every agent, page by page (a Scan reading only the key and the document). Other items of the table
        (sign-ins, invitations, the sweep's cursor, these summaries) have keys that are not NPNs and are skipped.

        Only the parts the map needs are validated, and each distinct weekly schedule once: most agents share one of
        a few hundred, and validating every agent's whole document took twice as long (docs/benchmarks.md)."""
        bind(_AgentDoc, self._table)
        schedules: dict[str, Availability] = {}
        with _sdk("Scan"):
            for item in _AgentDoc.scan(attributes_to_get=["npn", "doc"], page_size=_SCAN_PAGE):
                if not item.npn.isdigit() or not item.doc:
                    continue
                yield scheduled_agent(item.doc, schedules)

    def save(self, summaries: Sequence[tuple[str, str]], computed_at: str) -> None:
        """Write each (state, summary JSON) in one BatchWriteItem per 25 states."""
        bind(CoverageItem, self._table)
        with _sdk("BatchWriteItem"), CoverageItem.batch_write() as batch:
            for state, summary in summaries:
                batch.save(CoverageItem(f"{COVERAGE_PREFIX}{state}", summary=summary, computed_at=computed_at))

    def day_counts(self, days: Sequence[date]) -> dict[date, list[ReferralRow]]:
        """The kept counts of those days that have them (one BatchGetItem per 100 days)."""
        bind(DayCountsItem, self._table)
        with _sdk("BatchGetItem"):
            items = list(DayCountsItem.batch_get([f"{DAY_PREFIX}{day.isoformat()}" for day in days]))
        return {
            date.fromisoformat(item.npn.removeprefix(DAY_PREFIX)): [
                tuple(row) for row in json.loads(zlib.decompress(item.rows))
            ]
            for item in items
        }

    def save_day_counts(self, counts: Mapping[date, Sequence[ReferralRow]]) -> None:
        bind(DayCountsItem, self._table)
        with _sdk("BatchWriteItem"), DayCountsItem.batch_write() as batch:
            for day, rows in counts.items():
                packed = zlib.compress(json.dumps(rows, separators=(",", ":")).encode())
                batch.save(DayCountsItem(f"{DAY_PREFIX}{day.isoformat()}", rows=packed))

    def load(self, state: str) -> tuple[str, str] | None:
        """A state's (summary JSON, computed_at), or None before the job first wrote it."""
        bind(CoverageItem, self._table)
        with _sdk("GetItem"):
            try:
                item = CoverageItem.get(f"{COVERAGE_PREFIX}{state}")
            except CoverageItem.DoesNotExist:
                return None
        return item.summary, item.computed_at
