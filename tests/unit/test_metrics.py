"""Program metrics (R11): nearest-rank percentiles, rates with nothing to divide by, grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hod.domain.metrics import OfferFact, ReferralFact, percentile, program_metrics

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def referral(state: str = "TX", language: str = "en", status: str = "searching", **extra: object) -> ReferralFact:
    accepted_after = extra.pop("accepted_after", None)
    return ReferralFact(
        created_at=T0,
        state=state,
        language=language,
        status=status,
        accepted_at=T0 + timedelta(seconds=accepted_after) if isinstance(accepted_after, int) else None,
        went_to_safety_net=bool(extra.pop("safety_net", False)),
    )


def offer(status: str, kind: str = "direct", state: str = "TX", language: str = "en") -> OfferFact:
    return OfferFact(offered_at=T0, state=state, language=language, kind=kind, status=status)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([7.0], 95, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 90, 4.0),
        ([float(v) for v in range(1, 101)], 95, 95.0),
        ([float(v) for v in range(1, 101)], 90, 90.0),
    ],
)
def test_percentiles_are_nearest_rank(values: list[float], q: int, expected: float | None) -> None:
    assert percentile(values, q) == expected


def test_time_to_accept_counts_only_accepted_referrals_and_rates_need_a_denominator() -> None:
    # Given ten accepted referrals (60 s … 600 s), one open and one unserved, in two states and languages
    facts = [referral(status="accepted", accepted_after=60 * n) for n in range(1, 11)]
    facts += [referral("FL", "es", "safety_net", safety_net=True), referral("FL", "es", "unserved", safety_net=True)]
    offers = [offer("accepted")] * 10 + [offer("missed")] * 2 + [offer("rejected")] + [offer("pending")]
    offers += [offer("accepted", kind="safety_net")]

    # When the metrics are computed
    metrics = program_metrics(facts, offers)

    # Then the percentiles come from the ten accepted ones only
    totals = metrics.totals
    assert (totals.referrals, totals.accepted) == (12, 10)
    assert (totals.time_to_accept_p50_s, totals.time_to_accept_p90_s, totals.time_to_accept_p95_s) == (300, 540, 600)
    # And the missed-offer rate counts direct offers that were answered or lapsed (not pending, not safety-net calls)
    assert (totals.direct_offers, totals.missed_offers, totals.missed_offer_rate_pct) == (13, 2, 15.4)
    assert (totals.safety_net, totals.safety_net_rate_pct, totals.unserved, totals.still_open) == (2, 16.7, 1, 1)
    # And groups carry their own numbers; a group with no offers has no missed-offer rate
    fl = next(row for row in metrics.by_state if row.key == "FL")
    assert (fl.referrals, fl.accepted, fl.time_to_accept_p50_s, fl.missed_offer_rate_pct) == (2, 0, None, None)
    assert [row.key for row in metrics.by_language] == ["en", "es"]
    assert metrics.rows()[0] is totals
    assert len(metrics.rows()) == 1 + 2 + 2


def test_no_referrals_gives_zeros_and_no_rates() -> None:
    totals = program_metrics([], []).totals
    assert totals.referrals == 0
    assert totals.safety_net_rate_pct is None
    assert totals.time_to_accept_p50_s is None
