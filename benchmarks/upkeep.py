"""What the availability sweep spends on the available-now index, the summary of occupied cells included.

A day of refreshes is replayed through the index adapter for the agents who take referrals in one state: each agent
is refreshed at its next change (`AgentService.placements` gives where it must appear and when to look again), and
the adapter is asked to remove and add exactly what `AgentService` asks of it. Every DynamoDB call is counted from
botocore's events (`counting.CallLog`); the summary's are told from the entries' by operation: the entries are one
BatchWriteItem per refresh, everything else is the summary's upkeep. The agent record's own write (the sweep's
PutItem of the agent) is not part of this.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import boto3

from benchmarks import population
from benchmarks.counting import Call, CallLog
from benchmarks.fastquery import fast_queries
from benchmarks.matching import (
    STREAM_START,
    TODAY,
    FixedClock,
    _create_index_table,
    _shared_availability_evaluation,
)
from hod.adapters.available import DynamoAvailableIndex
from hod.domain import occupancy as occ
from hod.domain.agent import Agent
from hod.services.agents import AgentService, roster_area

_ENTRY_OPERATIONS = {"BatchWriteItem"}


def _billed_write_units(call: Call) -> float:
    """A write's units, and 1 for a conditional write whose condition failed (DynamoDB bills it too)."""
    return call.write_units if call.error is None else 1.0


class _CountedSteps(DynamoAvailableIndex):
    """The adapter, counting the summary's protocol steps by kind, and the looks at a cell by what they found."""

    def __init__(self, table_name: str) -> None:
        super().__init__(table_name)
        self.steps: Counter[str] = Counter()

    def summary_step(self, step: occ.Step) -> Any:
        answer = super().summary_step(step)
        name = type(step).__name__
        if isinstance(step, occ.CellHasEntries):
            name += "_found" if answer else "_empty"
        self.steps[name] += 1
        return answer


def run(
    agents: Sequence[Agent],
    state: str,
    start: datetime,
    hours: int,
    log: CallLog,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Replays `hours` of refreshes from `start` for the agents who take referrals in `state`."""
    service = AgentService(None, None, FixedClock(start), population.PLAN_YEAR)  # type: ignore[arg-type]
    table = _create_index_table(f"bench-upkeep-{state}-")
    index = _CountedSteps(table)
    end = start + timedelta(hours=hours)
    started = time.perf_counter()
    placed: dict[str, frozenset[tuple[str, str]]] = {}
    queue: list[tuple[datetime, str]] = []
    by_npn = {agent.npn: agent for agent in agents}
    with _shared_availability_evaluation(), fast_queries():
        first = []
        for agent in agents:
            entries, next_look = service.placements(agent, start)
            if roster_area(state, agent.npn) not in {p.area for p in entries}:
                continue
            first += entries
            placed[agent.npn] = frozenset((p.area, p.cell) for p in entries)
            heapq.heappush(queue, (datetime.fromtimestamp(next_look, start.tzinfo), agent.npn))
        for chunk in range(0, len(first), 5000):
            index.replace((), first[chunk : chunk + 5000])
        progress(f"upkeep: {len(placed):,} agents taking {state} referrals, {len(first):,} entries written")
        mark = log.mark()
        index.steps.clear()
        refreshes = 0
        with log.scope("refresh"):
            while queue and queue[0][0] < end:
                at, npn = heapq.heappop(queue)
                entries, next_look = service.placements(by_npn[npn], at)
                keys = frozenset((p.area, p.cell) for p in entries)
                old = placed[npn]
                # as AgentService._save: available entries are rewritten (their end changed), rosters only once
                index.replace(remove=old - keys, add=[p for p in entries if p.until or (p.area, p.cell) not in old])
                placed[npn] = keys
                refreshes += 1
                heapq.heappush(queue, (max(datetime.fromtimestamp(next_look, start.tzinfo), at), npn))
    calls = [c for c in log.since(mark, {"refresh"}) if c.service == "dynamodb"]
    boto3.client("dynamodb").delete_table(TableName=table)
    entry_calls = [c for c in calls if c.operation in _ENTRY_OPERATIONS]
    summary_calls = [c for c in calls if c.operation not in _ENTRY_OPERATIONS]
    per = max(1, refreshes)
    progress(f"upkeep: {refreshes:,} refreshes replayed in {time.perf_counter() - started:.0f} s")
    return {
        "state": state,
        "agents": len(placed),
        "hours": hours,
        "from": start.isoformat(),
        "refreshes": refreshes,
        "entries": {
            "calls_per_refresh": round(len(entry_calls) / per, 2),
            "write_units_per_refresh": round(sum(c.write_units for c in entry_calls) / per, 2),
        },
        "summary": {
            "calls_per_refresh": round(len(summary_calls) / per, 2),
            "write_units_per_refresh": round(sum(_billed_write_units(c) for c in summary_calls) / per, 3),
            "read_units_per_refresh": round(sum(c.read_units for c in summary_calls) / per, 3),
            "writes": dict(sorted(Counter(c.operation for c in summary_calls if c.write_units or c.error).items())),
            "conditions_failed": sum(1 for c in summary_calls if c.error),
            "calls": dict(sorted(Counter(c.operation for c in summary_calls).items())),
            # MarkClosing: removals that emptied a cell as far as the first look saw; CellHasEntries_found:
            # looks that found someone still there (the first, or the second after a mark)
            "steps": dict(sorted(index.steps.items())),
        },
    }


def run_day(state: str, log: CallLog, progress: Callable[[str], None], size: int = 100_000) -> dict[str, Any]:
    """The day of the matching benchmark's consumer stream, replayed for the agents (of `size`) taking `state`'s
    referrals, each in a fresh moto."""
    from moto import mock_aws

    started = time.perf_counter()
    agents = list(population.agents(size, today=TODAY))
    progress(f"upkeep: {size:,} agents generated in {time.perf_counter() - started:.0f} s")
    with mock_aws():
        return {"population": size, **run(agents, state, STREAM_START, 24, log, progress)}
