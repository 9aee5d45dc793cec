"""Sending at a rate: the arithmetic (calls per SES call, back-off with jitter), the bulk template's placeholders,
and the notifier's ledger claims and held messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hod.domain.sending import SES_BULK_LIMIT, calls_per_send, full_jitter
from hod.errors import DependencyFailed
from hod.messages import bulk_data, bulk_template
from hod.services.notifier import LATE_AFTER, Notifier, Recipient
from tests.unit.test_sender import MemoryLedger, Outbox, Queue

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@given(rate=st.floats(min_value=0.1, max_value=100_000), senders=st.integers(min_value=1, max_value=1000))
def test_senders_together_never_ask_more_than_a_second_of_the_rate_nor_more_than_a_bulk_call(
    rate: float, senders: int
) -> None:
    size = calls_per_send(rate, senders)
    assert 1 <= size <= SES_BULK_LIMIT
    assert size * senders <= max(rate, senders)


def test_fourteen_a_second_shared_by_two_senders_is_seven_agents_a_call() -> None:
    assert calls_per_send(14, 2) == 7
    assert calls_per_send(500, 4) == 50


@given(attempt=st.integers(min_value=0, max_value=100), draw=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_the_back_off_grows_with_attempts_within_its_cap_and_is_spread_by_the_draw(attempt: int, draw: float) -> None:
    delay = full_jitter(attempt, draw, base=0.5, cap=900)
    assert 0 <= delay <= min(900, 0.5 * 2**attempt)
    assert full_jitter(attempt, 0.0) == 0


def test_a_bulk_template_leaves_each_agents_link_as_a_placeholder_escaped_for_html() -> None:
    # Given the safety-net message for SES bulk sending, the link different for each agent
    message = bulk_template("safety_net", "en", {"city": "Austin", "county": "Travis County", "state": "TX"}, ("link",))
    data = bulk_data({"link": "https://hod.test/offers/view?t=a&b"})
    # Then the text carries {{link}}, the HTML {{link_html}}, and an agent's data fills both, escaped for the HTML
    assert "{{link}}" in message.text
    assert "{{link_html}}" in message.html
    assert "Austin" in message.subject
    assert data == {"link": "https://hod.test/offers/view?t=a&b", "link_html": "https://hod.test/offers/view?t=a&amp;b"}


def test_a_value_that_looks_like_an_ses_placeholder_is_refused_rather_than_sent_wrong() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        bulk_template("safety_net", "en", {"city": "{{x}}", "county": "c", "state": "TX"}, ("link",))


@dataclass
class ThrottledEmail:
    attempts: int = 0
    sent: list[str] = field(default_factory=list)
    throttling: bool = True

    def send(self, to: str, subject: str, text: str, html: str) -> str:
        self.attempts += 1
        if self.throttling:
            raise DependencyFailed("sesv2", "SendEmail", "TooManyRequestsException", retryable=True)
        self.sent.append(to)
        return "id"


class Clock:
    def now(self) -> datetime:
        return NOW


AGENT = Recipient(label="agent:101", language="en", channels=frozenset({"email"}), email="agent101@example.com")
VALUES = {"city": "Austin", "state": "TX", "missed_count": "1"}


def notifier(email: Any, ledger: MemoryLedger, queue: Queue | None) -> Notifier:
    return Notifier(email, Outbox(), Outbox(), ledger, queue, Clock())


def test_a_message_whose_channel_still_throttles_is_held_on_the_queue_not_failed() -> None:
    # Given an e-mail channel still throttling after the SDK's retries
    ledger, queue = MemoryLedger(), Queue()
    # When a missed-offer notice is sent
    outcomes = notifier(ThrottledEmail(), ledger, queue).send("r-1", "missed:101", AGENT, "missed", VALUES, trail="r-1")
    # Then it is held, rendered, until the kind's moment, and its claim is given back for the send function
    assert outcomes == {"email": "held"}
    (held,) = queue.queued
    assert (held.scope, held.key, held.channel, held.to, held.trail) == (
        "r-1",
        "missed:101#email",
        "email",
        ("agent101@example.com",),
        "r-1",
    )
    assert held.not_after == NOW + LATE_AFTER["missed"]
    assert "Austin" in held.subject or "Austin" in held.text
    assert ledger.items == {}


def test_an_offer_is_held_only_until_its_deadline() -> None:
    queue = Queue()
    deadline = NOW + timedelta(minutes=15)
    notifier(ThrottledEmail(), MemoryLedger(), queue).send(
        "r-1", "offer:101", AGENT, "missed", VALUES, claim=False, not_after=deadline
    )
    (held,) = queue.queued
    assert held.not_after == deadline


def test_without_a_queue_a_throttled_channel_fails_as_before() -> None:
    outcomes = notifier(ThrottledEmail(), MemoryLedger(), None).send("r-1", "missed:101", AGENT, "missed", VALUES)
    assert outcomes == {"email": "failed"}


def test_a_claimed_send_is_recorded_only_once_it_succeeded_so_a_retry_can_make_it() -> None:
    # Given a channel failing for good on the first attempt (not throttling), then working
    email = ThrottledEmail(throttling=False)
    ledger = MemoryLedger()
    email_error = DependencyFailed("sesv2", "SendEmail", "MessageRejected")

    class Once:
        def __init__(self) -> None:
            self.failed = False

        def send(self, to: str, subject: str, text: str, html: str) -> str:
            if not self.failed:
                self.failed = True
                raise email_error
            return email.send(to, subject, text, html)

    failing = Notifier(Once(), Outbox(), Outbox(), ledger, None, Clock())
    # When the notice is sent, fails, and is sent again (a retried task)
    first = failing.send("r-1", "missed:101", AGENT, "missed", VALUES)
    second = failing.send("r-1", "missed:101", AGENT, "missed", VALUES)
    third = failing.send("r-1", "missed:101", AGENT, "missed", VALUES)
    # Then the failure left no claim behind, the retry sent it, and after that it is a duplicate
    assert (first, second, third) == ({"email": "failed"}, {"email": "sent"}, {"email": "duplicate"})
    assert email.sent == ["agent101@example.com"]
    assert ledger.statuses() == {"sent"}


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("TooManyRequestsException", 429, True),
        ("Throttling", 400, True),
        ("ProvisionedThroughputExceededException", 400, True),
        ("InternalFailure", 500, True),
        ("MessageRejected", 400, False),
        ("AccessDeniedException", 403, False),
    ],
)
def test_an_sdk_failure_says_whether_the_same_call_may_succeed_later(code: str, status: int, retryable: bool) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    from hod.adapters.aws import sdk_failure

    error = ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail")
    assert sdk_failure("sesv2", "SendEmail", error).retryable is retryable
    assert sdk_failure("sesv2", "SendEmail", EndpointConnectionError(endpoint_url="https://x")).retryable
