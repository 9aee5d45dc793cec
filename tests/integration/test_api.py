"""The HTTP API through Chalice's in-process client, against moto tables built from template.yaml."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import wiring

pytestmark = pytest.mark.usefixtures("stack")

ALWAYS = {
    "days": {
        d: {"enabled": True, "start": "00:00", "end": "24:00", "breaks": []}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
}


def agent(npn: str, zip_code: str = "78701", state: str = "TX", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "npn": npn,
        "first_name": "Ana",
        "last_name": "García",
        "email": f"agent{npn}@example.com",
        "phone": "(512) 555-0142",
        "business_address": {"street": "100 Congress Ave", "city": "Austin", "state": state, "zip": zip_code},
        "home_state": state,
        "licences": [{"state": state, "status": "active", "lines_of_authority": ["health"], "expires": "2030-01-01"}],
        "ffm_registration_plan_year": 2026,
        "ffm_registration_listed": True,
        "hod_training_complete": True,
        "display_option": 1,
        "languages": ["en", "es"],
    }
    record.update(overrides)
    return record


@pytest.fixture
def client() -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def admin_headers(content_type: str = "application/json") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {wiring.services.auth().admin_token('test-admin')}",
        "Content-Type": content_type,
    }


def agent_headers(npn: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {wiring.services.auth().agent_session(npn)}", "Content-Type": "application/json"}


def post_json(client: Client, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(path, body=json.dumps(body), headers=headers or {"Content-Type": "application/json"})


def consumer(**overrides: Any) -> dict[str, Any]:
    body = {
        "first_name": "Rosa",
        "last_name": "Martínez",
        "phone": "512-555-0188",
        "email": "rosa@example.org",
        "zip": "78702",
        "language": "es",
    }
    body.update(overrides)
    return body


def test_admin_import_reports_each_record_and_bad_ones_do_not_block_good_ones(client: Client) -> None:
    # Given two good records and three bad ones (bad phone, unknown ZIP, duplicate NPN)
    records = [
        agent("1001"),
        agent("1002", phone="12"),
        agent("1003", zip_code="00000"),
        agent("1004", zip_code="73102", state="OK"),
        agent("1001"),
    ]
    # When the administrator imports them
    response = post_json(client, "/admin/agents/import", records, admin_headers())
    # Then each record has its own result and the good ones are stored
    assert response.status_code == 200
    body = response.json_body
    assert body["summary"] == {"received": 5, "created": 2, "updated": 0, "unchanged": 0, "refused": 3}
    statuses = [(r["npn"], r["status"]) for r in body["results"]]
    assert statuses == [
        ("1001", "created"),
        ("1002", "refused"),
        ("1003", "refused"),
        ("1004", "created"),
        ("1001", "refused"),
    ]
    assert "phone" in body["results"][1]["errors"]
    assert "business_address.zip" in body["results"][2]["errors"]
    assert "duplicate" in body["results"][4]["errors"]["npn"]
    assert body["results"][0]["eligible_states"] == ["TX"]
    assert wiring.adapters.agent_store().get("1002") is None


def test_import_requires_an_admin_token(client: Client) -> None:
    # Given no token, then an agent's token
    response = post_json(client, "/admin/agents/import", [agent("1001")])
    assert response.status_code == 401
    response = post_json(client, "/admin/agents/import", [agent("1001")], agent_headers("1001"))
    # Then both are refused and nothing is stored
    assert response.status_code == 401
    assert wiring.adapters.agent_store().get("1001") is None


def test_csv_import_gives_the_same_agents_as_json(client: Client) -> None:
    # Given a CSV with the flattened columns
    csv_body = (
        "npn,first_name,last_name,email,phone,street,city,state,zip,home_state,licences,"
        "ffm_registration_plan_year,ffm_registration_listed,hod_training_complete,display_option,languages\n"
        "2001,Luis,Pérez,luis@example.com,(305) 555-0101,1 Ocean Dr,Miami,FL,33139,FL,"
        "FL:active:health|life:2029-01-01;GA:active:health:2029-01-01,2026,true,true,1,en|es\n"
        "2002,Bad,Licence,bad@example.com,(305) 555-0102,,,,33139,FL,FL-active,2026,true,true,1,en\n"
    )
    # When imported as text/csv
    response = client.http.post("/admin/agents/import", body=csv_body, headers=admin_headers("text/csv"))
    # Then the first is created, eligible only in FL (GA does not use HealthCare.gov), the second refused clearly
    assert response.status_code == 200, response.body
    results = response.json_body["results"]
    assert results[0]["status"] == "created"
    assert results[0]["eligible_states"] == ["FL"]
    assert results[1]["status"] == "refused"
    assert "TX:active:health" in results[1]["errors"]["licences"]
    stored = wiring.adapters.agent_store().get("2001")
    assert stored is not None
    assert stored.agent.languages == ("en", "es")
    assert stored.agent.time_zone == "America/New_York"


def test_consumer_referral_is_validated_per_field_and_nothing_is_stored(client: Client) -> None:
    # When a consumer sends several bad fields
    response = post_json(client, "/referrals", consumer(phone="555", email="not-an-email", zip="1234", language="xx"))
    # Then every bad field is named and no referral exists
    assert response.status_code == 400
    assert set(response.json_body["fields"]) == {"phone", "email", "zip", "language"}


@pytest.mark.parametrize(
    ("zip_code", "message"),
    [
        ("09001", "could not find"),
        ("30301", "Georgia does not use HealthCare.gov"),
        ("99999", "could not find"),
    ],
)
def test_zip_must_be_a_real_place_in_a_healthcare_gov_state(client: Client, zip_code: str, message: str) -> None:
    response = post_json(client, "/referrals", consumer(zip=zip_code))
    assert response.status_code == 400
    assert message in response.json_body["fields"]["zip"]


def test_a_zip_in_a_state_with_its_own_marketplace_names_it_in_the_callers_language(client: Client) -> None:
    # Given a consumer in New York (10001), which runs its own Marketplace
    request = consumer(zip="10001")
    # When the form asks in English (no Accept-Language) and in Spanish
    english = post_json(client, "/referrals", request)
    spanish = client.http.post(
        "/referrals",
        body=json.dumps(request),
        headers={"Content-Type": "application/json", "Accept-Language": "en;q=0.1, es;q=0.9"},
    )
    # Then both are refused, naming New York's Marketplace and its site, each in its language; nothing is stored
    assert english.status_code == spanish.status_code == 400
    assert english.json_body["fields"]["zip"] == (
        "New York does not use HealthCare.gov: residents of New York apply, and find help, at NY State of Health: "
        "https://nystateofhealth.ny.gov/"
    )
    assert spanish.json_body["fields"]["zip"].startswith("Nueva York no usa CuidadoDeSalud.gov")
    assert spanish.json_body["fields"]["zip"].endswith("en NY State of Health: https://nystateofhealth.ny.gov/")
    assert boto3.client("dynamodb").scan(TableName=os.environ["HOD_REFERRALS_TABLE"], Select="COUNT")["Count"] == 0


def test_a_repeated_submission_creates_one_referral(client: Client) -> None:
    # Given the same submission twice (a double click)
    first = post_json(client, "/referrals", consumer())
    second = post_json(client, "/referrals", consumer())
    # Then both answers name the same referral
    assert first.status_code == second.status_code == 201
    assert first.json_body["referral_id"] == second.json_body["referral_id"]
    assert first.json_body["place"] == {"city": "Austin", "county": "Travis County", "state": "TX"}
    # And a different Idempotency-Key means a deliberate new request
    third = client.http.post(
        "/referrals",
        body=json.dumps(consumer()),
        headers={"Content-Type": "application/json", "Idempotency-Key": "second-request"},
    )
    assert third.json_body["referral_id"] != first.json_body["referral_id"]


def test_admin_sees_the_referral_and_its_trail_without_consumer_contact_details(client: Client) -> None:
    referral_id = post_json(client, "/referrals", consumer()).json_body["referral_id"]
    response = client.http.get(f"/admin/referrals/{referral_id}", headers=admin_headers())
    assert response.status_code == 200
    text = response.body.decode()
    for private in ("Rosa", "Martínez", "555-0188", "5125550188", "rosa@example.org"):
        assert private not in text
    actions = [e["action"] for e in response.json_body["audit_trail"]]
    assert actions == ["referral.created", "workflow.started", "consumer.notified"]  # (the receipt's outcomes)


def test_agent_reads_and_changes_only_their_own_profile(client: Client) -> None:
    post_json(
        client,
        "/admin/agents/import",
        [agent("1001"), agent("1004", zip_code="73102", state="OK")],
        admin_headers(),
    )
    # When agent 1001 narrows preferences to a state they are not eligible in
    response = client.http.put(
        "/agent/profile", body=json.dumps({"state_preferences": ["OK"]}), headers=agent_headers("1001")
    )
    # Then it is refused and nothing changes
    assert response.status_code == 400
    assert "not eligible in OK" in response.json_body["fields"]["state_preferences"]
    # When they change languages and contact method
    response = client.http.put(
        "/agent/profile",
        body=json.dumps({"languages": ["es"], "contact_method": "email_text"}),
        headers=agent_headers("1001"),
    )
    assert response.status_code == 200
    assert response.json_body["languages"] == ["es"]
    # Then only their own record changed
    other = client.http.get("/agent/profile", headers=agent_headers("1004")).json_body
    assert other["languages"] == ["en", "es"]
    assert other["npn"] == "1004"


def test_availability_changes_through_the_api(client: Client) -> None:
    post_json(client, "/admin/agents/import", [agent("1001")], admin_headers())
    headers = agent_headers("1001")
    response = client.http.put("/agent/availability", body=json.dumps({"weekly": ALWAYS}), headers=headers)
    assert response.status_code == 200
    assert response.json_body["available_now"] is True
    response = client.http.put("/agent/availability/today", body=json.dumps({"available": False}), headers=headers)
    assert response.json_body["available_now"] is False
    response = client.http.delete("/agent/availability/today", headers=headers)
    assert response.json_body["available_now"] is True
    bad = client.http.put(
        "/agent/availability/out-of-office",
        body=json.dumps({"start": "2026-12-01T09:00:00"}),
        headers=headers,
    )
    assert bad.status_code == 400
    assert "start" in bad.json_body["fields"]


def test_openapi_document_is_served(client: Client) -> None:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json_body["openapi"] == "3.1.0"
    assert "/referrals" in response.json_body["paths"]


def test_simultaneous_identical_submissions_create_one_referral() -> None:
    # Given eight identical submissions arriving at the same time (a client retrying aggressively)
    from concurrent.futures import ThreadPoolExecutor

    from hod.domain.referral import ConsumerRequest
    from local.inproc import atomic_dynamodb

    request = ConsumerRequest.model_validate(consumer())
    submissions = wiring.services.submissions()
    # (moto applied one request at a time, as DynamoDB applies each transaction: moto's own are not thread-safe)
    with atomic_dynamodb(), ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(lambda _: submissions.submit(request, "").referral_id, range(8)))
    # Then they all name one referral
    assert len(ids) == 1


def test_an_agent_registers_a_phone_for_push_and_bad_tokens_are_refused(client: Client) -> None:
    post_json(client, "/admin/agents/import", [agent("1001")], admin_headers())
    headers = agent_headers("1001")
    good = client.http.put(
        "/agent/devices", body=json.dumps({"platform": "fcm", "token": "abc:DEF_123-x"}), headers=headers
    )
    assert good.status_code == 200
    assert good.json_body == {"devices": ["fcm"]}
    bad = client.http.put("/agent/devices", body=json.dumps({"platform": "sms", "token": "x"}), headers=headers)
    assert bad.status_code == 400
    assert set(bad.json_body["fields"]) == {"platform", "token"}
    stored = wiring.adapters.agent_store().get("1001")
    assert stored is not None
    assert [d.token for d in stored.agent.devices] == ["abc:DEF_123-x"]
