"""The send function's work (docs/notifications.md): the safety net's calls, e-mailed at the account's SES rate, and
messages held because their channel was throttling.

Safety-net calls. Each queued message holds up to 50 agents of one message group; the FIFO queue never hands out two
messages of a group at once, so no agent's call is ever being made twice side by side. A sender keeps to its share of
the account's rate (`rate / senders`: the queue's event source runs at most `senders` side by side): it sends
`calls_per_send` agents a call, and starts its next call only once that many recipients' worth of its share has
passed. Before each call it reads the referral: while the referral waits in the safety net the calls go; once it is
accepted or closed the rest are dropped (their moment has passed); between two rounds (searching, or a direct offer
out) the message is put off. An agent's call is recorded in the ledger once SES accepted it, and skipped when the
message comes again. Calls SES throttled are tried again after a back-off with jitter, in this invocation while it
has time, else the message is put off (exponentially, with jitter, by how often it came back) — never dropped while
the referral still waits for an agent."""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hod.domain.agent import Agent
from hod.domain.referral import AuditEvent, ReferralStatus
from hod.domain.sending import Call, HeldMessage, SafetyNetCalls, call_key, calls_per_send, full_jitter
from hod.errors import ConfigurationError, DependencyFailed
from hod.logs import get_logger
from hod.messages import Message, bulk_data
from hod.ports.common import Timer
from hod.ports.workflow import WorkflowStore
from hod.services.notifier import CLAIM_HOLD, Channels, SendLedger
from hod.services.workflow.common import ACCEPTED_STATES
from hod.services.workflow.notices import Notices

logger = get_logger(__name__)

# SES's outcome of one bulk destination: sent; worth trying again (the account's rate or quota, a passing failure);
# refused for this recipient for good. Any other status is the account's configuration (sender not verified,
# account suspended...): the message fails, and the queue's redrive brings it to the dead-letter queue and its alarm.
SUCCESS = "SUCCESS"
TRY_AGAIN = frozenset(
    {"ACCOUNT_THROTTLED", "TRANSIENT_FAILURE", "FAILED", "ACCOUNT_SENDING_PAUSED", "ACCOUNT_DAILY_QUOTA_EXCEEDED"}
)
REFUSED = frozenset({"MESSAGE_REJECTED", "INVALID_PARAMETER"})

Moment = Literal["now", "later", "passed"]


class BulkEmailChannel(Protocol):
    def send(self, subject: str, text: str, html: str, entries: Sequence[tuple[str, Mapping[str, str]]]) -> list[str]:
        """One message to up to 50 addresses, each with its own placeholder values; SES's status per address."""
        ...


class AgentDirectory(Protocol):
    def agents(self, npns: Sequence[str]) -> dict[str, Agent]: ...


