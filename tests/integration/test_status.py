"""The consumer's status link end to end: the receipt carries it, the page and its JSON twin show each stage and never
change anything, and "Nobody has called me" after the contact-by time (the state machine from template.yaml running
in moto, the handlers in-process)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from hod import wiring
from hod.domain.referral import ReferralStatus
from tests.integration.conftest import Workflow
from tests.integration.faults import Faults
from tests.integration.test_api import ALWAYS, agent_headers, consumer
from tests.integration.test_workflow import FORM, actions, add_agents, link_of, token_of

# The contact-by time is FollowUpSeconds after the acceptance: ten minutes here, so that no reminder fires during a
# test and the clock the service reads is moved past it instead
CONTACT = {"FollowUpSeconds": "600", "OfferWindowSeconds": "60"}


@dataclass
class MovableClock:
    """The system clock, moved forward by hand (the service's clock; the state machine keeps real time)."""

    ahead: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
def clock(workflow: Workflow) -> MovableClock:
    moved = MovableClock()
    wiring.use_clock(moved)
    return moved


@pytest.fixture
def client(workflow: Workflow) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def submit(client: Client, **fields: Any) -> dict[str, Any]:
    response = client.http.post(
        "/referrals", body=json.dumps(consumer(**fields)), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def status_json(client: Client, token: str) -> tuple[int, Any]:
    response = client.http.get(f"/status.json?t={token}")
    return response.status_code, response.json_body


def status_page(client: Client, token: str) -> tuple[int, str]:
    response = client.http.get(f"/status?t={token}")
    return response.status_code, response.body.decode()


def stage(client: Client, token: str) -> str:
    return str(status_json(client, token)[1]["stage"])


def accepted_by(client: Client, workflow: Workflow, npn: str) -> None:
    answer = client.http.post("/offers/accept", body=f"t={token_of(link_of(npn, workflow))}", headers=FORM)
    assert answer.status_code == 200, answer.body


def receipt_link(address: str) -> str:
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    bodies = [m.body for m in sent if address in m.destinations.get("ToAddresses", [])]
    found = [re.search(r'href="[^"]*/status\?t=([^"]+)"', body) for body in bodies]
    tokens = [match.group(1) for match in found if match]
    assert tokens, "no receipt with a status link"
    return tokens[0]


def asked_and_offered(client: Client, workflow: Workflow, *agents: tuple[str, str]) -> tuple[str, str]:
    """Agents (npn, ZIP) available around the clock, and a consumer's request offered to the first: its status
    token and referral id."""
    add_agents(*((npn, zip_code, ALWAYS) for npn, zip_code in agents))
    receipt = submit(client)
    workflow.wait_for(lambda: link_of(agents[0][0], workflow), what="the offer")
    return receipt["status_token"], receipt["referral_id"]


def reminded(referral_id: str, after_minutes: int, npn: str) -> dict[str, Any]:
    """The notify function run as the reminder schedule made at `npn`'s acceptance runs it."""
    import notify_handler
    from local.inproc import LocalContext

    event = {"task": "reminder", "referral_id": referral_id, "after_minutes": after_minutes, "agent_npn": npn}
    return dict(notify_handler.handler(event, LocalContext("Notify")))


def not_called(client: Client, token: str) -> tuple[int, str]:
    answer = client.http.post("/status", body=f"t={token}", headers=FORM)
    return answer.status_code, answer.body.decode()


@pytest.mark.windows(**CONTACT)
def test_the_receipts_link_shows_each_stage_from_searching_to_completed(workflow: Workflow, client: Client) -> None:
    # Given an available agent in Austin, and a consumer who asks for help
    add_agents(("101", "78701", ALWAYS))
    receipt = submit(client)
    # Then the receipt e-mail and the confirmation both carry a status link, to the same referral
    token = receipt_link("rosa@example.org")
    assert receipt["status_link"].endswith(f"/status?t={receipt['status_token']}")
    # While the offer is open the request is "searching", in Spanish (the consumer's language)
    workflow.wait_for(lambda: link_of("101", workflow), what="the offer")
    code, answer = status_json(client, token)
    assert code == 200
    assert answer["stage"] == "searching"
    assert answer["language"] == "es"
    assert answer["agent"] is None
    code, page = status_page(client, receipt["status_token"])
    assert code == 200
    assert 'lang="es"' in page
    assert "Estamos buscando un agente" in page
    # When the agent accepts: their first name and business phone, and the contact-by time in Central time
    accepted_by(client, workflow, "101")
    answer = status_json(client, token)[1]
    assert answer["stage"] == "accepted"
    assert answer["agent"] == {"first_name": "Ana", "phone": "(512) 555-0142", "phone_tel": "+15125550142"}
    referral = wiring.adapters.workflow_store().get(receipt["referral_id"])
    assert referral is not None
    assert referral.accepted_at is not None
    assert datetime.fromisoformat(answer["contact_by"]) == referral.accepted_at + timedelta(seconds=600)
    assert answer["contact_by_local"].endswith("(hora del Centro)")
    assert answer["can_report_not_called"] is False
    page = status_page(client, token)[1]
    assert 'href="tel:+15125550142"' in page
    assert "(512) 555-0142" in page
    # Nothing the consumer entered is repeated, and no agent detail but these
    assert "García" not in page
    assert "Martínez" not in page
    assert "agent101@example.com" not in page
    # When the agent records progress, then completion, the page follows
    for status, expected in (("in_progress", "in_progress"), ("completed", "completed")):
        body: dict[str, Any] = {"status": status}
        if status == "completed":
            body["outcome"] = "selected_marketplace_qhp"
        answer = client.http.post(
            f"/agent/referrals/{receipt['referral_id']}/status", body=json.dumps(body), headers=agent_headers("101")
        )
        assert answer.status_code == 200, answer.body
        assert stage(client, token) == expected
    # And reading the page never wrote anything
    assert actions(client, receipt["referral_id"]).count("consumer.not_called") == 0


def test_a_referral_nobody_can_take_now_says_when_a_call_can_be_expected(workflow: Workflow, client: Client) -> None:
    # Given no agent at all in Texas, a consumer asks for help (in English)
    receipt = submit(client, language="en")
    token = receipt["status_token"]
    # Then the request goes to the safety net, and its status says when matching runs again and until when
    workflow.wait_for(lambda: stage(client, token) == "safety_net", what="the safety net")
    answer = status_json(client, token)[1]
    net = answer["safety_net"]
    asked, again, until = (datetime.fromisoformat(net[key]) for key in ("asked_at", "next_search_at", "tries_until"))
    assert again - asked == timedelta(seconds=3)  # the safety-net window (conftest.WINDOWS)
    assert until - asked == timedelta(seconds=6)  # both rounds (SafetyNetRounds 2) still to go
    assert answer["call_center"]["phone"] == "1-800-318-2596"
    assert answer["call_center"]["tty"] == "1-855-889-4325"
    page = status_page(client, token)[1]
    assert "No agent is available right now" in page
    assert "1-800-318-2596" in page
    assert "usually call within minutes" not in page
    # When both rounds pass with nobody answering, the request is closed and the Call Center named
    workflow.wait_for(lambda: stage(client, token) == "unserved", timeout=60, what="the referral to be unserved")
    page = status_page(client, token)[1]
    assert "We could not find an agent in time" in page
    assert "1-855-889-4325" in page


def test_a_link_that_is_forged_expired_or_for_another_purpose_shows_a_clear_page_and_changes_nothing(
    workflow: Workflow, client: Client, clock: MovableClock
) -> None:
    # Given a referral and its status link
    token, rid = asked_and_offered(client, workflow, ("101", "78701"))
    offer_link = link_of("101", workflow)
    before = actions(client, rid)
    # When the token is tampered with, or missing: a 401 page in the browser's language
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "", "v1.e30.AAAA"):
        response = client.http.get(f"/status?t={bad}", headers={"Accept-Language": "es-MX,es;q=0.9"})
        assert response.status_code == 401
        assert "Este enlace no es válido" in response.body.decode()
        assert status_json(client, bad)[0] == 401
    # When an agent's offer link is used as a status link: refused as well
    assert status_json(client, token_of(offer_link))[0] == 401
    # When another referral's link is used, it shows that referral, not this one
    other = submit(client, first_name="Luis", phone="512-555-0123", language="en")
    assert status_json(client, other["status_token"])[1]["language"] == "en"
    assert status_json(client, token)[1]["language"] == "es"
    # When thirty days have passed, the link has expired
    clock.ahead = timedelta(days=30, seconds=1)
    response = client.http.get(f"/status?t={token}")
    assert response.status_code == 401
    assert "This link has expired" in response.body.decode()
    clock.ahead = timedelta(0)
    # And a not-called report with a bad token is refused without a change
    assert not_called(client, tampered)[0] == 401
    assert actions(client, rid)[: len(before)] == before
    assert "consumer.not_called" not in actions(client, rid)


def agent_emails(npn: str, subject_part: str) -> list[Any]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return [
        m
        for m in sent
        if f"agent{npn}@example.com" in m.destinations.get("ToAddresses", []) and subject_part in m.subject
    ]


@pytest.mark.windows(**CONTACT)
def test_nobody_has_called_me_is_refused_before_the_contact_by_time_and_recorded_once_after_it(
    workflow: Workflow, client: Client, clock: MovableClock
) -> None:
    # Given a referral an agent accepted
    token, rid = asked_and_offered(client, workflow, ("101", "78701"))
    accepted_by(client, workflow, "101")
    # When the consumer says nobody called before the contact-by time: refused, nothing recorded or sent
    code, page = not_called(client, token)
    assert code == 409
    assert "El agente todavía tiene hasta las" in page
    assert "consumer.not_called" not in actions(client, rid)
    assert 'id="not-called"' not in status_page(client, token)[1]
    # When the contact-by time has passed: the page offers the button
    clock.ahead = timedelta(seconds=601)
    assert status_json(client, token)[1]["can_report_not_called"] is True
    assert 'id="not-called"' in status_page(client, token)[1]
    # Then pressing it records the report, reminds the agent, and the referral stays theirs (policy remind)
    code, page = not_called(client, token)
    assert code == 200
    assert "Le recordamos a Ana que le llame ahora" in page
    trail = wiring.adapters.workflow_store().audit_trail(rid)
    reports = [event for event in trail if event.action == "consumer.not_called"]
    assert len(reports) == 1
    assert reports[0].detail["agent_npn"] == "101"
    assert reports[0].detail["policy"] == "remind"
    assert any(e.action == "agent.reminded" and e.detail.get("reason") == "not_called" for e in trail)
    assert len(agent_emails("101", "says nobody has called")) == 1
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.status is ReferralStatus.ACCEPTED
    assert referral.accepted_by == "101"
    # When pressed again: refused, still one report and one reminder
    code, page = not_called(client, token)
    assert code == 409
    assert "Ya nos lo dijo" in page
    assert actions(client, rid).count("consumer.not_called") == 1
    assert len(agent_emails("101", "says nobody has called")) == 1
    assert status_json(client, token)[1]["not_called_reported"] is True


@pytest.mark.windows(NotCalledPolicy="reassign", **CONTACT)
def test_under_the_reassign_policy_nobody_has_called_me_sends_the_referral_to_the_next_agent(
    workflow: Workflow, client: Client, clock: MovableClock
) -> None:
    # Given two agents, the nearest of whom accepted and did not call by the contact-by time
    token, rid = asked_and_offered(client, workflow, ("101", "78701"), ("102", "78205"))
    accepted_by(client, workflow, "101")
    workflow.wait_for(lambda: workflow.execution(rid)["status"] == "SUCCEEDED", what="the first execution to end")
    clock.ahead = timedelta(seconds=601)
    # (its first reminder went at the contact-by time, as R12's schedule does; its second is still to come)
    assert reminded(rid, 15, "101") == {"reminded": True, "outcomes": {"email": "sent"}}
    # When the consumer says nobody called
    code, page = not_called(client, token)
    # Then the referral is searching again, the first agent told it is no longer theirs
    assert code == 200
    assert "estamos buscando otro agente" in page
    assert stage(client, token) == "searching"
    assert len(agent_emails("101", "has gone to another agent")) == 1
    # And the sweep starts its next round as after a failed one: the next agent gets the offer and accepts
    assert wiring.services.intake().start_unstarted() == 1
    accepted_by(client, workflow, "102")
    answer = status_json(client, token)[1]
    assert answer["stage"] == "accepted"
    assert answer["agent"]["first_name"] == "Ana"
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.accepted_by == "102"
    # And the first acceptance's second reminder, when its schedule fires, reminds nobody: the referral is not
    # 101's any more, and it is not 102's reminder
    to_102 = len(agent_emails("102", "Reminder"))
    assert reminded(rid, 30, "101") == {"reminded": False}
    assert len(agent_emails("102", "Reminder")) == to_102
    assert len(agent_emails("101", "Reminder")) == 1
    # And the new acceptance has reminders of its own, scheduled for 102 and sent to 102, once
    group = workflow.env["HOD_REMINDER_GROUP"]
    names = {s["Name"] for s in boto3.client("scheduler").list_schedules(GroupName=group)["Schedules"]}
    assert f"r-{rid}-15-102" in names
    assert reminded(rid, 15, "102") == {"reminded": True, "outcomes": {"email": "sent"}}
    assert reminded(rid, 15, "102") == {"reminded": False}
    assert len(agent_emails("102", "Reminder")) == to_102 + 1
    trail = actions(client, rid)
    assert trail.count("consumer.not_called") == 1
    assert trail.count("referral.reassigned") == 1
    assert "workflow.restarted" in trail


@pytest.mark.windows(**CONTACT)
def test_a_failing_write_of_the_report_loses_nothing_and_it_can_be_made_again(
    workflow: Workflow, client: Client, clock: MovableClock, faults: Faults
) -> None:
    # Given an accepted referral past its contact-by time
    token, rid = asked_and_offered(client, workflow, ("101", "78701"))
    accepted_by(client, workflow, "101")
    clock.ahead = timedelta(seconds=601)
    # When DynamoDB keeps failing the report's transaction
    rule = faults.unavailable("dynamodb", "TransactWriteItems", times=None)
    code, _ = not_called(client, token)
    # Then the consumer is told to try again, and the referral is as it was: accepted, nothing recorded or sent
    assert code == 503
    rule.clear()
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.status is ReferralStatus.ACCEPTED
    assert referral.accepted_by == "101"
    assert "consumer.not_called" not in actions(client, rid)
    assert agent_emails("101", "says nobody has called") == []
    # When it clears, the report goes through once
    assert not_called(client, token)[0] == 200
    assert actions(client, rid).count("consumer.not_called") == 1
