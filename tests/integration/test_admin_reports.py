"""The administrator's reports through the HTTP API: suspended agents (R9) and program metrics (R11), against moto
tables built from template.yaml."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from hod.adapters.access import DynamoAccessStore
from hod.adapters.aws import client as aws_client
from hod.domain.availability import WeeklySchedule
from hod.domain.metrics import COLUMNS
from hod.domain.referral import ConsumerRequest
from hod.services import reports
from tests.conftest import FakeClock
from tests.integration.conftest import SENDER
from tests.integration.test_api import ALWAYS, admin_headers, agent, agent_headers, client  # noqa: F401

# The stack's environment first (as in test_api): the app, imported by `client`, configures its logger from it.
pytestmark = pytest.mark.usefixtures("stack")

# Tuesday 24 November 2026, 15:00 UTC
DAY = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CONSUMER = {"first_name": "Rosa", "last_name": "Díaz", "phone": "5125550100", "email": "rosa.diaz@example.org"}
CONSUMER_TRACES = ("Rosa", "Díaz", "5125550100", "555-0100", "rosa.diaz@example.org")


@pytest.fixture
def clock(stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    # One safety-net round, so a referral nobody takes is closed as unserved within the test
    monkeypatch.setenv("HOD_SAFETY_NET_ROUNDS", "1")
    aws_client("sesv2").create_email_identity(EmailIdentity=SENDER)
    wiring.reset()
    fake = FakeClock(DAY)
    wiring.use_clock(fake)
    return fake


def get(test_client: Client, path: str, headers: dict[str, str] | None = None) -> Any:
    return test_client.http.get(path, headers=headers if headers is not None else admin_headers())


def item_counts(env: dict[str, str]) -> dict[str, int]:
    dynamodb = boto3.client("dynamodb")
    return {
        name: dynamodb.scan(TableName=env[name], Select="COUNT")["Count"]
        for name in ("HOD_AGENTS_TABLE", "HOD_REFERRALS_TABLE", "HOD_AVAILABLE_TABLE")
    }


def import_agents(*records: dict[str, Any]) -> None:
    report = wiring.services.agents().import_agents(list(records))
    assert report.summary["refused"] == 0, report.results


def submit(zip_code: str, language: str) -> str:
    request = ConsumerRequest(zip=zip_code, language=language, **CONSUMER)  # type: ignore[arg-type]
    return wiring.services.intake().submit(request).referral_id


def assert_no_consumer_details(body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    for trace in CONSUMER_TRACES:
        assert trace not in text


# ----- suspended agents ------------------------------------------------------------------------------------------
def test_suspended_agents_are_listed_by_page_without_sign_in_or_invitation_items(
    client: Client,  # noqa: F811
    clock: FakeClock,
    stack: dict[str, str],
) -> None:
    # Given three agents, two of them suspended; importing queued an invitation ("INVITE#") for each, and one
    # suspended agent also has a sign-in link ("SIGNIN#") in the same table
    import_agents(agent("7100"), agent("7101"), agent("7102"))
    wiring.services.agents().suspend("7100", "missed 5 referrals in the last 7 days")
    clock.advance(minutes=5)
    wiring.services.agents().suspend("7102", "missed 6 referrals in the last 7 days")
    now = int(clock.now().timestamp())
    assert DynamoAccessStore(stack["HOD_AGENTS_TABLE"]).replace_sign_in("7100", "nonce-1", now + 600, now, 60)

    # When the administrator lists suspended agents
    response = get(client, "/admin/agents?status=suspended")

    # Then exactly the two suspended agents come back, by NPN, with why and since when
    assert response.status_code == 200, response.body
    body = response.json_body
    assert [a["npn"] for a in body["agents"]] == ["7100", "7102"]
    first = body["agents"][0]
    assert first["suspended_reason"] == "missed 5 referrals in the last 7 days"
    assert first["suspended_at"] == DAY.isoformat()
    assert first["missed_in_last_7_days"] == 0
    assert first["first_name"] == "Ana"
    assert body["next_after"] is None

    # And pages follow one another
    page_1 = get(client, "/admin/agents?status=suspended&limit=1").json_body
    assert [a["npn"] for a in page_1["agents"]] == ["7100"]
    assert page_1["next_after"] == "7100"
    page_2 = get(client, "/admin/agents?status=suspended&limit=1&after=7100").json_body
    assert [a["npn"] for a in page_2["agents"]] == ["7102"]
    assert page_2["next_after"] is None

    # When one is reactivated, it leaves the list
    assert client.http.post("/admin/agents/7100/reactivate", headers=admin_headers()).status_code == 200
    assert [a["npn"] for a in get(client, "/admin/agents?status=suspended").json_body["agents"]] == ["7102"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "status"),
        ("?status=active", "status"),
        ("?status=suspended&limit=0", "limit"),
        ("?status=suspended&limit=201", "limit"),
        ("?status=suspended&limit=ten", "limit"),
        ("?status=suspended&after=abc", "after"),
        ("?status=suspended&colour=blue", "colour"),
    ],
)
def test_bad_agent_list_queries_are_refused_per_field_and_change_nothing(
    client: Client,  # noqa: F811
    clock: FakeClock,
    stack: dict[str, str],
    query: str,
    field: str,
) -> None:
    import_agents(agent("7110"))
    before = item_counts(stack)
    response = get(client, f"/admin/agents{query}")
    assert response.status_code == 400, response.body
    assert field in response.json_body["fields"]
    assert item_counts(stack) == before


@pytest.mark.parametrize("path", ["/admin/agents?status=suspended", "/admin/metrics?from=2026-11-24&to=2026-11-24"])
def test_reports_need_an_admin_token(client: Client, clock: FakeClock, path: str) -> None:  # noqa: F811
    # Given no token, then an agent's session token
    assert get(client, path, headers={}).status_code == 401
    import_agents(agent("7120"))
    assert get(client, path, headers=agent_headers("7120")).status_code == 401
    assert get(client, path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401


# ----- program metrics -------------------------------------------------------------------------------------------
def offer_round(referral_id: str, later: bool = False) -> Any:
    """The workflow's Offer task for a referral, as the state machine runs it (first round, or a later one)."""
    referral = wiring.adapters.referral_store().get(referral_id)
    assert referral is not None
    state = wiring.services.intake().workflow_start(referral, {}, referral.created_at).model_dump(mode="json")
    if later:
        state["answer"] = {"Error": "States.Timeout"}
    return wiring.workflow.workflow_tasks().offer_round(state, "token", "run")


