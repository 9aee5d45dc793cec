"""Agents enter and leave the available-now index as their hours pass, and the match function picks the closest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hod import wiring
from hod.domain.availability import WeeklySchedule
from hod.domain.referral import ConsumerRequest
from local.inproc import LocalContext
from local.queues import QueueWorkers, sqs_follows
from tests.conftest import FakeClock
from tests.integration.test_api import ALWAYS, agent

pytestmark = pytest.mark.usefixtures("stack")

# Tuesday 24 November 2026, 13:59 UTC = 07:59 in Austin (CST, UTC-6)
BEFORE_HOURS = datetime(2026, 11, 24, 13, 59, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock(BEFORE_HOURS)
    wiring.use_clock(fake)
    with sqs_follows(fake):  # queued availability changes fall due on this clock
        yield fake


def import_agents(*records: dict[str, Any]) -> None:
    report = wiring.services.agents().import_agents(list(records))
    assert report.summary["refused"] == 0, report.results


def match(referral_id: str, exclude: list[str] | None = None) -> dict[str, Any]:
    referral = wiring.adapters.referral_store().get(referral_id)
    assert referral is not None
    found = wiring.services.matching().next_agent(referral, exclude=exclude or [])
    return {"agent_npn": found.entry.npn if found.entry else None, "distance_km": found.distance_km}


@pytest.fixture
def sweep(refresh_workers: QueueWorkers) -> Callable[[], dict[str, Any]]:
    """The scheduled sweep, then the refresh workers applying what it queued that is due now."""

    def run() -> dict[str, Any]:
        import expire_handler

        result = dict(expire_handler.handler({}, LocalContext("Expire")))
        result["applied"] = refresh_workers.drain()
        return result

    return run


def referral(zip_code: str = "78702", language: str = "es") -> str:
    request = ConsumerRequest(first_name="Rosa", last_name="Díaz", phone="5125550100", zip=zip_code, language=language)
    return wiring.services.intake().submit(request).referral_id


def always(npn: str) -> None:
    wiring.services.agents().set_weekly_schedule(npn, WeeklySchedule.model_validate(ALWAYS))


def test_the_closest_available_agent_speaking_the_language_is_chosen(clock: FakeClock) -> None:
    # Given agents in Austin, San Antonio and Dallas who are always available, and one in Austin who speaks only English
    import_agents(
        agent("1", zip_code="75201"),  # Dallas, ~300 km
        agent("2", zip_code="78205"),  # San Antonio, ~120 km
        agent("3", zip_code="78701"),  # Austin, ~3 km
        agent("4", zip_code="78702", languages=["en"]),  # Austin, same ZIP as the consumer
    )
    for npn in "1234":
        always(npn)
    rid = referral()
    # When matching, then excluding whoever was already offered
    first = match(rid)
    second = match(rid, exclude=["3"])
    third = match(rid, exclude=["3", "2"])
    last = match(rid, exclude=["3", "2", "1"])
    # Then the Spanish speakers come in order of distance, and then nobody
    assert [first["agent_npn"], second["agent_npn"], third["agent_npn"], last["agent_npn"]] == [
        "3",
        "2",
        "1",
        None,
    ]
    assert first["distance_km"] < 5 < second["distance_km"] < third["distance_km"]


def test_agents_enter_and_leave_the_index_with_their_hours(
    clock: FakeClock, sweep: Callable[[], dict[str, Any]]
) -> None:
    # Given an Austin agent on the default Monday–Friday 08:00–17:00, at 07:59 local time
    import_agents(agent("7", zip_code="78701"))
    rid = referral()
    assert match(rid)["agent_npn"] is None
    # When 08:00 comes and the sweep runs
    clock.advance(minutes=1)
    assert sweep()["applied"] >= 1
    # Then the agent is matched
    assert match(rid)["agent_npn"] == "7"
    # And at 17:00 the agent leaves again
    clock.advance(hours=9)
    assert match(rid)["agent_npn"] is None  # a stale entry is skipped even before the sweep runs
    assert sweep()["applied"] == 1
    assert wiring.adapters.available_index().query("TX#es", "") == []


def test_today_off_and_suspension_take_an_agent_out_at_once(clock: FakeClock) -> None:
    import_agents(agent("8", zip_code="78701"))
    always("8")
    rid = referral()
    assert match(rid)["agent_npn"] == "8"
    wiring.services.agents().set_today("8", False)
    assert match(rid)["agent_npn"] is None
    wiring.services.agents().set_today("8", None)
    assert match(rid)["agent_npn"] == "8"


def test_preferences_narrow_the_states_an_agent_is_matched_in(clock: FakeClock) -> None:
    # Given an Austin agent also licensed in Oklahoma, always available
    licences = [
        {"state": "TX", "status": "active", "lines_of_authority": ["health"]},
        {"state": "OK", "status": "active", "lines_of_authority": ["health"]},
    ]
    import_agents(agent("9", zip_code="78701", licences=licences))
    always("9")
    ok_referral = referral(zip_code="73102")  # Oklahoma City
    assert match(ok_referral)["agent_npn"] == "9"
    # When they narrow their preferences to Texas
    from hod.services.agents import ProfileUpdate

    wiring.services.agents().update_profile("9", ProfileUpdate(state_preferences=("TX",)))
    # Then Oklahoma consumers no longer reach them, Texas consumers still do
    assert match(ok_referral)["agent_npn"] is None
    assert match(referral())["agent_npn"] == "9"
