"""What an attacker or a careless client sends: no input gets a 500, every refusal is in the project's error shape,
every answer carries the security headers, and the embedded form's CORS preflight allows what the form sends."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, get_args

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from hod.api.models import ErrorCode
from hod.api.routing import SECURITY_HEADERS
from local.cfn import load_template
from tests.integration.test_api import agent_headers, consumer, post_json


@pytest.fixture
def client(stack: dict[str, str]) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


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
    headers = {"Authorization": f"Bearer {wiring.auth().admin_token('test-admin')}", "Content-Type": "application/json"}

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
        assert set(fields) == {"error", "message"}
        assert fields["error"] in get_args(ErrorCode)
