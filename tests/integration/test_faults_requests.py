"""Faults injected into the requests people make: a consumer's referral (intake) and an agent's accept or reject,
with what each request sets off (the workflow's start, the receipt, the acceptance messages, the first reminder's
schedule). Throttling, server errors and dropped connections come from the embedded AWS as AWS words them
(tests/integration/faults.py); the state machine from template.yaml runs in moto with the real handlers.

For every fault: the referral is kept and goes on once the fault clears; a request the service could not complete
is answered 503 with nothing changed, and the same request afterwards succeeds once. docs/faults.md tabulates them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from hod import wiring
from hod.adapters.aws import ATTEMPTS
from hod.domain.offer import OfferStatus
from hod.domain.referral import ReferralStatus
from tests.integration.conftest import WINDOWS, Workflow
from tests.integration.faults import Faults
from tests.integration.test_api import ALWAYS, agent_headers, consumer
from tests.integration.test_workflow import (
    FORM,
    actions,
    add_agents,
    emails_to,
    link_of,
    offer_status,
    submit_new,
    succeeded,
    token_of,
)

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def windows() -> dict[str, str]:
    """Offer windows of 6 seconds: room for an agent's answer and its retries on a busy machine."""
    return {**WINDOWS, "OfferWindowSeconds": "6"}


@pytest.fixture
def client(workflow: Workflow) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def post_referral(client: Client, key: str, phone: str = "512-555-0177") -> Any:
    body = json.dumps(consumer(phone=phone))
    return client.http.post("/referrals", body=body, headers={**JSON, "Idempotency-Key": key})


def texts_to(phone: str) -> list[str]:
    messages = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
    return [message for number, message, *_ in messages if number == phone]


def details(referral_id: str, action: str) -> list[dict[str, Any]]:
    """The details of the referral's audit events named `action`, oldest first."""
    return [
        dict(event.detail)
        for event in wiring.adapters.referral_store().audit_trail(referral_id)
        if event.action == action
    ]


def event_detail(referral_id: str, action: str) -> dict[str, Any]:
    """The detail of the referral's first audit event named `action`."""
    return details(referral_id, action)[0]


