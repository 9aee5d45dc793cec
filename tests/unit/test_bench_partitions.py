"""The partition-heat benchmark (benchmarks/scale/partitions.py): its key designs cover the template, and its
scaling rules give what they say on small hand-made loads."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import _merge
from benchmarks.scale.heat import Event, KeyDesign, Shares, classify, heat, key_designs, summarise
from benchmarks.tables import PartitionUse, table_shapes
from local.cfn import load_template

SHARES = Shares(
    referrals_by_state={"TX": 0.2, "WY": 0.01},
    referrals_by_area={"TX#en": 0.1, "TX#es": 0.05},
    agents_by_state={"TX": 0.15},
    agents_by_area={"TX#en": 0.1},
    roster={"TX": 16_000, "WY": 100},
)


def design(name: str) -> KeyDesign:
    return next(d for d in key_designs() if d.name == name)


def write(table: str, index: str, key: str, units: float) -> PartitionUse:
    return PartitionUse(table, index, key, write_units=units)


def test_every_table_and_index_of_the_template_has_a_key_design() -> None:
    # Given the template's tables and their global secondary indexes
    shapes = table_shapes(load_template(), "x-").values()
    designs = {(d.table, d.index) for d in key_designs()}
    # Then each has at least one key design, so the benchmark cannot miss one
    for table in shapes:
        assert (table.name, "") in designs
        for index in table.indexes:
            assert (table.name, index.name) in designs


def test_a_key_no_design_describes_stops_the_benchmark() -> None:
    # Given a write to a key of a shape no design knows (an index key that is not a day)
    events = [Event("referral", "accept", [write("ReferralsTable", "by-day", "TX", 1)])]
    # Then classifying it fails, naming it
    with pytest.raises(RuntimeError, match="by-day 'TX'"):
        classify(events, key_designs())


def test_a_shared_key_takes_every_events_load_divided_by_its_shards() -> None:
    # Given two referrals writing 6 and 10 units to their day's shard of `by-day`
    events = [
        Event("referral", "accept", [write("ReferralsTable", "by-day", "2026-11-24#03", 6)]),
        Event("referral", "timeout_then_accept", [write("ReferralsTable", "by-day", "2026-11-24#05", 10)]),
    ]
    by_day = design("ReferralsTable.by-day <UTC day>#<shard>")
    loads = classify(events, key_designs())[by_day.name]
    # Then at 500 referrals a second, all on the dearer path: 5,000 units in one partition, 312.5 in each of 16
    assert heat(by_day, loads, SHARES, 1)["write_units_s"] == 5000
    assert heat(by_day, loads, SHARES, 16)["write_units_s"] == 312.5


def test_a_key_of_one_referral_takes_that_referrals_load_and_an_area_its_share_of_every_referral() -> None:
    # Given a referral writing 40 units in its own item collection and reading 22.5 units of the Texas English area
    uses = [
        write("ReferralsTable", "", "REF#" + "a" * 32, 30),
        write("ReferralsTable", "", "REF#" + "a" * 32, 10),
        PartitionUse("AvailableAgentsTable", "", "TX#en", read_units=22.5, items=3, bytes=300),
    ]
    loads = classify([Event("referral", "accept", uses)], key_designs())
    own = design("ReferralsTable REF#<referral>")
    area = design("AvailableAgentsTable <state>#<language>")
    # Then its own key takes 40 units (all of them, as if within one second), however many referrals there are
    assert heat(own, loads[own.name], SHARES, 1)["write_units_s"] == 40
    # And the busiest area (a tenth of referrals) 22.5 x 500 x 0.1
    assert heat(area, loads[area.name], SHARES, 1)["read_units_s"] == 1125


def test_a_roster_read_is_scaled_to_the_busiest_states_roster_and_spread_over_its_shards() -> None:
    # Given a safety net reading its state's 16 roster shards (16 queries, 0.5 unit each), 3 entries of 50 bytes
    keys = ["ROSTER#OK", *(f"ROSTER#OK#{n:02d}" for n in range(1, 16))]
    uses = [
        PartitionUse("AvailableAgentsTable", "", key, read_units=0.5, items=int(n < 3), bytes=50 if n < 3 else 0)
        for n, key in enumerate(keys)
    ]
    roster = design("AvailableAgentsTable ROSTER#<state>#<shard>")
    loads = classify([Event("referral", "safety_net", uses)], key_designs())[roster.name]
    # Then Texas's 16,000 entries (800,000 bytes) read at a fifth of 500 referrals a second: in one partition
    # 196 pages of 4 KB x 0.5 x 100 = 9,800 units; in 16, 13 x 0.5 x 100 = 650 units each
    assert heat(roster, loads, SHARES, 1)["read_units_s"] == 9800
    assert heat(roster, loads, SHARES, 16)["read_units_s"] == 650


def test_an_agents_key_is_touched_by_every_safety_net_of_its_state() -> None:
    # Given a direct offer reading the agent twice (2 units), and a safety net reading each agent of the state once
    direct = Event("referral", "accept", [PartitionUse("AgentsTable", "", "101", read_units=1.0)] * 2)
    safety_net = Event("referral", "safety_net", [PartitionUse("AgentsTable", "", n, read_units=1.0) for n in "789"])
    agent = design("AgentsTable <npn>")
    loads = classify([direct, safety_net], key_designs())[agent.name]
    # Then the hottest agent's key takes a safety-net read from every referral of the busiest state: 1 x 500 x 0.2
    assert heat(agent, loads, SHARES, 1)["read_units_s"] == 100


def test_the_summary_names_the_hottest_key_before_and_after() -> None:
    events = [
        Event("referral", "accept", [write("ReferralsTable", "by-day", "2026-11-24#03", 10)]),
        Event("referral", "accept", [write("ReferralsTable", "", "REF#" + "b" * 32, 44)]),
    ]
    found = summarise(events, SHARES, key_designs())
    assert (found["max_write_units_per_partition_s"], found["max_write_key"]) == (
        312.5,
        "ReferralsTable.by-day <UTC day>#<shard>",
    )
    assert found["before"]["max_write_units_per_partition_s"] == 5000
    assert found["met"] is True


def test_a_partial_run_keeps_the_other_sections_of_the_results_file() -> None:
    # Given a results file of a full run, and a run of the scale section's partitions only
    previous = {
        "command": "make bench",
        "generated_at": "2026-11-25T12:55:00Z",
        "seconds": 236,
        "match": {"agents_1000": 1},
        "cold_start": {"intake_s": 0.5},
        "scale": {"burst": {"x": 1}, "partitions": {"old": True}},
        "verdicts": {"cost<=0.50_per_1000": True},
    }
    run = {
        "command": "python -m benchmarks --only scale.partitions",
        "generated_at": "2026-11-30T16:00:00Z",
        "seconds": 60,
        "scale": {"partitions": {"new": True}},
    }
    merged = _merge(previous, run, full=False)
    # Then the figures it made replace theirs, and the others stay, with the run that made them
    assert merged["match"] == {"agents_1000": 1}
    assert merged["scale"] == {"burst": {"x": 1}, "partitions": {"new": True}}
    assert merged["verdicts"] == {"cost<=0.50_per_1000": True}
    assert (merged["command"], merged["generated_at"], merged["seconds"]) == ("make bench", "2026-11-25T12:55:00Z", 236)
    old = {"generated_at": "2026-11-25T12:55:00Z", "command": "make bench"}
    assert merged["measured_at"] == {
        "match": old,
        "cold_start": old,
        "scale.burst": old,
        "scale.partitions": {"generated_at": "2026-11-30T16:00:00Z", "command": run["command"]},
    }
    # And a full run describes the file
    assert _merge(previous, run, full=True)["command"] == run["command"]
