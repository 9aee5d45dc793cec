"""Faults injected into the referral workflow's own steps: the offer round (match function), the lapses (expire),
the safety net and the reminders (notify), and the one-minute sweep (expire). Throttling, server errors and dropped
connections come from the embedded AWS as AWS words them (tests/integration/faults.py); the state machine from
template.yaml runs in moto with the real handlers, its Retry intervals compressed (and recorded) by the injector.

For every fault the referral is kept and goes on once the fault clears: the clients' retries absorb short faults,
the state machine's Retry longer ones; where every retry runs out, the referral is flagged and the sweep starts a
new execution for it. docs/faults.md tabulates them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from hod import wiring
from hod.adapters.aws import ATTEMPTS
from hod.adapters.dynamo import DYNAMODB_ATTEMPTS
from hod.domain.agent import PushDevice
from hod.domain.offer import OfferStatus
from hod.domain.referral import ReferralStatus
from hod.errors import DependencyFailed
from hod.services.sender import SendPolicy
from local.cfn import load_template
from local.iam.recorder import stack_created
from local.inproc import LocalContext
from tests.conftest import FakeClock
from tests.integration.conftest import PARAMETERS, SENDER, WINDOWS, Workflow
from tests.integration.faults import Faults, injected_faults
from tests.integration.test_api import ALWAYS, agent
from tests.integration.test_faults_requests import details
from tests.integration.test_workflow import (
    FORM,
    NEVER,
    actions,
    add_agents,
    emails_to,
    link_of,
    offer_emails_to,
    offer_status,
    submit_new,
    succeeded,
    token_of,
)

# The Retry of the Offer task and of the lapses: 2 s, doubling, six retries (statemachine/referral.asl.json)
SIX_RETRIES = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
SEND = ("SendFunction",)  # the send function's queue, waited on alone


@pytest.fixture
def client(workflow: Workflow) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def sweep() -> dict[str, Any]:
    """The one-minute sweep, as EventBridge runs it."""
    import expire_handler

    return dict(expire_handler.handler({"source": "aws.events"}, LocalContext("Expire")))


def status(flow: Workflow, name: str) -> str:
    return str(flow.execution(name)["status"])


def reminders_to(npn: str) -> list[Any]:
    return [message for message in emails_to(npn) if message.subject.startswith("Reminder")]


def accepted_by_101(workflow: Workflow, client: Client) -> str:
    """A referral 101 was offered and accepted (the first reminder is due 2 seconds later)."""
    add_agents(("101", "78701", ALWAYS))
    rid = submit_new(client)
    answer = client.http.post("/offers/accept", body=f"t={token_of(link_of('101', workflow))}", headers=FORM)
    assert answer.status_code == 200, answer.body
    return rid


# ----- the offer round (match function) --------------------------------------------------------------------------
def test_a_throttled_read_of_the_available_now_index_is_retried_and_the_offer_made(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an available agent, and DynamoDB throttling the match function's reads of the available-now index twice
    add_agents(("101", "78701", ALWAYS))
    throttled = faults.throttle(
        "dynamodb", "Query", times=2, by="MatchFunction", containing=workflow.env["HOD_AVAILABLE_TABLE"]
    )
    # When a consumer submits
    rid = submit_new(client)
    # Then the client retried and the offer was made and sent in the first attempt of the round
    workflow.wait_for(lambda: offer_emails_to("101"), what="the offer e-mail to 101")
    assert throttled.faulted == 2
    assert faults.waited("states") == []
    assert offer_status(rid, "101") is OfferStatus.PENDING


def test_an_offer_round_whose_write_stays_unavailable_is_retried_by_the_state_machine(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given DynamoDB answering 500 to the offer's transaction two times more than the client's attempts
    add_agents(("101", "78701", ALWAYS))
    failing = faults.unavailable("dynamodb", "TransactWriteItems", times=DYNAMODB_ATTEMPTS + 2, by="MatchFunction")
    # When a consumer submits
    rid = submit_new(client)
    # Then the round failed once (DependencyFailed), the state machine retried it after 2 seconds, and the retry
    # made the offer (its client absorbing the last two): one offer, sent once, the audit trail opened once
    workflow.wait_for(lambda: offer_emails_to("101"), what="the offer e-mail to 101")
    assert (failing.faulted, failing.passed) == (DYNAMODB_ATTEMPTS + 2, 1)
    assert faults.waited("states") == [2.0]
    trail = actions(client, rid)
    assert (trail.count("workflow.started"), trail.count("offer.made"), len(offer_emails_to("101"))) == (1, 1, 1)


def test_an_offer_round_that_keeps_failing_is_flagged_when_its_retries_run_out_and_the_sweep_restarts_it(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given DynamoDB throttling every read of the available-now index by the match function, until it clears
    add_agents(("101", "78701", ALWAYS))
    outage = faults.throttle(
        "dynamodb", "Query", times=None, by="MatchFunction", containing=workflow.env["HOD_AVAILABLE_TABLE"]
    )
    rid = submit_new(client)
    # When every retry has run out (six, 2 s to 64 s apart), the execution fails and the referral is flagged
    workflow.wait_for(lambda: status(workflow, rid) == "FAILED", timeout=30, what="the execution to fail")
    assert faults.waited("states") == SIX_RETRIES
    assert wiring.adapters.referral_store().round_failed(10) == [rid]
    assert details(rid, "workflow.round_failed")[0]["error"] == "DependencyFailed"
    # When the fault clears, the next sweep starts a new execution that makes the offer
    outage.clear()
    assert sweep()["workflows_started"] == 1
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert sorted(execution["name"] for execution in workflow.executions()) == [rid, f"{rid}-run1"]


def test_a_throttled_offer_is_retried_on_every_channel_and_sent_by_email_text_and_push(
    workflow: Workflow, faults: Faults, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given app push configured (Pinpoint stood in for: moto does not implement SendMessages) and an agent who
    # takes e-mail, texts and push; SES, SNS and Pinpoint each throttling the match function once
    monkeypatch.setenv("HOD_PINPOINT_APP_ID", "hodapp0001")
    stack_created(boto3.session.Session(), load_template(), {**PARAMETERS, **WINDOWS, "PinpointAppId": "hodapp0001"})
    wiring.reset()
    pushed: list[dict[str, Any]] = []

    def delivered(request: dict[str, Any]) -> dict[str, Any]:
        pushed.append(request)
        results = {token: {"DeliveryStatus": "SUCCESSFUL", "StatusCode": 200} for token in request["Addresses"]}
        return {"ApplicationId": "hodapp0001", "Result": results}

    faults.stand_in("pinpoint", "SendMessages", delivered)
    service = wiring.services.agents()
    service.import_agents([agent("101", contact_method="email_text_app", phone="(512) 555-0142")])
    add_agents(("101", "78701", ALWAYS))
    service.register_device("101", PushDevice(platform="fcm", token="device-token-0101"))
    rules = [
        faults.throttle("sesv2", "SendEmail", times=1, by="MatchFunction"),
        faults.throttle("sns", "Publish", times=1, by="MatchFunction"),
        faults.throttle("pinpoint", "SendMessages", times=1, by="MatchFunction"),
    ]
    # When a consumer submits
    rid = submit_new(client)
    # Then each channel's call was retried once, and the offer went over all three
    workflow.wait_for(lambda: pushed, what="the offer to be sent (the push goes last)")
    assert details(rid, "offer.made")[0]["channels"] == ["email", "text", "app"]
    assert details(rid, "offer.notified") == []  # every channel took it in the end: no outcome needs a record
    assert [(rule.faulted, rule.passed) for rule in rules] == [(1, 1), (1, 1), (1, 1)]
    assert len(pushed) == 1
    texts = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
    assert [number for number, *_ in texts].count("+15125550142") == 1


def test_an_offer_whose_link_cannot_be_signed_is_not_recorded_until_it_can_be_sent(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given a match function that cannot read the signing key (Secrets Manager throttling it), until it clears
    add_agents(("101", "78701", ALWAYS))
    outage = faults.throttle("secrets-manager", "GetSecretValue", times=None, by="MatchFunction")
    rid = submit_new(client)
    workflow.wait_for(
        lambda: outage.faulted >= ATTEMPTS["secretsmanager"], what="a round to fail on the signing key (every attempt)"
    )
    # When the fault clears
    outage.clear()
    # Then the retried round records the offer and sends it: the agent is told of every offer they can miss
    workflow.wait_for(lambda: offer_emails_to("101"), what="the offer to be sent")
    assert len(offer_emails_to("101")) == 1
    assert details(rid, "offer.notified") == []  # it went: the offer's own record names its channel
    assert faults.waited("states")[:1] == [2.0]
    assert actions(client, rid).count("offer.made") == 1


def test_a_hand_over_to_the_safety_net_that_stays_throttled_is_retried_by_the_state_machine(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given nobody available but an agent on the state's roster, and Step Functions throttling the match
    # function's callback (which hands the execution over to the safety net) once more than the client's attempts
    add_agents(("104", "79901", NEVER))
    throttled = faults.throttle("sfn", "SendTaskFailure", times=ATTEMPTS["stepfunctions"] + 1, by="MatchFunction")
    # When a consumer submits
    rid = submit_new(client)
    # Then the retried round hands the execution over, and the safety net's call, queued once, reaches the state's
    # agent once
    workflow.wait_for(lambda: offer_emails_to("104"), what="the safety-net e-mail to 104")
    assert throttled.faulted == ATTEMPTS["stepfunctions"] + 1
    assert faults.waited("states") == [2.0]
    trail = actions(client, rid)
    assert (trail.count("safety_net.opened"), trail.count("safety_net.queued")) == (1, 1)
    assert len(offer_emails_to("104")) == 1


def test_a_hand_over_to_the_safety_net_that_keeps_failing_still_takes_the_referral_to_the_safety_net(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given nobody available but an agent on the state's roster, and Step Functions refusing every callback the
    # match function makes (the safety net is opened in DynamoDB, but the execution never hears of it)
    add_agents(("104", "79901", NEVER))
    faults.throttle("sfn", "SendTaskFailure", times=None, by="MatchFunction")
    # When a consumer submits and the Offer task's retries run out
    rid = submit_new(client)
    # Then its lapse finds the safety net open and the execution goes there: the state's agent is called, once
    workflow.wait_for(lambda: offer_emails_to("104"), timeout=30, what="the safety-net e-mail to 104")
    assert faults.waited("states") == SIX_RETRIES
    assert status(workflow, rid) == "RUNNING"
    assert actions(client, rid).count("safety_net.opened") == 1
    assert len(offer_emails_to("104")) == 1


def test_a_throttled_invocation_of_the_offer_task_is_retried_by_the_state_machine(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given Lambda throttling the state machine's invocations of the match function twice
    add_agents(("101", "78701", ALWAYS))
    throttled = faults.throttle("lambda", "Invoke", times=2, by="ReferralWorkflow")
    # When a consumer submits
    rid = submit_new(client)
    # Then the state machine retried the Offer task (Lambda.TooManyRequestsException) and the offer was made
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert throttled.faulted == 2
    assert faults.waited("states") == [2.0, 4.0]


# ----- the lapses (expire function) ------------------------------------------------------------------------------
def test_a_throttled_lapse_is_retried_and_the_referral_moves_to_the_next_agent(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an offer to 101 nobody answers, and DynamoDB throttling the lapse's read of the referral twice
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit_new(client)
    throttled = faults.throttle("dynamodb", "Query", times=2, by="ExpireFunction", containing=rid)
    # When the window closes, the retried read marks the offer missed and 102 gets the referral
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, timeout=10, what="the offer to 102")
    assert offer_status(rid, "101") is OfferStatus.MISSED
    assert throttled.faulted == 2
    assert faults.waited("states") == []


def test_a_lapse_whose_reads_stay_unavailable_is_retried_by_the_state_machine(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an offer to 101 nobody answers, and DynamoDB failing the lapse's read two times more than the client's
    # attempts
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit_new(client)
    failing = faults.unavailable("dynamodb", "Query", times=DYNAMODB_ATTEMPTS + 2, by="ExpireFunction", containing=rid)
    # When the window closes, the lapse fails once, is retried by the state machine, and moves the referral on
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, timeout=10, what="the offer to 102")
    assert failing.faulted == DYNAMODB_ATTEMPTS + 2
    assert faults.waited("states") == [2.0]
    assert actions(client, rid).count("offer.missed") == 1


def test_a_lapse_that_keeps_failing_flags_the_referral_and_the_sweep_restarts_it(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given an offer to 101 nobody answers, and DynamoDB throttling every read the lapse makes, until it clears
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit_new(client)
    outage = faults.throttle("dynamodb", "Query", times=None, by="ExpireFunction", containing=rid)
    # When the window closes and the lapse's retries run out, the execution fails with the referral flagged
    workflow.wait_for(lambda: status(workflow, rid) == "FAILED", timeout=30, what="the execution to fail")
    assert faults.waited("states") == SIX_RETRIES
    assert wiring.adapters.referral_store().round_failed(10) == [rid]
    assert "workflow.lapse_failed" in actions(client, rid)
    # When the fault clears, the sweep restarts it: the new execution lapses the offer and moves on to 102
    outage.clear()
    assert sweep()["workflows_started"] == 1
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, timeout=15, what="the offer to 102")
    assert offer_status(rid, "101") is OfferStatus.MISSED
    assert status(workflow, f"{rid}-run1") == "RUNNING"


def test_a_safety_net_lapse_that_keeps_failing_flags_the_referral_and_the_sweep_restarts_it(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given a referral in the safety net, and DynamoDB throttling every read its lapse makes, until it clears
    add_agents(("104", "79901", NEVER))
    rid = submit_new(client)
    link_of("104", workflow)
    outage = faults.throttle("dynamodb", "GetItem", times=None, by="ExpireFunction", containing=rid)
    # When the round ends and the lapse's retries run out, the execution fails with the referral flagged
    workflow.wait_for(lambda: status(workflow, rid) == "FAILED", timeout=30, what="the execution to fail")
    assert wiring.adapters.referral_store().round_failed(10) == [rid]
    # When the fault clears, the sweep restarts it: the safety net carries on to its last round, then unserved
    outage.clear()
    assert sweep()["workflows_started"] == 1
    workflow.wait_for(lambda: succeeded(workflow, f"{rid}-run1"), timeout=30, what="the new execution to end")
    referral = wiring.adapters.referral_store().get(rid)
    assert referral is not None
    assert referral.status is ReferralStatus.UNSERVED
    assert len(offer_emails_to("104")) == 1  # the call went out once


# ----- the safety net (notify function queues the call, the send function e-mails it) ----------------------------
def safety_net_sent(flow: Workflow, referral_id: str, deliveries: int) -> list[dict[str, Any]]:
    """What the send function's deliveries of the referral's safety-net calls came to, once there are `deliveries`
    of them and the send queue is empty."""
    flow.wait_for(lambda: len(details(referral_id, "safety_net.sent")) >= deliveries, what="the calls' deliveries")
    consumers = flow.consumers
    assert consumers is not None
    # (the send queue's alone: the refresh queue may hold an agent's refresh delayed until their next change)
    flow.wait_for(lambda: consumers.idle(SEND), what="the send queue to empty")
    return details(referral_id, "safety_net.sent")


def test_a_throttled_safety_net_call_is_retried_by_the_send_function_and_sent_once(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given nobody available, an agent on the state's roster, and SES throttling the send function's bulk call once
    # (SendBulkEmail is made once by the SDK: the send function backs off itself)
    add_agents(("104", "79901", NEVER))
    throttled = faults.throttle("sesv2", "SendBulkEmail", times=1, by="SendFunction")
    # When a consumer submits, the SafetyNet task queues the call and the send function e-mails it
    rid = submit_new(client)
    workflow.wait_for(lambda: offer_emails_to("104"), what="the safety-net e-mail to 104")
    # Then the throttled call was tried again after a back-off within the same delivery, and sent once
    assert (throttled.faulted, throttled.passed) == (1, 1)
    assert [detail["recipients"] for detail in details(rid, "safety_net.queued")] == [1]
    assert safety_net_sent(workflow, rid, deliveries=1) == [{"attempt": 0, "throttled": 1, "sent": 1}]
    assert len(offer_emails_to("104")) == 1


@pytest.mark.windows(SafetyNetWindowSeconds="60")
def test_a_safety_net_call_throttled_past_the_send_functions_back_offs_is_put_off_and_sent_when_it_comes_back(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given nobody available, an agent on the state's roster (a safety-net round of a minute), and SES throttling
    # the send function's bulk call once more than it backs off within one delivery
    add_agents(("104", "79901", NEVER))
    times = SendPolicy().retries_in_place + 1
    throttled = faults.throttle("sesv2", "SendBulkEmail", times=times, by="SendFunction")
    # When a consumer submits and the call is queued
    rid = submit_new(client)
    # Then the first delivery gives up for now: the message is put off (left on the queue, out of sight), not
    # deleted; when it comes back, the call is sent, once
    workflow.wait_for(lambda: offer_emails_to("104"), what="the safety-net e-mail to 104")
    assert (throttled.faulted, throttled.passed) == (times, 1)
    assert safety_net_sent(workflow, rid, deliveries=2) == [
        {"attempt": 0, "throttled": times, "put_off": 1},
        {"attempt": 1, "sent": 1},
    ]
    assert len(offer_emails_to("104")) == 1


@pytest.mark.parametrize(
    ("service", "operation", "containing", "times"),
    [
        ("dynamodb", "Query", "ROSTER#", DYNAMODB_ATTEMPTS),
        ("secrets-manager", "GetSecretValue", None, ATTEMPTS["secretsmanager"]),
        ("sqs", "SendMessageBatch", None, ATTEMPTS["sqs"]),
    ],
    ids=["roster-read", "signing-key", "queue-put"],
)
def test_a_safety_net_call_that_fails_past_the_client_is_retried_by_the_state_machine(
    workflow: Workflow, faults: Faults, client: Client, service: str, operation: str, containing: str, times: int
) -> None:
    # Given nobody available, an agent on the state's roster, and the SafetyNet task's call failing in every
    # attempt its client makes, once (the roster's read, the signing key for the agents' links, or the put on the
    # send queue)
    add_agents(("104", "79901", NEVER))
    failing = faults.throttle(service, operation, times=times, by="NotifyFunction", containing=containing)
    # When a consumer submits
    rid = submit_new(client)
    # Then the state machine retried the SafetyNet task, which queued the call once; it went out, once
    workflow.wait_for(lambda: offer_emails_to("104"), what="the safety-net e-mail to 104")
    assert failing.faulted == times
    assert faults.waited("states")[:1] == [2.0]
    assert [detail["recipients"] for detail in details(rid, "safety_net.queued")] == [1]
    assert safety_net_sent(workflow, rid, deliveries=1) == [{"attempt": 0, "sent": 1}]
    assert len(offer_emails_to("104")) == 1


# ----- the reminders (notify function, run by EventBridge Scheduler) ---------------------------------------------
def test_throttled_reminders_are_retried_and_both_come(workflow: Workflow, faults: Faults, client: Client) -> None:
    # Given DynamoDB (the reminder's claim), SES and EventBridge Scheduler (the second reminder's schedule) each
    # throttling the notify function once
    rules = [
        faults.throttle("dynamodb", "UpdateItem", times=1, by="NotifyFunction"),
        faults.throttle("sesv2", "SendEmail", times=1, by="NotifyFunction"),
        faults.throttle("scheduler", "CreateSchedule", times=1, by="NotifyFunction"),
    ]
    # When 101 accepts a referral and records no progress
    rid = accepted_by_101(workflow, client)
    # Then both reminders come (at 2 and 4 seconds here), each once
    workflow.wait_for(lambda: len(reminders_to("101")) == 2, timeout=15, what="two reminders")
    assert [rule.faulted for rule in rules] == [1, 1, 1]
    workflow.wait_for(lambda: actions(client, rid).count("agent.reminded") == 2, what="both on the audit trail")
    assert "reminder.not_scheduled" not in actions(client, rid)


def test_a_reminder_whose_claim_stays_unavailable_is_sent_once_when_delivered_again(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    import notify_handler

    # Given an accepted referral, and DynamoDB failing the notify function's writes to it, until it clears
    rid = accepted_by_101(workflow, client)
    outage = faults.unavailable("dynamodb", "UpdateItem", times=None, by="NotifyFunction", containing=rid)
    # When the first reminder's delivery fails (nothing was claimed, nothing sent)
    workflow.wait_for(
        lambda: outage.faulted >= DYNAMODB_ATTEMPTS, timeout=10, what="the reminder's delivery to fail (every attempt)"
    )
    assert reminders_to("101") == []
    outage.clear()
    # Then delivered again (Lambda retries a failed asynchronous invocation), it is sent, once
    event = {"task": "reminder", "referral_id": rid, "after_minutes": 15, "agent_npn": "101"}
    assert notify_handler.handler(event, LocalContext("Notify"))["reminded"] is True
    assert notify_handler.handler(event, LocalContext("Notify")) == {"reminded": False}
    assert [detail["after_minutes"] for detail in details(rid, "agent.reminded")].count(15) == 1


def test_a_reminder_that_cannot_be_scheduled_is_flagged_and_scheduled_by_the_first_sweep_after_the_outage(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    from local.scheduler import fire_due

    # Given EventBridge Scheduler refusing every CreateSchedule, for everyone, until it clears
    outage = faults.unavailable("scheduler", "CreateSchedule", times=None)
    # When 101 accepts a referral, the acceptance stands; the reminder is recorded as not scheduled, and flagged
    rid = accepted_by_101(workflow, client)
    assert details(rid, "reminder.not_scheduled") == [{"after_minutes": 15, "agent_npn": "101"}]
    assert wiring.adapters.workflow_store().reminders_unscheduled(10) == [rid]
    # When the sweep runs during the outage, the reminder stays flagged
    assert sweep()["reminders_rescheduled"] == 1
    assert wiring.adapters.workflow_store().reminders_unscheduled(10) == [rid]
    # When the outage ends, the next sweep schedules it (a minute on: its time has passed), once
    outage.clear()
    assert sweep()["reminders_rescheduled"] == 1
    assert wiring.adapters.workflow_store().reminders_unscheduled(10) == []
    assert sweep()["reminders_rescheduled"] == 0
    # And when it falls due, 101 is reminded
    assert fire_due(datetime.now(UTC) + timedelta(minutes=2)) == 1
    workflow.wait_for(lambda: reminders_to("101"), what="the reminder")
    assert [detail["after_minutes"] for detail in details(rid, "agent.reminded")][:1] == [15]


# ----- the one-minute sweep (expire function) --------------------------------------------------------------------
def flagged_unstarted(client: Client, faults: Faults) -> str:
    """A referral whose workflow could not start at intake (Step Functions down), flagged for the sweep."""
    add_agents(("101", "78701", ALWAYS))
    outage = faults.unavailable("sfn", "StartExecution", times=None, by="IntakeFunction")
    rid = submit_new(client)
    outage.clear()
    assert wiring.adapters.referral_store().unstarted(10) == [rid]
    return rid


def test_a_throttled_sweep_is_retried_and_starts_the_flagged_referral(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given a referral flagged by the intake, and DynamoDB throttling the sweep's reads of the flags twice
    rid = flagged_unstarted(client, faults)
    throttled = faults.throttle("dynamodb", "Query", times=2, by="ExpireFunction", containing="unstarted")
    # When the sweep runs, it starts the referral's workflow
    assert sweep()["workflows_started"] == 1
    assert throttled.faulted == 2
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")


def test_a_sweep_whose_reads_stay_unavailable_fails_and_the_next_one_starts_the_flagged_referral(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given a referral flagged by the intake, and DynamoDB failing every read of the flags, until it clears
    rid = flagged_unstarted(client, faults)
    outage = faults.unavailable("dynamodb", "Query", times=None, by="ExpireFunction", containing="unstarted")
    # When the sweep runs during the outage, it fails (EventBridge runs it again a minute later) and changes nothing
    with pytest.raises(DependencyFailed):
        sweep()
    assert wiring.adapters.referral_store().unstarted(10) == [rid]
    # When the next sweep runs after the outage, it starts the referral
    outage.clear()
    assert sweep()["workflows_started"] == 1
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")


def test_a_restart_that_cannot_start_is_flagged_again_and_the_next_sweep_restarts_it(
    workflow: Workflow, faults: Faults, client: Client
) -> None:
    # Given a referral whose offer round kept failing (flagged by its failed execution)
    add_agents(("101", "78701", ALWAYS))
    broken = faults.throttle(
        "dynamodb", "Query", times=None, by="MatchFunction", containing=workflow.env["HOD_AVAILABLE_TABLE"]
    )
    rid = submit_new(client)
    workflow.wait_for(lambda: status(workflow, rid) == "FAILED", timeout=30, what="the execution to fail")
    broken.clear()
    # When the sweep runs while Step Functions refuses every StartExecution, the referral is flagged again
    outage = faults.unavailable("sfn", "StartExecution", times=None, by="ExpireFunction")
    assert sweep()["workflows_started"] == 0
    assert wiring.adapters.referral_store().round_failed(10) == [rid]
    assert "workflow.restart_failed" in actions(client, rid)
    # When the outage ends, the next sweep restarts it and the offer is made
    outage.clear()
    assert sweep()["workflows_started"] == 1
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")


def invitations_to(npn: str) -> list[Any]:
    """The account invitations ("Your … account is ready") e-mailed to the agent."""
    return [message for message in emails_to(npn) if message.subject.endswith("ready")]


def test_an_invitation_whose_link_cannot_be_signed_stays_queued_and_a_later_sweep_sends_it(
    stack: dict[str, str],
) -> None:
    # Given a newly eligible agent (an account invitation queued), and Secrets Manager throttling the sweep's
    # reads of the signing key, until it clears
    clock = FakeClock()
    wiring.use_clock(clock)
    boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER)
    wiring.services.agents().import_agents([agent("8800101")])
    with injected_faults() as faults:
        outage = faults.throttle("secrets-manager", "GetSecretValue", times=None, by="ExpireFunction")
        # When the sweep runs during the outage, the invitation fails (nothing was sent) and stays queued
        assert sweep()["invitations"] == {"sent": 0, "failed": 1, "dropped": 0, "held": 0}
        assert outage.faulted == ATTEMPTS["secretsmanager"]
        outage.clear()
        # When a sweep runs after its back-off, it sends it
        clock.advance(minutes=2)
        assert sweep()["invitations"] == {"sent": 1, "failed": 0, "dropped": 0, "held": 0}
    invited = [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages if m.subject.endswith("ready")]
    assert [m.destinations["ToAddresses"] for m in invited] == [["agent8800101@example.com"]]


def test_an_invitation_whose_email_stays_throttled_is_held_and_the_send_function_sends_it_once(
    workflow: Workflow, faults: Faults
) -> None:
    # Given a newly eligible agent (an account invitation queued), and SES throttling every e-mail the sweep sends
    # and, until it clears, every e-mail the send function sends
    wiring.services.agents().import_agents([agent("8800101")])
    sweeping = faults.throttle("sesv2", "SendEmail", times=None, by="ExpireFunction")
    sending = faults.throttle("sesv2", "SendEmail", times=None, by="SendFunction")
    # When the sweep runs, SES refuses the invitation in every attempt of the client: it is held on the send queue
    # (not failed, not dropped)
    assert sweep()["invitations"] == {"sent": 0, "failed": 0, "dropped": 0, "held": 1}
    assert sweeping.faulted == ATTEMPTS["sesv2"]
    # And the send function, throttled in turn, puts it off (nothing sent)
    workflow.wait_for(lambda: sending.faulted >= ATTEMPTS["sesv2"], what="the held invitation to be throttled")
    assert invitations_to("8800101") == []
    # When SES takes the send function's e-mail again, the invitation is sent, once; no later sweep sends another
    sending.clear()
    workflow.wait_for(lambda: invitations_to("8800101"), what="the invitation")
    assert workflow.consumers is not None
    consumers = workflow.consumers
    workflow.wait_for(lambda: consumers.idle(SEND), what="the send queue to empty")
    assert sweep()["invitations"] == {"sent": 0, "failed": 0, "dropped": 0, "held": 0}
    assert len(invitations_to("8800101")) == 1
