"""The availability sweep's logic with in-memory ports: every change queued once, in time, whatever goes wrong."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import pytest

from hod.errors import Conflict, DependencyFailed
from hod.ports import DueRefresh, RefreshBatch, StoredAgent
from hod.services.sweep import AvailabilitySweep, NotYetDue, QueueingAgentStore, SweepPolicy
from tests.conftest import FakeClock

START = datetime(2026, 1, 13, 13, 58, 30, tzinfo=UTC)
T = int(START.timestamp())


@dataclass
class DueList:
    """The due-list: npn -> epoch second of the agent's next change (the `due-changes` index)."""

    due: dict[str, int] = field(default_factory=dict)
    reads: int = 0

    def due_for_refresh(self, until: int, after: int | None = None, limit: int | None = None) -> Iterator[DueRefresh]:
        self.reads += 1
        found = sorted(
            (DueRefresh(npn, at) for npn, at in self.due.items() if at <= until and (after is None or at > after)),
            key=lambda change: (change.due_at, change.npn),
        )
        return islice(iter(found), limit)

    def get(self, npn: str) -> StoredAgent | None:
        raise AssertionError("not read here")

    def save(self, agent: Any, **kwargs: Any) -> int:
        return 1


@dataclass
class Cursor:
    value: int | None = None

    def through(self) -> int | None:
        return self.value

    def advance(self, through: int) -> None:
        if self.value is None or through > self.value:
            self.value = through


@dataclass
class Queue:
    """Records what is queued and when each batch would be handed over (its due time, or at once)."""

    sent: list[tuple[RefreshBatch, datetime]] = field(default_factory=list)
    fail_after: int | None = None  # raise once this many batches have been queued

    def send(self, batches: Sequence[RefreshBatch], now: datetime) -> None:
        for batch in batches:
            if self.fail_after is not None and len(self.sent) >= self.fail_after:
                raise DependencyFailed("sqs", "SendMessageBatch", "1 of 1 not queued (ServiceUnavailable)")
            self.sent.append((batch, now))

    def npns(self) -> list[str]:
        return [npn for batch, _ in self.sent for npn in batch.npns]


@dataclass
class Agents:
    """The agent service's refresh, recorded; `failing` agents raise like a lost race or an AWS error."""

    refreshed: list[tuple[str, int | None]] = field(default_factory=list)
    failing: dict[str, Exception] = field(default_factory=dict)

    def refresh(self, npn: str, due_at: int | None = None) -> None:
        if npn in self.failing:
            raise self.failing[npn]
        self.refreshed.append((npn, due_at))


@dataclass(frozen=True)
class _Agent:
    npn: str


def _agent(npn: str) -> Any:
    return _Agent(npn)


def sweep_of(due: DueList, queue: Queue, cursor: Cursor, clock: FakeClock, agents: Agents | None = None) -> Any:
    return AvailabilitySweep(due, cursor, queue, agents or Agents(), clock, SweepPolicy(batch_size=3))  # type: ignore[arg-type]


def test_each_change_is_queued_once_ahead_of_its_time_across_sweeps() -> None:
    # Given changes due in 30 s, 90 s and 200 s, and sweeps a minute apart
    due = DueList({"1": T + 30, "2": T + 90, "3": T + 200})
    queue, cursor, clock = Queue(), Cursor(), FakeClock(START)
    sweep = sweep_of(due, queue, cursor, clock)

    # When the sweep runs now and on each of the next three minutes
    first = sweep.dispatch()
    for _ in range(3):
        clock.advance(minutes=1)
        sweep.dispatch()

    # Then the first run queued what falls due within its two-minute lookahead, a later one the rest, each once,
    # every one queued before its time
    assert first.queued == 2
    assert first.complete
    assert first.through == T + 120
    assert sorted(queue.npns()) == ["1", "2", "3"]
    assert all(now.timestamp() <= batch.due_at for batch, now in queue.sent)
    assert cursor.value == T + 3 * 60 + 120


def test_changes_due_together_go_in_batches_of_the_policy_size() -> None:
    # Given seven agents whose changes all fall due at the same second
    due = DueList({str(n): T + 60 for n in range(7)})
    queue = Queue()

    # When the sweep runs
    sweep_of(due, queue, Cursor(), FakeClock(START)).dispatch()

    # Then they are queued in batches of three at most, all for that second
    assert [len(batch.npns) for batch, _ in queue.sent] == [3, 3, 1]
    assert {batch.due_at for batch, _ in queue.sent} == {T + 60}


def test_a_sweep_out_of_time_stops_between_due_times_and_the_next_goes_on_without_loss_or_repeat() -> None:
    # Given changes at three different seconds, and a sweep whose time runs out after the first of them
    due = DueList({"a": T + 10, "b": T + 10, "c": T + 20, "d": T + 30})
    queue, cursor, clock = Queue(), Cursor(), FakeClock(START)
    sweep = sweep_of(due, queue, cursor, clock)
    checks = iter([False])

    # When that sweep runs, then another with time enough
    first = sweep.dispatch(has_time=lambda: next(checks, True))
    second = sweep.dispatch()

    # Then the first queued every change of the first second and stopped there; the second queued the rest
    assert not first.complete
    assert first.through == T + 10
    assert second.complete
    assert sorted(queue.npns()) == ["a", "b", "c", "d"]


