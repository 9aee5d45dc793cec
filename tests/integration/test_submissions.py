"""A consumer's submission is stored once (R1): its name (Idempotency-Key, or its fields) is claimed in the same
transaction that stores the referral, so a repeat, or duplicates arriving together, get the first referral and
nothing is sent twice; the same key with other fields is refused."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from hod import wiring
from hod.domain.referral import ConsumerRequest, Referral, ReferralStatus
from hod.errors import Unprocessable
from hod.services.submissions import Submissions
from local.inproc import atomic_dynamodb
from tests.integration.test_api import consumer

pytestmark = pytest.mark.usefixtures("stack", "atomic")
DUPLICATES = 8


class MovableClock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def atomic() -> Iterator[None]:
    """moto answering one request at a time, as DynamoDB applies each transaction atomically (moto's transactions
    are not safe against concurrent writers: without this, the duplicates' test would test moto's thread safety)."""
    with atomic_dynamodb():
        yield


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def request(**overrides: Any) -> ConsumerRequest:
    return ConsumerRequest.model_validate(consumer(**overrides))


def receipts_to(phone: str) -> int:
    """Texts sent to the consumer's phone (the receipt is e-mailed and texted; this stack's SES has no sender)."""
    messages = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
    return sum(1 for number, *_ in messages if number.endswith(phone[-4:]))


def referral_heads() -> list[dict[str, Any]]:
    import os

    items = boto3.client("dynamodb").scan(TableName=os.environ["HOD_REFERRALS_TABLE"])["Items"]
    return [item for item in items if item["sk"]["S"] == "REFERRAL"]


def together(submit: Any, bodies: list[ConsumerRequest]) -> list[Any]:
    """Submit each body from its own thread, all released at once; each one's referral or the error it raised."""
    start = Barrier(len(bodies))

    def one(body: ConsumerRequest) -> Any:
        start.wait()
        try:
            return submit(body)
        except Unprocessable as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def test_a_repeated_submission_is_answered_with_the_first_referral_as_stored_and_sends_no_second_receipt() -> None:
    # Given a submission with an Idempotency-Key, stored, whose referral has since moved on
    submissions = wiring.services.submissions()
    first = submissions.submit(request(phone="512-555-0101"), "form-1")
    wiring.adapters.workflow_store().move_referral(
        first.referral_id,
        expected=[ReferralStatus.SEARCHING],
        to=ReferralStatus.SAFETY_NET,
        at=datetime.now(UTC),
        event=wiring.workflow.workflow_ports().event("system", "safety_net.opened", round=1),
    )
    # When the same request comes again with the same key
    again = submissions.submit(request(phone="512-555-0101"), "form-1")
    # Then it is answered with the first referral, as its first answer showed it; one referral, one receipt
    assert again == first
    assert again.status is ReferralStatus.SEARCHING
    assert len(referral_heads()) == 1
    assert receipts_to("512-555-0101") == 1


def test_duplicates_arriving_together_with_one_key_store_one_referral_and_send_one_receipt() -> None:
    # Given eight identical submissions with one Idempotency-Key, sent from eight threads at the same moment
    submissions = wiring.services.submissions()
    bodies = [request(phone="512-555-0102")] * DUPLICATES
    # When they all arrive
    answers = together(lambda body: submissions.submit(body, "form-burst"), bodies)
    # Then each is answered with the same referral, only one is stored and the consumer gets one receipt
    assert all(isinstance(answer, Referral) for answer in answers)
    assert len({answer.referral_id for answer in answers}) == 1
    assert len(referral_heads()) == 1
    assert receipts_to("512-555-0102") == 1


def test_duplicates_without_a_key_arriving_together_store_one_referral() -> None:
    # Given eight identical submissions without a key (their fields name them), at the same moment
    submissions = wiring.services.submissions()
    # When they all arrive
    answers = together(lambda body: submissions.submit(body, ""), [request(phone="512-555-0103")] * DUPLICATES)
    # Then they all name one stored referral
    assert len({answer.referral_id for answer in answers}) == 1
    assert len(referral_heads()) == 1
    assert receipts_to("512-555-0103") == 1


def test_one_key_with_different_bodies_arriving_together_stores_the_first_and_refuses_the_others() -> None:
    # Given one Idempotency-Key sent at the same moment with eight different phone numbers
    submissions = wiring.services.submissions()
    bodies = [request(phone=f"512-555-01{n:02d}") for n in range(DUPLICATES)]
    # When they all arrive
    answers = together(lambda body: submissions.submit(body, "form-shared"), bodies)
    # Then exactly one is stored; every other is refused as a reused key, and nothing else is stored
    stored = [answer for answer in answers if isinstance(answer, Referral)]
    refused = [answer for answer in answers if isinstance(answer, Unprocessable)]
    assert (len(stored), len(refused)) == (1, DUPLICATES - 1)
    assert [item["pk"]["S"] for item in referral_heads()] == [f"REF#{stored[0].referral_id}"]


def test_a_name_past_its_expiry_no_longer_holds_and_the_same_submission_is_stored_again(clock: MovableClock) -> None:
    # Given a submission stored through an intake whose names hold for a minute
    submissions = Submissions(wiring.services.intake(), wiring.adapters.referral_store(), clock, 60)
    first = submissions.submit(request(), "form-9")
    # When the same submission comes within the minute, and again after it
    clock.at += timedelta(seconds=59)
    within = submissions.submit(request(), "form-9")
    clock.at += timedelta(seconds=2)
    after = submissions.submit(request(), "form-9")
    # Then the first repeat is the first referral, the later one a new referral
    assert within.referral_id == first.referral_id
    assert after.referral_id != first.referral_id
    assert len(referral_heads()) == 2