# ----- intake: DynamoDB ------------------------------------------------------------------------------------------
def test_a_throttled_intake_write_is_retried_and_the_referral_is_stored_once(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an available agent, and DynamoDB throttling the transaction that stores a referral, twice
    add_agents(("101", "78701", ALWAYS))
    throttled = faults.throttle("dynamodb", "TransactWriteItems", times=2, containing="referral.created")
    # When a consumer submits
    rid = submit_new(client)
    # Then the client retried twice (two back-offs) and its third attempt stored it; the workflow offers it
    assert (throttled.faulted, throttled.passed) == (2, 1)
    assert len(faults.waited("botocore")) == 2
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert actions(client, rid).count("referral.created") == 1


def test_an_intake_transaction_cancelled_for_capacity_is_answered_503_and_the_same_request_then_stores_it_once(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given DynamoDB cancelling every transaction that stores a referral for want of capacity (which the client
    # does not retry: TransactionCanceledException), until it clears
    add_agents(("101", "78701", ALWAYS))
    cancelled = faults.cancel_for_capacity("dynamodb", "TransactWriteItems", times=None, by="IntakeFunction")
    # When a consumer submits
    refused = post_referral(client, key="form-1")
    # Then the transaction was sent three times, and they are asked to try again shortly (not told the referral
    # exists); nothing is stored
    assert refused.status_code == 503, refused.body
    assert refused.headers["Retry-After"] == "5"
    assert cancelled.faulted == 3
    assert wiring.adapters.referral_store().never_started(10) == []
    # When the fault clears and the form sends the same request again, it is stored once and offered
    cancelled.clear()
    stored = post_referral(client, key="form-1")
    assert stored.status_code == 201, stored.body
    rid = stored.json_body["referral_id"]
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    again = post_referral(client, key="form-1")
    assert again.json_body["referral_id"] == rid


def test_a_submission_whose_name_cannot_be_written_is_answered_503_and_a_retry_stores_the_referral_once(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given DynamoDB throttling, beyond the client's retries, every transaction that writes to the idempotency table
    # (the one that stores a referral with its submission's name)
    add_agents(("101", "78701", ALWAYS))
    table = workflow.env["HOD_IDEMPOTENCY_TABLE"]
    throttled = faults.throttle("dynamodb", "TransactWriteItems", times=None, containing=table)
    # When a consumer submits, they are asked to try again shortly, and nothing is stored: no referral, no name
    refused = post_referral(client, key="form-2")
    assert refused.status_code == 503, refused.body
    assert throttled.faulted == ATTEMPTS["dynamodb"]  # every attempt of the client
    assert wiring.adapters.referral_store().never_started(10) == []
    assert boto3.client("dynamodb").scan(TableName=table)["Items"] == []
    # When the fault clears, the same request stores the referral, its workflow runs, and a repeat answers it again
    throttled.clear()
    stored = post_referral(client, key="form-2")
    assert stored.status_code == 201, stored.body
    rid = stored.json_body["referral_id"]
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert post_referral(client, key="form-2").json_body["referral_id"] == rid


# ----- intake: Step Functions ------------------------------------------------------------------------------------
def test_a_throttled_workflow_start_is_retried_by_the_client_and_the_referral_offered(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given Step Functions throttling StartExecution once
    add_agents(("101", "78701", ALWAYS))
    throttled = faults.throttle("sfn", "StartExecution", times=1, by="IntakeFunction")
    # When a consumer submits
    rid = submit_new(client)
    # Then the start was retried and the workflow runs; nothing is flagged for the sweep
    assert (throttled.faulted, throttled.passed) == (1, 1)
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert wiring.adapters.referral_store().unstarted(10) == []
    assert "workflow.start_failed" not in actions(client, rid)


@pytest.mark.parametrize("fault", ["unavailable", "disconnect"])
def test_a_workflow_start_that_keeps_failing_leaves_the_referral_flagged_until_a_sweep_after_the_outage(
    workflow: Workflow, faults: Faults, client: Client, fault: str
) -> None:
    import expire_handler
    from local.inproc import LocalContext

    def sweep() -> int:
        return int(expire_handler.handler({"source": "aws.events"}, LocalContext("Expire"))["workflows_started"])

    # Given Step Functions failing every StartExecution (5xx, or connections dropped), for everyone
    add_agents(("101", "78701", ALWAYS))
    outage = getattr(faults, fault)("sfn", "StartExecution", times=None)
    # When a consumer submits, their referral is stored and they are told it arrived
    rid = submit_new(client)
    assert workflow.executions() == []
    assert wiring.adapters.referral_store().unstarted(10) == [rid]
    assert event_detail(rid, "consumer.notified") == {"email": "sent", "text": "sent"}
    # When the sweep runs during the outage, the referral stays flagged
    assert sweep() == 0
    assert wiring.adapters.referral_store().unstarted(10) == [rid]
    # When the outage ends, the next sweep starts it, once
    outage.clear()
    assert sweep() == 1
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert wiring.adapters.referral_store().unstarted(10) == []
    assert sweep() == 0
    assert [execution["name"] for execution in workflow.executions()] == [rid]


# ----- intake: SES and SNS (the consumer's receipt) --------------------------------------------------------------
def test_a_throttled_receipt_is_retried_and_sent_by_email_and_text(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given SES and SNS each throttling the intake once
    add_agents(("101", "78701", ALWAYS))
    email = faults.throttle("sesv2", "SendEmail", times=1, by="IntakeFunction")
    text = faults.throttle("sns", "Publish", times=1, by="IntakeFunction")
    # When a consumer submits
    rid = submit_new(client)
    # Then both messages were retried and sent, and the referral is offered
    assert (email.faulted, email.passed, text.faulted, text.passed) == (1, 1, 1, 1)
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert event_detail(rid, "consumer.notified") == {"email": "sent", "text": "sent"}


def emails_to_consumer() -> list[Any]:
    messages = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return [m for m in messages if consumer()["email"] in m.destinations.get("ToAddresses", [])]


def test_a_receipt_that_stays_throttled_is_held_and_sent_later_and_the_referral_still_offered(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given SES throttling every e-mail the intake sends, and every e-mail the send function sends until it clears
    add_agents(("101", "78701", ALWAYS))
    intake = faults.throttle("sesv2", "SendEmail", times=None, by="IntakeFunction")
    sending = faults.throttle("sesv2", "SendEmail", times=None, by="SendFunction")
    # When a consumer submits
    rid = submit_new(client)
    # Then the referral is stored and offered; the e-mail, refused in every attempt of the client, is held on the
    # send queue; the text went
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert event_detail(rid, "consumer.notified") == {"email": "held", "text": "sent"}
    assert intake.faulted == ATTEMPTS["sesv2"]
    # And the send function, throttled in turn, puts it off: nothing is sent yet
    workflow.wait_for(lambda: sending.faulted >= ATTEMPTS["sesv2"], what="the held receipt to be throttled")
    assert emails_to_consumer() == []
    # When SES takes the send function's e-mail again, the receipt goes, once, and the audit trail says so
    sending.clear()
    resent = workflow.wait_for(lambda: details(rid, "notification.resent"), what="the held receipt to be sent")
    assert [(event["message"], event["outcome"]) for event in resent] == [("received#email", "sent")]
    assert resent[0]["attempt"] >= 1
    assert len(emails_to_consumer()) == 1


# ----- accept and reject -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["throttle", "unavailable", "disconnect", "cancel_for_capacity"])
def test_an_accept_whose_write_fails_once_is_retried_and_wins(
    workflow: Workflow, faults: Faults, client: Client, fault: str
) -> None:
    # Given an offer to 101, and DynamoDB failing the accept's transaction once
    add_agents(("101", "78701", ALWAYS))
    rid = submit_new(client)
    link = link_of("101", workflow)
    failed = getattr(faults, fault)("dynamodb", "TransactWriteItems", times=1, by="IntakeFunction")
    # When 101 accepts
    answer = client.http.post("/offers/accept", body=f"t={token_of(link)}", headers=FORM)
    # Then the retried write won: 101 has the referral and the workflow ends
    assert answer.status_code == 200, answer.body
    assert failed.faulted == 1
    workflow.wait_for(lambda: succeeded(workflow, rid), what="the execution to succeed")
    assert offer_status(rid, "101") is OfferStatus.ACCEPTED


def test_an_accept_cancelled_for_capacity_is_answered_503_not_refused_and_the_same_click_then_wins(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an offer to 101, and DynamoDB cancelling the accept's transaction for want of capacity until it clears
    add_agents(("101", "78701", ALWAYS))
    rid = submit_new(client)
    link = link_of("101", workflow)
    cancelled = faults.cancel_for_capacity("dynamodb", "TransactWriteItems", times=None, by="IntakeFunction")
    # When 101 accepts, they are asked to try again shortly (not told the offer is gone), and nothing changed
    refused = client.http.post("/offers/accept", body=f"t={token_of(link)}", headers=FORM)
    assert refused.status_code == 503, refused.body
    assert "no longer open" not in refused.body.decode()
    assert offer_status(rid, "101") is OfferStatus.PENDING
    # When the fault clears and they click again, they win
    cancelled.clear()
    answer = client.http.post("/offers/accept", body=f"t={token_of(link)}", headers=FORM)
    assert answer.status_code == 200, answer.body
    workflow.wait_for(lambda: succeeded(workflow, rid), what="the execution to succeed")
    assert actions(client, rid).count("offer.accepted") == 1


def test_an_accept_whose_wake_up_call_stays_throttled_stands_and_the_execution_ends_at_the_window(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an offer to 101, and Step Functions throttling every task callback from the intake
    add_agents(("101", "78701", ALWAYS))
    rid = submit_new(client)
    link = link_of("101", workflow)
    throttled = faults.throttle("sfn", "SendTaskSuccess", times=None, by="IntakeFunction")
    # When 101 accepts
    answer = client.http.post("/offers/accept", body=f"t={token_of(link)}", headers=FORM)
    # Then the acceptance stands: 101 sees the consumer, the consumer and 101 are told, the reminder is scheduled
    assert answer.status_code == 200, answer.body
    assert "Rosa Martínez" in answer.body.decode()
    assert throttled.faulted == ATTEMPTS["stepfunctions"]  # every attempt of Step Functions' client
    trail = actions(client, rid)
    assert event_detail(rid, "offer.accepted")["agent_channels"] == ["email"]
    assert emails_to("101")[-1].subject.startswith("You accepted a referral")
    assert "reminder.not_scheduled" not in trail
    # And the waiting execution, never woken, ends when the offer window closes: its lapse finds it accepted
    workflow.wait_for(lambda: succeeded(workflow, rid), timeout=20, what="the execution to end at the window")
    referral = wiring.adapters.referral_store().get(rid)
    assert referral is not None
    assert (referral.status, referral.accepted_by) == (ReferralStatus.ACCEPTED, "101")
    assert "offer.missed" not in actions(client, rid)


def test_a_reject_whose_wake_up_call_stays_throttled_stands_and_the_next_agent_gets_it_at_the_window(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an offer to 101 and another available agent, and Step Functions throttling the intake's callbacks
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit_new(client)
    link = link_of("101", workflow)
    faults.throttle("sfn", "SendTaskFailure", times=None, by="IntakeFunction")
    # When 101 rejects, the rejection stands
    answer = client.http.post("/offers/reject", body=f"t={token_of(link)}", headers=FORM)
    assert answer.status_code == 200, answer.body
    assert offer_status(rid, "101") is OfferStatus.REJECTED
    # Then at the window's end the next agent gets the offer, and 101 is not counted as missing it
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, timeout=15, what="the offer to 102")
    assert offer_status(rid, "101") is OfferStatus.REJECTED
    profile = client.http.get("/agent/profile", headers=agent_headers("101")).json_body
    assert profile["missed_in_last_7_days"] == 0


def test_a_throttled_reject_is_retried_and_moves_the_referral_on_at_once(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an offer to 101 and another available agent; DynamoDB and Step Functions each throttling the reject once
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit_new(client)
    link = link_of("101", workflow)
    write = faults.throttle("dynamodb", "TransactWriteItems", times=1, by="IntakeFunction")
    wake = faults.throttle("sfn", "SendTaskFailure", times=1, by="IntakeFunction")
    # When 101 rejects
    answer = client.http.post("/offers/reject", body=f"t={token_of(link)}", headers=FORM)
    # Then both calls were retried and the next agent gets the offer well inside the first offer's window
    assert answer.status_code == 200, answer.body
    assert (write.faulted, wake.faulted) == (1, 1)
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, timeout=5, what="the offer to 102")


# ----- acceptance messages and the first reminder's schedule ----------------------------------------------------
def test_throttled_acceptance_messages_and_reminder_schedule_are_retried_and_the_reminder_comes(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an offer to 101; SES, SNS and EventBridge Scheduler each throttling the accept's calls once
    add_agents(("101", "78701", ALWAYS))
    rid = post_referral(client, key="form-3", phone="512-555-0177").json_body["referral_id"]
    link = link_of("101", workflow)
    rules = [
        faults.throttle("sesv2", "SendEmail", times=1, by="IntakeFunction"),
        faults.throttle("sns", "Publish", times=1, by="IntakeFunction"),
        faults.throttle("scheduler", "CreateSchedule", times=1, by="IntakeFunction"),
    ]
    # When 101 accepts
    answer = client.http.post("/offers/accept", body=f"t={token_of(link)}", headers=FORM)
    assert answer.status_code == 200, answer.body
    # Then every call was retried: the messages went, and the reminder schedule runs (2 seconds here, not 15 min)
    assert [rule.faulted for rule in rules] == [1, 1, 1]
    assert all(rule.passed >= 1 for rule in rules)
    # (every channel took its message in the end: the acceptance's own record names them, no outcome is recorded)
    assert details(rid, "consumer.notified") == [{"email": "sent", "text": "sent"}]  # the receipt
    accepted = event_detail(rid, "offer.accepted")
    assert (accepted["agent_channels"], accepted["consumer_channels"]) == (["email"], ["email", "text"])
    assert details(rid, "accepted.notified") == []
    assert len(texts_to("+15125550177")) == 2  # the receipt, then the agent's name and number

    def reminders() -> list[Any]:
        return [m for m in emails_to("101") if m.subject.startswith("Reminder")]

    workflow.wait_for(reminders, timeout=10, what="the first reminder")


# ----- sign-in: the hand-off to the notify function (Lambda) ----------------------------------------------------
def sign_in_links_to(npn: str, flow: Workflow) -> list[Any]:
    """The sign-in links e-mailed to the agent, once the asynchronous invocations have run."""
    assert flow.invocations.wait_until_idle(), "a function invoked asynchronously is still running"
    return [message for message in emails_to(npn) if "/portal#t=" in message.body]


def test_a_throttled_sign_in_hand_off_is_retried_and_the_link_is_e_mailed(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an agent, and Lambda throttling the intake's asynchronous invoke of the notify function twice
    add_agents(("101", "78701", ALWAYS))
    throttled = faults.throttle("lambda", "Invoke", times=2, by="IntakeFunction")
    # When the agent asks for a sign-in link
    answer = client.http.post("/sign-in", body=json.dumps({"email": "agent101@example.com"}), headers=JSON)
    # Then the client retried twice and its third attempt handed it off: the agent gets one link
    assert answer.status_code == 202, answer.body
    assert (throttled.faulted, throttled.passed) == (2, 1)
    assert len(sign_in_links_to("101", workflow)) == 1


def test_a_sign_in_hand_off_that_keeps_failing_is_answered_503_and_asking_again_sends_one_link(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an agent, and Lambda failing every invoke the intake makes (5xx), beyond the client's retries
    add_agents(("101", "78701", ALWAYS))
    outage = faults.unavailable("lambda", "Invoke", times=None, by="IntakeFunction")
    # When the agent asks for a sign-in link
    refused = client.http.post("/sign-in", body=json.dumps({"email": "agent101@example.com"}), headers=JSON)
    # Then they are asked to try again shortly (the request was never handed off), and nothing is sent
    assert refused.status_code == 503, refused.body
    assert "Retry-After" in refused.headers
    assert outage.faulted > 1
    assert outage.passed == 0
    assert sign_in_links_to("101", workflow) == []
    # When the outage ends and they ask again, one link is e-mailed
    outage.clear()
    answer = client.http.post("/sign-in", body=json.dumps({"email": "agent101@example.com"}), headers=JSON)
    assert answer.status_code == 202, answer.body
    assert len(sign_in_links_to("101", workflow)) == 1
