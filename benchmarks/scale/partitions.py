"""`scale.partitions`: the hottest DynamoDB partition at 500 referrals a second.

DynamoDB serves at most 1,000 write units and 3,000 read units a second from one partition, and a global secondary
index that cannot keep up holds back its table's writes. This figure finds the partition key that comes nearest.

1. **Drive** (the harness of benchmarks/referrals.py: template.yaml's tables and state machine in moto, the
   functions' real handlers in-process). Import agents; take referrals through every path (accept; reject, then the
   next agent accepts; timeout, then the next agent accepts; the safety net: nobody is available in the consumer's
   state, so its whole roster is e-mailed and one agent answers), each to the agent's progress report and the
   reminder that finds it; suspend and reactivate agents; ask for the day's program metrics; request a sign-in
   link; run the availability sweep at the agents' next change.
   `CallLog` records every DynamoDB call's units by partition: each item written (1 unit per KB, 2 in a
   transaction), each index entry written or removed (1 unit per KB of the entry), each item or Query read (0.5
   unit per 4 KB eventually consistent, 1 strongly).
2. **Classify and scale** (`benchmarks/scale/heat.py`): every partition key value is matched to its key design, and
   each design's load per event is scaled to `RATES` by how its key is spread; the hottest partition of each
   design is kept, now and as the keys were before they were sharded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from benchmarks import population
from benchmarks.counting import Call, CallLog
from benchmarks.referrals import (
    ALWAYS,
    AUSTIN_ZIPS,
    PATHS,
    CountingSink,
    Harness,
    agent_record,
    count_log_output,
    one_referral,
    stack,
)
from benchmarks.scale.heat import NATIONAL_AGENTS, Event, Shares, key_designs, summarise
from benchmarks.tables import PartitionUse

REPEATS = 2  # referrals per path
SAMPLE_AGENTS = 20_000  # the population sample shares are taken from (the first agents of the national population)
CONSUMERS = 40_000  # the consumer stream shares of referrals by state and language are taken from
SAFETY_NET_AGENTS = ("9001", "9002", "9003")  # Oklahoma City, Today's Availability off: the state's whole roster


def shares() -> Shares:
    from benchmarks.matching import DAY, STREAM_START, placements_at

    stream = population.consumer_stream(CONSUMERS, STREAM_START)
    by_state = Counter(c.state for c in stream)
    by_area = Counter(f"{c.state}#{c.language}" for c in stream)
    agents = list(population.agents(SAMPLE_AGENTS, today=DAY.date()))
    entries = placements_at(agents, DAY, rosters=True)
    rosters = Counter(p.area.split("#")[1] for p in entries if p.area.startswith("ROSTER#"))
    areas = Counter(p.area for p in entries if not p.area.startswith("ROSTER#"))
    scale = NATIONAL_AGENTS / SAMPLE_AGENTS
    return Shares(
        referrals_by_state=_fractions(by_state),
        referrals_by_area=_fractions(by_area),
        agents_by_state=_fractions(rosters),
        agents_by_area=_fractions(areas),
        roster={state: round(n * scale) for state, n in rosters.items()},
    )


def _fractions(counts: Counter[str]) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {key: n / total for key, n in counts.most_common()}


def _uses(calls: Iterable[Call]) -> list[PartitionUse]:
    return [use for call in calls if call.service == "dynamodb" for use in call.partitions]


def drive(h: Harness, progress: Callable[[str], None], repeats: int = REPEATS) -> list[Event]:
    """Run every driver against the harness; the events, with what each read and wrote by partition."""
    from benchmarks.matching import FixedClock
    from hod import wiring
    from hod.domain.availability import WeeklySchedule
    from hod.services.workflow.notices import agent_recipient

    log = h.log
    events: list[Event] = []

    def event(driver: str, label: str, action: Callable[[], Any], count: int = 1, scoped: bool = True) -> Any:
        mark = log.mark()
        if scoped:
            with log.scope(driver):
                result = action()
        else:
            result = action()
        # Unscoped too: the admin console reads a day's shards in worker threads, outside the request's scope
        calls = log.since(mark) if scoped else log.calls[mark:]
        events.append(Event(driver, label, _uses(calls), count))
        return result

    service = wiring.services.agents()
    austin = [
        agent_record(str(101 + i), zip_code, "Austin", contact_method="email_text")
        for i, zip_code in enumerate(AUSTIN_ZIPS)
    ]
    oklahoma = [agent_record(npn, "73102", "Oklahoma City", "OK") for npn in SAFETY_NET_AGENTS]
    report = event("import", "import", lambda: service.import_agents([*austin, *oklahoma]), len(austin) + 3)
    if report.summary["refused"]:
        raise RuntimeError(f"agents refused: {report.results}")
    for record in austin:
        service.set_weekly_schedule(record["npn"], WeeklySchedule.model_validate(ALWAYS))
    for npn in SAFETY_NET_AGENTS:
        service.set_today(npn, False)  # not available today: an Oklahoma referral goes to the safety net

    one_referral(h, "accept", 0)  # warm-up, not counted
    serial = 1
    for path in (*PATHS, "safety_net"):
        for _ in range(repeats):
            run = one_referral(h, path, serial, SAFETY_NET_AGENTS)
            events.append(Event("referral", path, _uses(run["calls"])))
            serial += 1
        progress(f"partitions: {repeats} referrals on path {path}")

    # An agent suspended for missed offers, told so (as the workflow does after the miss that suspends), reactivated
    notice = {"missed_count": "5"}
    for record in austin[-2:]:
        npn = record["npn"]
        agent = event("suspension", "suspend", lambda npn=npn: service.suspend(npn, "missed 5 referrals").agent)
        recipient = agent_recipient(agent, channels=frozenset({"email"}))
        event(
            "suspension",
            "notice",
            lambda npn=npn, recipient=recipient: wiring.sending.notifier().send(
                f"AGENT#{npn}", "suspended:bench", recipient, "suspended", notice
            ),
        )
        event("suspension", "reactivate", lambda npn=npn: service.reactivate(npn))

    day = datetime.now(UTC).date().isoformat()
    admin = {"Authorization": f"Bearer {wiring.services.auth().admin_token('bench-admin')}"}
    answer = event("admin", "metrics", lambda: h.http("GET", f"/admin/metrics?from={day}&to={day}", headers=admin),
                   scoped=False)  # fmt: skip
    if answer.status_code != 200:
        raise RuntimeError(f"GET /admin/metrics answered {answer.status_code}: {answer.body!r}")
    body, json_type = '{"email": "agent101@example.com"}', {"Content-Type": "application/json"}
    signed = event("sign-in", "sign-in", lambda: h.http("POST", "/sign-in", body, json_type))
    if signed.status_code >= 300:
        raise RuntimeError(f"POST /sign-in answered {signed.status_code}")

    # The availability sweep at the agents' next change (their local midnight): everyone is due at once
    stored = [wiring.adapters.agent_store().get(r["npn"]) for r in [*austin, *oklahoma]]
    due = max(a.next_change_at or 0 for a in stored if a is not None)
    wiring.reset()
    wiring.use_clock(FixedClock(datetime.fromtimestamp(due + 1, UTC)))
    refreshed = event("change", "sweep", lambda: _apply_due(due), len(stored))
    if refreshed != len(stored):
        raise RuntimeError(f"the sweep refreshed {refreshed} agents of {len(stored)}")
    return events


def _apply_due(due_at: int) -> int:
    """What the refresh workers do when the changes fall due: every due agent re-evaluated, batch by batch."""
    from hod import wiring
    from hod.services.sweep import SweepPolicy, batches

    sweep, size = wiring.services.availability_sweep(), SweepPolicy().batch_size
    changes = [change.npn for change in wiring.adapters.agent_store().due_for_refresh(until=due_at)]
    return sum(sweep.apply(batch).refreshed for batch in batches(due_at, changes, size))


def run(log: CallLog, progress: Callable[[str], None], repeats: int = REPEATS) -> dict[str, Any]:
    started = time.perf_counter()
    found = shares()
    progress("partitions: population shares taken")
    log.partitions = True
    try:
        with stack(log, every_table=True) as h, count_log_output(CountingSink()):
            events = drive(h, progress, repeats)
    finally:
        log.partitions = False
    results = summarise(events, found, key_designs())
    results["seconds"] = round(time.perf_counter() - started)
    progress(
        f"partitions: hottest write {results['max_write_units_per_partition_s']} units/s "
        f"({results['max_write_key']}), read {results['max_read_units_per_partition_s']} units/s "
        f"({results['max_read_key']})"
    )
    return results
