"""An agent's referrals found and counted on the server (R11): Manage Referrals filtered by status, consumer name and
the day assigned, a page at a time; the same rows as a CSV file with the totals; the agent's metrics.

Reads are bounded: the `by-agent` index's key range for the period (offer time between its first and last moment),
newest first, at most MAX_PAGE_READ offers per page (the rest of the filters apply to the rows read, as the row's
status and the consumer's name are known only then), and at most MAX_EXPORT_READ offers for an export or metrics
(a longer history is refused with 400, asking for fewer days, never answered from part of it)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from hod.domain.agent_metrics import AgentMetrics, RowFact, agent_metrics
from hod.domain.folding import fold
from hod.domain.offer import Offer, OfferStatus
from hod.domain.referral import Referral
from hod.errors import ValidationFailed
from hod.ports.common import Clock
from hod.services.referral_views import MISSED, AgentReferral, agent_referral
from hod.services.reports import time_zone

MAX_DAYS = 366
MAX_PAGE = 1000
MAX_PAGE_READ = 5000
MAX_EXPORT_READ = 5000
_READ_PAGE = 500  # offers asked for per Query


class AgentHistory(Protocol):
    def offers_between(self, npn: str, start: datetime, end: datetime, limit: int) -> list[Offer]: ...


class AcceptedReferrals(Protocol):
    def referrals(self, referral_ids: Sequence[str]) -> dict[str, Referral]: ...


@dataclass(frozen=True)
class Period:
    """Offers made in [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class RowFilter:
    statuses: frozenset[str] = frozenset()
    first_name: str = ""
    last_name: str = ""

    def matches(self, row: AgentReferral) -> bool:
        if self.statuses and row.status not in self.statuses:
            return False
        if not (self.first_name or self.last_name):
            return True
        consumer = row.accepted.consumer if row.accepted else None  # names are shown only on accepted rows (R7)
        return (
            consumer is not None
            and fold(consumer.first_name).startswith(fold(self.first_name))
            and fold(consumer.last_name).startswith(fold(self.last_name))
        )


def period(now: datetime, days: int | None, first: date | None, last: date | None, zone: str) -> Period:
    """The last `days` days to `now`, or the days `first`–`last` (both included) in time zone `zone`."""
    tz = time_zone(zone)
    if first is None and last is None:
        return Period(now - timedelta(days=days or 30), now + timedelta(seconds=1))
    if days is not None:
        raise ValidationFailed({"days": "give either days or from and to"})
    if first is None or last is None:
        raise ValidationFailed({"from" if first is None else "to": "give both from and to"})
    if last < first:
        raise ValidationFailed({"to": "must be on or after from"})
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed({"to": f"at most {MAX_DAYS} days from from"})
    return Period(datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz))


class AgentReports:
    def __init__(self, history: AgentHistory, accepted: AcceptedReferrals, clock: Clock) -> None:
        self._history = history
        self._accepted = accepted
        self._clock = clock

    def page(
        self, npn: str, span: Period, which: RowFilter, limit: int, before: datetime | None = None
    ) -> tuple[list[AgentReferral], datetime | None]:
        """At most `limit` rows that match, newest first, from offers made before `before`; and the `before` of the
        next page (None when these are the last)."""
        end = min(span.end, before) if before else span.end
        return self._read(npn, Period(span.start, end), which, min(limit, MAX_PAGE), MAX_PAGE_READ)

    def every_row(self, npn: str, span: Period, which: RowFilter = RowFilter()) -> list[AgentReferral]:
        """Every matching row of the period, newest first; refused when the period holds more offers than one
        export reads."""
        rows, more = self._read(npn, span, which, MAX_EXPORT_READ + 1, MAX_EXPORT_READ)
        if more is not None:
            too_many = f"more than {MAX_EXPORT_READ:,} referrals in this period; choose fewer days"
            raise ValidationFailed({"days": too_many}, problems={"days": "too_many_rows"})
        return rows

    def metrics(self, npn: str, span: Period) -> AgentMetrics:
        return measured(self.every_row(npn, span))

    def _read(
        self, npn: str, span: Period, which: RowFilter, want: int, budget: int
    ) -> tuple[list[AgentReferral], datetime | None]:
        now = self._clock.now()
        rows: list[AgentReferral] = []
        read = 0
        cursor = span.end
        while read < budget:
            size = min(_READ_PAGE, budget - read)
            offers = self._history.offers_between(npn, span.start, cursor, size)
            accepted = self._accepted.referrals([o.referral_id for o in offers if o.status is OfferStatus.ACCEPTED])
            for offer in offers:
                read += 1
                cursor = offer.offered_at
                row = agent_referral(offer, accepted.get(offer.referral_id), npn, now)
                if which.matches(row):
                    rows.append(row)
                    if len(rows) == want:
                        return rows, cursor
            if len(offers) < size:
                return rows, None
        return rows, cursor


def measured(rows: Sequence[AgentReferral]) -> AgentMetrics:
    return agent_metrics(
        RowFact(
            status=row.status,
            outcome=row.accepted.outcome if row.accepted else None,
            offered_at=row.offer.offered_at,
            answered_at=row.offer.decided_at,
        )
        for row in rows
    )


CSV_COLUMNS = (
    "Referral assigned",
    "Status",
    "Kind",
    "City",
    "County",
    "State",
    "Language",
    "Expires",
    "Answered",
    "First name",
    "Last name",
    "Phone",
    "E-mail",
    "Not a good referral because",
    "Outcome",
)


def referrals_csv(rows: Sequence[AgentReferral], totals: AgentMetrics) -> str:
    """The rows as Manage Referrals shows them (the consumer only on referrals this agent accepted; a missed offer
    reads "Missed Referral" and nothing more about the consumer), then a blank line and the totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        offer, mine = row.offer, row.accepted
        consumer = mine.consumer if mine else None
        if row.status == MISSED:
            writer.writerow([offer.offered_at.isoformat(), "Missed Referral"] + [""] * (len(CSV_COLUMNS) - 2))
            continue
        writer.writerow(
            [
                offer.offered_at.isoformat(),
                row.status,
                offer.kind.value,
                offer.city,
                offer.county,
                offer.state,
                offer.language,
                offer.deadline.isoformat() if offer.kind.value == "direct" else "",
                offer.decided_at.isoformat() if offer.decided_at else "",
                consumer.first_name if consumer else "",
                consumer.last_name if consumer else "",
                consumer.phone if consumer else "",
                (consumer.email or "") if consumer else "",
                (mine.not_good_reason or "") if mine else "",
                (mine.outcome or "") if mine else "",
            ]
        )
    writer.writerow([])
    for label, value in totals_rows(totals):
        writer.writerow([label, "" if value is None else value])
    return out.getvalue()


def totals_rows(totals: AgentMetrics) -> list[tuple[str, object]]:
    return [
        ("Total: referrals offered", totals.offers),
        ("Total: accepted", totals.accepted),
        ("Total: missed", totals.missed),
        ("Acceptance rate (%)", totals.acceptance_rate_pct),
        ("Response time, median (s)", totals.response_p50_s),
        ("Response time, p90 (s)", totals.response_p90_s),
        *((f"Status: {status}", count) for status, count in totals.by_status.items()),
        *((f"Outcome: {outcome}", count) for outcome, count in totals.by_outcome.items()),
    ]
