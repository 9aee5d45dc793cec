"""Notifications: the agent's preferred contact method decides the channels; a failing channel loses nothing;
a retried invocation sends nothing twice; no personal data reaches the logs."""

from __future__ import annotations

import html
import json
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from hod import wiring
from hod.adapters.aws import SnsText, client
from hod.domain.agent import PushDevice
from hod.domain.availability import WeeklySchedule
from hod.domain.offer import OfferStatus
from hod.domain.referral import ConsumerRequest
from hod.errors import DependencyFailed
from local.cfn import load_template
from local.iam.recorder import stack_created
from local.inproc import LocalContext
from tests.integration.conftest import PARAMETERS, SENDER
from tests.integration.test_api import ALWAYS, agent

DEVICE = PushDevice(platform="fcm", token="device-token-0001")


@pytest.fixture(autouse=True)
def push_configured(stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """App push configured, with Pinpoint's answers stubbed (moto does not implement send_messages)."""
    monkeypatch.setenv("HOD_PINPOINT_APP_ID", "hodapp0001")
    # (as if deployed with PinpointAppId=hodapp0001: the IAM check resolves the policies with it)
    stack_created(boto3.session.Session(), load_template(), {**PARAMETERS, "PinpointAppId": "hodapp0001"})
    client("sesv2").create_email_identity(EmailIdentity=SENDER)
    wiring.reset()
    stubber = Stubber(client("pinpoint"))
    with stubber:
        yield stubber


def expect_push(stubber: Stubber, token: str = DEVICE.token) -> None:
    stubber.add_response(
        "send_messages",
        {
            "MessageResponse": {
                "ApplicationId": "hodapp0001",
                "Result": {token: {"DeliveryStatus": "SUCCESSFUL", "StatusCode": 200}},
            }
        },
        {
            "ApplicationId": "hodapp0001",
            "MessageRequest": {
                "Addresses": {token: {"ChannelType": "GCM"}},
                "MessageConfiguration": {
                    "DefaultPushNotificationMessage": {"Title": ANY, "Body": ANY, "Action": "OPEN_APP"}
                },
            },
        },
    )


def emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def texts() -> list[tuple[str, str]]:
    return [(m[0], m[1]) for m in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()]


def offered(contact_method: str, phone: str = "(512) 555-0142") -> tuple[str, str]:
    """An agent with this contact method and a registered phone, and a fresh referral near them (its receipt, a
    text: the consumer gave no e-mail, already sent by the intake). (npn, referral id)"""
    npn = str(100 + len(emails()) + len(texts()))
    service = wiring.services.agents()
    assert service.import_agents([agent(npn, contact_method=contact_method, phone=phone)]).summary["created"] == 1
    service.set_weekly_schedule(npn, WeeklySchedule.model_validate(ALWAYS))
    service.register_device(npn, DEVICE)
    request = ConsumerRequest(first_name="Rosa", last_name="Díaz", phone="5125550188", zip="78702", language="es")
    rid = wiring.services.intake().submit(request).referral_id
    return npn, rid


def offer_event(rid: str, token: str = "t") -> dict[str, Any]:
    """The Offer task's input for a referral's first round, as the state machine passes it."""
    referral = wiring.adapters.referral_store().get(rid)
    assert referral is not None
    start = wiring.services.intake().workflow_start(referral, {}, referral.created_at)
    return {"task": "offer", "task_token": token, "execution": "run", "state": start.model_dump(mode="json")}


def offer(rid: str) -> dict[str, Any]:
    """Run the Offer task (match, record the offer, send it) as the state machine would."""
    import match_handler

    return match_handler.handler(offer_event(rid), LocalContext("Match"))


def agent_texts() -> list[tuple[str, str]]:
    return [(phone, body) for phone, body in texts() if phone == "+15125550142"]


def notify(event: dict[str, Any]) -> dict[str, Any]:
    import notify_handler

    return notify_handler.handler(event, LocalContext("Notify"))


@pytest.mark.parametrize(
    ("method", "channels"),
    [
        ("email_text_app", {"email", "text", "app"}),
        ("email_text", {"email", "text"}),
        ("email_app", {"email", "app"}),
        ("email_only", {"email"}),
    ],
)
def test_the_offer_goes_exactly_over_the_preferred_channels(
    push_configured: Stubber, method: str, channels: set[str]
) -> None:
    npn, rid = offered(method)
    if "app" in channels:
        expect_push(push_configured)
    result = offer(rid)
    assert result["agent_npn"] == npn
    assert set(result["outcomes"]) == channels
    assert set(result["outcomes"].values()) == {"sent"}
    assert [m.destinations["ToAddresses"] for m in emails()] == [[f"agent{npn}@example.com"]]
    assert len(agent_texts()) == (1 if "text" in channels else 0)
    push_configured.assert_no_pending_responses()
    if "text" in channels:
        phone, body = agent_texts()[0]
        assert phone == "+15125550142"
        assert "Austin, TX" in body
        # The text carries a short link (one SMS segment's worth of message) that leads to the e-mail's signed link
        short = re.search(r"http://hod\.test/l/([A-Za-z0-9_\-]+)$", body)
        assert short, body
        assert len(body) <= 160
        assert wiring.services.short_links().resolve(short.group(1)) == signed_link_in(emails()[0].body)


def signed_link_in(body: str) -> str:
    found = re.search(r'href="([^"]+/offers/view\?t=[^"]+)"', body)
    assert found, body
    return html.unescape(found.group(1))


def test_a_failing_text_channel_still_delivers_the_email_and_the_referral_proceeds(
    push_configured: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    npn, rid = offered("email_text")

    def broken(self: SnsText, phone: str, text: str) -> str:
        raise DependencyFailed("sns", "Publish", "Throttling")

    monkeypatch.setattr(SnsText, "send", broken)
    result = offer(rid)
    assert result["outcomes"] == {"email": "sent", "text": "failed"}
    assert len(emails()) == 1
    notified = [e for e in wiring.adapters.referral_store().audit_trail(rid) if e.action == "offer.notified"]
    assert notified[0].detail == {"agent_npn": npn, "email": "sent", "text": "failed"}
    # The agent can still accept from the e-mail
    accepted = wiring.workflow.answers().accept(rid, npn, via="link")
    assert accepted.accepted_by == npn
    assert wiring.adapters.workflow_store().offer(rid, npn)[0].status is OfferStatus.ACCEPTED  # type: ignore[index]


def test_a_replayed_offer_invocation_sends_nothing_twice(push_configured: Stubber) -> None:
    import match_handler

    npn, rid = offered("email_text_app")
    expect_push(push_configured)
    event = offer_event(rid)
    first = match_handler.handler(event, LocalContext("Match"))
    # (a retried task comes with a new task token; the offer keeps the newest)
    again = match_handler.handler({**event, "task_token": "t2"}, LocalContext("Match"))
    assert set(first["outcomes"].values()) == {"sent"}
    assert again["agent_npn"] == npn
    assert again["outcomes"] == {"email": "duplicate", "text": "duplicate", "app": "duplicate"}
    assert len(emails()) == 1
    assert len(agent_texts()) == 1
    assert wiring.adapters.workflow_store().offer(rid, npn)[1] == "t2"  # type: ignore[index]
    assert [e.action for e in wiring.adapters.referral_store().audit_trail(rid)].count("offer.made") == 1
    push_configured.assert_no_pending_responses()


def test_each_message_of_a_referral_is_on_its_audit_trail_by_its_channels_and_its_outcome_when_one_failed(
    push_configured: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a referral offered and accepted, the consumer without an e-mail address
    npn, rid = offered("email_text")
    offer(rid)
    wiring.workflow.answers().accept(rid, npn, via="link")
    # Then the receipt's outcomes, the offer's and the acceptance's channels are on the trail, in the decisions' own
    # records; every channel took its message, so no outcome has a record of its own
    trail = {
        e.action + (":" + e.detail["message"] if "message" in e.detail else ""): e.detail
        for e in wiring.adapters.referral_store().audit_trail(rid)
    }
    assert trail["consumer.notified"] == {"email": "suppressed", "text": "sent"}  # the receipt: no e-mail given
    assert trail["offer.made"]["channels"] == ["email", "text"]
    assert trail["offer.accepted"]["agent_channels"] == ["email", "text"]
    assert trail["offer.accepted"]["consumer_channels"] == ["text"]
    assert not {"offer.notified", "accepted.notified", "consumer.notified:agent_assigned"} & set(trail)

    # Given a second referral, accepted while texts fail
    _, rid = offered("email_text")
    npn = offer(rid)["agent_npn"]

    def broken(self: SnsText, phone: str, text: str) -> str:
        raise DependencyFailed("sns", "Publish", "InvalidParameter")

    monkeypatch.setattr(SnsText, "send", broken)
    wiring.workflow.answers().accept(rid, npn, via="link")
    notify({"task": "reminder", "referral_id": rid, "after_minutes": 15, "agent_npn": npn})
    # Then each message a channel failed has its outcomes on the trail, and the reminder its own record
    trail = {
        e.action + (":" + e.detail["message"] if "message" in e.detail else ""): e.detail
        for e in wiring.adapters.referral_store().audit_trail(rid)
    }
    assert "offer.notified" not in trail
    assert trail["accepted.notified"] == {"agent_npn": npn, "email": "sent", "text": "failed"}
    assert trail["consumer.notified:agent_assigned"] == {
        "message": "agent_assigned",
        "email": "suppressed",
        "text": "failed",
    }
    assert trail["agent.reminded"] == {"agent_npn": npn, "after_minutes": 15, "email": "sent", "text": "failed"}


def test_the_consumer_hears_in_their_language_and_learns_who_will_call(push_configured: Stubber) -> None:
    npn, rid = offered("email_only")
    offer(rid)
    wiring.workflow.answers().accept(rid, npn, via="link")
    to_consumer = [body for phone, body in texts() if phone == "+15125550188"]
    assert to_consumer[0].startswith("Help On Demand: recibimos su solicitud")
    assert "Ana García" in to_consumer[1]
    assert "(512) 555-0142" in to_consumer[1]  # the number as people write it
    confirmation = [m for m in emails() if m.destinations["ToAddresses"] == [f"agent{npn}@example.com"]][-1]
    assert "Rosa Díaz" in confirmation.body
    assert "(512) 555-0188" in confirmation.body


def test_no_personal_data_reaches_the_logs(
    push_configured: Stubber,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    from chalice.test import Client

    import app as intake_app

    # Given the service logging at INFO (whichever test made its Powertools logger, at whatever level)
    service_logger = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"])
    previous_level = service_logger.level
    service_logger.setLevel(logging.INFO)
    request.addfinalizer(lambda: service_logger.setLevel(previous_level))
    npn, _ = offered("email_text")
    with Client(intake_app.app) as http:
        body = {
            "first_name": "Zoraida",
            "last_name": "Quintanilla",
            "phone": "512-555-0177",
            "email": "zoraida.q@example.org",
            "zip": "78702",
            "language": "es",
        }
        rid = http.http.post(
            "/referrals", body=json.dumps(body), headers={"Content-Type": "application/json"}
        ).json_body["referral_id"]
        step = offer(rid)
        accepting = step["agent_npn"] or npn
        wiring.workflow.answers().accept(rid, accepting, via="link")
        notify({"task": "reminder", "referral_id": rid, "after_minutes": 15, "agent_npn": accepting})
    captured = capfd.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "referral received" in logs  # the logs were captured at all
    for private in ("Zoraida", "Quintanilla", "555-0177", "5125550177", "zoraida.q@example.org"):
        assert private not in logs
