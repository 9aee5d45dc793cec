"""The send queue and the send ledger against moto, as template.yaml declares them: the queue's FIFO groups and
redrive, the event source that runs the send function, and the ledger's claims and records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from hod import wiring
from hod.domain.sending import HeldMessage
from local.cfn import QueueSource, load_template, queue_sources
from tests.integration.conftest import PARAMETERS, Workflow, running_stack

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
HOLD = timedelta(minutes=5)


@pytest.fixture
def flow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Workflow]:
    with running_stack(monkeypatch, PARAMETERS) as harness:
        yield harness


def attributes(url: str) -> dict[str, str]:
    return dict(boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])


def test_the_send_queue_is_created_from_the_template_fifo_with_its_dead_letter_queue(flow: Workflow) -> None:
    # Given the stack created from template.yaml
    queue = attributes(flow.env["HOD_SEND_QUEUE_URL"])
    # Then the send queue is FIFO, keeps a message out of sight for six times the send function's timeout, and
    # moves a message received 100 times to a FIFO dead-letter queue
    assert queue["FifoQueue"] == "true"
    assert queue["VisibilityTimeout"] == "360"
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 100
    assert redrive["deadLetterTargetArn"].endswith(":hod-local-SendDeadLetterQueue.fifo")
    # And the send function reads it one message at a time, at most SafetyNetSenders at once, reporting failed items
    (send,) = [source for source in queue_sources(load_template()) if source.queue == "SendQueue"]
    assert send == QueueSource(
        function="SendFunction",
        event="Queued",
        queue="SendQueue",
        batch_size=1,
        report_failures=True,
        maximum_concurrency={"Ref": "SafetyNetSenders"},
        enabled=True,
    )


def held(key: str, **changes: Any) -> HeldMessage:
    values: dict[str, Any] = {
        "scope": "AGENT#101",
        "key": key,
        "label": "agent:101",
        "channel": "email",
        "to": ("agent101@example.com",),
        "subject": "s",
        "text": "t",
        "html": "<p>h</p>",
        "not_after": datetime.now(UTC) + timedelta(minutes=10),
    }
    return HeldMessage(**{**values, **changes})


def test_a_message_the_send_function_fails_stays_on_the_queue_and_a_done_one_is_deleted(flow: Workflow) -> None:
    # Given a held message the send function can send, and a message it cannot read
    queue = wiring.adapters.send_queue()
    queue.put([held("suspended:2026-11-30#email")])
    boto3.client("sqs").send_message(
        QueueUrl=flow.env["HOD_SEND_QUEUE_URL"],
        MessageBody='{"kind": "unknown"}',
        MessageGroupId="broken",
        MessageDeduplicationId="broken",
    )
    # When the event source has handed both to the send function
    assert flow.consumers is not None
    consumers = flow.consumers
    flow.wait_for(lambda: consumers.invocations >= 2, what="both messages to be handled")

    # Then the sent one is gone, and the unreadable one stays on the queue for its next delivery (then the redrive):
    # out of sight until its visibility timeout ends, visible again after it (a loaded machine may get there first)
    def on_the_queue() -> int:
        counts = attributes(flow.env["HOD_SEND_QUEUE_URL"])
        return int(counts["ApproximateNumberOfMessages"]) + int(counts["ApproximateNumberOfMessagesNotVisible"])

    flow.wait_for(lambda: on_the_queue() == 1, timeout=30, what="the sent message to be deleted")
    assert on_the_queue() == 1
    ledger = wiring.adapters.send_ledger()
    assert ledger.recorded([("AGENT#101", "suspended:2026-11-30#email")]) == {
        ("AGENT#101", "suspended:2026-11-30#email")
    }


def test_the_same_message_put_twice_within_minutes_is_queued_once(flow: Workflow) -> None:
    # Given the send function stopped, a held message put twice (a retried put)
    assert flow.consumers is not None
    flow.consumers.stop()
    message = held("missed:101#email")
    wiring.adapters.send_queue().put([message])
    wiring.adapters.send_queue().put([message])
    # Then the queue holds it once
    assert attributes(flow.env["HOD_SEND_QUEUE_URL"])["ApproximateNumberOfMessages"] == "1"


def test_a_ledger_claim_keeps_others_off_until_it_is_recorded_given_back_or_lapsed(flow: Workflow) -> None:
    ledger = wiring.adapters.send_ledger()
    send = ("r-1", "missed:101#email")
    # A first claim holds the send; nobody else gets it while it is held
    assert ledger.claim(*send, "a", NOW, HOLD)
    assert not ledger.claim(*send, "b", NOW + timedelta(minutes=1), HOLD)
    assert ledger.recorded([send]) == set()
    # Given back by another holder: nothing happens; by its holder: free again
    ledger.release(*send, "b")
    assert not ledger.claim(*send, "b", NOW + timedelta(minutes=1), HOLD)
    ledger.release(*send, "a")
    assert ledger.claim(*send, "b", NOW + timedelta(minutes=1), HOLD)
    # A holder that died: its claim lapses, and the send can be made again
    assert ledger.claim(*send, "c", NOW + timedelta(minutes=7), HOLD)
    # Recorded: done for good
    ledger.record([send])
    assert ledger.recorded([send, ("r-1", "other#email")]) == {send}
    assert not ledger.claim(*send, "d", NOW + timedelta(days=1), HOLD)


def test_a_ledger_entry_written_before_claims_lapsed_counts_as_sent(flow: Workflow) -> None:
    # Given a ledger entry in the form this ledger replaced (claimed before sending, never recorded)
    boto3.client("dynamodb").put_item(
        TableName=flow.env["HOD_REFERRALS_TABLE"],
        Item={
            "pk": {"S": "r-1"},
            "sk": {"S": "SEND#safety_net:101#email"},
            "doc": {"S": "{}"},
            "status": {"S": "claimed"},
        },
    )
    ledger = wiring.adapters.send_ledger()
    # Then it is not sent again
    assert not ledger.claim("r-1", "safety_net:101#email", "a", NOW + timedelta(days=1), HOLD)
    assert ledger.recorded([("r-1", "safety_net:101#email")]) == {("r-1", "safety_net:101#email")}
