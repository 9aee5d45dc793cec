"""`scale.sweep`: the national peak minute of availability changes, and how far behind it the available-now index
falls (docs/benchmarks.md, "Availability at the peak minute").

1. **The peak.** Every change of the population model's 100,000 agents (benchmarks/population.py) over the 24 hours
   from Central midnight on Tuesday 13 January 2026, each agent's next look computed by the service's own
   `AgentService.placements` (its next availability change, or the next local midnight). Agents sharing one
   availability setting share its looks, so each setting is walked through the day once.
2. **One worker, measured.** For each of the busiest minutes, a sample of its agents is stored in moto as the service
   leaves them just before (item, due time, index entries); the real sweep (the expire function's handler) queues
   them ahead; at the due second the real refresh function applies them, one invocation after another through the
   local SQS event source (local/queues.py): agents a second, and AWS calls per agent.
3. **Parallelism, as AWS runs it.** The template's `AvailabilityWorkers` invocations side by side, each as fast as
   the one measured; the SQS event source starting with 5 concurrent invocations and adding up to 300 a minute
   (Lambda's documented scaling for standard queues). `lag_s`: when the last change of the minute reaches the index.
4. **Partitions.** Every agent of the minute refreshed in memory by the same service code, counting the writes each
   partition takes (the due-list shard of `due-changes`, two index writes per agent as its due time moves; the
   available-now table's state#language areas): at 1,000 write units a second per partition, the hottest one
   cannot absorb its writes faster than that, whatever the number of workers. `lag_s` is the larger of the two.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks import population
from benchmarks.counting import Call, CallLog
from benchmarks.matching import _shared_availability_evaluation
from benchmarks.tables import global_indexes
from hod.domain.agent import Agent
from hod.ports.agents import Placement, StoredAgent

SIZE = 100_000
DAY = date(2026, 1, 13)
START = datetime(2026, 1, 13, 6, 0, tzinfo=UTC)  # Central midnight
MINUTES_MEASURED = 3  # the busiest minutes, each measured
SAMPLE = 800  # agents of each minute stored in moto and applied by one worker
PARTITION_WRITE_UNITS_S = 1_000  # DynamoDB's limit per partition
SQS_INITIAL_CONCURRENCY = 5  # Lambda's SQS event source: five batches at once to begin with,
SQS_RAMP_PER_S = 300 / 60  # then up to 300 more concurrent invocations a minute
AWS_CALL_S = 0.010  # a cross-check: every call at 10 ms (in-region DynamoDB and SQS), moto's speed aside
PREFIX = "bench-sweep-"


@dataclass
class _Setting:
    """Agents sharing one availability setting, and the setting's looks over the day (epoch seconds)."""

    agents: list[Agent] = field(default_factory=list)
    looks: list[int] = field(default_factory=list)


def _service(clock: Any) -> Any:
    from hod.services.agents import AgentService

    return AgentService(None, None, clock, population.PLAN_YEAR)  # type: ignore[arg-type]


class _At:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def day_of_changes(agents: Sequence[Agent]) -> tuple[Counter[int], dict[int, _Setting]]:
    """Changes per minute (epoch second of the minute → agents) over the 24 hours from START, and the settings."""
    settings: dict[int, _Setting] = defaultdict(_Setting)
    for agent in agents:
        settings[id(agent.availability)].agents.append(agent)
    end = int((START + timedelta(days=1)).timestamp())
    service = _service(_At(START))
    per_minute: Counter[int] = Counter()
    for setting in settings.values():
        now = START - timedelta(seconds=1)
        while True:
            _, until = service.placements(setting.agents[0], now)
            if until >= end:
                break
            setting.looks.append(until)
            per_minute[until - until % 60] += len(setting.agents)
            now = datetime.fromtimestamp(until, UTC)
    return per_minute, settings


def due_in(minute: int, settings: dict[int, _Setting]) -> list[tuple[Agent, int]]:
    """Every agent with a change in the minute starting at `minute`, and that change's second; population order."""
    found = [
        (agent, look)
        for setting in settings.values()
        for look in setting.looks
        if minute <= look < minute + 60
        for agent in setting.agents
    ]
    return sorted(found, key=lambda pair: int(pair[0].npn))


