"""How the loads `benchmarks/scale/partitions.py` measures become each partition's heat at 500 referrals a second.

Every partition key value read or written is matched to its key design (`key_designs`: table or index, the shape
of the key, how it is spread); a value no design matches is an error, so no key goes uncounted. Each design's load
per event (a referral, an imported agent, an availability change, a request) is scaled to `RATES` by how its key
is spread (`SPREADS`); the hottest partition of each design is kept, now and with the shard counts before the keys
were sharded (`KeyDesign.shards_before`).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.tables import PartitionUse

REFERRALS_PER_S = 500
WRITE_LIMIT = 1_000  # write units a second one partition serves
READ_LIMIT = 3_000  # read units a second one partition serves
NATIONAL_AGENTS = 83_000  # agents the service is sized for; a state's roster is scaled to it
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
    shards_before: int | None = None  # a key that was sharded: how many keys it had before (1)

    @property
    def name(self) -> str:
        return f"{self.table}{'.' + self.index if self.index else ''} {self.shape}"

    def matches(self, use: PartitionUse) -> bool:
        return use.table == self.table and use.index == self.index and re.fullmatch(self.pattern, use.key) is not None


def key_designs() -> list[KeyDesign]:
    """Every partition key the service uses, with the shard counts in the code now."""
    from hod.adapters.access import INVITE_SHARDS
    from hod.adapters.agent_items import SWEEP_SHARDS
    from hod.domain.sending import LEDGER_SHARDS
    from hod.shards import REFERRAL_SHARDS, ROSTER_SHARDS

    shard = r"(#\d\d)?"
    referral = "ReferralsTable"
    agents = "AgentsTable"
    return [
        KeyDesign(referral, "", "REF#<referral>", r"REF#[0-9a-f]{32}", "one"),
        KeyDesign(referral, "", "<referral> (send ledger)", r"[0-9a-f]{32}", "ledger"),
        KeyDesign(referral, "", "AGENT#<npn> (send ledger)", r"AGENT#\d+", "agent"),
        KeyDesign(
            referral, "", "<referral>#calls<shard> (safety-net call ledger)", r"[0-9a-f]{32}#calls\d+", "ledger",
            LEDGER_SHARDS,
        ),
        KeyDesign(referral, "", "CODE#<code> (confirmation code)", r"CODE#[2-9A-HJKMNP-TV-Z]{8}", "one"),
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
        # the first letter of the folded last name: about 10 keys' worth, as the commonest letters each hold up to
        # a tenth of US last names (written only when a name changes)
        KeyDesign(agents, "by-name", "<first letter of the last name>", r"[0-9a-z@._]", "shared", 10),
        KeyDesign("AvailableAgentsTable", "", "<state>#<language>", r"[A-Z]{2}#[a-z]{2,3}", "area"),
        KeyDesign("AvailableAgentsTable", "", "ROSTER#<state>#<shard>", rf"ROSTER#[A-Z]{{2}}{shard}", "roster",
                  ROSTER_SHARDS, 1),
        # each area's summary of occupied cells, and the record saying every summary is complete (read once a process)
        KeyDesign("AvailableAgentsTable", "", "CELLS#<state>#<language>", r"CELLS#[A-Z]{2}#[a-z]{2,3}", "area"),
        KeyDesign("AvailableAgentsTable", "", "CELLS", r"CELLS", "one"),
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
                claims /= shards  # a ledger spread by agent over `shards` keys takes its share of the claims
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
