"""`scale.partitions`: the hottest DynamoDB partition at 500 referrals a second.

DynamoDB serves at most 1,000 write units and 3,000 read units a second from one partition, and a global secondary
index that cannot keep up holds back its table's writes. This figure finds the partition key that comes nearest.

1. **Drive** (the harness of benchmarks/referrals.py: template.yaml's tables and state machine in moto, the
   functions' real handlers in-process). Import agents; take referrals through every path (accept; reject, then the
   next agent accepts; timeout, then the next agent accepts; the safety net: nobody is available in the consumer's
   state, so its whole roster is e-mailed and one agent answers), each to the agent's progress report and the
   reminder that finds it; change agents' availability; ask for the day's program metrics; request a sign-in link.
   `CallLog` records every DynamoDB call's units by partition: each item written (1 unit per KB, 2 in a
   transaction), each index entry written or removed (1 unit per KB of the entry), each item or Query read (0.5
   unit per 4 KB eventually consistent, 1 strongly).
2. **Classify.** Every partition key value read or written is matched to its key design (`key_designs`: table or
   index, the shape of the key, how it is spread). A value that no design matches stops the run: no key goes
   uncounted.
3. **Scale** each design's load per event (a referral, an imported agent, an availability change, a request) to
   `RATES`, by how its key is spread (`SPREADS`), and keep the hottest partition of each design. "Before" applies
   the same loads to the keys as they were before they were sharded (`KeyDesign.shards_before`).
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks import population
from benchmarks.counting import Call, CallLog, PartitionUse
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

REFERRALS_PER_S = 500
WRITE_LIMIT = 1_000  # write units a second one partition serves
READ_LIMIT = 3_000  # read units a second one partition serves
REPEATS = 2  # referrals per path
NATIONAL_AGENTS = 83_000  # agents the service is sized for; a state's roster is scaled to it
SAMPLE_AGENTS = 20_000  # the population sample shares are taken from (the first agents of the national population)
CONSUMERS = 40_000  # the consumer stream shares of referrals by state and language are taken from
RATES = {
    "referral": REFERRALS_PER_S,
    # the peak minute of availability changes (issue 11: at least 40,000 due in one minute), within that minute
    "change": 40_000 / 60,
    # one import request of 1,000 agents a second: more than the console sends (one request after another)
    "import": 1_000,
    # one program-metrics request a second, each reading as much as one may (MAX_METRICS_ITEMS)
    "admin": 1,
    # suspensions (and reactivations): at most one for every fifth miss of an agent (SuspendAfterMissed's default),
    # taking every referral as missed once
    "suspension": REFERRALS_PER_S / 5,
    # sign-in link requests: each touches keys of its own agent only
    "sign-in": 1,
}
# The safety net's e-mails are claimed in the referral's send ledger one by one, as fast as SES sends them: the
# account's sending rate (SES production accounts start at 14 a second). The ledger key takes 1 unit per claim.
SAFETY_NET_SENDS_PER_S = 14
SAFETY_NET_AGENTS = ("9001", "9002", "9003")  # Oklahoma City, Today's Availability off: the state's whole roster
DRIVERS = tuple(RATES)

SPREADS = {
    "one": "a key of one referral, request or agent: the load one event puts on it, as if within one second",
    "agent": "a key of one agent: as `one`, except that every safety net e-mails every agent of the state, so in "
    "the safety net each agent's key is touched by every referral of the busiest state",
    "ledger": "the send ledger of one referral: as `one`, except that the safety net claims one e-mail after "
    "another at SES's sending rate",
    "shared": "one key for every event (or one of `shards` by a hash of the owner): load per event × rate ÷ shards",
    "area": "one key per state and language: load per event × rate × the busiest area's share ÷ shards",
    "roster": "one key per state (÷ shards by a hash of the agent): the safety net reads the state's whole roster, "
    "scaled to the busiest state's roster; writes as `area`, by state",
}


@dataclass(frozen=True)
class KeyDesign:
    """A partition key design: where (table, index), what its values look like, how they are spread."""

    table: str
    index: str
    shape: str
    pattern: str
    spread: str
    shards: int = 1
    shards_before: int | None = None  # sharded by the partitions work: the number of keys before (1)

    @property
    def name(self) -> str:
        return f"{self.table}{'.' + self.index if self.index else ''} {self.shape}"

    def matches(self, use: PartitionUse) -> bool:
        return use.table == self.table and use.index == self.index and re.fullmatch(self.pattern, use.key) is not None


def key_designs() -> list[KeyDesign]:
    """Every partition key the service uses, with the shard counts in the code now."""
    from hod.adapters.access import INVITE_SHARDS
    from hod.adapters.dynamo import SWEEP_SHARDS
    from hod.shards import REFERRAL_SHARDS, ROSTER_SHARDS

    shard = r"(#\d\d)?"
    referral = "ReferralsTable"
    agents = "AgentsTable"
    return [
        KeyDesign(referral, "", "REF#<referral>", r"REF#[0-9a-f]{32}", "one"),
        KeyDesign(referral, "", "<referral> (send ledger)", r"[0-9a-f]{32}", "ledger"),
        KeyDesign(referral, "", "AGENT#<npn> (send ledger)", r"AGENT#\d+", "agent"),
        KeyDesign(referral, "by-agent", "<npn>", r"\d+", "agent"),
        KeyDesign(referral, "unstarted", "<flag>#<shard>", rf"(pending|1|retry){shard}", "shared", REFERRAL_SHARDS, 1),
        KeyDesign(referral, "by-day", "<UTC day>#<shard>", rf"\d{{4}}-\d\d-\d\d{shard}", "shared", REFERRAL_SHARDS, 1),
        KeyDesign(agents, "", "<npn>", r"\d+", "agent"),
        KeyDesign(agents, "", "SIGNIN#<npn>", r"SIGNIN#\d+", "agent"),
        KeyDesign(agents, "", "INVITE#<npn>", r"INVITE#\d+", "agent"),
        KeyDesign(agents, "", "LINK#<code>", r"LINK#[A-Za-z0-9_-]+", "one"),
        KeyDesign(agents, "due-changes", "<shard>", r"\d+", "shared", SWEEP_SHARDS),
        KeyDesign(agents, "by-email", "<e-mail address>", r"[^@\s]+@[^@\s]+", "agent"),
        KeyDesign(agents, "due-invites", "<shard>", r"\d+", "shared", INVITE_SHARDS),
        KeyDesign(agents, "suspended", "1", r"1", "shared"),
        KeyDesign("AvailableAgentsTable", "", "<state>#<language>", r"[A-Z]{2}#[a-z]{2,3}", "area"),
        KeyDesign("AvailableAgentsTable", "", "ROSTER#<state>#<shard>", rf"ROSTER#[A-Z]{{2}}{shard}", "roster",
                  ROSTER_SHARDS, 1),
        KeyDesign("IdempotencyTable", "", "<function>#<hash of the request>", r".+", "one"),
    ]  # fmt: skip


@dataclass
class Event:
    """What one driven event (or `count` of them at once: an import) read and wrote, partition by partition."""

    driver: str
    label: str
    uses: list[PartitionUse]
    count: int = 1


@dataclass
class Shares:
    """From the population model: the busiest state and area, by referrals and by agents."""

    referrals_by_state: dict[str, float]
    referrals_by_area: dict[str, float]
    agents_by_state: dict[str, float]
    agents_by_area: dict[str, float]
    roster: dict[str, int]  # agents who take the state's referrals, at NATIONAL_AGENTS

    def top(self, driver: str, by: str) -> float:
        table = {
            ("referral", "state"): self.referrals_by_state,
            ("referral", "area"): self.referrals_by_area,
            ("agent", "state"): self.agents_by_state,
            ("agent", "area"): self.agents_by_area,
        }[("referral" if driver == "referral" else "agent", by)]
        return max(table.values(), default=0.0)


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


# ----- loads -----------------------------------------------------------------------------------------------------
@dataclass
class Load:
    """Units on one design's partitions within one event."""

    write: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    read: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    queries: int = 0
    items_read: int = 0
    bytes_read: int = 0
    largest_write: float = 0.0  # the largest single write on one partition (one call)
    read_rate: float = 0.0  # read units per 4 KB: 0.5 eventually consistent, 1 strongly (the dearest seen)

    def add(self, use: PartitionUse) -> None:
        if use.write_units:
            self.write[use.key] += use.write_units
            self.largest_write = max(self.largest_write, use.write_units)
        if use.read_units or use.items:
            self.read[use.key] += use.read_units
            self.queries += 1
            self.items_read += use.items
            self.bytes_read += use.bytes
            self.read_rate = max(self.read_rate, use.read_units / max(1, math.ceil(use.bytes / 4096)))


