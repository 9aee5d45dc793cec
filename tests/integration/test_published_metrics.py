"""The metrics the dashboard and the alarms read are really published by the handlers: each workflow decision once,
the time to accept, the index's lag, each channel failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from botocore.stub import Stubber
from chalice.test import Client

from hod import wiring
from hod.adapters.aws import PinpointPush, SesEmail, SnsText, client
from hod.errors import DependencyFailed
from local.inproc import LocalContext
from tests.conftest import FakeClock
from tests.integration.test_api import ALWAYS, agent, agent_headers, consumer
from tests.integration.test_notifications import offer_event
from tests.integration.test_workflow import NEVER, add_agents


@pytest.fixture
def intake(stack: dict[str, str]) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


@pytest.fixture
def published(capsys: pytest.CaptureFixture[str]) -> Any:
    """What the handlers publish from now on (embedded-metric-format lines on stdout): name -> list of values."""
    Metrics().clear_metrics()  # counts a previous test left behind unpublished

    def read() -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for line in capsys.readouterr().out.splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if not isinstance(document, dict) or "_aws" not in document:
                continue
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
        return found

    return read


def ask_for_help(intake: Client) -> str:
    response = intake.http.post("/referrals", body=json.dumps(consumer()), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    return str(response.json_body["referral_id"])


def offer_round(referral_id: str, after_a_lapse: bool) -> str:
    """The workflow's Offer task, as the state machine runs it (its task token is not waited on here)."""
    import match_handler

    event = offer_event(referral_id)
    if after_a_lapse:
        event["state"]["answer"] = {"Error": "States.Timeout", "Cause": ""}
    return str(match_handler.handler(event, LocalContext("Match"))["next"])


def safety_net_round_ends(referral_id: str) -> None:
    import expire_handler

    expire_handler.handler({"task": "safety_net_lapsed", "referral_id": referral_id}, LocalContext("Expire"))


def test_a_referral_nobody_takes_is_counted_once_into_the_safety_net_and_once_unserved(
    intake: Client, published: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two safety-net rounds, and an agent who takes Texas referrals but is never available
    monkeypatch.setenv("HOD_SAFETY_NET_ROUNDS", "2")
    wiring.reset()
    add_agents(("104", "79901", NEVER))
    # When a consumer asks for help and the workflow's rounds find nobody, round after round
    rid = ask_for_help(intake)
    steps = [offer_round(rid, after_a_lapse=False)]
    safety_net_round_ends(rid)
    steps.append(offer_round(rid, after_a_lapse=True))
    safety_net_round_ends(rid)
    steps.append(offer_round(rid, after_a_lapse=True))
    assert steps == ["safety_net", "safety_net", "done"]
    # And a retried last round decides nothing new
    assert offer_round(rid, after_a_lapse=True) == "done"
    # Then the handlers published the referral, its first safety-net round (not the second) and its closing, once each
    metrics = published()
    assert metrics["ReferralsCreated"] == [1.0]
    assert metrics["ReferralsToSafetyNet"] == [1.0]
    assert metrics["ReferralsUnserved"] == [1.0]
    assert "OffersMade" not in metrics


def test_an_acceptance_publishes_the_offer_counts_and_the_time_from_request_to_acceptance(
    intake: Client, published: Any
) -> None:
    # Given an available agent and a consumer's referral offered to them
    add_agents(("101", "78701", ALWAYS))
    rid = ask_for_help(intake)
    assert offer_round(rid, after_a_lapse=False) == "offer"
    # When the agent accepts in the portal, and clicks again
    for _ in range(2):
        accepted = intake.http.post(f"/agent/referrals/{rid}/accept", headers=agent_headers("101"))
        assert accepted.status_code == 200, accepted.body
    # Then one offer made and one accepted are published, with the seconds from the request to the acceptance
    metrics = published()
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.accepted_at is not None
    assert metrics["OffersMade"] == [1.0]
    assert metrics["OffersAccepted"] == [1.0]
    assert metrics["TimeToAccept"] == [(referral.accepted_at - referral.created_at).total_seconds()]


# Tuesday 24 November 2026, 13:59 UTC = 07:59 in Austin (CST), a minute before the default hours start
BEFORE_HOURS = datetime(2026, 11, 24, 13, 59, tzinfo=UTC)


def test_the_sweep_publishes_how_long_the_oldest_change_not_yet_applied_has_been_due(
    stack: dict[str, str], published: Any
) -> None:
    import expire_handler

    # Given an Austin agent on the default hours (from 08:00), at 07:59
    clock = FakeClock(BEFORE_HOURS)
    wiring.use_clock(clock)
    assert wiring.services.agents().import_agents([agent("7", zip_code="78701")]).summary["created"] == 1
    # When the sweep runs at 07:59, nothing is due yet: no lag, and the 08:00 change is queued for the workers
    first = expire_handler.handler({}, LocalContext("Expire"))
    assert (first["index_lag_seconds"], first["queued"]) == (0, 1)
    # When it next runs at 08:01:30 and no worker has applied the change
    clock.advance(minutes=2, seconds=30)
    result = expire_handler.handler({}, LocalContext("Expire"))
    # Then the sweep answers and publishes that the change has been due 90 seconds
    assert result["index_lag_seconds"] == 90
    assert published()["AvailabilityIndexLagSeconds"] == [0.0, 90.0]


@pytest.mark.parametrize(
    ("channel", "service", "operation", "send", "metric"),
    [
        (
            "email",
            "sesv2",
            "send_email",
            lambda: SesEmail("offers@hod.test").send("a@b.org", "s", "t", "<p>t</p>"),
            "EmailFailures",
        ),
        ("text", "sns", "publish", lambda: SnsText().send("+15125550188", "t"), "TextFailures"),
        (
            "app",
            "pinpoint",
            "send_messages",
            lambda: PinpointPush("app1").send("fcm", "token", "t", "b"),
            "PushFailures",
        ),
    ],
)
def test_a_message_a_channel_fails_to_send_is_counted_for_that_channel(
    stack: dict[str, str], published: Any, channel: str, service: str, operation: str, send: Any, metric: str
) -> None:
    # Given the channel's service refusing the message
    with Stubber(client(service)) as stubber:
        stubber.add_client_error(operation, "ThrottlingException", "slow down")
        # When it is sent
        with pytest.raises(DependencyFailed):
            send()
    # Then one failure of that channel (and of no other) is published with the invocation's metrics
    Metrics().flush_metrics()
    assert {name: values for name, values in published().items() if name.endswith("Failures")} == {metric: [1.0]}
