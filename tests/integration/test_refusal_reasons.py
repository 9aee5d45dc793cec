"""Every refusal an agent's request can meet names itself by a stable key (`reason`; each field problem in
`problems`), beside the developers' English `message`, so the portal can word it in the agent's language. The keys
are the contract: the words, and what is refused, are unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from hod import wiring
from hod.errors import FIELD_PROBLEMS, REASONS
from tests.conftest import FakeClock
from tests.integration.test_api import ALWAYS, admin_headers, agent, agent_headers, post_json

pytestmark = pytest.mark.usefixtures("stack")

NPN = "4401"


@pytest.fixture
def client() -> Iterator[Client]:
    """The API with one agent imported, on a clock the tests move (`wiring.clock()`)."""
    wiring.use_clock(FakeClock())
    import app as intake_app

    with Client(intake_app.app) as test_client:
        response = post_json(test_client, "/admin/agents/import", [agent(NPN)], admin_headers())
        assert response.status_code == 200, response.body
        yield test_client


def put_json(client: Client, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.put(path, body=json.dumps(body), headers=headers or agent_headers(NPN))


def refused(response: Any, status: int, reason: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body: dict[str, Any] = response.json_body
    assert body["reason"] == reason
    assert reason is None or reason in REASONS
    assert body["message"]  # the developers' words are still there
    return body


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"mobile_phone": "512-555"}, "mobile_phone", "phone_digits"),
        ({"mobile_phone": "512 555 01X8"}, "mobile_phone", "phone_format"),
        ({"mobile_phone": "012-555-0188"}, "mobile_phone", "phone_area_code"),
        ({"state_preferences": []}, "state_preferences", "no_state"),
        ({"state_preferences": ["FL"]}, "state_preferences", "state_not_eligible"),
        ({"contact_method": "pigeon"}, "contact_method", "not_an_option"),
        ({"nickname": "Ana"}, "nickname", "unknown_field"),
    ],
)
def test_a_profile_field_refused_names_its_problem_by_a_stable_key(
    client: Client, body: dict[str, Any], field: str, problem: str
) -> None:
    # Given a signed-in agent
    before = wiring.adapters.agent_store().get(NPN)
    # When they save a profile change the service refuses
    response = put_json(client, "/agent/profile", body)

    # Then the refusal is invalid_fields, naming the field's problem by its key, and nothing changed
    answer = refused(response, 400, "invalid_fields")
    assert answer["problems"] == {field: problem}
    assert set(answer["fields"]) == {field}
    assert problem in FIELD_PROBLEMS
    assert wiring.adapters.agent_store().get(NPN) == before


def test_availability_problems_are_named_per_day_and_break_and_for_out_of_office(client: Client) -> None:
    # Given a week whose Monday ends before it starts and whose Tuesday's breaks overlap
    days = json.loads(json.dumps(ALWAYS["days"]))
    days["mon"] = {"enabled": True, "start": "18:00", "end": "09:00", "breaks": []}
    days["tue"]["breaks"] = [{"start": "12:00", "end": "13:00"}, {"start": "12:30", "end": "14:00"}]
    days["wed"]["breaks"] = [{"start": "12:00", "end": "11:00"}]
    days["thu"]["start"] = "9am"

    # When the week is saved
    answer = refused(put_json(client, "/agent/availability", {"weekly": {"days": days}}), 400, "invalid_fields")

    # Then each problem is named beside its own field
    assert answer["problems"] == {
        "weekly.days.mon": "end_before_start",
        "weekly.days.tue.breaks": "breaks_overlap",
        "weekly.days.wed.breaks.0": "end_before_start",
        "weekly.days.thu.start": "time_format",
    }

    # When Out of Office ends before it starts, or in another century, or Today's stop time is not a time
    late = {"start": "2026-12-24T09:00:00-06:00", "end": "2026-12-23T09:00:00-06:00"}
    answer = refused(put_json(client, "/agent/availability/out-of-office", late), 400, "invalid_fields")
    assert answer["problems"] == {"body": "end_before_start"}
    far = {"start": "2126-12-24T09:00:00-06:00"}
    answer = refused(put_json(client, "/agent/availability/out-of-office", far), 400, "invalid_fields")
    assert answer["problems"] == {"start": "year_out_of_range"}
    answer = refused(
        put_json(client, "/agent/availability/today", {"available": True, "stop_at": "25:00"}), 400, "invalid_fields"
    )
    assert answer["problems"] == {"stop_at": "time_format"}


def test_sessions_that_are_missing_forged_or_expired_say_which(client: Client) -> None:
    # Given a session token, and the same token with its signature changed
    clock = wiring.clock()
    assert isinstance(clock, FakeClock)
    token = wiring.services.auth().agent_session(NPN)
    version, claims, mac = token.split(".")

    # When the portal calls with no session, a damaged one, a tampered one, and the session after its time is up
    missing = client.http.get("/agent/profile")
    forged = client.http.get("/agent/profile", headers={"Authorization": "Bearer v1.e30.AAAA"})
    tampered = client.http.get("/agent/profile", headers={"Authorization": f"Bearer {version}.{claims}.{mac[::-1]}"})
    fresh = client.http.get("/agent/profile", headers={"Authorization": f"Bearer {token}"})
    clock.advance(hours=13)
    expired = client.http.get("/agent/profile", headers={"Authorization": f"Bearer {token}"})

    # Then each is 401 with its reason (the session worked while it lasted)
    assert fresh.status_code == 200
    refused(missing, 401, "sign_in_required")
    refused(forged, 401, "token_not_valid")
    refused(tampered, 401, "token_not_valid")
    refused(expired, 401, "token_expired")


def test_answering_a_referral_that_does_not_exist_is_refused_as_not_found(client: Client) -> None:
    # When the agent accepts, rejects or updates a referral that does not exist
    for verb, body in (("accept", None), ("reject", None), ("status", {"status": "in_progress"})):
        response = client.http.post(
            f"/agent/referrals/{'0' * 32}/{verb}",
            body=json.dumps(body) if body else None,
            headers=agent_headers(NPN),
        )
        # Then each is 404 referral_not_found
        refused(response, 404, "referral_not_found")


def test_a_status_change_missing_its_reason_names_the_field(client: Client) -> None:
    # When Not a Good Referral is sent without its reason
    response = client.http.post(
        f"/agent/referrals/{'0' * 32}/status",
        body=json.dumps({"status": "not_a_good_referral"}),
        headers=agent_headers(NPN),
    )
    # Then the field's problem is that the status needs it
    assert refused(response, 400, "invalid_fields")["problems"] == {"reason": "needed_with_status"}