class CallLedger(SendLedger, Protocol):
    def recorded(self, sends: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (scope, key) sends are done for good."""
        ...


@dataclass(frozen=True)
class SendPolicy:
    rate: float = 14.0  # recipients a second the safety net may send, all senders together (SesSendRate)
    senders: int = 2  # senders side by side (SafetyNetSenders: the event source's maximum concurrency)
    reserve_seconds: float = 5.0  # the time an invocation keeps back: with less left, the message is put off
    retries_in_place: int = 4  # back-offs within one invocation before the message is put off
    base_delay: float = 0.5  # the first in-place back-off step, in seconds (doubling, with full jitter)
    put_off_delay: float = 2.0  # the first step of putting a message off (doubling each time it comes back)
    offer_window_seconds: int = 900  # a direct offer out: the calls wait this long (at most) for it to end
    searching_pause: int = 5  # between two rounds, looking for an agent: the calls wait this long

    @property
    def per_sender(self) -> float:
        return self.rate / max(1, self.senders)


@dataclass(frozen=True)
class Delivery:
    """What became of a message's calls, and whether to put the message off (`later`: seconds) because calls are
    left to make."""

    counts: Mapping[str, int]
    later: int | None = None


class Pacer:
    """One sender's pace: after a call for n recipients started at t, the next starts no sooner than t + n / rate."""

    def __init__(self, rate: float, timer: Timer) -> None:
        self._rate = rate
        self._timer = timer
        self._next = 0.0

    def wait(self) -> float:
        """Wait for the next call's turn; returns when it started (seconds since the epoch)."""
        now = self._timer.now().timestamp()
        if now < self._next:
            self._timer.sleep(self._next - now)
            now = self._timer.now().timestamp()
        return now

    def sent(self, recipients: int, started: float) -> None:
        self._next = max(self._next, started + recipients / self._rate)


@dataclass
class _Round:
    """What one chunk of a batch came to."""

    sent: int = 0
    refused: int = 0
    unreachable: int = 0
    retry: list[Call] = field(default_factory=list)


class Sender:
    def __init__(
        self,
        store: WorkflowStore,
        agents: AgentDirectory,
        ledger: CallLedger,
        bulk: BulkEmailChannel,
        channels: Channels,
        timer: Timer,
        policy: SendPolicy,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._agents = agents
        self._ledger = ledger
        self._bulk = bulk
        self._channels = channels
        self._timer = timer
        self._policy = policy
        self._draw = draw

    # ----- the safety net's calls ----------------------------------------------------------------------------------
    def deliver(self, batch: SafetyNetCalls, time_left: Callable[[], float], attempt: int = 0) -> Delivery:
        """E-mail a batch of safety-net calls at this sender's pace (`attempt`: how often the message came before).
        How many calls ended how — "sent", "already" sent, "refused" by SES, "unreachable" (no such agent,
        suspended, or no address), "late" (the referral no longer waits), "throttled" (tried again), "put_off" —
        and whether to put the message off."""
        policy = self._policy
        keys = [(batch.group, call_key(call.npn)) for call in batch.calls]
        done_before = self._ledger.recorded(keys)
        pending = deque(call for call, key in zip(batch.calls, keys, strict=True) if key not in done_before)
        tally: Counter[str] = Counter(already=len(batch.calls) - len(pending))
        pacer = Pacer(policy.per_sender, self._timer)
        agents: dict[str, Agent] | None = None
        later: int | None = None
        failures = 0  # SES calls in a row that were throttled
        while pending:
            if time_left() < policy.reserve_seconds:
                later = 0
                break
            moment, status = self._moment(batch.referral_id)
            if moment == "passed":
                tally["late"] += len(pending)
                pending.clear()
                break
            if moment == "later":
                later = self._until_next_round(status)
                break
            if agents is None:
                agents = self._agents.agents([call.npn for call in pending])
                pending = deque(sorted(pending, key=lambda call: _language(agents.get(call.npn))))  # full SES calls
            size = calls_per_send(policy.rate, policy.senders)
            chunk = [pending.popleft() for _ in range(min(size, len(pending)))]
            done = self._send(batch, chunk, agents, pacer)
            tally.update(sent=done.sent, refused=done.refused, unreachable=done.unreachable)
            if not done.retry:
                failures = 0
                continue
            tally["throttled"] += len(done.retry)
            pending.extendleft(reversed(done.retry))
            failures += 1
            delay = full_jitter(failures, self._draw(), base=policy.base_delay)
            if failures > policy.retries_in_place or delay > time_left() - policy.reserve_seconds:
                later = self._back_off(attempt)
                break
            self._timer.sleep(delay)
        tally["put_off"] = len(pending)
        counts = {name: count for name, count in tally.items() if count}
        self._store.append_events(batch.referral_id, [self._event("safety_net.sent", attempt=attempt, **counts)])
        logger.info("safety-net calls", extra={"referral_id": batch.referral_id, "later": later, **counts})
        return Delivery(counts, later)

    def _moment(self, referral_id: str) -> tuple[Moment, ReferralStatus | None]:
        """Whether the referral's safety-net calls go now, later (between two rounds), or no more."""
        referral = self._store.get(referral_id)
        if referral is None or referral.status in ACCEPTED_STATES or referral.status is ReferralStatus.UNSERVED:
            return "passed", None
        return ("now" if referral.status is ReferralStatus.SAFETY_NET else "later"), referral.status

    def _send(self, batch: SafetyNetCalls, chunk: list[Call], agents: Mapping[str, Agent], pacer: Pacer) -> _Round:
        """One SES call per language among `chunk`'s agents, each at the sender's pace."""
        done = _Round()
        by_language: dict[str, list[tuple[Call, str]]] = {}
        unreachable = []
        for call in chunk:
            agent = agents.get(call.npn)
            if agent is None or agent.suspended or not agent.record.email:
                unreachable.append((batch.group, call_key(call.npn)))
            else:
                by_language.setdefault(_language(agent), []).append((call, agent.record.email))
        if unreachable:
            self._ledger.record(unreachable, "unreachable")
            done.unreachable = len(unreachable)
        for language, calls in by_language.items():
            started = pacer.wait()
            try:
                self._send_language(batch, Notices.safety_net_message(batch, language), calls, done)
            finally:
                pacer.sent(len(calls), started)
        return done

    def _send_language(
        self, batch: SafetyNetCalls, message: Message, calls: list[tuple[Call, str]], done: _Round
    ) -> None:
        entries = [(address, bulk_data({"link": call.link})) for call, address in calls]
        try:
            statuses = self._bulk.send(message.subject, message.text, message.html, entries)
        except DependencyFailed as exc:
            if not exc.retryable:
                raise
            done.retry += [call for call, _ in calls]
            return
        outcome: dict[str, list[Call]] = {}
        for (call, _), status in zip(calls, statuses, strict=True):
            kind = (
                "sent"
                if status == SUCCESS
                else "refused"
                if status in REFUSED
                else "retry"
                if status in TRY_AGAIN
                else "broken"
            )
            outcome.setdefault(kind, []).append(call)
        for kind in ("sent", "refused"):
            if outcome.get(kind):
                self._ledger.record([(batch.group, call_key(call.npn)) for call in outcome[kind]], kind)
        done.sent += len(outcome.get("sent", []))
        done.refused += len(outcome.get("refused", []))
        done.retry += outcome.get("retry", [])
        if outcome.get("broken"):
            seen = sorted(set(statuses) - {SUCCESS} - TRY_AGAIN - REFUSED)
            raise DependencyFailed("sesv2", "SendBulkEmail", f"sending refused: {', '.join(seen)}")

    def _back_off(self, attempt: int) -> int:
        """How long to put a message off, the more often it came back (exponential, full jitter)."""
        return math.ceil(full_jitter(attempt + 1, self._draw(), base=self._policy.put_off_delay))

    def _until_next_round(self, status: ReferralStatus | None) -> int:
        """Between two safety-net rounds: a direct offer out ends within its window; a search, within seconds."""
        wait = self._policy.offer_window_seconds if status is ReferralStatus.OFFERED else self._policy.searching_pause
        return wait + math.ceil(wait * self._draw() / 4)

    # ----- messages held for later ---------------------------------------------------------------------------------
    def resend(self, held: HeldMessage, attempt: int = 0) -> tuple[str, int | None]:
        """Send a held message unless its moment has passed; throttled again, it is put off (a back-off, within its
        moment). The outcome, and how long to put the message off (None: done with it)."""
        now = self._timer.now()
        holder = uuid.uuid4().hex
        later: int | None = None
        if now > held.not_after:
            outcome = "late"
        elif not self._ledger.claim(held.scope, held.key, holder, now, CLAIM_HOLD):
            outcome = "duplicate"
        else:
            outcome, later = self._resend(held, holder, attempt)
        if held.trail and later is None:
            detail = {"message": held.key, "recipient": held.label, "attempt": attempt, "outcome": outcome}
            self._store.append_events(held.trail, [self._event("notification.resent", **detail)])
        logger.info("held message", extra={"message_key": held.key, "recipient": held.label, "outcome": outcome})
        return outcome, later

    def _resend(self, held: HeldMessage, holder: str, attempt: int) -> tuple[str, int | None]:
        try:
            self._channels.deliver(
                held.channel, held.to, held.subject, held.text, held.html, label=held.label, not_after=held.not_after
            )
        except (DependencyFailed, ConfigurationError) as exc:
            self._ledger.release(held.scope, held.key, holder)
            if not (isinstance(exc, DependencyFailed) and exc.retryable):
                return "failed", None
            left = (held.not_after - self._timer.now()).total_seconds()
            if left <= 0:
                return "late", None
            # Tried again after a back-off, the last time just as its moment ends
            return "held", max(1, min(self._back_off(attempt), math.ceil(left)))
        self._ledger.record([(held.scope, held.key)])
        return "sent", None

    def _event(self, action: str, **detail: object) -> AuditEvent:
        return AuditEvent(at=self._timer.now(), actor="system", action=action, detail=detail)


def _language(agent: Agent | None) -> str:
    """The language an agent's call is written in (theirs for messages; English when there is no such agent)."""
    return agent.message_language if agent is not None else "en"
