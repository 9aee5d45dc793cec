"""`scale.coverage`: how many of a national day's referrals find nobody available now, and so open the safety net,
and how large the roster each of those calls is (docs/benchmarks.md, "What the background costs").

The matching benchmark's population (100,000 agents, benchmarks/population.py) and its consumer stream (40,000
requests over the 24 hours from 2 a.m. Central on Tuesday 13 January 2026, by the local hour of day). The
available-now index is computed by the service's own `AgentService.placements` every half hour, at the quarter past
and the quarter to; each referral is looked up in the snapshot of its half hour. A referral whose state and language
has no available agent goes to the safety net, which e-mails every agent on the state's roster
(docs/workflow.md). This is the population model's rate only: a referral whose nearby agents are all at capacity, or
whose offers all lapse, reaches the safety net too, and the model does not simulate agents' answers — the cost model
gives the fan-out's price per safety-net referral so that a higher share can be read off.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from benchmarks import population
from benchmarks.counting import CallLog
from benchmarks.matching import STREAM_SIZE, STREAM_START, TODAY, placements_at

SIZE = 100_000
STEP = timedelta(minutes=30)


def run(_log: CallLog, progress: Callable[[str], None], size: int = SIZE) -> dict[str, Any]:
    started = time.perf_counter()
    agents = list(population.agents(size, today=TODAY))
    stream = population.consumer_stream(STREAM_SIZE, STREAM_START)
    rosters = Counter(
        p.area.split("#")[1]
        for p in placements_at(agents, STREAM_START + STEP / 2, rosters=True)
        if p.area[:7] == "ROSTER#"
    )
    progress(f"scale.coverage: {size:,} agents, {len(stream):,} referrals, rosters of {len(rosters)} states")
    slots = int(timedelta(days=1) / STEP)
    open_areas: list[set[str]] = []
    for slot in range(slots):
        at = STREAM_START + slot * STEP + STEP / 2
        open_areas.append({p.area for p in placements_at(agents, at, rosters=False)})
    unserved = [
        c for c in stream if f"{c.state}#{c.language}" not in open_areas[min(slots - 1, (c.at - STREAM_START) // STEP)]
    ]
    roster_sizes = sorted(rosters[c.state] for c in unserved)
    result: dict[str, Any] = {
        "agents": size,
        "referrals": len(stream),
        "from": STREAM_START.isoformat(),
        "snapshots": slots,
        "safety_net_referrals": len(unserved),
        "safety_net_share": round(len(unserved) / max(1, len(stream)), 4),
        "by_language": dict(Counter(c.language for c in unserved).most_common()),
        "by_state": dict(Counter(c.state for c in unserved).most_common(10)),
        "roster_mean": round(statistics.fmean(roster_sizes), 1) if roster_sizes else 0.0,
        "roster_max": roster_sizes[-1] if roster_sizes else 0,
        "roster_largest_state": max(rosters.values()) if rosters else 0,
        "seconds": round(time.perf_counter() - started, 1),
    }
    progress(
        f"scale.coverage: {len(unserved):,} of {len(stream):,} referrals find nobody available "
        f"({100 * result['safety_net_share']:.2f}%); mean roster {result['roster_mean']}"
    )
    return result
