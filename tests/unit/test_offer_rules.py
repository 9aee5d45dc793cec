"""Referral statuses after acceptance (R8) and what an agent's Manage Referrals row shows (R7, R11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hod.api import views
from hod.domain.offer import CompletedOutcome, NotGoodReason, Offer, OfferKind, OfferStatus, check_agent_move
from hod.domain.referral import ConsumerRequest, Place, Referral, ReferralStatus
from hod.errors import Conflict
from hod.services.referral_views import agent_referral
from hod.services.workflow.missed import missed_alert

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
S = ReferralStatus


@pytest.mark.parametrize(
    ("current", "target", "reason", "outcome"),
    [
        (S.ACCEPTED, S.IN_PROGRESS, None, None),
        (S.ACCEPTED, S.COMPLETED, None, CompletedOutcome.REFERRED_TO_MEDICAID),
        (S.IN_PROGRESS, S.NOT_A_GOOD_REFERRAL, NotGoodReason.UNREACHABLE_AFTER_THREE_ATTEMPTS, None),
        (S.IN_PROGRESS, S.COMPLETED, None, CompletedOutcome.OTHER),
    ],
)
def test_legal_moves(current: S, target: S, reason: NotGoodReason | None, outcome: CompletedOutcome | None) -> None:
    check_agent_move(current, target, reason, outcome)


@pytest.mark.parametrize(
    ("current", "target", "reason", "outcome", "message", "key"),
    [
        (S.OFFERED, S.IN_PROGRESS, None, None, "cannot become", "status_not_allowed"),
        (S.COMPLETED, S.IN_PROGRESS, None, None, "cannot become", "status_not_allowed"),
        (S.NOT_A_GOOD_REFERRAL, S.COMPLETED, None, CompletedOutcome.OTHER, "cannot become", "status_not_allowed"),
        (S.IN_PROGRESS, S.IN_PROGRESS, None, None, "cannot become", "status_not_allowed"),
        (S.ACCEPTED, S.ACCEPTED, None, None, "cannot set", "status_not_allowed"),
        (S.ACCEPTED, S.SEARCHING, None, None, "cannot set", "status_not_allowed"),
        (S.ACCEPTED, S.COMPLETED, None, None, "needs an outcome", "outcome_needed"),
        (S.ACCEPTED, S.NOT_A_GOOD_REFERRAL, None, None, "needs a reason", "reason_needed"),
        (
            S.ACCEPTED,
            S.COMPLETED,
            NotGoodReason.ALREADY_HAS_BROKER,
            CompletedOutcome.OTHER,
            "reason goes only",
            "reason_not_allowed",
        ),
        (S.ACCEPTED, S.IN_PROGRESS, None, CompletedOutcome.OTHER, "outcome goes only", "outcome_not_allowed"),
    ],
)
def test_illegal_moves_are_refused_with_the_key_a_page_words_them_by(
    current: S, target: S, reason: NotGoodReason | None, outcome: CompletedOutcome | None, message: str, key: str
) -> None:
    # Given a move the accepting agent may not make
    # When it is checked
    # Then it is refused, saying why in English and by its stable key
    with pytest.raises(Conflict, match=message) as refused:
        check_agent_move(current, target, reason, outcome)
    assert refused.value.reason == key


def offer(status: OfferStatus, deadline: datetime = NOW + timedelta(minutes=10)) -> Offer:
    return Offer(
        referral_id="r1",
        agent_npn="101",
        kind=OfferKind.DIRECT,
        status=status,
        offered_at=NOW - timedelta(minutes=5),
        deadline=deadline,
        city="Austin",
        county="Travis County",
        state="TX",
        language="es",
    )


def referral(status: S, accepted_by: str | None) -> Referral:
    return Referral(
        referral_id="r1",
        consumer=ConsumerRequest(first_name="Rosa", last_name="Díaz", phone="5125550188", zip="78702"),
        place=Place(
            zip="78702",
            city="Austin",
            county="Travis County",
            state="TX",
            lat=30.26,
            lon=-97.71,
            time_zone="America/Chicago",
        ),
        language="es",
        status=status,
        created_at=NOW,
        updated_at=NOW,
        accepted_by=accepted_by,
    )


def agent_row(offer: Offer, referral: Referral | None, npn: str, now: datetime) -> dict[str, Any]:
    """The Manage Referrals row as the API sends it."""
    return views.agent_row(agent_referral(offer, referral, npn, now)).model_dump(mode="json", by_alias=True)


def test_rows_show_the_consumer_only_to_the_agent_who_accepted() -> None:
    mine = agent_row(offer(OfferStatus.ACCEPTED), referral(S.IN_PROGRESS, "101"), "101", NOW)
    assert mine["status"] == "in_progress"
    assert mine["consumer"]["last_name"] == "Díaz"
    pending = agent_row(offer(OfferStatus.PENDING), referral(S.OFFERED, None), "101", NOW)
    assert pending["status"] == "pending"
    assert pending["consumer"] is None
    assert pending["place"] == {"city": "Austin", "county": "Travis County", "state": "TX"}
    # Even with the referral at hand, another agent's acceptance shows nothing of the consumer
    other = agent_row(offer(OfferStatus.ACCEPTED), referral(S.ACCEPTED, "202"), "101", NOW)
    assert other["consumer"] is None


def test_an_unanswered_offer_past_its_deadline_reads_as_missed() -> None:
    row = agent_row(offer(OfferStatus.PENDING, deadline=NOW - timedelta(seconds=1)), None, "101", NOW)
    assert (row["status"], row["label"], row["consumer"]) == ("missed", "Missed Referral", None)


def test_the_missed_alert_uses_the_programs_words() -> None:
    assert missed_alert(0) is None
    assert missed_alert(2) == (
        "Alert! You have missed 2 referral(s) in the last seven days. As a reminder, you must accept a referral "
        "within 15 minutes of receiving your notification. Missed referrals are sent to the next available Help On "
        "Demand agent or broker."
    )
