"""Sending under AWS's rate limits, end to end: the state machine from template.yaml in moto, the SafetyNet task
queuing the calls, the send queue's event source running the send function (at most SafetyNetSenders at once), SES
bulk sending — with SES refusing whatever goes beyond a rate (local/ses.py's fault adapter), and DynamoDB refusing
some requests (local/faults.py)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from hod import wiring
from hod.adapters.aws import SystemClock
from hod.domain.availability import WeeklySchedule
from hod.domain.referral import ReferralStatus
from hod.domain.sending import call_key, ledger_scope
from hod.services.notifier import CLAIM_HOLD
from local.faults import throttle_dynamodb
from local.ses import SendingQuota, received, throttle
from tests.integration.conftest import PARAMETERS, Workflow, running_stack
from tests.integration.test_api import ALWAYS, agent, consumer
from tests.integration.test_workflow import FORM, NEVER, token_of

# The senders pace themselves to 20 recipients a second; SES, below, lets only 8 through: throttling is certain.
SENDING = {"SesSendRate": "20", "SafetyNetSenders": "2"}
# (no direct offer is made here: nobody is available; a long window keeps a slowed first round from racing it)
WINDOWS = {"OfferWindowSeconds": "60", "SafetyNetWindowSeconds": "600", "SafetyNetRounds": "1"}
SES_ALLOWS = 8.0
SDK_BACK_OFF_S = 6  # SES's client: 3 attempts, back-off with jitter of at most 1 s, then 2 s, between them


@pytest.fixture
def throttled(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Workflow, SendingQuota]]:
    with (
        running_stack(monkeypatch, {**PARAMETERS, **WINDOWS, **SENDING}) as harness,
        throttle(SES_ALLOWS, SystemClock()) as quota,
    ):
        yield harness, quota


@pytest.fixture
def shut_ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Workflow, SendingQuota]]:
    """SES refusing every message (rate 0) until the test opens it; offers last 20 seconds."""
    windows = {"OfferWindowSeconds": "20", "SafetyNetWindowSeconds": "600", "SafetyNetRounds": "1"}
    with (
        running_stack(monkeypatch, {**PARAMETERS, **windows, **SENDING}) as harness,
        throttle(0, SystemClock()) as quota,
    ):
        yield harness, quota


@pytest.fixture
def client() -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def texas_agents(count: int) -> list[str]:
    """`count` agents taking Texas referrals, none available now; a third speak only Spanish."""
    npns = [str(700 + i) for i in range(count)]
    service = wiring.services.agents()
    records = [agent(npn, languages=["es"] if i % 3 == 0 else ["en", "es"]) for i, npn in enumerate(npns)]
    assert service.import_agents(records).summary["refused"] == 0
    for npn in npns:
        service.set_weekly_schedule(npn, WeeklySchedule.model_validate(NEVER))
    return npns


def submit(client: Client) -> str:
    response = client.http.post("/referrals", body=json.dumps(consumer()), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    return str(response.json_body["referral_id"])


def calls_received() -> Counter[str]:
    """Safety-net calls and offers (e-mails with a link to a referral) by recipient address."""
    return received("/offers/view?t=")


def sent_events(referral_id: str) -> list[dict[str, Any]]:
    return [
        dict(event.detail)
        for event in wiring.adapters.workflow_store().audit_trail(referral_id)
        if event.action == "safety_net.sent"
    ]


def settled(flow: Workflow) -> bool:
    assert flow.consumers is not None
    return flow.consumers.idle(("SendFunction",))


def test_the_fan_out_survives_injected_throttling_without_loss_or_duplicates(
    throttled: tuple[Workflow, SendingQuota], client: Client
) -> None:
    flow, quota = throttled
    # Given 130 agents taking Texas referrals, none of them available now
    npns = texas_agents(130)
    # When a consumer in Austin asks for help: nobody qualifies, so the safety net calls the whole roster, while SES
    # refuses whatever goes beyond 8 recipients a second (the senders aim at 20) and DynamoDB refuses one request
    # in seven
    with throttle_dynamodb(every=7) as refused:
        rid = submit(client)
        flow.wait_for(lambda: sum(calls_received().values()) >= 130, timeout=120, what="every agent's call")
        flow.wait_for(lambda: settled(flow), timeout=60, what="the send queue to empty")
    # Then SES throttled calls and destinations, DynamoDB requests were refused, and still every agent got the call
    # exactly once
    assert quota.refused_calls + quota.throttled_entries > 0
    assert refused.count > 0
    received = calls_received()
    assert set(received) == {f"agent{npn}@example.com" for npn in npns}
    assert set(received.values()) == {1}
    # And every call is recorded as sent in the ledger, and the audit trail accounts for all of them
    events = sent_events(rid)
    assert sum(event.get("sent", 0) for event in events) == 130
    assert sum(event.get("throttled", 0) for event in events) > 0
    ledger = wiring.adapters.send_ledger()
    for npn in npns[:5]:
        assert not ledger.claim(ledger_scope(rid, npn), call_key(npn), "someone else", SystemClock().now(), CLAIM_HOLD)
    # And the first agent to answer still takes the referral
    link = _link_to(npns[17], rid)
    assert client.http.post("/offers/accept", body=f"t={link}", headers=FORM).status_code == 200
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.status is ReferralStatus.ACCEPTED


def test_calls_still_queued_when_an_agent_accepts_are_not_sent_late(
    throttled: tuple[Workflow, SendingQuota], client: Client
) -> None:
    flow, _ = throttled
    # Given 120 agents taking Texas referrals, none available, and SES letting through 8 recipients a second
    texas_agents(120)
    rid = submit(client)
    # When the first agent called accepts, while most calls still wait on the queue
    first = flow.wait_for(lambda: next(iter(calls_received()), None), timeout=60, what="a first call")
    link = _link_to(first.removeprefix("agent").removesuffix("@example.com"), rid)
    assert client.http.post("/offers/accept", body=f"t={link}", headers=FORM).status_code == 200
    at_acceptance = sum(calls_received().values())
    flow.wait_for(lambda: settled(flow), timeout=60, what="the send queue to empty")
    # Then at most the calls already on their way go out (one call's worth per sender), the rest are dropped
    late_sent = sum(calls_received().values()) - at_acceptance
    assert late_sent <= 2 * 10
    events = sent_events(rid)
    assert sum(event.get("late", 0) for event in events) > 0
    accounted = sum(event.get(key, 0) for event in events for key in ("sent", "late", "unreachable"))
    assert accounted == 120
    assert sum(calls_received().values()) < 120


def offer_outcomes(referral_id: str, action: str) -> list[dict[str, Any]]:
    return [
        dict(event.detail)
        for event in wiring.adapters.workflow_store().audit_trail(referral_id)
        if event.action == action
    ]


def test_an_offer_its_channel_refused_when_due_is_held_and_sent_within_its_window(
    shut_ses: tuple[Workflow, SendingQuota], client: Client
) -> None:
    flow, quota = shut_ses
    # Given an available agent, and SES refusing every message (still refusing after the SDK's retries)
    # When a consumer asks for help, the offer's e-mail is held on the send queue instead of failing
    rid = offer_held(flow, client)
    # When SES takes messages again, within the offer's window
    quota.rate = 50
    # Then the send function sends it, once, and the trail says so
    assert held_offer_outcomes(flow, rid) == ["sent"]
    assert calls_received()["agent101@example.com"] == 1


def test_an_offer_held_until_its_window_closed_is_not_sent_late(
    shut_ses: tuple[Workflow, SendingQuota], client: Client
) -> None:
    flow, quota = shut_ses
    # Given an available agent, SES refusing every message, and an offer to the agent held on the send queue
    rid = offer_held(flow, client)
    # When SES takes messages again only after the offer's window closed
    flow.wait_for(
        lambda: wiring.adapters.workflow_store().offer(rid, "101")[0].status.value == "missed",
        timeout=60,
        what="the offer to lapse",
    )
    # (the state machine's timer may close the window a moment before the deadline the offer stored, and a try that
    # began before the deadline keeps going through the SDK's few seconds of back-off: wait past both)
    settled = wiring.adapters.workflow_store().offer(rid, "101")[0].deadline + timedelta(seconds=SDK_BACK_OFF_S)
    flow.wait_for(lambda: SystemClock().now() > settled, timeout=30, what="the offer's deadline to pass")
    quota.rate = 50
    # Then the held offer is dropped as late, never sent
    assert held_offer_outcomes(flow, rid) == ["late"]
    assert calls_received()["agent101@example.com"] == 0


def offer_held(flow: Workflow, client: Client) -> str:
    """Agent 101 available, a consumer asking for help while SES refuses everything: the offer is held. The
    referral's id."""
    add_available("101")
    rid = submit(client)
    notified = flow.wait_for(lambda: offer_outcomes(rid, "offer.notified"), what="the offer to be notified")
    assert notified[0]["email"] == "held"
    return rid


def held_offer_outcomes(flow: Workflow, referral_id: str) -> list[str]:
    """What became of the offer to agent 101 held on the send queue, once the send function settled it."""
    resent = flow.wait_for(
        lambda: [e for e in offer_outcomes(referral_id, "notification.resent") if e["message"] == "offer:101#email"],
        timeout=120,
        what="the held offer to be settled",
    )
    return [event["outcome"] for event in resent]


def add_available(npn: str) -> None:
    service = wiring.services.agents()
    assert service.import_agents([agent(npn, contact_method="email_only")]).summary["refused"] == 0
    service.set_weekly_schedule(npn, WeeklySchedule.model_validate(ALWAYS))


def _link_to(npn: str, referral_id: str) -> str:
    for message in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages:
        if (
            f"agent{npn}@example.com" in message.destinations.get("ToAddresses", [])
            and "/offers/view?t=" in message.body
        ):
            start = message.body.index("/offers/view?t=") + len("/offers/view?t=")
            return token_of("t=" + message.body[start:].split('"', 1)[0].replace("&amp;", "&"))
    raise AssertionError(f"no call to agent {npn} for {referral_id}")
