"""The administrator's lists of a day's referrals (open, in the safety net, unserved), the day taken in a time zone:
read from the by-day index, only the day's range of times; bad parameters are refused and change nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from hod.domain.referral import ConsumerRequest, ReferralStatus
from tests.conftest import FakeClock
from tests.integration.test_api import admin_headers, client, consumer  # noqa: F401

pytestmark = pytest.mark.usefixtures("stack")

# 15:00 UTC on Tuesday 24 November 2026 is 9:00 in Chicago; 03:00 UTC on the 25th is still the 24th there (21:00)
MORNING = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
EVENING_IN_CHICAGO = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def stored() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=os.environ["HOD_REFERRALS_TABLE"])["Items"]


@pytest.fixture
def day() -> dict[str, str]:
    """Four referrals of 24 November in Chicago: two open (one that evening, the 25th in UTC), one in the safety net,
    one unserved; by the name of each."""
    clock = FakeClock(MORNING)
    wiring.use_clock(clock)
    made: dict[str, str] = {}
    for n, name in enumerate(("open", "safety_net", "unserved")):
        body = ConsumerRequest.model_validate(consumer(phone=f"512-555-01{n:02d}"))
        made[name] = wiring.services.submissions().submit(body, name).referral_id
    clock.current = EVENING_IN_CHICAGO
    late = ConsumerRequest.model_validate(consumer(phone="512-555-0199"))
    made["open_late"] = wiring.services.submissions().submit(late, "late").referral_id
    store = wiring.adapters.workflow_store()
    for name, status in (("safety_net", ReferralStatus.SAFETY_NET), ("unserved", ReferralStatus.UNSERVED)):
        event = wiring.workflow.workflow_ports().event("system", "test.moved")
        store.move_referral(made[name], expected=[ReferralStatus.SEARCHING], to=status, event=event, at=MORNING)
    return made


def listed(client: Client, query: str) -> Any:  # noqa: F811
    response = client.http.get(f"/admin/referrals?{query}", headers=admin_headers())
    assert response.status_code == 200, response.body
    return response.json_body


def test_todays_lists_in_a_time_zone_hold_the_referrals_created_that_day_there_by_status(
    client: Client,  # noqa: F811
    day: dict[str, str],
) -> None:
    # Given four referrals of the 24th in Chicago (one of them on the 25th in UTC)
    # When the administrator in Chicago lists that day's open, safety-net and unserved referrals
    chicago = "tz=America/Chicago&day=2026-11-24"
    open_now = listed(client, f"list=open&{chicago}")
    # Then each list holds the referrals that stand so, oldest first, with where and when
    assert [row["referral_id"] for row in open_now["referrals"]] == [day["open"], day["open_late"]]
    assert open_now["referrals"][0]["state"] == "TX"
    assert open_now["referrals"][0]["created_at"] == MORNING.isoformat()
    assert (open_now["kind"], open_now["tz"], open_now["day"], open_now["truncated"]) == (
        "open",
        "America/Chicago",
        "2026-11-24",
        False,
    )
    assert [row["referral_id"] for row in listed(client, f"list=safety_net&{chicago}")["referrals"]] == [
        day["safety_net"]
    ]
    assert [row["referral_id"] for row in listed(client, f"list=unserved&{chicago}")["referrals"]] == [day["unserved"]]
    # And the same day in UTC leaves out the evening's referral (the 25th there)
    in_utc = listed(client, "list=open&tz=UTC&day=2026-11-24")
    assert [row["referral_id"] for row in in_utc["referrals"]] == [day["open"]]
    assert [row["referral_id"] for row in listed(client, "list=open&tz=UTC&day=2026-11-25")["referrals"]] == [
        day["open_late"]
    ]


def test_without_a_day_the_list_is_of_today_in_the_time_zone(client: Client, day: dict[str, str]) -> None:  # noqa: F811
    # Given the clock at 03:00 UTC on the 25th (the 24th in Chicago)
    # When the administrator asks for today's open referrals in Chicago, and in UTC
    chicago = listed(client, "list=open&tz=America/Chicago")
    utc = listed(client, "list=open")
    # Then Chicago's today is the 24th and UTC's the 25th
    assert chicago["day"] == "2026-11-24"
    assert len(chicago["referrals"]) == 2
    assert (utc["day"], [row["referral_id"] for row in utc["referrals"]]) == ("2026-11-25", [day["open_late"]])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "list"),
        ("list=everything", "list"),
        ("list=open&tz=Mars/Olympus", "tz"),
        ("list=open&tz=" + "A" * 65, "tz"),
        ("list=open&day=2026-13-01", "day"),
        ("list=open&day=yesterday", "day"),
        ("list=open&day=0001-01-01", "day"),
        ("list=open&tz=America", "tz"),
        ("list=open&limit=5", "limit"),
    ],
)
def test_a_bad_list_request_is_refused_naming_its_field_and_changes_nothing(
    client: Client,  # noqa: F811
    day: dict[str, str],
    query: str,
    field: str,
) -> None:
    # Given the day's referrals
    before = stored()
    # When a list is asked for with a bad parameter
    response = client.http.get(f"/admin/referrals?{query}", headers=admin_headers())
    # Then it is refused with 400 naming the parameter, and nothing changed
    assert response.status_code == 400, response.body
    assert field in response.json_body["fields"]
    assert stored() == before


def test_metrics_count_the_days_in_the_administrators_time_zone(client: Client, day: dict[str, str]) -> None:  # noqa: F811
    # Given three referrals on the 24th at 15:00 UTC and one at 03:00 UTC on the 25th (still the 24th in Chicago)
    # When the administrator asks for the 24th's metrics in Chicago, and in UTC
    chicago = client.http.get(
        "/admin/metrics?from=2026-11-24&to=2026-11-24&tz=America/Chicago", headers=admin_headers()
    )
    utc = client.http.get("/admin/metrics?from=2026-11-24&to=2026-11-24", headers=admin_headers())
    # Then Chicago's day counts all four and UTC's three, each saying which days it counted
    assert chicago.status_code == 200, chicago.body
    assert (chicago.json_body["totals"]["referrals"], chicago.json_body["days_in"]) == (4, "America/Chicago")
    assert (utc.json_body["totals"]["referrals"], utc.json_body["days_in"]) == (3, "UTC")
    # And a time zone that does not exist is refused, naming it
    bad = client.http.get("/admin/metrics?from=2026-11-24&to=2026-11-24&tz=Mars/Olympus", headers=admin_headers())
    assert (bad.status_code, list(bad.json_body["fields"])) == (400, ["tz"])
