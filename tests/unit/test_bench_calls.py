"""The referrals benchmark's call figures: the calls besides the messages, the messages, and the calls made one
after another from the consumer's request to the offer, all read from the recorded calls."""

from __future__ import annotations

from typing import Any

from benchmarks import cost
from benchmarks.counting import Call
from benchmarks.referrals import _summarise, sequential_calls_to_offer

INTAKE, OFFER, ACCEPT = "IntakeFunction POST /referrals", "MatchFunction offer", "IntakeFunction POST /offers/accept"


def call(scope: str, name: str) -> Call:
    service, operation = name.split(".")
    return Call(service, operation, scope)


def recorded() -> list[Call]:
    """One referral as the harness records it: the match task's calls land between the intake's (another thread)."""
    return [
        call(INTAKE, "dynamodb.TransactWriteItems"),
        call(INTAKE, "sesv2.SendEmail"),
        call(INTAKE, "sns.Publish"),
        call(INTAKE, "sfn.StartExecution"),
        call(OFFER, "dynamodb.Query"),
        call(INTAKE, "dynamodb.UpdateItem"),  # after the start: not on the way to the offer
        call(OFFER, "dynamodb.BatchGetItem"),
        call(OFFER, "dynamodb.TransactWriteItems"),
        call(OFFER, "sesv2.SendEmail"),
        call(OFFER, "dynamodb.BatchWriteItem"),  # after the offer was sent
        call(ACCEPT, "dynamodb.TransactWriteItems"),
        call(ACCEPT, "sesv2.SendEmail"),
        call("NotifyFunction reminder", "dynamodb.UpdateItem"),
    ]


def run(calls: list[Call]) -> dict[str, Any]:
    return {"calls": calls, "invocations": [], "transitions": 1, "status": "SUCCEEDED"}


def test_the_sequential_calls_to_the_offer_follow_the_chain_from_the_request_to_the_offers_message() -> None:
    # Given a referral's calls in the order they were recorded
    calls = recorded()
    # When the calls one after another up to the offer are counted
    counted = sequential_calls_to_offer(calls)
    # Then they are the intake's four up to and including the start, and the round's four up to and including the
    # offer's e-mail: what the intake did after the start and the round after sending are not on the way
    assert counted == 4 + 4


def test_without_a_start_or_an_offer_there_is_no_chain_to_count() -> None:
    # Given a referral whose start, or whose offer, was never recorded
    no_start = [c for c in recorded() if c.name != "sfn.StartExecution"]
    no_offer = [c for c in recorded() if not (c.scope == OFFER and c.name == "sesv2.SendEmail")]
    # Then neither has a count
    assert sequential_calls_to_offer(no_start) is None
    assert sequential_calls_to_offer(no_offer) is None


def test_calls_are_counted_besides_the_messages_and_every_breakdown_agrees() -> None:
    # Given three runs of one path
    summary = _summarise([run(recorded())] * 3)
    # Then the messages are counted apart, the calls besides them are what the breakdowns add up to, the follow-up
    # is apart from both, and the sequential count is there per run
    assert (summary["calls"], summary["message_calls"], summary["all_calls"]) == (8, 4, 12)
    assert summary["calls_each_run"] == [8, 8, 8]
    assert sum(summary["by_operation"].values()) == summary["calls"]
    assert sum(sum(names.values()) for names in summary["by_scope"].values()) == summary["calls"]
    assert summary["messages_by_scope"][ACCEPT] == {"sesv2.SendEmail": 1}
    assert summary["follow_up_calls"] == 1
    assert summary["sequential_calls_to_offer"] == 8


def test_the_cost_model_bills_lambda_time_for_every_call_the_messages_included() -> None:
    # Given a path's calls besides the messages, and all of them
    path = {**_summarise([run(recorded())]), "log_bytes": 0}
    # Then the network time billed is for all its calls, the follow-up's included
    seconds = cost.usage(path)["lambda_arm64_gb_seconds"] / cost.MEMORY_GB
    assert round(seconds, 3) == round((12 + 1) * cost.NETWORK_MS / 1000, 3)