def classify(events: Sequence[Event], designs: Sequence[KeyDesign]) -> dict[str, list[tuple[Event, Load]]]:
    """Each design's load in each event that touched it. A partition no design matches is an error."""
    found: dict[str, list[tuple[Event, Load]]] = {design.name: [] for design in designs}
    for event in events:
        loads: dict[str, Load] = {}
        for use in event.uses:
            design = next((d for d in designs if d.matches(use)), None)
            if design is None:
                raise RuntimeError(f"no key design for {use.table} {use.index or '(table)'} {use.key!r}")
            loads.setdefault(design.name, Load()).add(use)
        for name, load in loads.items():
            found[name].append((event, load))
    return found


def _per_event(loads: Iterable[tuple[Event, Load]], kind: str) -> float:
    """The largest load one event (per unit of the driver: one agent of an import) put on the design."""
    return max((sum(getattr(load, kind).values()) / event.count for event, load in loads), default=0.0)


def _hottest(loads: Iterable[tuple[Event, Load]], kind: str) -> float:
    """The largest load one event put on one of the design's partitions."""
    return max((max(getattr(load, kind).values(), default=0.0) for _, load in loads), default=0.0)


def _whole_read(load: Load, items: int, measured_shards: int, shards: int) -> float:
    """Read units on each of `shards` partitions when the event's reads of the design (each a whole read of its
    `measured_shards` partitions) read `items` entries of the measured size instead, spread evenly."""
    if not load.items_read:
        return sum(load.read.values()) / max(1, shards)
    per_item = load.bytes_read / load.items_read
    whole_reads = max(1.0, load.queries / measured_shards)
    return whole_reads * max(1, math.ceil(per_item * items / shards / 4096)) * load.read_rate