# ----- partitions ------------------------------------------------------------------------------------------------
class _CountingStore:
    """The agent store and the index in memory, counting the writes each partition takes."""

    def __init__(self, stored: dict[str, StoredAgent]) -> None:
        from hod.adapters.agent_items import sweep_shard

        self._stored = stored
        self._shard = sweep_shard
        self.writes: Counter[str] = Counter()

    def get(self, npn: str) -> StoredAgent | None:
        return self._stored.get(npn)

    def save(self, agent: Agent, *, expected_version: int | None, placements: Any, next_change_at: int | None) -> int:
        before = self._stored[agent.npn]
        if next_change_at != before.next_change_at:  # the due-list entry moves: a delete and a put in its shard
            self.writes[f"AgentsTable.due-changes#{self._shard(agent.npn)}"] += 2
        self._stored[agent.npn] = StoredAgent(agent, before.version + 1, placements, next_change_at)
        return before.version + 1

    def replace(self, remove: Any, add: Any) -> None:
        for area, _ in remove:
            self.writes[f"AvailableAgentsTable#{area}"] += 1
        for placement in add:
            self.writes[f"AvailableAgentsTable#{placement.area}"] += 1


def partition_writes(due: Sequence[tuple[Agent, int]]) -> Counter[str]:
    """Refresh every agent of the minute as the workers would, in memory: the writes per partition."""
    from hod.services.agents import AgentService

    if not due:
        return Counter()
    first = due[0][1]
    clock = _At(datetime.fromtimestamp(first, UTC))
    stored: dict[str, StoredAgent] = {}
    with _shared_availability_evaluation():
        service = AgentService(None, None, clock, population.PLAN_YEAR)  # type: ignore[arg-type]
        for agent, look in due:
            placements, until = service.placements(agent, datetime.fromtimestamp(look - 60, UTC))
            stored[agent.npn] = StoredAgent(agent, 1, frozenset((p.area, p.cell) for p in placements), until)
        counting = _CountingStore(stored)
        service = AgentService(counting, counting, clock, population.PLAN_YEAR)  # type: ignore[arg-type]
        for agent, look in due:
            clock.at = datetime.fromtimestamp(look, UTC)
            service.refresh(agent.npn, due_at=look)
    return counting.writes


# ----- one worker, against moto ----------------------------------------------------------------------------------
@contextmanager
def _local_stack(log: CallLog, clock: _At) -> Iterator[dict[str, Any]]:
    import boto3
    from moto import mock_aws

    from hod import wiring
    from local.cfn import create_local_resources, load_template
    from local.queues import sqs_follows

    with mock_aws():
        template = load_template()
        env = create_local_resources(
            boto3.session.Session(), template, PREFIX, {"SenderEmail": "offers@help-on-demand.example"}
        )
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        log.indexes.update(global_indexes(template, PREFIX))  # the due-list index's writes are billed too
        wiring.reset()
        wiring.use_clock(clock)
        try:
            with sqs_follows(clock):
                yield {"template": template, "env": env}
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            log.indexes.clear()
            wiring.reset()


def _store_as_before(agents: Sequence[tuple[Agent, int]], before: datetime) -> list[tuple[Agent, int]]:
    """Save each agent and its index entries as the service leaves them at `before`; returns those whose next
    look is the one measured (all of them, unless a look falls between `before` and the minute)."""
    from hod import wiring

    service = _service(_At(before))
    store, index = wiring.adapters.agent_store(), wiring.adapters.available_index()
    kept: list[tuple[Agent, int]] = []
    entries: list[Placement] = []
    for agent, look in agents:
        placements, until = service.placements(agent, before)
        if until != look:
            continue
        store.save(
            agent,
            expected_version=None,
            placements=frozenset((p.area, p.cell) for p in placements),
            next_change_at=until,
        )
        entries += placements
        kept.append((agent, look))
    for start in range(0, len(entries), 1000):
        index.replace(remove=(), add=entries[start : start + 1000])
    return kept


