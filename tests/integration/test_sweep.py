"""The availability sweep against moto, with the template's queue and the refresh function: changes are queued ahead,
applied when they fall due (on a clock the tests move, which moto's SQS follows too), and none is lost to a fault, a
timeout, a lost message or a sweep that runs out of time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from hod.domain.availability import WeeklySchedule
from hod.errors import DependencyFailed
from local.inproc import LocalContext
from local.queues import QueueWorkers, sqs_follows
from tests.conftest import FakeClock
from tests.integration.test_api import agent, agent_headers

pytestmark = pytest.mark.usefixtures("stack")

# Tuesday 24 November 2026. 14:00 UTC is 08:00 in Austin (CST) and 09:00 in Miami (EST).
TUESDAY = datetime(2026, 11, 24, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return TUESDAY.replace(hour=hour, minute=minute, second=second)


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock(at(13))
    wiring.use_clock(fake)
    with sqs_follows(fake):
        yield fake


class ShortOfTime:
    """A Lambda context with only a second left: the sweep stops after the first due time it queues."""

    function_name = "Expire"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Expire"
    memory_limit_in_mb = 512
    aws_request_id = "sweep"

    def get_remaining_time_in_millis(self) -> int:
        return 1_000


def sweep(context: Any = None) -> dict[str, Any]:
    import expire_handler

    return dict(expire_handler.handler({}, context or LocalContext("Expire")))


def import_agents(*records: dict[str, Any]) -> None:
    report = wiring.services.agents().import_agents(list(records))
    assert report.summary["refused"] == 0, report.results


def hours(start: str, end: str = "17:00") -> WeeklySchedule:
    """Weekdays from `start` to `end`."""
    days = {
        day: {"enabled": day not in ("sat", "sun"), "start": start, "end": end, "breaks": []}
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    return WeeklySchedule.model_validate({"days": days})


def available(area: str) -> set[str]:
    return {entry.npn for entry in wiring.adapters.available_index().query(area, "")}


@pytest.fixture
def lag_published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """Every AvailabilityIndexLagSeconds value the sweep and the workers add to their metrics, by function."""
    import expire_handler
    import refresh_handler

    published: list[tuple[str, float]] = []
    for function, module in (("expire", expire_handler), ("refresh", refresh_handler)):
        add = module.metrics.add_metric

        def recording(name: str, unit: Any, value: float, function: str = function, add: Any = add) -> None:
            if name == "AvailabilityIndexLagSeconds":
                published.append((function, value))
            add(name=name, unit=unit, value=value)

        monkeypatch.setattr(module.metrics, "add_metric", recording)
    return published


def texas_and_florida(count: int) -> list[str]:
    """`count` agents coming on at 14:00 UTC: Austin on the default hours (08:00), Miami from 09:00 Eastern."""
    npns = [f"{900_000 + n}" for n in range(count)]
    import_agents(
        *(
            agent(npn, zip_code="78701") if n % 3 else agent(npn, zip_code="33130", state="FL")
            for n, npn in enumerate(npns)
        )
    )
    for n, npn in enumerate(npns):
        if not n % 3:
            wiring.services.agents().set_weekly_schedule(npn, hours("09:00"))
    return npns


def test_a_peak_is_queued_ahead_and_applied_when_it_falls_due_none_early(
    clock: FakeClock, refresh_workers: QueueWorkers, lag_published: list[tuple[str, float]]
) -> None:
    # Given 60 agents in two time zones whose hours all start at 14:00 UTC, saved an hour before
    npns = texas_and_florida(60)

    # When the sweep runs at 13:58:30 and the workers take whatever is due at 13:59:59
    clock.current = at(13, 58, 30)
    result = sweep()
    clock.current = at(13, 59, 59)
    early = refresh_workers.drain()

    # Then every change was queued ahead, in batches, and none was handed over before its time
    assert result["queued"] == 60
    assert result["complete"]
    assert early == 0
    assert available("TX#en") | available("FL#en") == set()

    # And at 14:00:00 every agent is in the index at once: no lag beyond the workers' own time
    clock.current = at(14)
    assert refresh_workers.drain() == 3  # 60 agents in batches of 25
    assert available("TX#en") | available("FL#en") == set(npns)
    assert lag_published == [("expire", 0), ("refresh", 0.0)]

    # And the next sweep finds nothing overdue and queues nothing again
    clock.current = at(14, 0, 30)
    again = sweep()
    assert again["index_lag_seconds"] == 0
    assert again["queued"] == 0
    assert again["requeued"] == 0


def test_a_sweep_that_runs_out_of_time_leaves_the_rest_to_the_next_nothing_lost_nothing_twice(
    clock: FakeClock, refresh_workers: QueueWorkers
) -> None:
    # Given agents coming on at 14:00 and others at 14:01 (08:01 in Austin)
    first = texas_and_florida(6)
    later = ["910001", "910002"]
    import_agents(*(agent(npn, zip_code="75201") for npn in later))
    for npn in later:
        wiring.services.agents().set_weekly_schedule(npn, hours("08:01"))

    # When a sweep at 13:59:10 runs out of time after queueing the first due time, and the next sweep runs
    clock.current = at(13, 59, 10)
    cut_short = sweep(ShortOfTime())
    then = sweep()

    # Then the first queued the 14:00 changes only, the second the 14:01 ones
    assert (cut_short["queued"], cut_short["complete"]) == (6, False)
    assert (then["queued"], then["complete"]) == (2, True)

    # And each falls due and is applied in its minute, each once
    clock.current = at(14)
    refresh_workers.drain()
    assert available("TX#en") | available("FL#en") == set(first)
    clock.current = at(14, 1)
    refresh_workers.drain()
    assert available("TX#en") | available("FL#en") == set(first) | set(later)
    assert refresh_workers.handed_over == 2
    assert refresh_workers.failed == 0


@pytest.mark.parametrize("fault", ["dependency", "timeout"])
def test_a_batch_that_fails_in_a_worker_is_handed_over_again_and_applied(
    clock: FakeClock, refresh_workers: QueueWorkers, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    # Given 30 agents coming on at 14:00 (two batches), queued by the sweep
    npns = texas_and_florida(30)
    clock.current = at(13, 59)
    sweep()

    # And a worker whose save of one of them is throttled (or cut off by its timeout), once
    from hod.adapters.agent_store import DynamoAgentStore

    save = DynamoAgentStore.save
    broken = {npns[4]}

    def failing_save(self: DynamoAgentStore, agent: Any, **kwargs: Any) -> int:
        if agent.npn in broken:
            broken.clear()
            if fault == "timeout":
                raise TimeoutError("Task timed out after 20.00 seconds")
            raise DependencyFailed("dynamodb", "PutItem", "ProvisionedThroughputExceededException")
        return save(self, agent, **kwargs)

    monkeypatch.setattr(DynamoAgentStore, "save", failing_save)

    # When the changes fall due and the workers run
    clock.current = at(14)
    refresh_workers.drain()

    # Then that batch stays on the queue (its agents read before the failure are applied), the other is applied
    assert (refresh_workers.handed_over, refresh_workers.failed) == (2, 1)
    applied = available("TX#en") | available("FL#en")
    assert npns[4] not in applied
    assert len(applied) >= 5

    # And once the queue's visibility timeout has passed, it is handed over again and applied: nothing is lost
    clock.current = at(14, 2, 1)
    refresh_workers.drain()
    assert available("TX#en") | available("FL#en") == set(npns)


def test_changes_whose_messages_were_lost_are_queued_again_once_overdue_and_the_lag_shows_it(
    clock: FakeClock, refresh_workers: QueueWorkers, stack: dict[str, str]
) -> None:
    # Given 10 agents coming on at 14:00, queued by the sweep, and then the queue loses every message
    npns = texas_and_florida(10)
    clock.current = at(13, 59)
    sweep()
    boto3.client("sqs").purge_queue(QueueUrl=stack["HOD_REFRESH_QUEUE_URL"])

    # When 14:00 passes, the sweeps go on every minute and the workers take what is due
    lags = []
    for minute in range(1, 7):
        clock.current = at(14, minute)
        lags.append(sweep()["index_lag_seconds"])
        refresh_workers.drain()

    # Then the lag the sweeps publish grows past the minute (the alarm's threshold) until the changes are five
    # minutes overdue, when a sweep queues them again and they are applied
    assert lags == [60, 120, 180, 240, 300, 0]
    assert available("TX#en") | available("FL#en") == set(npns)


def test_a_change_too_soon_for_the_sweep_is_queued_by_the_save_itself(
    clock: FakeClock, refresh_workers: QueueWorkers
) -> None:
    # Given an Austin agent working 10:00-17:00, and a sweep at 08:58:30 whose window already covers 09:00
    import_agents(agent("920001", zip_code="78701"))
    wiring.services.agents().set_weekly_schedule("920001", hours("10:00"))
    clock.current = at(14, 58, 30)
    sweep()

    # When at 08:59:10 the agent moves their start to 09:00
    clock.current = at(14, 59, 10)
    wiring.services.agents().set_weekly_schedule("920001", hours("09:00"))

    # Then at 09:00 the change is applied without another sweep
    clock.current = at(15)
    assert refresh_workers.drain() == 1
    assert available("TX#en") == {"920001"}


def test_an_agents_own_change_through_the_api_queues_their_next_one_when_it_is_near(
    clock: FakeClock, refresh_workers: QueueWorkers
) -> None:
    import app as intake_app

    # Given an Austin agent at work at 09:00 (15:00 UTC), the sweep's window already past 09:01
    import_agents(agent("930001", zip_code="78701"))
    clock.current = at(15)
    sweep()
    refresh_workers.drain()

    # When they set Out of Office from 08:30 to 09:01 through the API
    period = {"start": "2026-11-24T14:30:00Z", "end": "2026-11-24T15:01:00Z"}
    with Client(intake_app.app) as client:
        response = client.http.put(
            "/agent/availability/out-of-office", body=json.dumps(period), headers=agent_headers("930001")
        )
    assert response.status_code == 200
    assert available("TX#en") == set()

    # Then at 09:01 they are back in the index, from the change their request queued
    clock.current = at(15, 1)
    assert refresh_workers.drain() == 1
    assert available("TX#en") == {"930001"}


def test_a_malformed_batch_ends_in_the_dead_letter_queue_and_blocks_nothing(
    clock: FakeClock, refresh_workers: QueueWorkers, stack: dict[str, str]
) -> None:
    # Given a message no worker can read, ahead of 3 agents' changes due at 14:00
    sqs = boto3.client("sqs")
    url = stack["HOD_REFRESH_QUEUE_URL"]
    npns = texas_and_florida(3)
    clock.current = at(13, 59)
    sqs.send_message(QueueUrl=url, MessageBody='{"due_at": "soon"}')
    sweep()

    # When the workers run, and again after each visibility timeout, five times in all
    clock.current = at(14)
    for _attempt in range(5):
        refresh_workers.drain()
        clock.advance(seconds=121)

    # Then the agents' changes were applied, and the bad message moved to the dead-letter queue
    assert available("TX#en") | available("FL#en") == set(npns)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    dead = sqs.get_queue_url(QueueName=url.rsplit("/", 1)[1].replace("RefreshQueue", "RefreshDeadLetterQueue"))
    assert refresh_workers.drain() == 0
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=dead["QueueUrl"], WaitTimeSeconds=0)["Messages"]]
    assert bodies == ['{"due_at": "soon"}']
