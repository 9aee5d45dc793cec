"""The replay of the availability sweep (benchmarks/upkeep.py) against moto, on a small population."""

from __future__ import annotations

from moto import mock_aws

from benchmarks import population, upkeep
from benchmarks.counting import CallLog
from benchmarks.matching import STREAM_START, TODAY


def test_a_replayed_morning_counts_the_entries_and_the_summary_apart() -> None:
    # Given 300 agents of the benchmark population
    agents = list(population.agents(300, today=TODAY))
    log = CallLog()
    # When the eight hours from 2 a.m. Central are replayed for those taking Texas referrals (the morning: agents
    # become available, so cells turn occupied)
    with mock_aws(), log.install():
        found = upkeep.run(agents, "TX", STREAM_START, 8, log, lambda _: None)
    # Then refreshes happened, each writing its entries in at most one call
    refreshes = found["refreshes"]
    assert found["agents"] > 5
    assert refreshes > 0
    assert 0 < found["entries"]["calls_per_refresh"] <= 1
    assert found["entries"]["write_units_per_refresh"] > 0
    # And the summary's upkeep is counted apart: its reads, and its writes at one unit or more each
    summary = found["summary"]
    assert summary["read_units_per_refresh"] > 0
    writes = sum(summary["writes"].values())
    assert writes > 0
    assert summary["write_units_per_refresh"] * refreshes >= writes - 0.01
    # And its steps are counted by kind: each cell taken out was marked first, and every mark followed a look that
    # found the cell empty
    steps = summary["steps"]
    assert steps.get("OpenCells", 0) > 0
    assert steps.get("CloseCell", 0) <= steps.get("MarkClosing", 0) <= steps.get("CellHasEntries_empty", 0)