def one_worker(log: CallLog, sample: Sequence[tuple[Agent, int]]) -> dict[str, Any]:
    """The real sweep queues the sample ahead; at its second, one worker after another applies it (see above). The
    functions' metric lines (printed, as Lambda's runtime would log them) are kept off the report."""
    from hod import wiring
    from local.cfn import functions, load_template
    from local.inproc import LocalContext, load_function_module
    from local.queues import QueueWorkers

    expire = functions(load_template())["ExpireFunction"]
    expire_handler = load_function_module(expire.code_uri, expire.handler)

    due_at = min(look for _, look in sample)
    clock = _At(datetime.fromtimestamp(due_at - 90, UTC))
    with _local_stack(log, clock) as stack:
        kept = _store_as_before(sample, clock.at)
        mark = log.mark()
        started = time.perf_counter()
        with log.scope("ExpireFunction"), redirect_stdout(io.StringIO()):
            swept = expire_handler.handler({}, LocalContext(f"{PREFIX}ExpireFunction"))
        dispatch_s = time.perf_counter() - started
        dispatch_calls = log.since(mark, {"ExpireFunction"})
        workers = QueueWorkers(stack["template"], PREFIX)
        clock.at = datetime.fromtimestamp(due_at + 59, UTC)  # every change of the minute due
        mark = log.mark()
        started = time.perf_counter()
        with log.scope("RefreshFunction"), redirect_stdout(io.StringIO()):
            workers.drain()
        apply_s = time.perf_counter() - started
        calls = [c for c in log.since(mark, {"RefreshFunction"}) if c.operation not in _POLLER_CALLS]
        moved = sum(
            1
            for agent, look in kept
            if (wiring.adapters.agent_store().get(agent.npn) or _MISSING).next_change_at != look
        )
    return {
        "agents": len(kept),
        "queued": swept["queued"],
        "applied": moved,
        "failed_batches": workers.failed,
        "dispatch_s": round(dispatch_s, 3),
        "dispatch_calls": len(dispatch_calls),
        "apply_s": round(apply_s, 3),
        "agents_per_s": round(len(kept) / apply_s, 1) if apply_s else 0.0,
        "calls_per_agent": round(len(calls) / max(1, len(kept)), 2),
        "calls_by_operation": CallLog.by_name(calls),
        "invocations": workers.invocations,
        "refresh": _billed(calls),
        "dispatch": _billed(dispatch_calls),
    }


def _billed(calls: Sequence[Call]) -> dict[str, float]:
    """DynamoDB units and SQS requests of some calls, as billed."""
    return {
        "read_units": round(sum(c.read_units for c in calls), 1),
        "write_units": round(sum(c.write_units for c in calls), 1),
        "index_write_units": round(sum(c.index_write_units for c in calls), 1),
        "sqs_requests": sum(1 for c in calls if c.service == "sqs"),
    }


_POLLER_CALLS = {"ReceiveMessage", "DeleteMessageBatch", "GetQueueUrl", "GetQueueAttributes"}  # Lambda's, not ours
_MISSING = StoredAgent(None, 0)  # type: ignore[arg-type]


# ----- the model -------------------------------------------------------------------------------------------------
def drain_seconds(changes: int, per_worker_per_s: float, workers: int) -> float:
    """Seconds for `workers` parallel workers, each applying `per_worker_per_s` changes a second, to apply `changes`
    released at once, concurrency growing from SQS_INITIAL_CONCURRENCY by SQS_RAMP_PER_S up to `workers`."""
    if changes <= 0:
        return 0.0
    r, start, ramp = per_worker_per_s, min(SQS_INITIAL_CONCURRENCY, workers), SQS_RAMP_PER_S
    ramp_end = (workers - start) / ramp
    during_ramp = r * (start * ramp_end + ramp * ramp_end**2 / 2)
    if changes <= during_ramp:  # r (start t + ramp t²/2) = changes
        return (-start + math.sqrt(start**2 + 2 * ramp * changes / r)) / ramp
    return ramp_end + (changes - during_ramp) / (r * workers)


