"""What the consumer's status page says at each stage, from the referral as stored (no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hod.domain.offer import AgentContact
from hod.domain.referral import ConsumerRequest, Place, Referral, ReferralStatus
from hod.ports.workflow import ReferralState
from hod.services.status import Stage, StatusTimes, status_view

NOW = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # 1:30 a.m. in Austin
TIMES = StatusTimes(follow_up_seconds=900, safety_net_window_seconds=1800, safety_net_rounds=24)
PLACE = Place(
    zip="78702", city="Austin", county="Travis County", state="TX", lat=30.26, lon=-97.71, time_zone="America/Chicago"
)
CONSUMER = ConsumerRequest(first_name="Rosa", last_name="Martínez", phone="512-555-0188", zip="78702", language="es")
CONTACT = AgentContact(
    npn="101",
    first_name="Ana",
    last_name="García",
    email="ana@example.com",
    phone="+15125550142",
    text_phone="+15125550142",
    language="es",
    channels=("email",),
    time_zone="America/Chicago",
)


def referral(status: ReferralStatus, **fields: object) -> Referral:
    return Referral.model_validate(
        {
            "referral_id": "r-1",
            "consumer": CONSUMER,
            "place": PLACE,
            "language": "es",
            "status": status,
            "created_at": NOW - timedelta(hours=1),
            "updated_at": NOW - timedelta(minutes=10),
            **fields,
        }
    )


def test_a_referral_in_its_third_safety_net_round_says_when_matching_runs_again_and_until_when() -> None:
    # Given a referral whose third safety-net round opened ten minutes ago
    state = ReferralState(referral(ReferralStatus.SAFETY_NET, safety_net_round=3))
    # When its status is read
    view = status_view(state, frozenset(), NOW, TIMES)
    # Then matching runs again when the round ends, and it keeps trying for the 22 rounds left
    assert view.stage is Stage.SAFETY_NET
    assert view.safety_net is not None
    assert view.safety_net.asked_at == NOW - timedelta(minutes=10)
    assert view.safety_net.next_search_at == NOW + timedelta(minutes=20)
    assert view.safety_net.tries_until == NOW - timedelta(minutes=10) + 22 * timedelta(minutes=30)
    assert view.matched is False
    assert view.agent_first_name is None


def test_an_accepted_referral_offers_nobody_has_called_me_only_after_the_contact_by_time_and_once() -> None:
    # Given a referral Ana accepted 14 minutes ago
    accepted = referral(ReferralStatus.ACCEPTED, accepted_by="101", accepted_at=NOW - timedelta(minutes=14))
    state = ReferralState(accepted, contact=CONTACT)
    # Then the page shows her first name and business phone, the contact-by time, and no button yet
    view = status_view(state, frozenset(), NOW, TIMES)
    assert (view.agent_first_name, view.agent_phone) == ("Ana", "+15125550142")
    assert view.contact_by == NOW + timedelta(minutes=1)
    assert view.can_report_not_called is False
    # When the contact-by time has passed: the button; once reported: no button, and the report shown
    assert status_view(state, frozenset(), NOW + timedelta(minutes=1), TIMES).can_report_not_called is True
    reported = status_view(state, frozenset({"not_called:101", "15"}), NOW + timedelta(minutes=2), TIMES)
    assert reported.can_report_not_called is False
    assert reported.not_called_reported is True


def test_progress_and_closing_map_to_the_stages_the_consumer_is_told() -> None:
    # Given the referral in each later status, Then the page's stage follows it, and offering counts as searching
    expected = {
        ReferralStatus.OFFERED: Stage.SEARCHING,
        ReferralStatus.IN_PROGRESS: Stage.IN_PROGRESS,
        ReferralStatus.COMPLETED: Stage.COMPLETED,
        ReferralStatus.NOT_A_GOOD_REFERRAL: Stage.CLOSED,
        ReferralStatus.UNSERVED: Stage.UNSERVED,
    }
    for status, stage in expected.items():
        view = status_view(ReferralState(referral(status)), frozenset(), NOW, TIMES)
        assert view.stage is stage
        assert view.can_report_not_called is False
    assert status_view(ReferralState(referral(ReferralStatus.OFFERED)), frozenset(), NOW, TIMES).matched is True
