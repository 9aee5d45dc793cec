"""Keeping the available-now index true as agents' hours pass (docs/availability.md).

Every saved agent carries the time of its next change (a schedule edge, a break, a Today's Availability stop, an
Out of Office edge, or local midnight for date-based eligibility). Applying those changes is spread over workers:

- the **sweep** (once a minute) reads the changes falling due in the next `lookahead` seconds from the due-list and
  queues them in batches, each held back by the queue until its due time, so when the sweep happens to run within
  the minute does not matter. A cursor remembers how far ahead everything is queued, so each change is queued once;
- **workers** (the queue's consumers, as many in parallel as the template allows) apply each batch when it falls
  due: every agent is re-evaluated and their index entries rewritten;
- a save whose next change falls due before the sweep could see it (inside the window the cursor has already
  passed) queues that change itself (`QueueingAgentStore`);
- changes still not applied `grace` seconds after falling due (a lost message, a worker that kept failing) are
  queued again by each sweep, oldest first, so nothing is lost.

The index's lag, how long after falling due a change reaches the index, is measured by both: each worker batch
reports how late it was applied, each sweep how long the oldest change not yet applied has been due.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby, islice
from typing import TYPE_CHECKING

from hod.errors import Conflict, DependencyFailed
from hod.logs import get_logger
from hod.ports.agents import AgentStore, DueRefresh, RefreshBatch, RefreshQueue, StoredAgent, SweepCursor
from hod.ports.common import Clock

if TYPE_CHECKING:
    from hod.domain.agent import Agent
    from hod.services.agents import AgentService

logger = get_logger(__name__)


@dataclass(frozen=True)
class SweepPolicy:
    lookahead_seconds: int = 120  # two sweeps' worth: one late or failed sweep still queues every change in time
    batch_size: int = 25  # agents per queued batch (one worker applies a batch in well under a second)
    grace_seconds: int = 300  # a change still due this long after its time is queued again
    requeue_limit: int = 1000  # at most this many such changes per sweep, oldest first
    send_every: int = 10  # batches queued per request (SQS takes ten messages per SendMessageBatch)
    early_tolerance_seconds: int = 5  # a batch handed over sooner than this before its time is applied at its time

    @property
    def save_horizon_seconds(self) -> int:
        """A save whose next change falls due within this many seconds queues the change itself: the sweep's
        window may have passed that time already. A minute beyond the lookahead covers the due-list index's
        propagation (a change saved just before a sweep may not be in the index the sweep reads yet)."""
        return self.lookahead_seconds + 60


@dataclass(frozen=True)
class Dispatched:
    queued: int  # changes queued from the sweep's window
    requeued: int  # changes queued again, overdue beyond the grace
    lag_seconds: int  # how long the oldest change not yet applied has been due (0: none is)
    through: int | None  # the cursor after this sweep
    complete: bool  # the whole window was queued (False: time ran out, or the queue failed; the next sweep resumes)


@dataclass(frozen=True)
class Applied:
    refreshed: int
    failed: tuple[str, ...]  # agents whose change could not be applied (the batch is to be retried)
    lag_seconds: float  # how long after its due time the batch's last change reached the index


class NotYetDue(Exception):
    """A batch was handed over well before its time (the queue holds batches until then): retry it later."""


def batches(due_at: int, npns: Sequence[str], size: int) -> list[RefreshBatch]:
    return [RefreshBatch(due_at, tuple(npns[start : start + size])) for start in range(0, len(npns), size)]


def _by_due_time(changes: Iterable[DueRefresh], size: int) -> Iterator[tuple[int, list[RefreshBatch]]]:
    """Changes (earliest first) grouped by due time, each group in batches of at most `size`."""
    for due_at, group in groupby(changes, key=lambda change: change.due_at):
        yield due_at, batches(due_at, [change.npn for change in group], size)


class AvailabilitySweep:
    def __init__(
        self,
        store: AgentStore,
        cursor: SweepCursor,
        queue: RefreshQueue,
        agents: AgentService,
        clock: Clock,
        policy: SweepPolicy | None = None,
    ) -> None:
        self._store = store
        self._cursor = cursor
        self._queue = queue
        self._agents = agents
        self._clock = clock
        self._policy = policy or SweepPolicy()

    # ----- the sweep: queue what falls due soon -----------------------------------------------------------------
    def dispatch(self, has_time: Callable[[], bool] = lambda: True) -> Dispatched:
        """Queue every change falling due from the cursor to `lookahead` seconds from now, and again those overdue
        beyond the grace. Stops between due times when `has_time()` turns false; the cursor then marks what was
        queued, and the next sweep goes on from there."""
        now = self._clock.now()
        t = int(now.timestamp())
        oldest = next(iter(self._store.due_for_refresh(until=t, limit=1)), None)
        lag = t - oldest.due_at if oldest else 0
        requeued = self._requeue_overdue(t, now)
        after = self._cursor.through()
        until = t + self._policy.lookahead_seconds
        queued, through, complete = self._queue_window(after, until, now, has_time)
        if through is not None and (after is None or through > after):
            self._cursor.advance(through)
        else:
            through = after
        result = Dispatched(queued, requeued, lag, through, complete)
        logger.info(
            "availability sweep",
            extra={
                "queued": queued,
                "requeued": requeued,
                "lag_seconds": lag,
                "through": through,
                "complete": complete,
            },
        )
        return result

    def _requeue_overdue(self, t: int, now: datetime) -> int:
        overdue = list(
            self._store.due_for_refresh(until=t - self._policy.grace_seconds, limit=self._policy.requeue_limit)
        )
        if not overdue:
            return 0
        logger.warning(
            "changes overdue beyond the grace queued again",
            extra={"changes": len(overdue), "oldest_due_at": overdue[0].due_at},
        )
        try:
            self._send([b for _, group in _by_due_time(overdue, self._policy.batch_size) for b in group], now)
        except DependencyFailed as exc:
            logger.error("queueing overdue changes failed", extra={"error": str(exc)})
            return 0
        return len(overdue)

    def _queue_window(
        self, after: int | None, until: int, now: datetime, has_time: Callable[[], bool]
    ) -> tuple[int, int | None, bool]:
        """Queue the window (after, until] in due order, whole due times at a time. Returns how many changes were
        queued, the due time up to which every change is queued (None: none yet), and whether the whole window
        was."""
        queued, through = 0, None
        pending: list[RefreshBatch] = []
        try:
            for due_at, group in _by_due_time(self._store.due_for_refresh(until, after), self._policy.batch_size):
                pending += group
                if len(pending) >= self._policy.send_every:
                    queued += self._send(pending, now)
                    pending, through = [], due_at
                if not has_time():
                    return queued + self._send(pending, now), due_at, False
            return queued + self._send(pending, now), until, True
        except DependencyFailed as exc:
            logger.error("queueing due changes failed", extra={"error": str(exc), "queued_through": through})
            return queued, through, False

    def _send(self, pending: Sequence[RefreshBatch], now: datetime) -> int:
        for chunk in _chunks(pending, self._policy.send_every):
            self._queue.send(chunk, now)
        return sum(len(batch.npns) for batch in pending)

    # ----- the workers: apply what fell due ---------------------------------------------------------------------
    def apply(self, batch: RefreshBatch) -> Applied:
        """Re-evaluate the agents of a batch that fell due and rewrite their index entries (read together, then
        each saved and its entries written as any change of theirs is). A batch handed over a moment early (clocks
        differ a little between machines) is evaluated at its due time; one handed over well before it raises
        NotYetDue. If the store or the index fails, the whole batch is reported, for the queue to hand it over again:
        applying a change twice is harmless."""
        now = self._clock.now().timestamp()
        if batch.due_at - now > self._policy.early_tolerance_seconds:
            raise NotYetDue(f"batch due at {batch.due_at} handed over at {now:.0f}")
        try:
            self._agents.refresh_all(batch.npns, batch.due_at)
        except (Conflict, DependencyFailed) as exc:
            logger.warning("availability refresh failed", extra={"agents": len(batch.npns), "error": str(exc)})
            return Applied(0, batch.npns, 0.0)
        return Applied(len(batch.npns), (), max(0.0, self._clock.now().timestamp() - batch.due_at))


def _chunks(items: Sequence[RefreshBatch], size: int) -> Iterator[Sequence[RefreshBatch]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class QueueingAgentStore:
    """The agent store, queueing the next change of every agent saved with one due before the sweep could queue it
    (within the policy's save horizon). If the queue fails, the change is queued again by the sweep once overdue
    beyond the grace: the save itself stands."""

    def __init__(self, store: AgentStore, queue: RefreshQueue, clock: Clock, horizon_seconds: int) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock
        self._horizon = horizon_seconds

    def get(self, npn: str) -> StoredAgent | None:
        return self._store.get(npn)

    def get_many(self, npns: Sequence[str]) -> list[StoredAgent]:
        return self._store.get_many(npns)

    def due_for_refresh(self, until: int, after: int | None = None, limit: int | None = None) -> Iterator[DueRefresh]:
        return self._store.due_for_refresh(until, after, limit)

    def save(
        self,
        agent: Agent,
        *,
        expected_version: int | None,
        placements: frozenset[tuple[str, str]],
        next_change_at: int | None,
    ) -> int:
        version = self._store.save(
            agent, expected_version=expected_version, placements=placements, next_change_at=next_change_at
        )
        self._queue_near([(agent.npn, next_change_at)])
        return version

    def _queue_near(self, changes: Sequence[tuple[str, int | None]]) -> None:
        now = self._clock.now()
        horizon = math.floor(now.timestamp()) + self._horizon
        near = sorted((due_at, npn) for npn, due_at in changes if due_at is not None and due_at <= horizon)
        if not near:
            return
        try:
            self._queue.send([RefreshBatch(due_at, (npn,)) for due_at, npn in near], now)
        except DependencyFailed as exc:
            logger.warning(
                "queueing near changes failed", extra={"agents": [npn for _, npn in near], "error": str(exc)}
            )