def heat(design: KeyDesign, loads: Sequence[tuple[Event, Load]], shares: Shares, shards: int) -> dict[str, Any]:
    """Write and read units a second on the design's hottest partition, by driver, with `shards` keys."""
    by_driver: dict[str, dict[str, float]] = {}
    for driver in DRIVERS:
        mine = [(e, load) for e, load in loads if e.driver == driver]
        if not mine:
            continue
        rate = RATES[driver]
        safety_net = [(e, load) for e, load in mine if e.label == "safety_net"]
        direct = [(e, load) for e, load in mine if e.label != "safety_net"]
        found = {}
        for kind in ("write", "read"):
            if design.spread == "one":
                units = _hottest(mine, kind)
            elif design.spread == "agent":
                fan_out = _hottest(safety_net, kind) * rate * shares.top("referral", "state")
                units = max(_hottest(direct, kind), fan_out)
            elif design.spread == "ledger":
                claims = max((load.largest_write for _, load in safety_net), default=0.0) * SAFETY_NET_SENDS_PER_S
                units = max(_hottest(direct, kind), claims if kind == "write" else _hottest(safety_net, kind))
            elif design.spread == "shared":
                units = _per_event(mine, kind) * rate / shards
                if kind == "read" and driver == "admin":
                    units = _admin_read(mine, design.shards, shards) * rate
            elif design.spread == "area":
                units = _per_event(mine, kind) * rate * shares.top(driver, "area") / shards
            elif design.spread == "roster":
                if kind == "read" and driver == "referral":
                    units = _roster_read(mine, shares, design.shards, shards) * rate
                else:
                    units = _per_event(mine, kind) * rate * shares.top(driver, "state") / shards
            else:
                raise ValueError(design.spread)
            found[f"{kind}_units_s"] = round(units, 1)
        by_driver[driver] = found
    return {
        "write_units_s": round(sum(d["write_units_s"] for d in by_driver.values()), 1),
        "read_units_s": round(sum(d["read_units_s"] for d in by_driver.values()), 1),
        "by_driver": by_driver,
    }


def _roster_read(loads: Sequence[tuple[Event, Load]], shares: Shares, measured_shards: int, shards: int) -> float:
    """Read units per referral a second on the hottest roster partition: each state's roster scaled to its size
    at NATIONAL_AGENTS, weighted by the state's share of referrals (a safety net reads the whole roster)."""
    worst = 0.0
    for _, load in loads:
        for state, share in shares.referrals_by_state.items():
            worst = max(worst, share * _whole_read(load, shares.roster.get(state, 0), measured_shards, shards))
    return worst


def _admin_read(loads: Sequence[tuple[Event, Load]], measured_shards: int, shards: int) -> float:
    """Read units per request on the hottest by-day partition when the request reads as much as one may: one day
    holding more than MAX_METRICS_ITEMS referrals and offers (at 500 referrals a second a day holds 43 million),
    spread evenly over the day's shards."""
    from hod.services.reports import MAX_METRICS_ITEMS

    return max(_whole_read(load, MAX_METRICS_ITEMS + 1, measured_shards, shards) for _, load in loads)


# ----- driving ---------------------------------------------------------------------------------------------------
def _uses(calls: Iterable[Call]) -> list[PartitionUse]:
    return [use for call in calls if call.service == "dynamodb" for use in call.partitions]


