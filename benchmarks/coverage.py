"""What the coverage map's hourly job reads and computes at the program's 83,000 agents (docs/benchmarks.md,
"The coverage map's job").

    python -m benchmarks.coverage [--agents 83000] [--referrals-a-day 40000] [--weeks 4]

- **Agents**: the population model's agents, each as the agents table stores it (AgentItem's attributes: the
  document, the placements AgentService computes, the due time, the e-mail key, the version), sized with DynamoDB's
  rules (attribute names plus values); the job's Scan reads every item whole (a projection does not lower the read
  units), eventually consistent: half a unit per 4 KB, 1 MB a page.
- **Referrals**: a `by-day` index item of a referral head and of an offer, sized the same way (keys and projected
  attributes), for the assumed referrals a day (the cost model's 40,000) and one offer each: what a day still open
  costs a run; a day kept once its referrals have all ended (the population model's day of requests, counted by
  cell and compressed as the store keeps it) is one small item of a BatchGetItem.
- **CPU**: the job's own work on those agents (each document read as the adapter reads it, eligibility, the tally)
  and on a day's referrals, timed on this machine.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks import population
from hod import zipdir
from hod.adapters.agent_items import _PLACEMENT_SEP, sweep_shard
from hod.adapters.coverage import scheduled_agent
from hod.adapters.referral_items import report_attributes
from hod.domain.availability import Availability
from hod.domain.coverage import CoverageTally, referral_rows, state_zones
from hod.domain.marketplace import healthcare_gov_states
from hod.domain.metrics import ReferralFact
from hod.services.agents import AgentService
from hod.services.coverage import MAX_DAYS_FILLED

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # a Wednesday
PLAN_YEAR = 2026
PAGE_BYTES = 1024 * 1024


def _size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: each attribute's name plus its value (a number: its digits / 2 + 1)."""
    total = 0
    for name, value in item.items():
        if value is None:
            continue
        total += len(name.encode())
        if isinstance(value, int | float):
            total += len(str(value).lstrip("-").replace(".", "")) // 2 + 1
        elif isinstance(value, set | frozenset):
            total += sum(len(str(v).encode()) for v in value)
        else:
            total += len(str(value).encode())
    return total


def measure(agents: int, referrals_a_day: int, weeks: int) -> dict[str, Any]:
    states = healthcare_gov_states(PLAN_YEAR)
    service = AgentService(store=None, index=None, clock=None, plan_year=PLAN_YEAR)  # type: ignore[arg-type]
    documents: list[str] = []
    item_bytes = 0
    for agent in population.agents(agents, today=NOW.date()):
        placements, next_change = service.placements(agent, NOW)
        document = agent.model_dump_json()
        documents.append(document)
        item_bytes += _size(
            {
                "npn": agent.npn,
                "doc": document,
                "placements": {_PLACEMENT_SEP.join((p.area, p.cell)) for p in placements} or None,
                "sweep_shard": sweep_shard(agent.npn),
                "next_change_at": next_change,
                "email_key": agent.record.email.lower(),
                "version": 12,
            }
        )
    started = time.perf_counter()
    zones = state_zones(((p.state, p.time_zone) for p in zipdir.all_places() if p.state in states), NOW)
    tally = CoverageTally(zones, NOW.date() - timedelta(days=NOW.weekday()))
    schedules: dict[str, Availability] = {}
    counted = 0
    for document in documents:
        agent = scheduled_agent(document, schedules)
        where = agent.states(plan_year=PLAN_YEAR, plan_year_states=states, now=NOW)
        if where:
            tally.add_agent(agent.availability, where, agent.languages)
            counted += 1
    computed = tally.states
    agents_seconds = time.perf_counter() - started

    referral_id = "0f" * 16
    head = {"pk": referral_id, "sk": "REFERRAL", **report_attributes(referral_id, NOW, "TX", "es")}
    head |= {"status": "accepted", "accepted_at": NOW.isoformat(), "safety_net_round": 1}
    offer = {"pk": referral_id, "sk": "OFFER#20012345", **report_attributes(referral_id, NOW, "TX", "es")}
    offer |= {"status": "accepted", "offer_kind": "direct"}
    day_bytes = referrals_a_day * (_size(head) + _size(offer))  # one offer a referral
    # one day of the population model's requests, where and when people ask, as the job counts a day
    day_start = datetime.combine(NOW.date(), datetime.min.time(), UTC)
    facts = [
        ReferralFact(c.at, c.state, c.language, "accepted", None, False)
        for c in population.consumer_stream(referrals_a_day, day_start)
    ]
    started = time.perf_counter()
    rows = referral_rows(facts, tally.zones)
    day_seconds = time.perf_counter() - started
    kept_day_bytes = len(zlib.compress(json.dumps(rows, separators=(",", ":")).encode()))
    summary_bytes = max(
        len(json.dumps({k: [c.agents, c.referrals, c.safety_net, c.unserved] for k, c in s.languages.items()}))
        for s in computed.values()
    )
    days = weeks * 7 + 1
    return {
        "agents": agents,
        "agents_counted": counted,
        "distinct_schedules": len(schedules),
        "agent_item_bytes_mean": round(item_bytes / agents),
        "scan_mb": round(item_bytes / 1e6, 1),
        "scan_pages": math.ceil(item_bytes / PAGE_BYTES),
        "scan_read_units": math.ceil(item_bytes / 4096 / 2),
        "agents_cpu_s": round(agents_seconds, 1),
        "by_day_item_bytes": [_size(head), _size(offer)],
        "by_day_items_a_day": referrals_a_day * 2,
        "by_day_read_units_a_day": math.ceil(day_bytes / 4096 / 2),
        "open_days_a_run": "2 (3 in the settle time's first half hour after UTC midnight)",
        "first_run_days_read": 2 + MAX_DAYS_FILLED,
        "every_hour_before_kept_days_read_units": math.ceil(day_bytes * days / 4096 / 2),
        "day_count_cpu_s": round(day_seconds, 2),
        "kept_day_rows": len(rows),
        "kept_day_bytes": kept_day_bytes,
        "kept_days_batch_get_read_units": math.ceil(kept_day_bytes * (days - 2) / 4096 / 2),
        "largest_summary_bytes": summary_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=83_000)
    parser.add_argument("--referrals-a-day", type=int, default=40_000)
    parser.add_argument("--weeks", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(measure(args.agents, args.referrals_a_day, args.weeks), indent=2))


if __name__ == "__main__":
    main()
