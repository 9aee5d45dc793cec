"""What an attacker or a careless client sends: no input gets a 500, every refusal is in the project's error shape,
every answer carries the security headers, and the embedded form's CORS preflight allows what the form sends."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from hod.api.models import ErrorCode
from hod.api.routing import SECURITY_HEADERS
from hod.services.auth import ADMIN_SCOPES
from hod.signing import Claims, sign
from local.cfn import load_template
from tests.integration.test_api import admin_headers, agent, agent_headers, consumer, post_json


@pytest.fixture
def client(stack: dict[str, str]) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


JSON_TYPE = {"Content-Type": "application/json"}


def stored_referrals() -> int:
    items = boto3.client("dynamodb").scan(TableName=os.environ["HOD_REFERRALS_TABLE"])["Items"]
    return sum(1 for item in items if item["sk"]["S"] == "REFERRAL")


def is_project_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.body
    body = json.loads(response.body)
    assert body["error"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]


def test_an_asset_name_longer_than_a_file_name_can_be_is_not_found_rather_than_a_server_error(client: Client) -> None:
    # Given a request for an asset whose name is 300 characters (the file system refuses such a name)
    # When it is asked for
    response = client.http.get("/assets/" + "a" * 300 + ".css")

    # Then it is simply not found
    assert response.status_code == 404
    # And a real asset is still served, cacheable for a while
    served = client.http.get("/assets/hod.css")
    assert served.status_code == 200
    assert served.headers["Cache-Control"] == "max-age=300"


@pytest.mark.parametrize("path", ["/referrals", "/sign-in", "/sign-in/session"])
def test_a_json_body_nested_a_thousand_deep_is_refused_as_invalid_and_nothing_is_stored(
    client: Client, path: str
) -> None:
    # Given a 2 KB JSON body of arrays nested 1,000 deep (deeper than Python's parser goes)
    body = "[" * 1000 + "]" * 1000

    # When it is posted
    response = client.http.post(path, body=body, headers={"Content-Type": "application/json"})

    # Then it is refused as invalid input, naming the body, and no referral was stored
    is_project_error(response, 400, "validation_failed")
    assert json.loads(response.body)["fields"] == {"body": "nested too deeply"}
    assert stored_referrals() == 0


def test_an_import_nested_a_thousand_deep_is_refused_as_invalid(client: Client) -> None:
    # Given an administrator's import body nested 1,000 deep
    headers = {
        "Authorization": f"Bearer {wiring.services.auth().admin_token('test-admin')}",
        "Content-Type": "application/json",
    }

    # When it is posted
    response = client.http.post("/admin/agents/import", body="[" * 1000 + "]" * 1000, headers=headers)

    # Then it is refused as invalid input
    is_project_error(response, 400, "validation_failed")


def test_a_form_encoded_body_is_refused_in_the_projects_error_shape(client: Client) -> None:
    # Given a consumer's details sent as a form instead of JSON
    # When they are posted
    response = client.http.post(
        "/referrals",
        body="first_name=Rosa&last_name=Mart%C3%ADnez",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    # Then the refusal is 415 in the project's shape (not Chalice's {"Code", "Message"}), and nothing is stored
    is_project_error(response, 415, "unsupported_media_type")
    assert "application/x-www-form-urlencoded" in json.loads(response.body)["message"]
    assert stored_referrals() == 0


def test_a_route_without_a_body_takes_any_content_type(client: Client) -> None:
    # Given a client that sends a Content-Type on a GET
    # When it asks for the liveness check
    response = client.http.get("/health", headers={"Content-Type": "text/plain"})

    # Then the answer is the liveness check, not a 415
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "needs"),
    [
        ("GET", "/health", None),
        ("POST", "/referrals", None),
        ("GET", "/agent/profile", "agent"),
        ("GET", "/agent/referrals?days=0", "agent"),
        ("GET", "/admin/agents/0000", None),
        ("PATCH", "/health", None),
    ],
)
def test_every_json_answer_carries_the_security_headers_and_is_never_cached(
    client: Client, method: str, path: str, needs: str | None
) -> None:
    # Given a success, refusals (Chalice's own 405 among them) and an agent's answer (with personal data)
    headers = {"Content-Type": "application/json", **(agent_headers("1001") if needs == "agent" else {})}

    # When each is asked for
    response = client.http.request(method, path, headers=headers, body=json.dumps(consumer(zip="00000")))

    # Then every answer carries HSTS, nosniff, no-referrer and no-store, and cannot be framed
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, (name, response.headers)
    assert response.headers["X-Frame-Options"] == "DENY"
    if response.status_code >= 400:  # and a refusal is in the project's shape, Chalice's own (405) included
        assert set(json.loads(response.body)) >= {"error", "message"}
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_pages_keep_their_own_content_security_policy_and_the_form_stays_embeddable(client: Client) -> None:
    # Given the consumer's form (embedded by marketplaces) and the portal
    form = client.http.get("/get-contacted")
    portal = client.http.get("/portal")

    # Then both carry HSTS and nosniff; the form may be framed, the portal may not
    for page in (form, portal):
        assert page.headers["Strict-Transport-Security"] == SECURITY_HEADERS["Strict-Transport-Security"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in form.headers
    assert "frame-ancestors *" in form.headers["Content-Security-Policy"]
    assert portal.headers["X-Frame-Options"] == "DENY"


def test_the_forms_cors_preflight_allows_its_idempotency_key_and_only_its_post(client: Client) -> None:
    # Given another site's page about to post the embedded form with its Idempotency-Key header
    # When the browser asks first
    response = client.http.request(
        "OPTIONS",
        "/referrals",
        headers={
            "Origin": "https://marketplace.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )

    # Then the answer allows the POST with both headers, from any site, for ten minutes
    assert response.status_code == 204
    allowed = {name.strip().lower() for name in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "idempotency-key"} <= allowed
    assert response.headers["Access-Control-Allow-Methods"] == "OPTIONS,POST"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Max-Age"] == "600"

    # And the POST's own answer lets the page read it
    posted = post_json(client, "/referrals", consumer(), {"Content-Type": "application/json", "Idempotency-Key": "k1"})
    assert posted.headers["Access-Control-Allow-Origin"] == "*"


def test_api_gateways_own_answers_are_in_the_projects_shape_with_the_same_security_headers() -> None:
    # Given the API's gateway responses (an unknown path, throttling, any other refusal or failure of its own)
    responses = load_template()["Resources"]["HodApi"]["Properties"]["GatewayResponses"]

    # Then an unknown path is a 404, and each answer has the app's security headers and the project's error shape
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"):
        headers = responses[kind]["ResponseParameters"]["Headers"]
        for name, value in SECURITY_HEADERS.items():
            assert headers[name] == f"'{value}'", (kind, name)
        body = responses[kind]["ResponseTemplates"]["application/json"]
        fields = json.loads(body.replace("$context.error.messageString", '"message"'))
        assert set(fields) == {"error", "message", "reason"}
        assert fields["error"] in get_args(ErrorCode)
        assert fields["reason"] is None  # the status says all: a page words it by its status


# ----- validation: every problem named at once, nothing changed ---------------------------------------------------
def test_several_bad_fields_and_an_unserved_zip_are_all_named_in_one_answer(client: Client) -> None:
    # Given a submission with an empty name, a short phone number and a ZIP code in a state not on HealthCare.gov
    body = consumer(first_name="  ", phone="512-555", zip="30301")

    # When it is posted
    response = post_json(client, "/referrals", body)

    # Then one answer names all three, the ZIP code's included, and nothing is stored
    assert response.status_code == 400
    fields = json.loads(response.body)["fields"]
    assert set(fields) == {"first_name", "phone", "zip"}
    assert "Georgia does not use HealthCare.gov" in fields["zip"]
    assert stored_referrals() == 0


def import_agent(client: Client, npn: str) -> None:
    response = post_json(client, "/admin/agents/import", [agent(npn)], admin_headers())
    assert response.status_code == 200, response.body


@pytest.mark.parametrize(
    ("period", "fields"),
    [
        ({"start": "2026-12-01T09:00:00-06:00", "end": -2889871}, {"end"}),
        ({"start": "0140-01-01T00:00:00Z"}, {"start"}),
        ({"start": 1796000000}, {"start"}),
        ({"start": "0140-01-01T00:00:00Z", "end": "2300-01-01T00:00:00Z"}, {"start", "end"}),
    ],
)
def test_out_of_office_takes_written_dates_of_this_century_only_and_changes_nothing_otherwise(
    client: Client, period: dict[str, Any], fields: set[str]
) -> None:
    # Given an agent whose availability is as imported
    import_agent(client, "3101")
    before = client.http.get("/agent/availability", headers=agent_headers("3101")).json_body

    # When Out of Office is set with a number for a date (read as seconds since 1970) or a year out of range
    response = client.http.put(
        "/agent/availability/out-of-office", body=json.dumps(period), headers=agent_headers("3101")
    )

    # Then every bad field is named at once, and the availability is unchanged
    assert response.status_code == 400
    assert set(json.loads(response.body)["fields"]) == fields
    assert client.http.get("/agent/availability", headers=agent_headers("3101")).json_body == before


def test_a_dated_out_of_office_of_this_century_is_kept(client: Client) -> None:
    # Given an agent
    import_agent(client, "3102")
    period = {"start": "2026-12-24T00:00:00-06:00", "end": "2027-01-02T00:00:00-06:00"}

    # When they set Out of Office over the holidays
    response = client.http.put(
        "/agent/availability/out-of-office", body=json.dumps(period), headers=agent_headers("3102")
    )

    # Then it is kept as given
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["availability"]["out_of_office"] == {
        "start": "2026-12-24T00:00:00-06:00",
        "end": "2027-01-02T00:00:00-06:00",
    }


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"status": "completed"}, {"outcome"}),
        ({"status": "not_a_good_referral"}, {"reason"}),
        ({"status": "in_progress", "outcome": "other"}, {"outcome"}),
        ({"status": "completed", "reason": "unreachable"}, {"reason", "outcome"}),
    ],
)
def test_a_status_without_its_outcome_or_reason_is_invalid_input_not_a_conflict(
    client: Client, change: dict[str, Any], fields: set[str]
) -> None:
    # Given an agent reporting progress with the status's detail missing, or a detail for another status
    # When it is posted (whatever the referral)
    response = client.http.post(
        "/agent/referrals/0123456789abcdef/status", body=json.dumps(change), headers=agent_headers("3103")
    )

    # Then the answer is a 400 naming the field, before anything is looked up
    assert response.status_code == 400, response.body
    assert set(json.loads(response.body)["fields"]) == fields


# ----- Idempotency-Key ---------------------------------------------------------------------------------------------
def test_an_idempotency_key_reused_with_another_body_is_refused_and_creates_nothing(client: Client) -> None:
    # Given a referral submitted with an Idempotency-Key
    headers = {"Content-Type": "application/json", "Idempotency-Key": "form-7f3a"}
    first = post_json(client, "/referrals", consumer(), headers)
    assert first.status_code == 201

    # When the same key comes with another consumer's details
    other = post_json(client, "/referrals", consumer(first_name="Lucía", phone="512-555-0199"), headers)

    # Then it is refused as unprocessable and no second referral exists
    is_project_error(other, 422, "unprocessable")
    assert stored_referrals() == 1
    # And the same key with the same body is still the first referral
    again = post_json(client, "/referrals", consumer(), headers)
    assert json.loads(again.body)["referral_id"] == json.loads(first.body)["referral_id"]


def test_an_idempotency_key_longer_than_128_characters_is_refused_rather_than_cut(client: Client) -> None:
    # Given a key of 129 characters (cut to 128, two keys would have named one request)
    headers = {"Content-Type": "application/json", "Idempotency-Key": "k" * 129}

    # When it is sent
    response = post_json(client, "/referrals", consumer(), headers)

    # Then it is refused, naming the header, and nothing is stored
    assert response.status_code == 400
    assert set(json.loads(response.body)["fields"]) == {"Idempotency-Key"}
    assert stored_referrals() == 0


# ----- administrator tokens ----------------------------------------------------------------------------------------
def test_an_administrator_token_does_only_what_its_scopes_allow(client: Client) -> None:
    # Given a token that may only read the program's metrics
    token = wiring.services.auth().admin_token("analyst", scopes=["metrics:read"])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    # When it is used to read metrics, then to import an agent
    metrics = client.http.get("/admin/metrics?from=2026-11-01&to=2026-11-02", headers=headers)
    imported = post_json(client, "/admin/agents/import", [agent("3201")], headers)

    # Then the metrics are read, the import is forbidden, and no agent was stored
    assert metrics.status_code == 200
    is_project_error(imported, 403, "forbidden")
    assert wiring.adapters.agent_store().get("3201") is None


def test_an_administrator_token_signed_with_the_links_key_is_refused(client: Client) -> None:
    # Given an administrator token made with the key that signs links and sessions (which the match, notify and
    # expire functions hold)
    key = wiring.adapters.keys().key_ring(with_previous=False).current
    expires = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    forged = sign(Claims("admin", "intruder", expires, scope=" ".join(ADMIN_SCOPES)), key)

    # When it is used
    response = post_json(
        client, "/admin/agents/import", [agent("3202")], {"Authorization": f"Bearer {forged}", **JSON_TYPE}
    )

    # Then it is refused and nothing is stored
    is_project_error(response, 401, "unauthorized")
    assert wiring.adapters.agent_store().get("3202") is None


def test_only_the_intake_function_reads_the_administrator_key() -> None:
    # Given the template's functions
    resources = load_template()["Resources"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}

    # Then only the intake function is granted the administrator key or told where it is
    def names_it(part: Any) -> bool:
        return "AdminSigningSecret" in json.dumps(part)

    assert [name for name, r in functions.items() if names_it(r["Properties"].get("Policies"))] == ["IntakeFunction"]
    assert [name for name, r in functions.items() if names_it(r["Properties"].get("Environment"))] == ["IntakeFunction"]
    assert not names_it(load_template()["Globals"])