def dispatch_calls(worker: dict[str, Any], changes: int) -> int:
    """The sweep's calls for a whole minute of `changes`: those it made for the sample, less its queueing requests,
    plus one SendMessageBatch for every ten batches of the minute (a due-list page holds some 15,000 keys, so the
    shards' reads stay one page each)."""
    from hod.services.sweep import SweepPolicy

    policy = SweepPolicy()
    sent_for_sample = math.ceil(math.ceil(worker["agents"] / policy.batch_size) / policy.send_every)
    sends = math.ceil(math.ceil(changes / policy.batch_size) / policy.send_every)
    return int(worker["dispatch_calls"]) - sent_for_sample + sends


def configured_workers() -> int:
    from local.cfn import load_template

    return int(load_template()["Parameters"]["AvailabilityWorkers"]["Default"])


def run(log: CallLog, progress: Callable[[str], None], size: int = SIZE, sample: int = SAMPLE) -> dict[str, Any]:
    started = time.perf_counter()
    everyone = list(population.agents(size, today=DAY))
    progress(f"scale.sweep: {size:,} agents generated in {time.perf_counter() - started:.0f} s")
    per_minute, settings = day_of_changes(everyone)
    busiest = per_minute.most_common(MINUTES_MEASURED)
    progress(f"scale.sweep: {sum(per_minute.values()):,} changes in the day; busiest minutes {busiest}")
    workers = configured_workers()
    minutes = []
    for minute, changes in busiest:
        due = due_in(minute, settings)
        writes = partition_writes(due)
        hottest, hottest_writes = writes.most_common(1)[0]
        worker = one_worker(log, due[:sample])
        by_workers = drain_seconds(changes, worker["agents_per_s"], workers)
        by_partition = hottest_writes / PARTITION_WRITE_UNITS_S
        at_10ms = drain_seconds(changes, 1 / (worker["calls_per_agent"] * AWS_CALL_S), workers)
        minutes.append(
            {
                "minute": datetime.fromtimestamp(minute, UTC).isoformat(),
                "changes": changes,
                "lag_s": round(max(by_workers, by_partition), 1),
                "lag_s_workers": round(by_workers, 1),
                "lag_s_hottest_partition": round(by_partition, 1),
                "lag_s_at_10ms_per_call": round(max(at_10ms, by_partition), 1),
                "hottest_partition": hottest,
                "hottest_partition_writes": hottest_writes,
                "dispatch_calls_all": dispatch_calls(worker, changes),
                "dispatch_s_all": round(
                    dispatch_calls(worker, changes) * worker["dispatch_s"] / max(1, worker["dispatch_calls"]), 1
                ),
                "one_worker": worker,
            }
        )
        progress(f"scale.sweep: {minutes[-1]['minute']}: {changes:,} changes, lag {minutes[-1]['lag_s']} s")
    peak = minutes[0]
    typical_minute, typical_changes = typical(per_minute)
    typical_worker = one_worker(log, due_in(typical_minute, settings)[:sample])
    progress(f"scale.sweep: the typical change's minute {typical_minute}: {typical_changes:,} changes measured")
    return {
        "agents": size,
        "day": START.isoformat(),
        "changes_in_day": sum(per_minute.values()),
        "peak_minute": peak["minute"],
        "peak_minute_changes": peak["changes"],
        "lag_s": peak["lag_s"],
        "lag_s_max": max(m["lag_s"] for m in minutes),
        "workers": workers,
        "worker_agents_per_s": peak["one_worker"]["agents_per_s"],
        "minutes": minutes,
        "typical_minute": {
            "minute": datetime.fromtimestamp(typical_minute, UTC).isoformat(),
            "changes": typical_changes,
            "minutes_in_day_with_changes": len(per_minute),
            "one_worker": typical_worker,
        },
        "machine_cpus": os.cpu_count(),
    }


def typical(per_minute: Counter[int]) -> tuple[int, int]:
    """The minute in which the day's median change falls (minutes ordered by how many changes they hold): half the
    day's changes are applied in minutes as busy or quieter. Its worker's calls per change price the day's."""
    total, seen = sum(per_minute.values()), 0
    for minute, changes in sorted(per_minute.items(), key=lambda pair: (pair[1], pair[0])):
        seen += changes
        if 2 * seen >= total:
            return minute, changes
    raise ValueError("no changes in the day")
