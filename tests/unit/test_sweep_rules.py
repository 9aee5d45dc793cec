"""The availability sweep's logic with in-memory ports: every change queued once, in time, whatever goes wrong."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import pytest

from hod.domain.agent import Agent, AgentRecord, Location
from hod.domain.availability import default_availability
from hod.errors import Conflict, DependencyFailed
from hod.ports.agents import DueRefresh, Placement, RefreshBatch, StoredAgent
from hod.services.agents import AgentService
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


@dataclass(frozen=True)
class _Agent:
    npn: str


def _agent(npn: str) -> Any:
    return _Agent(npn)


def sweep_of(due: DueList, queue: Queue, cursor: Cursor, clock: FakeClock) -> Any:
    policy = SweepPolicy(batch_size=3)
    return AvailabilitySweep(due, cursor, queue, None, clock, policy)  # type: ignore[arg-type]


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


# ----- the workers: a batch applied together, or one by one when an agent changed meanwhile ----------------------

AUSTIN_8AM = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # a Tuesday: 08:00 in Austin, where the default hours start
DUE = int(AUSTIN_8AM.timestamp())


def austin_agent(npn: str) -> Agent:
    record = AgentRecord.model_validate(
        {
            "npn": npn,
            "first_name": "Ana",
            "last_name": "García",
            "email": f"agent{npn}@example.com",
            "phone": "(512) 555-0142",
            "business_address": {"street": "1 Congress Ave", "city": "Austin", "state": "TX", "zip": "78701"},
            "home_state": "TX",
            "licences": [{"state": "TX", "status": "active", "lines_of_authority": ["health"]}],
            "ffm_registration_plan_year": 2026,
            "ffm_registration_listed": True,
            "hod_training_complete": True,
            "display_option": 1,
            "languages": ["en", "es"],
        }
    )
    return Agent(
        record=record,
        location=Location(lat=30.2713, lon=-97.7426),
        city="Austin",
        county="Travis County",
        languages=record.languages,
        contact_method=record.contact_method,
        availability=default_availability("America/Chicago"),
        created_at=AUSTIN_8AM - timedelta(days=30),
        updated_at=AUSTIN_8AM - timedelta(days=30),
    )


@dataclass
class Memory:
    """The agent store and the agent index in memory, counting the calls a worker makes."""

    agents: dict[str, StoredAgent] = field(default_factory=dict)
    entries: dict[tuple[str, str], Placement] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    races: set[str] = field(default_factory=set)  # agents someone else saves just before the worker's save
    broken: bool = False

    def get(self, npn: str) -> StoredAgent | None:
        self.calls["get"] += 1
        return self.agents.get(npn)

    def get_many(self, npns: Sequence[str]) -> list[StoredAgent]:
        self.calls["get_many"] += 1
        if self.broken:
            raise DependencyFailed("dynamodb", "BatchGetItem", "ProvisionedThroughputExceededException")
        return [self.agents[npn] for npn in npns if npn in self.agents]

    def save(self, agent: Agent, *, expected_version: int | None, placements: Any, next_change_at: int | None) -> int:
        self.calls["save"] += 1
        if agent.npn in self.races:
            self.races.discard(agent.npn)
            stored = self.agents[agent.npn]
            self.agents[agent.npn] = StoredAgent(
                stored.agent, stored.version + 1, stored.placements, stored.next_change_at
            )
        version = self.agents[agent.npn].version if agent.npn in self.agents else None
        if version != expected_version:
            raise Conflict("changed")
        self.agents[agent.npn] = StoredAgent(agent, (version or 0) + 1, placements, next_change_at)
        return (version or 0) + 1

    def replace(self, remove: Any, add: Any) -> None:
        self.calls["replace"] += 1
        for key in remove:
            self.entries.pop(key, None)
        for placement in add:
            self.entries[(placement.area, placement.cell)] = placement

    def query(self, area: str, prefix: str) -> list[Any]:
        return [p for (a, _), p in self.entries.items() if a == area]


def worker_over(memory: Memory, clock: FakeClock, *npns: str) -> AvailabilitySweep:
    """Agents stored as the service leaves them at 07:59, their next change at 08:00; a worker's sweep over them."""
    service = AgentService(memory, memory, clock, 2026)
    for npn in npns:
        agent = austin_agent(npn)
        placements, until = service.placements(agent, AUSTIN_8AM - timedelta(minutes=1))
        assert until == DUE
        memory.agents[npn] = StoredAgent(agent, 1, frozenset((p.area, p.cell) for p in placements), until)
        memory.replace((), placements)
    memory.calls.clear()
    return AvailabilitySweep(memory, Cursor(), Queue(), service, clock)  # type: ignore[arg-type]


