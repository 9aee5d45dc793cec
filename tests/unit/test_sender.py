"""The send function's service with in-memory ports and a clock that only moves when someone waits on it: the safety
net's calls paced to the sender's share of the SES rate, throttled destinations tried again after a back-off, calls
whose moment has passed not sent, held messages sent once or not late."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from hod.domain.referral import ReferralStatus
from hod.domain.sending import Call, HeldMessage, SafetyNetCalls, call_key
from hod.errors import DependencyFailed
from hod.services.notifier import Channels
from hod.services.sender import Sender, SendPolicy

START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@dataclass
class VirtualTimer:
    """Time passes only when waited on."""

    current: datetime = START
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=max(0.0, seconds))


@dataclass
class MemoryLedger:
    """The send ledger's rules, in a dict: (scope, key) → (status, holder, held until)."""

    items: dict[tuple[str, str], tuple[str, str | None, datetime | None]] = field(default_factory=dict)

    def claim(self, scope: str, key: str, holder: str, now: datetime, hold: timedelta) -> bool:
        found = self.items.get((scope, key))
        if found is not None and not (found[0] == "sending" and found[2] is not None and found[2] < now):
            return False
        self.items[(scope, key)] = ("sending", holder, now + hold)
        return True

    def record(self, sends: Sequence[tuple[str, str]], outcome: str = "sent") -> None:
        for send in sends:
            self.items[send] = (outcome, None, None)

    def recorded(self, sends: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return {send for send in sends if send in self.items and self.items[send][0] != "sending"}

    def release(self, scope: str, key: str, holder: str) -> None:
        found = self.items.get((scope, key))
        if found is not None and found[0] == "sending" and found[1] == holder:
            del self.items[(scope, key)]

    def statuses(self) -> set[str]:
        return {status for status, _, _ in self.items.values()}


@dataclass
class Referrals:
    status: ReferralStatus = ReferralStatus.SAFETY_NET
    events: list[Any] = field(default_factory=list)

    def get(self, referral_id: str) -> Any:
        return SimpleNamespace(status=self.status)

    def append_events(self, referral_id: str, events: Sequence[Any]) -> None:
        self.events += events

    def counts(self, action: str = "safety_net.sent") -> dict[str, int]:
        totals: dict[str, int] = {}
        for event in self.events:
            if event.action == action:
                for name, value in event.detail.items():
                    if name != "attempt":
                        totals[name] = totals.get(name, 0) + value
        return totals


@dataclass
class Bulk:
    """SES bulk sending: records each call (when, to whom); `answer` decides each call's statuses or raises."""

    timer: VirtualTimer
    answer: Any = None
    calls: list[tuple[datetime, list[str]]] = field(default_factory=list)
    attempts: int = 0

    def send(self, subject: str, text: str, html: str, entries: Sequence[tuple[str, Mapping[str, str]]]) -> list[str]:
        assert "{{link}}" in text
        assert "{{link_html}}" in html
        addresses = [address for address, _ in entries]
        self.attempts += 1
        statuses = self.answer(self.attempts - 1, addresses) if self.answer else ["SUCCESS"] * len(addresses)
        self.calls.append((self.timer.now(), [a for a, s in zip(addresses, statuses, strict=True) if s == "SUCCESS"]))
        return list(statuses)

    def delivered(self) -> list[str]:
        return [address for _, addresses in self.calls for address in addresses]


@dataclass
class Queue:
    queued: list[Any] = field(default_factory=list)

    def put(self, messages: Sequence[Any]) -> None:
        self.queued += messages


@dataclass
class Outbox:
    sent: list[tuple[str, ...]] = field(default_factory=list)
    failure: Exception | None = None

    def send(self, *message: str) -> str:
        if self.failure is not None:
            raise self.failure
        self.sent.append(message)
        return "id"


def agents(npns: Sequence[str], **changes: Any) -> dict[str, Any]:
    found = {}
    for npn in npns:
        found[npn] = SimpleNamespace(
            npn=npn,
            suspended=False,
            languages=["es"] if int(npn) % 2 else ["en", "es"],
            message_language="es" if int(npn) % 2 else "en",
            record=SimpleNamespace(email=f"agent{npn}@example.com"),
        )
    for npn, change in changes.items():
        found[npn.removeprefix("n")] = change
    return found


GROUP = "r-1#calls0"


def batch(count: int, first: int = 100) -> SafetyNetCalls:
    calls = tuple(Call(npn=str(first + i), link=f"https://hod.test/offers/view?t=v1.{first + i}") for i in range(count))
    return SafetyNetCalls(
        referral_id="r-1", group=GROUP, city="Austin", county="Travis County", state="TX", calls=calls
    )


@dataclass
class Harness:
    timer: VirtualTimer = field(default_factory=VirtualTimer)
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    referrals: Referrals = field(default_factory=Referrals)
    email: Outbox = field(default_factory=Outbox)
    bulk: Bulk | None = None
    directory: dict[str, Any] = field(default_factory=dict)
    policy: SendPolicy = field(default_factory=lambda: SendPolicy(rate=14, senders=2))

    def sender(self) -> Sender:
        self.bulk = self.bulk or Bulk(self.timer)
        return Sender(
            self.referrals,  # type: ignore[arg-type]
            SimpleNamespace(agents=lambda npns: {n: self.directory[n] for n in npns if n in self.directory}),
            self.ledger,
            self.bulk,
            Channels(self.email, Outbox(), Outbox()),
            self.timer,
            self.policy,
            draw=lambda: 0.5,
        )


def plenty_of_time() -> float:
    return 60.0


def test_a_sender_calls_its_share_of_the_rate_at_a_time_and_waits_for_its_share_of_a_second(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # (every log line the sender writes is built)
    # Given a batch of 50 calls, an account rate of 14 recipients a second shared by 2 senders
    h = Harness()
    h.directory = agents([str(100 + i) for i in range(50)])
    # When the sender delivers it
    delivery = h.sender().deliver(batch(50), plenty_of_time)
    # Then it calls SES for at most 7 agents at a time (one language a call), no faster than 7 recipients a second
    assert h.bulk is not None
    assert delivery.counts == {"sent": 50}
    assert delivery.later is None
    assert max(len(addresses) for _, addresses in h.bulk.calls) <= 7
    for (before, sent), (after, _) in zip(h.bulk.calls, h.bulk.calls[1:], strict=False):
        assert (after - before).total_seconds() >= len(sent) / 7 - 1e-6  # (datetimes keep microseconds)
    assert sorted(h.bulk.delivered()) == sorted(f"agent{100 + i}@example.com" for i in range(50))
    assert h.ledger.statuses() == {"sent"}
    assert h.referrals.counts() == {"sent": 50}


def test_throttled_destinations_are_tried_again_after_a_back_off_and_nobody_gets_two_calls() -> None:
    # Given SES that throttles the last two destinations of its first call and refuses its second call outright
    def answer(call: int, addresses: list[str]) -> list[str]:
        if call == 0:
            return ["SUCCESS"] * (len(addresses) - 2) + ["ACCOUNT_THROTTLED"] * 2
        if call == 1:
            raise DependencyFailed("sesv2", "SendBulkEmail", "TooManyRequestsException", retryable=True)
        return ["SUCCESS"] * len(addresses)

    h = Harness()
    h.bulk = Bulk(h.timer, answer)
    h.directory = agents([str(100 + i) for i in range(20)])
    # When the sender delivers 20 calls
    delivery = h.sender().deliver(batch(20), plenty_of_time)
    # Then every agent gets the call once, after back-offs, and the ledger records each as sent
    assert h.bulk is not None
    delivered = h.bulk.delivered()
    assert sorted(delivered) == sorted(f"agent{100 + i}@example.com" for i in range(20))
    assert len(delivered) == len(set(delivered))
    assert delivery.counts["sent"] == 20
    assert delivery.counts["throttled"] >= 2
    assert delivery.later is None
    assert h.ledger.statuses() == {"sent"}
    assert any(0 < pause < 1 for pause in h.timer.slept)  # a back-off, shorter than a pacing step here


def test_a_message_still_throttled_after_its_back_offs_is_put_off_and_its_next_delivery_finishes_it() -> None:
    # Given SES refusing every call for a while
    refusing = [True]

    def answer(call: int, addresses: list[str]) -> list[str]:
        if refusing[0]:
            raise DependencyFailed("sesv2", "SendBulkEmail", "TooManyRequestsException", retryable=True)
        return ["SUCCESS"] * len(addresses)

    h = Harness()
    h.bulk = Bulk(h.timer, answer)
    h.directory = agents([str(100 + i) for i in range(12)])
    sender = h.sender()
    # When a batch is delivered: its back-offs in place run out, and the message is put off
    first = sender.deliver(batch(12), plenty_of_time, attempt=3)
    assert first.later is not None
    assert 0 <= first.later <= 2.0 * 2**4
    assert first.counts["put_off"] == 12
    # When the message comes again, SES taking calls again
    refusing[0] = False
    second = sender.deliver(batch(12), plenty_of_time, attempt=4)
    # Then every agent gets the call once
    assert second.counts == {"sent": 12}
    assert second.later is None
    assert sorted(h.bulk.delivered()) == sorted(f"agent{100 + i}@example.com" for i in range(12))
    assert len(h.bulk.delivered()) == 12


def test_calls_not_yet_made_when_an_agent_accepts_are_dropped_not_sent_late() -> None:
    # Given a batch of 50 calls, and an agent who accepts right after the first SES call
    h = Harness()
    h.directory = agents([str(100 + i) for i in range(50)])

    def answer(call: int, addresses: list[str]) -> list[str]:
        h.referrals.status = ReferralStatus.ACCEPTED
        return ["SUCCESS"] * len(addresses)

    h.bulk = Bulk(h.timer, answer)
    # When the sender delivers it
    delivery = h.sender().deliver(batch(50), plenty_of_time)
    # Then the chunk already on its way went; the rest is dropped and the message is done with
    assert h.bulk is not None
    assert len(h.bulk.calls) <= 2  # one chunk of 7 (at most two languages)
    assert delivery.counts["sent"] + delivery.counts["late"] == 50
    assert delivery.counts["late"] >= 43
    assert delivery.later is None


@pytest.mark.parametrize(
    ("status", "least", "most"), [(ReferralStatus.SEARCHING, 5, 7), (ReferralStatus.OFFERED, 900, 1125)]
)
def test_between_two_safety_net_rounds_the_calls_wait_on_the_queue(
    status: ReferralStatus, least: int, most: int
) -> None:
    # Given a referral between two safety-net rounds (looking for an available agent, or offered to one)
    h = Harness(referrals=Referrals(status=status))
    h.directory = agents([str(100 + i) for i in range(10)])
    # When the sender takes a batch of its calls
    delivery = h.sender().deliver(batch(10), plenty_of_time)
    # Then none is sent; the message is put off for a search's pause, or for the direct offer's window
    assert h.bulk is not None
    assert h.bulk.calls == []
    assert delivery.counts == {"put_off": 10}
    assert delivery.later is not None
    assert least <= delivery.later <= most


def test_an_invocation_running_out_of_time_puts_the_message_off_at_once_with_what_it_sent_recorded() -> None:
    # Given an invocation with time for one SES call only
    h = Harness()
    h.directory = agents([str(100 + i) for i in range(30)])
    left = iter([60.0, 1.0])

    def time_left() -> float:
        return next(left, 1.0)

    # When it delivers 30 calls
    delivery = h.sender().deliver(batch(30), time_left)
    # Then the message comes again at once, and its next delivery skips what this one sent
    assert delivery.later == 0
    assert delivery.counts["sent"] + delivery.counts["put_off"] == 30
    again = h.sender().deliver(batch(30), plenty_of_time)
    assert again.counts == {"already": delivery.counts["sent"], "sent": delivery.counts["put_off"]}


def test_an_agent_already_called_is_not_called_again_and_unreachable_agents_are_counted_once() -> None:
    # Given two agents whose call was sent (by an earlier delivery), one suspended since, one removed
    h = Harness()
    h.directory = agents([str(100 + i) for i in range(10)])
    h.directory["102"].suspended = True
    del h.directory["103"]
    h.ledger.record([(GROUP, call_key(npn)) for npn in ("100", "101")])
    # When the batch is delivered (again), and once more
    first = h.sender().deliver(batch(10), plenty_of_time)
    second = h.sender().deliver(batch(10), plenty_of_time)
    # Then only the others are e-mailed, once
    assert h.bulk is not None
    assert sorted(h.bulk.delivered()) == sorted(f"agent{n}@example.com" for n in range(104, 110))
    assert first.counts == {"sent": 6, "already": 2, "unreachable": 2}
    assert second.counts == {"already": 10}


def test_a_refusal_of_the_accounts_configuration_fails_the_message_and_loses_no_call() -> None:
    # Given SES refusing to send from the sender's address (not verified)
    h = Harness()
    refusal = ["MAIL_FROM_DOMAIN_NOT_VERIFIED"]
    h.bulk = Bulk(h.timer, lambda call, addresses: refusal * len(addresses))
    h.directory = agents([str(100 + i) for i in range(5)])
    # When a batch is delivered, the message fails (the queue gives it again, in the end to the dead-letter queue)
    with pytest.raises(DependencyFailed):
        h.sender().deliver(batch(5), plenty_of_time)
    # Then once the address is verified, the message's next delivery calls everyone
    refusal[0] = "SUCCESS"
    assert h.sender().deliver(batch(5), plenty_of_time).counts == {"sent": 5}


def held(**changes: Any) -> HeldMessage:
    values: dict[str, Any] = {
        "scope": "r-1",
        "key": "offer:101#email",
        "label": "agent:101",
        "channel": "email",
        "to": ("agent101@example.com",),
        "subject": "A referral",
        "text": "text",
        "html": "<p>html</p>",
        "not_after": START + timedelta(minutes=15),
        "trail": "r-1",
    }
    return HeldMessage(**{**values, **changes})


def test_a_held_message_is_sent_once_and_its_outcome_goes_to_the_trail(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # (every log line the sender writes is built)
    h = Harness()
    sender = h.sender()
    # When a held offer is delivered twice (the queue may deliver a message twice)
    first, second = sender.resend(held()), sender.resend(held())
    # Then it is sent once
    assert (first, second) == (("sent", None), ("duplicate", None))
    assert h.email.sent == [("agent101@example.com", "A referral", "text", "<p>html</p>")]
    assert [event.detail["outcome"] for event in h.referrals.events] == ["sent", "duplicate"]


def test_a_held_offer_whose_window_closed_is_not_sent_late() -> None:
    h = Harness()
    h.timer.current = START + timedelta(minutes=16)
    assert h.sender().resend(held()) == ("late", None)
    assert h.email.sent == []


def test_a_held_message_throttled_again_is_put_off_within_its_moment() -> None:
    h = Harness(email=Outbox(failure=DependencyFailed("sesv2", "SendEmail", "Throttling", retryable=True)))
    outcome, later = h.sender().resend(held(), attempt=2)
    assert outcome == "held"
    assert later is not None
    assert 0 <= later < 15 * 60
    assert h.ledger.items == {}  # the claim is given back for the next attempt
    assert h.referrals.events == []  # its outcome is not known yet
