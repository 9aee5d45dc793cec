"""What a committed decision counts for on the dashboard: one count per decision, the safety net once per referral,
the time to accept from the referral as the acceptance left it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from hod.adapters.telemetry import COUNTED, Measure, count_decision, measures
from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from tests.unit.test_offer_rules import referral as offered_referral

CREATED = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def event(action: str, after: timedelta = timedelta(0), **detail: Any) -> AuditEvent:
    return AuditEvent(at=CREATED + after, actor="system", action=action, detail=detail)


def referral(accepted_after: timedelta | None) -> Referral:
    """A referral created at CREATED, accepted `accepted_after` later (None: not accepted)."""
    if accepted_after is None:
        return offered_referral(ReferralStatus.SEARCHING, None).model_copy(update={"created_at": CREATED})
    accepted = offered_referral(ReferralStatus.ACCEPTED, "101")
    return accepted.model_copy(update={"created_at": CREATED, "accepted_at": CREATED + accepted_after})


def never_read() -> Referral:
    raise AssertionError("the referral was read for a decision that is not an acceptance")


def test_each_counted_decision_is_one_count_and_other_events_count_nothing() -> None:
    # Given every counted action, and events that record what happened without being a decision
    for action, name in COUNTED.items():
        if action in ("offer.accepted", "safety_net.accepted"):
            continue
        # When its write commits, it counts once, without reading the referral
        assert measures([event(action)], never_read) == [Measure(name, MetricUnit.Count, 1)]
    assert measures([event("offer.notified"), event("workflow.started"), event("consumer.notified")], never_read) == []


def test_a_referral_is_counted_into_the_safety_net_at_its_first_round_only() -> None:
    # Given a referral's first and second safety-net rounds opening: only the first counts
    assert measures([event("safety_net.opened", round=1)], never_read) == [
        Measure("ReferralsToSafetyNet", MetricUnit.Count, 1)
    ]
    assert measures([event("safety_net.opened", round=2)], never_read) == []


def test_an_acceptance_measures_the_seconds_from_the_request_to_the_acceptance() -> None:
    # Given a referral accepted 7 minutes 30 seconds after the consumer's request (directly, or from the safety net)
    accepted = referral(timedelta(minutes=7, seconds=30))
    for action in ("offer.accepted", "safety_net.accepted"):
        # When the acceptance commits
        found = measures([event(action, timedelta(minutes=7, seconds=30))], lambda: accepted)
        # Then it counts, with its time to accept
        assert Measure("TimeToAccept", MetricUnit.Seconds, 450.0) in found
        assert Measure(COUNTED[action], MetricUnit.Count, 1) in found


def test_an_acceptance_whose_referral_cannot_be_read_back_is_counted_without_a_time() -> None:
    # Given an acceptance whose referral is gone, or shows no acceptance: counted, not timed
    assert measures([event("offer.accepted")], lambda: None) == [Measure("OffersAccepted", MetricUnit.Count, 1)]
    assert measures([event("offer.accepted")], lambda: referral(None)) == [
        Measure("OffersAccepted", MetricUnit.Count, 1)
    ]


def test_a_count_that_cannot_be_recorded_never_undoes_the_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given metrics that fail to record (e.g. a full metric set being published by another thread)
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("dictionary changed size during iteration")

    monkeypatch.setattr(Metrics, "add_metric", broken)
    # When a committed decision is counted, then nothing is raised to the code that made it
    count_decision([event("referral.unserved")], never_read)
