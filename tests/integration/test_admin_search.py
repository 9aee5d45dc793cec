"""The administrator finds agents by NPN, e-mail address or the start of their name, sees whether they may take
referrals and suspends or reactivates them from the result; bad searches are refused and change nothing."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from tests.integration.test_api import admin_headers, agent, client, post_json  # noqa: F401

pytestmark = pytest.mark.usefixtures("stack")


def table_items() -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb")
    return [
        item
        for name in ("HOD_AGENTS_TABLE", "HOD_AVAILABLE_TABLE")
        for item in dynamodb.scan(TableName=os.environ[name])["Items"]
    ]


@pytest.fixture
def agents(client: Client) -> Client:  # noqa: F811
    records = [
        agent("1001", first_name="Ana", last_name="García", email="Ana.Garcia@Example.com"),
        agent("1002", first_name="José", last_name="Núñez", email="jose@example.com"),
        agent("1003", first_name="Ann", last_name="Garcia-Lopez", email="ann@example.com"),
        agent("2001", first_name="Bea", last_name="Ortiz", email="bea@example.com", ffm_registration_listed=False),
    ]
    response = post_json(client, "/admin/agents/import", records, admin_headers())
    assert response.status_code == 200, response.body
    return client


def found(client: Client, query: str) -> list[str]:  # noqa: F811
    response = client.http.get(f"/admin/search/agents?{query}", headers=admin_headers())
    assert response.status_code == 200, response.body
    return [row["npn"] for row in response.json_body["agents"]]


def test_an_agent_is_found_by_npn_by_email_in_any_case_and_by_the_start_of_a_name(agents: Client) -> None:
    # Given four agents
    # When the administrator searches by NPN, by e-mail address (another case), and by names as typed
    # Then each search finds who it names, by last name
    assert found(agents, "q=1002") == ["1002"]
    assert found(agents, "q=ana.garcia%40example.COM") == ["1001"]
    assert found(agents, "q=garc") == ["1001", "1003"]
    assert found(agents, "q=GARC%C3%8DA") == ["1001", "1003"]  # "GARCÍA": accents and case do not matter
    assert found(agents, "q=nun") == ["1002"]
    assert found(agents, "q=ana%20garcia") == ["1001"]  # first name first
    assert found(agents, "q=garcia%20a") == ["1001"]  # last name first
    assert found(agents, "q=garc&limit=1") == ["1001"]
    # And what finds nobody is an empty list
    assert found(agents, "q=9999") == []
    assert found(agents, "q=zz") == []


def test_a_result_says_where_the_agent_may_take_referrals_and_whether_they_are_suspended(agents: Client) -> None:
    # Given an eligible agent and one not listed on the FFM registry
    # When both are found
    rows = {
        row["npn"]: row
        for q in ("1001", "2001")
        for row in agents.http.get(f"/admin/search/agents?q={q}", headers=admin_headers()).json_body["agents"]
    }
    # Then the first may take Texas referrals and the second none, with why; neither is suspended
    assert rows["1001"]["eligible_states"] == ["TX"]
    assert rows["1001"]["not_eligible"] == []
    assert rows["2001"]["eligible_states"] == []
    assert rows["2001"]["not_eligible"]
    assert not rows["1001"]["suspended"]
    assert rows["1001"]["email"] == "Ana.Garcia@example.com"  # (the domain is stored in lower case)


def test_the_administrator_suspends_an_agent_found_and_reactivates_them(agents: Client) -> None:
    # Given an agent found by name
    assert found(agents, "q=nun") == ["1002"]
    # When the administrator suspends them from the result
    suspended = post_json(agents, "/admin/agents/1002/suspend", {"reason": "Complaint under review"}, admin_headers())
    # Then the agent is suspended, and a new search shows it with the reason
    assert suspended.status_code == 200, suspended.body
    assert suspended.json_body["profile"]["suspended"] is True
    row = agents.http.get("/admin/search/agents?q=1002", headers=admin_headers()).json_body["agents"][0]
    assert (row["suspended"], row["suspended_reason"]) == (True, "Complaint under review")
    assert wiring.services.agents().view("1002").offer_states == frozenset()
    # And reactivating lifts it
    assert post_json(agents, "/admin/agents/1002/reactivate", {}, admin_headers()).status_code == 200
    row = agents.http.get("/admin/search/agents?q=1002", headers=admin_headers()).json_body["agents"][0]
    assert (row["suspended"], row["suspended_reason"]) == (False, None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "q"),
        ("q=", "q"),
        ("q=%20%20", "q"),
        ("q=---", "q"),
        ("q=" + "a" * 101, "q"),
        ("q=12345678901", "q"),
        ("q=garc&limit=0", "limit"),
        ("q=garc&limit=51", "limit"),
        ("q=garc&limit=x", "limit"),
        ("q=garc&status=suspended", "status"),
    ],
)
def test_a_bad_search_is_refused_naming_its_field_and_changes_nothing(agents: Client, query: str, field: str) -> None:
    # Given the agents stored
    before = table_items()
    # When the administrator sends a malformed search
    response = agents.http.get(f"/admin/search/agents?{query}", headers=admin_headers())
    # Then it is refused with 400 naming the field, and nothing changed
    assert response.status_code == 400, response.body
    assert field in response.json_body["fields"]
    assert table_items() == before


def test_a_suspension_without_a_reason_or_of_nobody_or_without_the_scope_is_refused(agents: Client) -> None:
    # Given the agents stored
    before = table_items()
    # When a suspension comes without a reason, for an unknown NPN, and with a token that does not allow it
    no_reason = post_json(agents, "/admin/agents/1001/suspend", {"reason": " "}, admin_headers())
    nobody = post_json(agents, "/admin/agents/9999/suspend", {"reason": "Complaint"}, admin_headers())
    reader = {
        "Authorization": f"Bearer {wiring.services.auth().admin_token('reader', scopes=['agents:read'])}",
        "Content-Type": "application/json",
    }
    not_allowed = post_json(agents, "/admin/agents/1001/suspend", {"reason": "Complaint"}, reader)
    # Then they are refused (400, 404, 403) and nothing changed
    assert (no_reason.status_code, nobody.status_code, not_allowed.status_code) == (400, 404, 403)
    assert table_items() == before