def available_now(memory: Memory) -> set[str]:
    return {p.npn for p in memory.entries.values() if p.until}


def test_a_batch_is_applied_at_its_time_with_one_read_for_all() -> None:
    # Given three Austin agents whose hours start at 08:00, and the batch handed over 4 s after
    memory, clock = Memory(), FakeClock(AUSTIN_8AM + timedelta(seconds=4))
    worker = worker_over(memory, clock, "1", "2", "3")

    # When a worker applies it
    applied = worker.apply(RefreshBatch(DUE, ("1", "2", "3")))

    # Then every agent is in the available-now index with their next change (17:00): one read for all, then each
    # saved and their entries written, as any change of theirs is; the batch reached the index 4 s late
    assert available_now(memory) == {"1", "2", "3"}
    assert {memory.agents[n].next_change_at for n in "123"} == {DUE + 9 * 3600}
    assert memory.calls == Counter({"get_many": 1, "save": 3, "replace": 3})
    assert (applied.refreshed, applied.failed, applied.lag_seconds) == (3, (), 4)


def test_an_agent_who_saved_just_before_the_worker_is_refreshed_on_their_own() -> None:
    # Given a batch of three where agent 2 saves something of their own between the worker's read and its save
    memory, clock = Memory(), FakeClock(AUSTIN_8AM)
    worker = worker_over(memory, clock, "1", "2", "3")
    memory.races.add("2")

    # When a worker applies it
    applied = worker.apply(RefreshBatch(DUE, ("1", "2", "3")))

    # Then agent 2 was read again and refreshed on their own; all three are in
    assert applied.failed == ()
    assert available_now(memory) == {"1", "2", "3"}
    assert (memory.calls["save"], memory.calls["get"]) == (4, 1)


def test_a_batch_the_store_cannot_serve_is_reported_whole_for_a_retry() -> None:
    # Given a store that is throttling
    memory, clock = Memory(), FakeClock(AUSTIN_8AM)
    worker = worker_over(memory, clock, "1", "2")
    memory.broken = True

    # When a worker applies the batch
    applied = worker.apply(RefreshBatch(DUE, ("1", "2")))

    # Then every agent is reported (the queue hands the batch over again) and nothing was written
    assert applied.failed == ("1", "2")
    assert available_now(memory) == set()


def test_a_batch_handed_over_well_before_its_time_is_refused_a_moment_early_is_applied_at_its_time() -> None:
    # Given a batch due 2 s from now and one due in a minute
    memory, clock = Memory(), FakeClock(AUSTIN_8AM - timedelta(seconds=2))
    worker = worker_over(memory, clock, "1")

    # When a worker is handed the one due in a minute, then the other
    with pytest.raises(NotYetDue):
        worker.apply(RefreshBatch(DUE + 58, ("1",)))
    worker.apply(RefreshBatch(DUE, ("1",)))

    # Then the second is applied as of its time (clocks differ by moments): the agent is in, until 17:00
    assert available_now(memory) == {"1"}


def test_an_agent_who_no_longer_exists_is_skipped() -> None:
    memory, clock = Memory(), FakeClock(AUSTIN_8AM)
    worker = worker_over(memory, clock, "1")
    applied = worker.apply(RefreshBatch(DUE, ("1", "gone")))
    assert (applied.refreshed, applied.failed) == (2, ())
    assert available_now(memory) == {"1"}


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
