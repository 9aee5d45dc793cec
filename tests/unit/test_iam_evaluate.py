"""The IAM check's two pure parts: which authorisations a call needs, and how IAM decides them."""

from __future__ import annotations

from typing import Any

import pytest

from local.iam.actions import Request, UnmappedCall, Where, requests_for
from local.iam.evaluate import UnsupportedPolicy, decide, statements

HERE = Where("us-east-1", "123456789012")
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/T"


def allowed(policy: list[dict[str, Any]], action: str, resource: str, **context: str) -> bool:
    labelled = statements([{"Statement": policy}])
    return decide(labelled, Request(action, resource, context), "us-east-1", "123456789012").allowed


def test_a_transaction_is_authorised_item_by_item_on_each_items_own_table() -> None:
    # Given a transaction that puts, updates, deletes and checks items in two tables
    params = {
        "TransactItems": [
            {"Put": {"TableName": "T", "Item": {}}},
            {"Update": {"TableName": "U", "Key": {}}},
            {"Delete": {"TableName": "T", "Key": {}}},
            {"ConditionCheck": {"TableName": "U", "Key": {}}},
        ]
    }
    # When its authorisations are worked out
    found = requests_for("dynamodb", "TransactWriteItems", params, HERE)
    # Then each item is its own action on its own table, and there is no TransactWriteItems action
    assert [(r.action, r.resource.rsplit("/", 1)[1]) for r in found] == [
        ("dynamodb:PutItem", "T"),
        ("dynamodb:UpdateItem", "U"),
        ("dynamodb:DeleteItem", "T"),
        ("dynamodb:ConditionCheckItem", "U"),
    ]


def test_batches_are_their_own_actions_once_per_table_and_index_queries_name_the_index() -> None:
    # Given a batch write over two tables, a batch get, and a query on an index
    write = requests_for("dynamodb", "BatchWriteItem", {"RequestItems": {"T": [], "U": []}}, HERE)
    get = requests_for("dynamodb", "BatchGetItem", {"RequestItems": {"T": {}}}, HERE)
    query = requests_for("dynamodb", "Query", {"TableName": "T", "IndexName": "by-email"}, HERE)
    # Then
    assert [r.action for r in write] == ["dynamodb:BatchWriteItem"] * 2
    assert [r.resource for r in get] == [TABLE]
    assert query == [Request("dynamodb:Query", f"{TABLE}/index/by-email")]


def test_a_text_to_a_phone_has_no_resource_while_a_topic_publish_names_the_topic() -> None:
    # Given a publish to a phone number and one to a topic
    sms = requests_for("sns", "Publish", {"PhoneNumber": "+15125550188", "Message": "hi"}, HERE)
    topic = requests_for("sns", "Publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms"}, HERE)
    # Then
    assert sms == [Request("sns:Publish", "*")]
    assert topic == [Request("sns:Publish", "arn:aws:sns:us-east-1:123456789012:alarms")]


def test_creating_a_schedule_also_passes_its_targets_role_to_the_scheduler() -> None:
    # Given a schedule with a target role
    params = {"Name": "r-1-15", "GroupName": "g", "Target": {"Arn": "x", "RoleArn": "arn:aws:iam::123456789012:role/R"}}
    # When its authorisations are worked out
    found = requests_for("scheduler", "CreateSchedule", params, HERE)
    # Then the schedule's ARN and a PassRole to scheduler.amazonaws.com are needed
    assert found == [
        Request("scheduler:CreateSchedule", "arn:aws:scheduler:us-east-1:123456789012:schedule/g/r-1-15"),
        Request("iam:PassRole", "arn:aws:iam::123456789012:role/R", {"iam:PassedToService": "scheduler.amazonaws.com"}),
    ]