def scenario(test_client: Client, clock: FakeClock) -> dict[str, str]:
    """The day before DAY: one referral. On DAY: R1 accepted after 2 minutes (TX, es); R2 missed by the only TX
    agent, then in the safety net (TX, en); R3 with nobody in Florida, safety net then unserved (FL, en)."""
    workflow = wiring.workflow.workflow_tasks()
    import_agents(agent("7130"))  # Austin, TX; speaks en and es
    wiring.services.agents().set_weekly_schedule("7130", WeeklySchedule.model_validate(ALWAYS))
    clock.current = DAY - timedelta(days=1)
    earlier = submit("78702", "en")
    clock.current = DAY
    r1 = submit("78702", "es")
    assert offer_round(r1).agent_npn == "7130"
    clock.advance(seconds=120)
    accepted = test_client.http.post(f"/agent/referrals/{r1}/accept", headers=agent_headers("7130"))
    assert accepted.status_code == 200, accepted.body
    clock.advance(seconds=900)  # the agent's wrap-up on R1 ends: they can take the next referral
    r2 = submit("78702", "en")
    assert offer_round(r2).agent_npn == "7130"
    clock.advance(seconds=901)
    assert workflow.offer_lapsed(r2).next == "match"
    assert offer_round(r2, later=True).next == "safety_net"
    r3 = submit("33139", "en")
    assert offer_round(r3).next == "safety_net"
    assert workflow.safety_net_lapsed(r3).next == "match"
    assert offer_round(r3, later=True).next == "done"
    return {"earlier": earlier, "r1": r1, "r2": r2, "r3": r3}


