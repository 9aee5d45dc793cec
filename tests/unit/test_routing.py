"""The route declaration (hod.api.routing): input is validated before a view runs, a view answers its declared model,
and every refusal is answered by the one error map (JSON, or a page)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from chalice.app import Chalice
from chalice.test import Client
from pydantic import BaseModel

from hod.api.models import Answer, Health
from hod.api.routing import Audience
from hod.errors import Conflict, DependencyFailed


class Greeting(BaseModel):
    name: str


class Greeted(Answer):
    message: str


def app_with(audience: Audience) -> Chalice:
    app = Chalice(app_name="routing-test", configure_logs=False)
    app.register_blueprint(audience.blueprint)
    return app


@pytest.fixture
def calls() -> list[str]:
    """The names the greeting view was called with."""
    return []


@pytest.fixture
def client(calls: list[str]) -> Iterator[Client]:
    audience = Audience("test", tag="tests")

    @audience.route("/greet", "POST", summary="Greet", body=Greeting, response=Greeted, status=201)
    def greet(body: Greeting) -> Greeted:
        calls.append(body.name)
        return Greeted(message=f"Hello, {body.name}")

    @audience.route("/wrong", "GET", summary="Answers another model", response=Greeted)
    def wrong() -> Health:
        return Health.model_validate({"status": "ok", "time": "2026-11-24T15:00:00+00:00"})

    @audience.route("/busy", "POST", summary="A dependency fails")
    def busy() -> None:
        raise DependencyFailed("dynamodb", "PutItem", "throttled")

    @audience.route("/page", "GET", summary="A page whose referral moved on", page=True)
    def page() -> None:
        raise Conflict("This referral was taken by another agent.")

    @audience.route("/taken", "POST", summary="A referral another agent took")
    def taken() -> None:
        raise Conflict("Another agent has already taken this referral.", "referral_taken")

    with Client(app_with(audience)) as test_client:
        yield test_client


def test_a_valid_body_reaches_the_view_and_its_model_is_answered_with_the_declared_status(
    client: Client, calls: list[str]
) -> None:
    # Given a route declaring its body and response models and status 201
    # When a valid body is posted
    response = client.http.post("/greet", headers={"Content-Type": "application/json"}, body='{"name": "Ana"}')

    # Then the view got the parsed body and its model is the JSON answer
    assert response.status_code == 201
    assert response.json_body == {"message": "Hello, Ana"}
    assert calls == ["Ana"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("", "body", "a JSON body is required"),
        ('{"name": ', "body", "not valid JSON"),
        ('{"nom": "Ana"}', "name", "Field required"),
    ],
)
def test_an_invalid_body_is_refused_field_by_field_and_the_view_never_runs(
    client: Client, calls: list[str], body: str, field: str, message: str
) -> None:
    # Given a route declaring its body model
    # When the body is missing, not JSON, or not the model
    response = client.http.post("/greet", headers={"Content-Type": "application/json"}, body=body)

    # Then the answer is 400 naming the problem, and the view was not called
    assert response.status_code == 400
    assert response.json_body["error"] == "validation_failed"
    assert response.json_body["fields"][field].startswith(message)
    assert calls == []


def test_a_refusal_carries_its_stable_reason_and_each_field_its_problem_beside_the_message(client: Client) -> None:
    # When a route refuses with a reason, and a body misses its field
    taken = client.http.post("/taken")
    missing = client.http.post("/greet", headers={"Content-Type": "application/json"}, body='{"nom": "Ana"}')

    # Then the answers name the refusal by its key (pages word it), beside the developers' English
    assert taken.status_code == 409
    assert taken.json_body == {
        "error": "conflict",
        "message": "Another agent has already taken this referral.",
        "reason": "referral_taken",
    }
    assert missing.json_body["reason"] == "invalid_fields"
    assert missing.json_body["problems"] == {"name": "required"}
    assert missing.json_body["fields"] == {"name": "Field required"}


def test_a_view_answering_another_model_than_declared_is_a_server_error(client: Client) -> None:
    # Given a route declaring Greeted whose view answers a Health
    # When it is called
    response = client.http.get("/wrong")

    # Then the contract is not silently broken: the request fails
    assert response.status_code == 500


def test_a_failed_dependency_is_answered_503_with_retry_after(client: Client) -> None:
    # Given a view whose AWS call fails
    # When it is called
    response = client.http.post("/busy")

    # Then the caller is told to retry shortly
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.body) == {
        "error": "unavailable",
        "message": "The service is busy; please try again shortly.",
        "reason": "busy",
    }


def test_a_page_route_answers_refusals_as_a_page_that_cannot_be_framed(client: Client) -> None:
    # Given a page route whose referral has moved on
    # When it is opened
    response = client.http.get("/page")

    # Then the answer is a 409 page with the pages' security headers
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert b"No longer open" in response.body
    assert b"This referral was taken by another agent." in response.body


def test_a_view_that_does_not_take_its_declared_body_is_refused_when_declared() -> None:
    # Given an audience
    audience = Audience("test", tag="tests")

    # When a route declares a body model its view does not take
    # Then the declaration fails at once (at import), not on the first request
    with pytest.raises(TypeError, match="body"):

        @audience.route("/greet", "POST", summary="Greet", body=Greeting)
        def greet() -> None: ...