def drive(h: Harness, progress: Callable[[str], None], repeats: int = REPEATS) -> list[Event]:
    """Run every driver against the harness; the events, with what each read and wrote by partition."""
    from benchmarks.matching import FixedClock
    from hod import wiring
    from hod.domain.availability import WeeklySchedule
    from hod.services.workflow import agent_recipient

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

    service = wiring.agents()
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
            lambda npn=npn, recipient=recipient: wiring.notifier().send(
                f"AGENT#{npn}", "suspended:bench", recipient, "suspended", notice
            ),
        )
        event("suspension", "reactivate", lambda npn=npn: service.reactivate(npn))

    day = datetime.now(UTC).date().isoformat()
    admin = {"Authorization": f"Bearer {wiring.auth().admin_token('bench-admin')}"}
    answer = event("admin", "metrics", lambda: h.http("GET", f"/admin/metrics?from={day}&to={day}", headers=admin),
                   scoped=False)  # fmt: skip
    if answer.status_code != 200:
        raise RuntimeError(f"GET /admin/metrics answered {answer.status_code}: {answer.body!r}")
    body, json_type = '{"email": "agent101@example.com"}', {"Content-Type": "application/json"}
    signed = event("sign-in", "sign-in", lambda: h.http("POST", "/sign-in", body, json_type))
    if signed.status_code >= 300:
        raise RuntimeError(f"POST /sign-in answered {signed.status_code}")

    # The availability sweep at the agents' next change (their local midnight): everyone is due at once
    stored = [wiring.agent_store().get(r["npn"]) for r in [*austin, *oklahoma]]
    due = max(a.next_change_at or 0 for a in stored if a is not None)
    wiring.reset()
    wiring.use_clock(FixedClock(datetime.fromtimestamp(due + 1, UTC)))
    refreshed = event("change", "sweep", lambda: wiring.agents().refresh_due(), len(stored))
    if refreshed != len(stored):
        raise RuntimeError(f"the sweep refreshed {refreshed} agents of {len(stored)}")
    return events


def summarise(events: Sequence[Event], shares: Shares, designs: Sequence[KeyDesign]) -> dict[str, Any]:
    """Each design's hottest partition now and before, and the maxima."""
    classified = classify(events, designs)
    keys = []
    for design in designs:
        loads = classified[design.name]
        now = heat(design, loads, shares, design.shards)
        before = heat(design, loads, shares, design.shards_before or design.shards)
        keys.append(
            {
                "key": design.name,
                "table": design.table,
                "index": design.index,
                "shape": design.shape,
                "spread": design.spread,
                "shards": design.shards,
                "shards_before": design.shards_before or design.shards,
                "write_units_s": now["write_units_s"],
                "read_units_s": now["read_units_s"],
                "write_units_s_before": before["write_units_s"],
                "read_units_s_before": before["read_units_s"],
                "by_driver": now["by_driver"],
                "per_event": {
                    driver: {
                        "write_units": round(_per_event([x for x in loads if x[0].driver == driver], "write"), 2),
                        "read_units": round(_per_event([x for x in loads if x[0].driver == driver], "read"), 2),
                    }
                    for driver in DRIVERS
                    if any(e.driver == driver for e, _ in loads)
                },
            }
        )

    def hottest(field_name: str) -> dict[str, Any]:
        top = max(keys, key=lambda k: k[field_name])
        return {"units_s": top[field_name], "key": top["key"]}

    write, read = hottest("write_units_s"), hottest("read_units_s")
    write_before, read_before = hottest("write_units_s_before"), hottest("read_units_s_before")
    return {
        "referrals_per_s": REFERRALS_PER_S,
        "max_write_units_per_partition_s": write["units_s"],
        "max_write_key": write["key"],
        "max_read_units_per_partition_s": read["units_s"],
        "max_read_key": read["key"],
        "targets": {"max_write_units_per_partition_s": WRITE_LIMIT, "max_read_units_per_partition_s": READ_LIMIT},
        "met": write["units_s"] <= WRITE_LIMIT and read["units_s"] <= READ_LIMIT,
        "before": {
            "max_write_units_per_partition_s": write_before["units_s"],
            "max_write_key": write_before["key"],
            "max_read_units_per_partition_s": read_before["units_s"],
            "max_read_key": read_before["key"],
        },
        "keys": keys,
        "rates": {**RATES, "safety_net_sends": SAFETY_NET_SENDS_PER_S},
        "spreads": SPREADS,
        "shares": {
            "busiest_state_by_referrals": _top(shares.referrals_by_state),
            "busiest_area_by_referrals": _top(shares.referrals_by_area),
            "busiest_state_by_agents": _top(shares.agents_by_state),
            "busiest_area_by_agents": _top(shares.agents_by_area),
            "largest_roster": max(shares.roster.items(), key=lambda kv: kv[1], default=("", 0)),
            "national_agents": NATIONAL_AGENTS,
        },
        "driven": dict(Counter(e.label if e.driver == "referral" else e.driver for e in events)),
    }


def _top(fractions: dict[str, float]) -> list[Any]:
    key, share = max(fractions.items(), key=lambda kv: kv[1], default=("", 0.0))
    return [key, round(share, 4)]


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