def test_metrics_count_volumes_time_to_accept_missed_offers_safety_net_and_unserved(
    client: Client,  # noqa: F811
    clock: FakeClock,
) -> None:
    # Given the scenario's referrals
    ids = scenario(client, clock)
    assert wiring.adapters.referral_store().get(ids["r3"]).status.value == "unserved"  # type: ignore[union-attr]

    # When the administrator asks for DAY's metrics
    response = get(client, "/admin/metrics?from=2026-11-24&to=2026-11-24")

    # Then the totals count DAY's three referrals only
    assert response.status_code == 200, response.body
    body = response.json_body
    assert (body["from"], body["to"], body["days_in"]) == ("2026-11-24", "2026-11-24", "UTC")
    totals = body["totals"]
    assert totals == {
        "breakdown": "all",
        "key": "all",
        "referrals": 3,
        "accepted": 1,
        "time_to_accept_p50_s": 120,
        "time_to_accept_p90_s": 120,
        "time_to_accept_p95_s": 120,
        "direct_offers": 2,
        "missed_offers": 1,
        "missed_offer_rate_pct": 50.0,
        "safety_net": 2,
        "safety_net_rate_pct": 66.7,
        "unserved": 1,
        "still_open": 1,
    }
    # And by state and by language
    by_state = {row["key"]: row for row in body["by_state"]}
    assert set(by_state) == {"FL", "TX"}
    assert (by_state["TX"]["referrals"], by_state["TX"]["missed_offers"], by_state["TX"]["unserved"]) == (2, 1, 0)
    assert (by_state["FL"]["referrals"], by_state["FL"]["direct_offers"], by_state["FL"]["unserved"]) == (1, 0, 1)
    assert by_state["FL"]["missed_offer_rate_pct"] is None  # nothing to divide by
    by_language = {row["key"]: row for row in body["by_language"]}
    assert (by_language["es"]["referrals"], by_language["es"]["accepted"]) == (1, 1)
    assert (by_language["en"]["referrals"], by_language["en"]["safety_net"]) == (2, 2)
    assert [c["name"] for c in body["columns"]] == [name for name, _ in COLUMNS]

    # And a two-day range includes the day before
    wider = get(client, "/admin/metrics?from=2026-11-23&to=2026-11-24").json_body
    assert wider["totals"]["referrals"] == 4
    assert wider["totals"]["still_open"] == 2

    # And the CSV has the same rows as the JSON: the total, then by state, then by language
    exported = get(client, "/admin/metrics?from=2026-11-24&to=2026-11-24&format=csv")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert "hod-metrics-2026-11-24-to-2026-11-24.csv" in exported.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.body.decode())))
    assert rows[0] == [label for _, label in COLUMNS]
    expected = [body["totals"], *body["by_state"], *body["by_language"]]
    assert rows[1:] == [["" if row[name] is None else str(row[name]) for name, _ in COLUMNS] for row in expected]

    # And no admin answer carries the consumer's name, phone or e-mail
    for referral_id in ids.values():
        answer = get(client, f"/admin/referrals/{referral_id}")
        assert answer.status_code == 200
        assert_no_consumer_details(answer.json_body)
    assert_no_consumer_details(body)
    assert_no_consumer_details(wider)
    assert_no_consumer_details(exported.body.decode())
    assert_no_consumer_details(get(client, "/admin/agents?status=suspended").json_body)
    assert_no_consumer_details(get(client, "/admin/agents/7130").json_body)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "from"),
        ("?from=2026-11-24", "to"),
        ("?from=2026-13-01&to=2026-12-01", "from"),
        ("?from=24/11/2026&to=2026-11-24", "from"),
        ("?from=1764000000&to=2026-11-24", "from"),
        ("?from=2026-11-24&to=2026-11-23", "to"),
        ("?from=2026-11-01&to=2026-12-02", "to"),
        ("?from=2026-11-24&to=2026-11-24&format=xml", "format"),
    ],
)
def test_bad_metrics_queries_are_refused_per_field_and_change_nothing(
    client: Client,  # noqa: F811
    clock: FakeClock,
    stack: dict[str, str],
    query: str,
    field: str,
) -> None:
    submit("78702", "en")
    before = item_counts(stack)
    response = get(client, f"/admin/metrics{query}")
    assert response.status_code == 400, response.body
    assert field in response.json_body["fields"]
    assert item_counts(stack) == before


def test_a_range_of_31_days_is_answered_and_the_read_is_bounded(
    client: Client,  # noqa: F811
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given three referrals on DAY
    for _ in range(3):
        submit("78702", "en")
    # Then 31 days (from and to included) are answered
    response = get(client, "/admin/metrics?from=2026-10-25&to=2026-11-24")
    assert response.status_code == 200, response.body
    assert response.json_body["totals"]["referrals"] == 3
    # And with a smaller budget of items per request, the range is refused rather than half-read
    monkeypatch.setattr(reports, "MAX_METRICS_ITEMS", 2)
    refused = get(client, "/admin/metrics?from=2026-11-24&to=2026-11-24")
    assert refused.status_code == 400
    assert "choose fewer days" in refused.json_body["fields"]["to"]
