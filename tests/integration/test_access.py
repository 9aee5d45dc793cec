"""Signing agents in by e-mailed link, and account invitations for newly eligible agents (sent by the sweep)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from hod import wiring
from hod.adapters.aws import SesEmail
from hod.errors import DependencyFailed
from local.inproc import Invocations, LocalContext
from tests.conftest import FakeClock
from tests.integration.conftest import SENDER
from tests.integration.test_api import admin_headers, agent, agent_headers, post_json

pytestmark = pytest.mark.usefixtures("stack")


_running: list[Invocations] = []  # the functions invoked in-process for this test (the notify function)


@pytest.fixture(autouse=True)
def functions_run_in_process(invocations: Invocations) -> Iterator[None]:
    _running[:] = [invocations]
    yield
    _running.clear()


def sent() -> list[Any]:
    """Every e-mail sent, once the asynchronous invocations (sign-in links) have run."""
    for running in _running:
        assert running.wait_until_idle(), "a function invoked asynchronously is still running"
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def link_token(message: Any) -> str:
    found = re.search(r"#t=([A-Za-z0-9._\-]+)", message.body)
    assert found, message.body
    return found.group(1)


@pytest.fixture
def client() -> Any:
    import app as intake_app

    boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER)
    with Client(intake_app.app) as test_client:
        yield test_client


@pytest.fixture
def clock() -> FakeClock:
    fake = FakeClock()
    wiring.use_clock(fake)
    return fake


def import_agents(client: Client, *records: dict[str, Any]) -> dict[str, Any]:
    response = post_json(client, "/admin/agents/import", list(records), admin_headers())
    assert response.status_code == 200, response.body
    return dict(json.loads(response.body))


def sweep() -> dict[str, Any]:
    import expire_handler

    return dict(expire_handler.handler({}, LocalContext("ExpireFunction")))


def test_a_sign_in_link_works_once_and_gives_a_session(client: Client, clock: FakeClock) -> None:
    import_agents(client, agent("8800001", email="Pat.Lee@Example.com"))
    before = len(sent())

    response = post_json(client, "/sign-in", {"email": "pat.lee@example.com"})
    assert response.status_code == 202
    message = sent()[before]
    assert message.destinations["ToAddresses"] == ["Pat.Lee@example.com"]
    assert message.subject == "Your Help On Demand sign-in link"
    assert "http://hod.test/portal#t=" in message.body

    response = post_json(client, "/sign-in/session", {"token": link_token(message)})
    assert response.status_code == 200, response.body
    session = json.loads(response.body)
    assert session["npn"] == "8800001"
    profile = client.http.get("/agent/profile", headers={"Authorization": f"Bearer {session['token']}"})
    assert profile.status_code == 200
    assert json.loads(profile.body)["npn"] == "8800001"

    # The same link a second time: refused
    again = post_json(client, "/sign-in/session", {"token": link_token(message)})
    assert again.status_code == 401
    assert "already used" in json.loads(again.body)["message"]
    assert json.loads(again.body)["reason"] == "link_used"  # the key the portal words it by


def test_the_answer_is_the_same_for_unknown_addresses_and_nothing_is_sent(client: Client) -> None:
    import_agents(client, agent("8800002"))
    before = len(sent())
    known = post_json(client, "/sign-in", {"email": "agent8800002@example.com"})
    unknown = post_json(client, "/sign-in", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert json.loads(known.body) == json.loads(unknown.body)
    assert len(sent()) == before + 1


def test_bad_input_is_refused_and_sends_nothing(client: Client) -> None:
    before = len(sent())
    for body in ({}, {"email": "not-an-address"}, {"email": "a@b.c", "extra": 1}):
        response = post_json(client, "/sign-in", body)
        assert response.status_code == 400, body
        assert "fields" in json.loads(response.body)
    assert post_json(client, "/sign-in/session", {"token": "v1.forged.token"}).status_code == 401
    assert len(sent()) == before


def test_one_unused_link_a_minute_and_a_newer_link_replaces_the_older(client: Client, clock: FakeClock) -> None:
    import_agents(client, agent("8800003"))
    before = len(sent())
    post_json(client, "/sign-in", {"email": "agent8800003@example.com"})
    post_json(client, "/sign-in", {"email": "agent8800003@example.com"})
    assert len(sent()) == before + 1  # the second request within a minute sends nothing
    first = link_token(sent()[before])

    clock.advance(seconds=61)
    post_json(client, "/sign-in", {"email": "agent8800003@example.com"})
    assert len(sent()) == before + 2
    second = link_token(sent()[before + 1])
    assert post_json(client, "/sign-in/session", {"token": first}).status_code == 401
    assert post_json(client, "/sign-in/session", {"token": second}).status_code == 200


def test_an_expired_link_is_refused(client: Client, clock: FakeClock) -> None:
    import_agents(client, agent("8800004"))
    before = len(sent())
    post_json(client, "/sign-in", {"email": "agent8800004@example.com"})
    link = sent()[before]  # (sent off the request path: taken once it is)
    clock.advance(minutes=21)
    response = post_json(client, "/sign-in/session", {"token": link_token(link)})
    assert response.status_code == 401
    assert json.loads(response.body)["reason"] == "token_expired"


def test_newly_eligible_agents_are_invited_by_the_sweep_once(client: Client, clock: FakeClock) -> None:
    not_yet = agent("8800006", hod_training_complete=False)
    import_agents(client, agent("8800005"), not_yet)
    before = len(sent())
    result = sweep()
    assert result["invitations"] == {"sent": 1, "failed": 0, "dropped": 0, "held": 0}
    invitation = sent()[before]
    assert invitation.destinations["ToAddresses"] == ["agent8800005@example.com"]
    assert invitation.subject == "Your Help On Demand account is ready"
    assert sweep()["invitations"]["sent"] == 0

    # Re-importing changes nothing; completing the training makes the second agent eligible, and invited
    import_agents(client, agent("8800005"), {**not_yet, "hod_training_complete": True})
    clock.advance(minutes=1)
    assert sweep()["invitations"]["sent"] == 1
    assert sent()[-1].destinations["ToAddresses"] == ["agent8800006@example.com"]

    # The activation link signs the agent in (once)
    response = post_json(client, "/sign-in/session", {"token": link_token(invitation)})
    assert response.status_code == 200
    assert json.loads(response.body)["npn"] == "8800005"


def test_a_failed_invitation_is_retried_later_not_lost(
    client: Client, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_agents(client, agent("8800007"))

    def failing(self: SesEmail, to: str, subject: str, text: str, html: str) -> str:
        raise DependencyFailed("ses", "SendEmail", "Throttling")

    with monkeypatch.context() as patch:
        patch.setattr(SesEmail, "send", failing)
        assert sweep()["invitations"] == {"sent": 0, "failed": 1, "dropped": 0, "held": 0}
    assert sweep()["invitations"]["sent"] == 0  # backing off
    clock.advance(minutes=2)
    before = len(sent())
    assert sweep()["invitations"]["sent"] == 1
    assert sent()[before].destinations["ToAddresses"] == ["agent8800007@example.com"]


def test_a_short_link_redirects_to_its_signed_link_until_it_expires(client: Client, clock: FakeClock) -> None:
    target = "http://hod.test/offers/view?t=v1.long-signed-token"
    short = wiring.services.short_links().shorten(target, clock.now() + timedelta(minutes=30))
    assert short.startswith("http://hod.test/l/")
    assert len(short) - len("http://hod.test") <= 15
    code = short.rsplit("/", 1)[1]

    response = client.http.get(f"/l/{code}")
    assert response.status_code == 302
    assert response.headers["Location"] == target

    assert client.http.get("/l/not-a-code").status_code == 404
    assert client.http.get("/l/bad%20code").status_code == 404
    clock.advance(minutes=31)
    assert client.http.get(f"/l/{code}").status_code == 404


def test_a_text_keeps_its_long_link_when_no_short_one_can_be_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    from hod.adapters.access import DynamoShortLinks

    def failing(self: DynamoShortLinks, code: str, target: str, expires_at: int) -> bool:
        raise DependencyFailed("dynamodb", "PutItem", "ProvisionedThroughputExceeded")

    monkeypatch.setattr(DynamoShortLinks, "put", failing)
    target = "http://hod.test/offers/view?t=v1.long"
    assert wiring.services.short_links().shorten(target, datetime(2030, 1, 1, tzinfo=UTC)) == target


def test_a_sweep_sends_at_most_its_batch_of_invitations_and_the_next_sends_the_rest(
    client: Client, clock: FakeClock
) -> None:
    # Given twelve newly eligible agents (spread over the invitation shards)
    import_agents(client, *(agent(str(8810000 + i)) for i in range(12)))
    service = wiring.services.access()
    # When a sweep may send five, it sends five; the next ones send the rest, each once
    assert service.send_due_invites(limit=5).sent == 5
    assert service.send_due_invites(limit=5).sent == 5
    assert service.send_due_invites(limit=5).sent == 2
    assert service.send_due_invites(limit=5).sent == 0
    invited = [m.destinations["ToAddresses"][0] for m in sent() if m.subject == "Your Help On Demand account is ready"]
    assert sorted(invited) == sorted(f"agent{8810000 + i}@example.com" for i in range(12))


def test_asking_for_a_link_makes_the_same_one_call_on_the_request_path_whatever_the_address(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an agent's address and an unknown one, and a record of the AWS calls made on the request's own thread
    import_agents(client, agent("8800009"))
    sent()
    request_thread = threading.get_ident()
    calls: list[str] = []
    make_call = BaseClient._make_api_call

    def recorded(self: BaseClient, operation: str, params: Any) -> Any:
        if threading.get_ident() == request_thread:
            calls.append(f"{self.meta.service_model.service_name}.{operation}")
        return make_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    before = len(sent())

    # When each asks for a sign-in link
    answers = []
    made = []
    for email in ("agent8800009@example.com", "nobody-at-all@example.com"):
        calls.clear()
        answers.append(post_json(client, "/sign-in", {"email": email}))
        made.append(list(calls))

    # Then both requests made exactly the same work: one asynchronous invoke of the notify function, no look-up
    # (so their timing cannot tell who is registered), and got the same answer
    assert made[0] == made[1] == ["lambda.Invoke"]
    assert answers[0].status_code == answers[1].status_code == 202
    assert answers[0].body == answers[1].body
    # And off the request path the agent's link was e-mailed, and nothing to the unknown address
    assert [message.destinations["ToAddresses"] for message in sent()[before:]] == [["agent8800009@example.com"]]


def test_the_sign_in_e_mail_is_in_the_language_the_agent_chose_for_pages_and_messages(
    client: Client, clock: FakeClock
) -> None:
    # Given a bilingual agent who speaks English first and has not chosen a language of pages and messages
    import_agents(client, agent("8800021", languages=["en", "es"]))
    headers = agent_headers("8800021")
    assert client.http.get("/agent/profile", headers=headers).json_body["page_language"] is None
    before = len(sent())
    # When they ask for a sign-in link
    post_json(client, "/sign-in", {"email": "agent8800021@example.com"})
    # Then it is in the first language they speak
    assert sent()[before].subject == "Your Help On Demand sign-in link"

    # When they choose Spanish for pages and messages, and save their languages in another order
    response = client.http.put(
        "/agent/profile",
        body=json.dumps({"page_language": "es", "languages": ["en", "es"]}),
        headers=headers,
    )
    assert response.status_code == 200, response.body
    assert response.json_body["page_language"] == "es"
    clock.advance(seconds=61)
    post_json(client, "/sign-in", {"email": "agent8800021@example.com"})
    # Then the next link comes in Spanish, whatever the order of the languages spoken
    assert sent()[before + 1].subject == "Su enlace para iniciar sesión en Help On Demand"


def test_a_language_of_pages_we_do_not_have_is_refused_and_changes_nothing(client: Client) -> None:
    # Given an agent
    import_agents(client, agent("8800022"))
    headers = agent_headers("8800022")
    # When they ask for pages in French (a language they may speak, but not one the pages are written in)
    response = client.http.put(
        "/agent/profile", body=json.dumps({"page_language": "fr", "languages": ["fr"]}), headers=headers
    )
    # Then it is refused, naming the field, and nothing changes
    assert response.status_code in (400, 422), response.body
    assert "page_language" in response.json_body["fields"]
    profile = client.http.get("/agent/profile", headers=headers).json_body
    assert profile["page_language"] is None
    assert profile["languages"] == ["en", "es"]