@pytest.mark.parametrize(
    ("name", "qualifier", "arn"),
    [
        ("f", None, "arn:aws:lambda:us-east-1:123456789012:function:f"),
        ("f:live", None, "arn:aws:lambda:us-east-1:123456789012:function:f:live"),
        ("123456789012:function:f", "7", "arn:aws:lambda:us-east-1:123456789012:function:f:7"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:f", None, "arn:aws:lambda:eu-west-1:123456789012:function:f"),
    ],
)
def test_every_way_of_naming_a_function_becomes_its_arn(name: str, qualifier: str | None, arn: str) -> None:
    # Given an invocation naming the function by name, name and alias, partial ARN or ARN
    params = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
    # Then the authorisation is on the function's ARN
    assert requests_for("lambda", "Invoke", params, HERE) == [Request("lambda:InvokeFunction", arn)]


def test_the_sender_identity_is_the_from_address_and_push_goes_to_the_apps_messages() -> None:
    # Given an e-mail from a named sender and an app push
    email = requests_for("sesv2", "SendEmail", {"FromEmailAddress": "Help <offers@x.example>"}, HERE)
    push = requests_for("pinpoint", "SendMessages", {"ApplicationId": "abc", "MessageRequest": {}}, HERE)
    # Then
    assert email == [Request("ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/offers@x.example")]
    assert push == [
        Request("mobiletargeting:SendMessages", "arn:aws:mobiletargeting:us-east-1:123456789012:apps/abc/messages")
    ]


def test_an_operation_without_a_mapping_is_an_error_not_a_pass() -> None:
    # When a call nobody mapped is worked out
    # Then it is refused with its name
    with pytest.raises(UnmappedCall, match=r"dynamodb\.DeleteTable"):
        requests_for("dynamodb", "DeleteTable", {"TableName": "T"}, HERE)


def test_an_allow_needs_matching_action_and_resource_with_wildcards() -> None:
    # Given a statement allowing reads on one table and its indexes
    policy = [
        {"Effect": "Allow", "Action": ["dynamodb:Get*", "dynamodb:Query"], "Resource": [TABLE, f"{TABLE}/index/*"]}
    ]
    # Then actions match case-insensitively with wildcards, resources exactly or by pattern
    assert allowed(policy, "dynamodb:GetItem", TABLE)
    assert allowed(policy, "DynamoDB:query", f"{TABLE}/index/by-email")
    assert not allowed(policy, "dynamodb:PutItem", TABLE)
    assert not allowed(policy, "dynamodb:GetItem", TABLE + "2")
    assert not allowed(policy, "dynamodb:Query", TABLE.replace("table/T", "table/t"))


def test_an_explicit_deny_wins_over_any_allow() -> None:
    # Given publishing allowed everywhere but denied on every topic
    policy = [
        {"Sid": "Texts", "Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
        {"Sid": "NoTopics", "Effect": "Deny", "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:*"},
    ]
    labelled = statements([{"Statement": policy}])
    # Then a text goes, a topic publish is denied by the Deny
    assert allowed(policy, "sns:Publish", "*")
    decision = decide(labelled, Request("sns:Publish", "arn:aws:sns:us-east-1:1:t"), "us-east-1", "1")
    assert not decision.allowed
    assert decision.statement == "NoTopics"


def test_not_action_and_not_resource_invert_their_match() -> None:
    # Given an allow on everything but deletes, and a deny on everything but one table
    policy = [
        {"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": TABLE},
    ]
    # Then
    assert allowed(policy, "dynamodb:PutItem", TABLE)
    assert not allowed(policy, "dynamodb:DeleteItem", TABLE)
    assert not allowed(policy, "dynamodb:PutItem", TABLE + "2")


def test_conditions_are_evaluated_against_the_requests_keys() -> None:
    # Given a PassRole allowed only to the scheduler
    policy = [
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        }
    ]
    # Then the right service passes, another or none does not
    assert allowed(policy, "iam:PassRole", "r", **{"iam:PassedToService": "scheduler.amazonaws.com"})
    assert not allowed(policy, "iam:PassRole", "r", **{"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowed(policy, "iam:PassRole", "r")
    # And ...IfExists holds when the key is absent; Null tests presence
    if_exists = [{**policy[0], "Condition": {"StringEqualsIfExists": {"iam:PassedToService": "x"}}}]
    assert allowed(if_exists, "iam:PassRole", "r")
    absent = [{**policy[0], "Condition": {"Null": {"iam:PassedToService": "true"}}}]
    assert allowed(absent, "iam:PassRole", "r")
    assert allowed(policy, "iam:PassRole", "r", **{"iam:PassedToService": "scheduler.amazonaws.com"})


def test_a_condition_the_check_cannot_evaluate_is_an_error() -> None:
    # Given a statement with a date condition
    policy = [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "x"}}}
    ]
    # Then the check refuses to guess
    with pytest.raises(UnsupportedPolicy, match="DateLessThan"):
        allowed(policy, "s3:GetObject", "*", **{"aws:CurrentTime": "y"})