def test_when_the_queue_fails_the_cursor_stays_before_what_was_not_queued() -> None:
    # Given forty changes at forty seconds, and a queue that fails after 25 batches
    due = DueList({f"{n:02d}": T + n + 1 for n in range(40)})
    queue, cursor, clock = Queue(fail_after=25), Cursor(), FakeClock(START)
    sweep = sweep_of(due, queue, cursor, clock)

    # When the sweep runs, the queue recovers, and the sweep runs again
    first = sweep.dispatch()
    queue.fail_after = None
    sweep.dispatch()

    # Then the first run's cursor stopped at the last second wholly queued before the failure, and no change was
    # lost: those after it were queued by the second run (a change in the failed request may be queued twice)
    assert not first.complete
    assert first.through is not None
    assert first.through <= T + 25
    assert set(queue.npns()) == set(due.due)
    assert len(queue.npns()) <= 40 + 10


def test_changes_overdue_beyond_the_grace_are_queued_again_oldest_first_and_measured() -> None:
    # Given a cursor already past changes that were queued but never applied: one 10 minutes overdue, one 20
    due = DueList({"late": T - 600, "later": T - 1200, "fresh": T - 30})
    queue, cursor, clock = Queue(), Cursor(T + 60), FakeClock(START)

    # When the sweep runs
    result = sweep_of(due, queue, cursor, clock).dispatch()

    # Then the two beyond the five-minute grace are queued again, the oldest first, for now; the one 30 s overdue is
    # left to its workers; and the lag is the age of the oldest change not yet applied
    assert queue.npns() == ["later", "late"]
    assert all(now == START for _, now in queue.sent)
    assert result.requeued == 2
    assert result.lag_seconds == 1200


def test_requeueing_is_capped_per_sweep() -> None:
    # Given 2,500 changes long overdue
    due = DueList({f"{n:04d}": T - 3600 for n in range(2500)})
    queue = Queue()

    # When the sweep runs
    result = sweep_of(due, queue, Cursor(T), FakeClock(START)).dispatch()

    # Then it queues the policy's limit of them, and the next sweeps the rest
    assert result.requeued == len(queue.npns()) == 1000


def test_nothing_due_means_no_lag() -> None:
    due = DueList({"1": T + 3600})
    result = sweep_of(due, Queue(), Cursor(), FakeClock(START)).dispatch()
    assert result.lag_seconds == 0
    assert result.queued == 0


def test_a_worker_applies_each_agent_at_the_batch_time_and_reports_how_late() -> None:
    # Given a batch due at 14:00:00, handed over 4 s later
    agents, clock = Agents(), FakeClock(START.replace(hour=14, minute=0, second=4))
    due_at = int(START.replace(hour=14, minute=0, second=0).timestamp())
    sweep = sweep_of(DueList(), Queue(), Cursor(), clock, agents)

    # When a worker applies it
    applied = sweep.apply(RefreshBatch(due_at, ("1", "2")))

    # Then each agent is refreshed as of the due time, and the batch reached the index 4 s late
    assert agents.refreshed == [("1", due_at), ("2", due_at)]
    assert applied.refreshed == 2
    assert applied.failed == ()
    assert applied.lag_seconds == 4


def test_a_batch_handed_over_well_before_its_time_is_refused_a_moment_early_is_applied() -> None:
    # Given batches due 2 s and 60 s from now
    agents, clock = Agents(), FakeClock(START)
    sweep = sweep_of(DueList(), Queue(), Cursor(), clock, agents)

    # When a worker is handed each
    sweep.apply(RefreshBatch(T + 2, ("soon",)))
    with pytest.raises(NotYetDue):
        sweep.apply(RefreshBatch(T + 60, ("later",)))

    # Then the first (clocks differ by moments) is applied at its time; the second is left for later
    assert agents.refreshed == [("soon", T + 2)]


def test_agents_whose_change_fails_are_reported_and_the_others_applied() -> None:
    # Given a batch where one agent's save keeps losing a race and another's hits an AWS error
    agents = Agents(
        failing={"2": Conflict("changed concurrently"), "3": DependencyFailed("dynamodb", "PutItem", "throttled")}
    )
    sweep = sweep_of(DueList(), Queue(), Cursor(), FakeClock(START), agents)

    # When a worker applies it
    applied = sweep.apply(RefreshBatch(T, ("1", "2", "3", "4")))

    # Then the others are applied, and those two reported for the batch to be retried
    assert [npn for npn, _ in agents.refreshed] == ["1", "4"]
    assert applied.failed == ("2", "3")


@pytest.mark.parametrize(("due_in", "queued"), [(60, True), (180, True), (181, False), (3600, False)])
def test_a_save_queues_its_agents_next_change_when_the_sweep_may_have_passed_it(due_in: int, queued: bool) -> None:
    # Given the store as the service sees it, with the default policy (two-minute lookahead, a minute's margin)
    queue, clock = Queue(), FakeClock(START)
    store = QueueingAgentStore(DueList(), queue, clock, SweepPolicy().save_horizon_seconds)  # type: ignore[arg-type]

    # When an agent is saved whose next change is `due_in` seconds away
    store.save(_agent("7"), expected_version=None, placements=frozenset(), next_change_at=T + due_in)

    # Then the change is queued by the save only when it falls within the horizon
    assert queue.npns() == (["7"] if queued else [])


def test_a_save_stands_when_queueing_its_next_change_fails() -> None:
    # Given a queue that is failing
    queue = Queue(fail_after=0)
    store = QueueingAgentStore(DueList(), queue, FakeClock(START), 180)  # type: ignore[arg-type]

    # When an agent with a change in 30 s is saved
    version = store.save(_agent("7"), expected_version=None, placements=frozenset(), next_change_at=T + 30)

    # Then the save is not undone (the sweep queues the change again once overdue)
    assert version == 1


def test_the_lookahead_stays_within_what_a_queue_can_hold_back() -> None:
    # SQS holds a message back at most 15 minutes; the save horizon must fit as well
    policy = SweepPolicy()
    assert policy.save_horizon_seconds <= 900
    assert timedelta(seconds=policy.lookahead_seconds) >= timedelta(minutes=2)
