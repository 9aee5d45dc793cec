"""Program metrics for administrators (R11): volumes, time to accept, missed offers, safety net, unserved.

Pure functions over small facts about referrals and offers (no consumer details, no I/O). Referrals count by the
UTC day they were created, offers by the UTC day they were made.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

UNSERVED = "unserved"
OPEN_STATUSES = frozenset({"searching", "offered", "safety_net"})
DIRECT = "direct"
DECIDED_OFFER_STATUSES = frozenset({"accepted", "rejected", "missed"})
PERCENTILES = (50, 90, 95)


@dataclass(frozen=True)
class ListedReferral:
    """A referral in one of the administrator's lists (today's open, safety-net or unserved referrals)."""

    referral_id: str
    created_at: datetime
    state: str
    language: str
    status: str
    safety_net_round: int


@dataclass(frozen=True)
class ReferralFact:
    created_at: datetime
    state: str
    language: str
    status: str
    accepted_at: datetime | None
    went_to_safety_net: bool

    @property
    def seconds_to_accept(self) -> float | None:
        if self.accepted_at is None:
            return None
        return max(0.0, (self.accepted_at - self.created_at).total_seconds())


@dataclass(frozen=True)
class OfferFact:
    offered_at: datetime
    state: str
    language: str
    kind: str  # "direct" (one agent, with a deadline) or "safety_net" (an accepted safety-net call)
    status: str  # pending, accepted, rejected, missed


@dataclass(frozen=True)
class GroupMetrics:
    """One row of the metrics table: every referral, or those of one state or one language."""

    breakdown: str  # "all", "state" or "language"
    key: str
    referrals: int
    accepted: int
    time_to_accept_p50_s: int | None
    time_to_accept_p90_s: int | None
    time_to_accept_p95_s: int | None
    direct_offers: int
    missed_offers: int
    missed_offer_rate_pct: float | None
    safety_net: int
    safety_net_rate_pct: float | None
    unserved: int
    still_open: int


# The table's columns, in order, with the labels the console and the CSV export share.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("breakdown", "Breakdown"),
    ("key", "Group"),
    ("referrals", "Referrals"),
    ("accepted", "Accepted"),
    ("time_to_accept_p50_s", "Time to accept p50 (s)"),
    ("time_to_accept_p90_s", "Time to accept p90 (s)"),
    ("time_to_accept_p95_s", "Time to accept p95 (s)"),
    ("direct_offers", "Offers answered or lapsed"),
    ("missed_offers", "Missed offers"),
    ("missed_offer_rate_pct", "Missed-offer rate (%)"),
    ("safety_net", "Went to safety net"),
    ("safety_net_rate_pct", "Safety-net rate (%)"),
    ("unserved", "Unserved"),
    ("still_open", "Still open"),
)


def percentile(sorted_values: Sequence[float], q: int) -> float | None:
    """The nearest-rank percentile: the smallest value with at least q% of the values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def group_metrics(
    breakdown: str, key: str, referrals: Sequence[ReferralFact], offers: Sequence[OfferFact]
) -> GroupMetrics:
    times = sorted(t for t in (r.seconds_to_accept for r in referrals) if t is not None)
    p50, p90, p95 = (percentile(times, q) for q in PERCENTILES)
    decided = [o for o in offers if o.kind == DIRECT and o.status in DECIDED_OFFER_STATUSES]
    missed = sum(1 for o in decided if o.status == "missed")
    safety_net = sum(1 for r in referrals if r.went_to_safety_net)
    return GroupMetrics(
        breakdown=breakdown,
        key=key,
        referrals=len(referrals),
        accepted=len(times),
        time_to_accept_p50_s=_seconds(p50),
        time_to_accept_p90_s=_seconds(p90),
        time_to_accept_p95_s=_seconds(p95),
        direct_offers=len(decided),
        missed_offers=missed,
        missed_offer_rate_pct=_rate(missed, len(decided)),
        safety_net=safety_net,
        safety_net_rate_pct=_rate(safety_net, len(referrals)),
        unserved=sum(1 for r in referrals if r.status == UNSERVED),
        still_open=sum(1 for r in referrals if r.status in OPEN_STATUSES),
    )


def _grouped(
    breakdown: str,
    referrals: Sequence[ReferralFact],
    offers: Sequence[OfferFact],
    key_of: Callable[[Any], str],
) -> list[GroupMetrics]:
    referrals_by: dict[str, list[ReferralFact]] = defaultdict(list)
    offers_by: dict[str, list[OfferFact]] = defaultdict(list)
    for referral in referrals:
        referrals_by[key_of(referral)].append(referral)
    for offer in offers:
        offers_by[key_of(offer)].append(offer)
    keys = sorted(set(referrals_by) | set(offers_by))
    return [group_metrics(breakdown, key, referrals_by[key], offers_by[key]) for key in keys]


@dataclass(frozen=True)
class ProgramMetrics:
    totals: GroupMetrics
    by_state: list[GroupMetrics]
    by_language: list[GroupMetrics]

    def rows(self) -> list[GroupMetrics]:
        """Every row of the table, as the CSV export writes them: the total, then by state, then by language."""
        return [self.totals, *self.by_state, *self.by_language]


def program_metrics(referrals: Iterable[ReferralFact], offers: Iterable[OfferFact]) -> ProgramMetrics:
    referral_list, offer_list = list(referrals), list(offers)
    return ProgramMetrics(
        totals=group_metrics("all", "all", referral_list, offer_list),
        by_state=_grouped("state", referral_list, offer_list, lambda fact: fact.state),
        by_language=_grouped("language", referral_list, offer_list, lambda fact: fact.language),
    )
