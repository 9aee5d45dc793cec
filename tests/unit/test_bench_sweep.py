"""scale.sweep's arithmetic: the day's changes per minute, the workers' drain time, the hottest partition."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from benchmarks import population
from benchmarks.scale import sweep

# 13 January 2026 in Chicago (CST, UTC-6)
CENTRAL_8AM = int(datetime(2026, 1, 13, 14, 0, tzinfo=UTC).timestamp())
CENTRAL_5PM = int(datetime(2026, 1, 13, 23, 0, tzinfo=UTC).timestamp())
CENTRAL_MIDNIGHT = int(datetime(2026, 1, 13, 6, 0, tzinfo=UTC).timestamp())  # where the day counted starts


def test_without_a_ramp_the_drain_is_the_changes_over_the_workers_throughput() -> None:
    # Given five workers (as many as the queue starts with), each applying 100 changes a second
    # When 10,000 changes fall due at once / Then they take 20 s
    assert sweep.drain_seconds(10_000, 100.0, 5) == pytest.approx(20.0)
    assert sweep.drain_seconds(0, 100.0, 5) == 0.0


def test_the_ramp_adds_five_workers_a_second_up_to_the_configured_number() -> None:
    # Given 50 workers of 10 changes a second, reached after 9 s of ramp (5, then 5 more each second)
    # Then the ramp alone applies 10 (5 x 9 + 5 x 81 / 2) = 2,475 changes, and the rest go at 500 a second
    assert sweep.drain_seconds(2_475, 10.0, 50) == pytest.approx(9.0)
    assert sweep.drain_seconds(2_475 + 5_000, 10.0, 50) == pytest.approx(19.0)
    # And within the ramp, time solves 10 (5 t + 2.5 t^2) = changes: 100 changes take 1.24 s
    assert sweep.drain_seconds(100, 10.0, 50) == pytest.approx(1.2361, abs=1e-3)


def test_more_workers_never_take_longer() -> None:
    times = [sweep.drain_seconds(46_000, 50.0, workers) for workers in (5, 20, 50, 100, 1000)]
    assert times == sorted(times, reverse=True)


def test_an_office_hours_agent_changes_at_eight_at_five_and_at_local_midnight() -> None:
    # Given one Austin-area agent on the default hours (Monday-Friday 08:00-17:00 Central)
    agents = [
        a for a in population.agents(400, today=date(2026, 1, 13)) if a.availability.time_zone == "America/Chicago"
    ]
    default = [a for a in agents if a.availability.weekly.days["mon"].start.hour == 8 and a.availability.today is None]
    agent = next(a for a in default if a.availability.out_of_office is None)

    # When the day's changes are counted from Central midnight
    per_minute, settings = sweep.day_of_changes([agent])

    # Then there are three: the local midnight (date-based eligibility), coming on, and going off
    assert sorted(per_minute) == [CENTRAL_MIDNIGHT, CENTRAL_8AM, CENTRAL_5PM]
    assert sweep.due_in(CENTRAL_MIDNIGHT, settings) == [(agent, CENTRAL_MIDNIGHT)]


def test_refreshing_a_minutes_agents_counts_two_due_list_writes_each_in_its_shard() -> None:
    # Given the agents of one population due at Central midnight
    everyone = list(population.agents(300, today=date(2026, 1, 13)))
    per_minute, settings = sweep.day_of_changes(everyone)
    due = sweep.due_in(CENTRAL_MIDNIGHT, settings)
    assert len(due) == per_minute[CENTRAL_MIDNIGHT] > 0

    # When they are refreshed in memory
    writes = sweep.partition_writes(due)

    # Then each agent's due-list entry moved (a delete and a put in its shard)
    shards = {key: count for key, count in writes.items() if key.startswith("AgentsTable.due-changes#")}
    assert sum(shards.values()) == 2 * len(due)
