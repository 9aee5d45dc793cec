"""Counting AWS calls from botocore events: every client is seen, calls land in their scope, units are DynamoDB's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws

from benchmarks.counting import CallLog
from benchmarks.motoproxy import aws_url
from benchmarks.tables import IndexedTable, global_indexes, item_size, table_shapes
from hod.adapters.available import DynamoAvailableIndex
from hod.ports.agents import Placement
from local.cfn import dynamodb_tables, load_template


def test_item_sizes_follow_dynamodb_rules() -> None:
    # Given items with strings, numbers, booleans, lists and maps
    # Then names and values count as DynamoDB counts them
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # (5 digits + 1) / 2 + 1
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 2 + 1 + 2 + 1
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"s": {"S": "ñ"}}) == 1 + 2  # UTF-8 bytes, not characters


def test_pynamodb_and_boto3_calls_are_counted_in_their_scope(counted: tuple[CallLog, str]) -> None:
    # Given the index adapter (pynamodb) and a plain boto3 client, both created after the hook
    log, table = counted
    index = DynamoAvailableIndex(table)
    client = boto3.client("dynamodb")
    mark = log.mark()
    # When one scope writes and queries through the adapter, and a call is made outside any scope
    with log.scope("match"):
        index.replace((), [Placement("TX#es", f"9v6kp{n:04d}#{n}", str(n), 30.0, -97.0, 5) for n in range(30)])
        index.query("TX#es", "9v6k")
        index.query_page("TX#es", "9v6k", 4)
    client.describe_table(TableName=table)
    calls = log.since(mark)
    # Then the scoped calls are there with their operation (the write's, then the summary's upkeep, then the
    # queries); the unscoped one is recorded but not returned
    assert [c.name for c in calls[:2]] == ["dynamodb.BatchWriteItem", "dynamodb.BatchWriteItem"]
    assert [c.name for c in calls[-2:]] == ["dynamodb.Query"] * 2
    assert [c.items_read for c in calls[-2:]] == [30, 4]
    assert log.calls[-1].name == "dynamodb.DescribeTable"
    assert log.calls[-1].scope is None


def test_read_and_write_units_are_what_dynamodb_would_bill(counted: tuple[CallLog, str]) -> None:
    # Given a client created after the hook
    log, table = counted
    client = boto3.client("dynamodb")
    big = "x" * 2500
    mark = log.mark()
    with log.scope("units"):
        # When a 2.5 KB item is put, read strongly and eventually, queried, and written in a transaction
        client.put_item(TableName=table, Item={"area": {"S": "A"}, "cell": {"S": "c1"}, "doc": {"S": big}})
        client.get_item(TableName=table, Key={"area": {"S": "A"}, "cell": {"S": "c1"}}, ConsistentRead=True)
        client.get_item(TableName=table, Key={"area": {"S": "A"}, "cell": {"S": "missing"}})
        client.query(
            TableName=table,
            KeyConditionExpression="area = :a",
            ExpressionAttributeValues={":a": {"S": "A"}},
        )
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"area": {"S": "A"}, "cell": {"S": "c2"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"area": {"S": "A"}, "cell": {"S": "c1"}},
                        "UpdateExpression": "SET #s = :s",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":s": {"S": "ok"}},
                    }
                },
            ]
        )
    units: dict[str, Any] = {c.operation + str(i): (c.read_units, c.write_units) for i, c in enumerate(log.since(mark))}
    # Then: 3 WRU for the put (2.5 KB), 1 RRU strongly / 0.5 eventually (even for a missing item),
    # 0.5 for the eventually consistent Query, and 2 x (1 + 3) WRU for the transaction
    assert units == {
        "PutItem0": (0.0, 3),
        "GetItem1": (1.0, 0.0),
        "GetItem2": (0.5, 0.0),
        "Query3": (0.5, 0.0),
        "TransactWriteItems4": (0.0, 8),
    }


def test_the_proxy_finds_the_aws_endpoint_from_the_signature() -> None:
    # Given SigV4 Authorization headers for DynamoDB, SES v2 and IAM
    def signed(region: str, service: str) -> str:
        return f"AWS4-HMAC-SHA256 Credential=AKID/20261125/{region}/{service}/aws4_request, Signature=x"

    # Then each request goes to the URL the service answers on
    assert aws_url(signed("us-east-1", "dynamodb"), "/") == "https://dynamodb.us-east-1.amazonaws.com/"
    assert (
        aws_url(signed("us-east-1", "ses"), "/v2/email/outbound-emails")
        == "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails"
    )
    assert aws_url(signed("us-east-1", "iam"), "/") == "https://iam.amazonaws.com/"
    with pytest.raises(ValueError, match="SigV4"):
        aws_url("Bearer token", "/")


def referrals_table(log: CallLog, shapes: Callable[[Any, str], dict[str, IndexedTable]]) -> str:
    """The referrals table as the template defines it, in moto; the log knows the tables `shapes` gives."""
    template = load_template()
    kwargs = dynamodb_tables(template, "count-")["ReferralsTable"]
    boto3.client("dynamodb").create_table(**kwargs)
    log.indexes.update(shapes(template, "count-"))
    return str(kwargs["TableName"])


def test_index_writes_are_counted_from_the_items_before_and_after_each_write() -> None:
    # Given the referrals table as the template defines it, its indexes known to the log
    log = CallLog()
    with mock_aws(), log.install():
        table = referrals_table(log, global_indexes)
        client = boto3.client("dynamodb")
        head = {"pk": {"S": "R#1"}, "sk": {"S": "HEAD"}, "needs_start": {"S": "1"}, "status": {"S": "new"}}
        offer = {"pk": {"S": "R#1"}, "sk": {"S": "OFFER#1"}, "agent_npn": {"S": "101"}, "offered_at": {"S": "t1"}}
        mark = log.mark()
        with log.scope("units"):
            # When a head enters `unstarted`, an offer enters `by-agent` (in one transaction), the head leaves
            # `unstarted` by an update, the offer's `by-agent` key changes, an audit event (no index key) is
            # written, and the offer is deleted
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": head}},
                    {"Put": {"TableName": table, "Item": offer}},
                ]
            )
            client.update_item(
                TableName=table, Key={"pk": head["pk"], "sk": head["sk"]}, UpdateExpression="REMOVE needs_start"
            )
            client.update_item(
                TableName=table,
                Key={"pk": offer["pk"], "sk": offer["sk"]},
                UpdateExpression="SET offered_at = :t",
                ExpressionAttributeValues={":t": {"S": "t2"}},
            )
            client.batch_write_item(
                RequestItems={
                    table: [
                        {"PutRequest": {"Item": {"pk": {"S": "R#1"}, "sk": {"S": "EVENT#1"}}}},
                        {"DeleteRequest": {"Key": {"pk": offer["pk"], "sk": offer["sk"]}}},
                    ]
                }
            )
        calls = log.since(mark)
    # Then each call's index writes are those of the rule, one unit per small entry
    assert [dict(c.index_writes) for c in calls] == [
        {"ReferralsTable.unstarted": 1, "ReferralsTable.by-agent": 1},
        {"ReferralsTable.unstarted": 1},
        {"ReferralsTable.by-agent": 2},
        {"ReferralsTable.by-agent": 1},
    ]
    # And the base table's units are unchanged by them
    assert [c.write_units for c in calls] == [4, 1, 1, 2]


def test_units_are_split_by_the_partition_that_consumed_them() -> None:
    # Given the referrals table as the template defines it, every table known to the log, partitions recorded
    log = CallLog(partitions=True)
    with mock_aws(), log.install():
        table = referrals_table(log, table_shapes)
        client = boto3.client("dynamodb")
        head = {"pk": {"S": "R#1"}, "sk": {"S": "HEAD"}, "report_day": {"S": "2026-11-24#03"}}
        head |= {"report_at": {"S": "2026-11-24T15:00"}, "status": {"S": "new"}}
        mark = log.mark()
        with log.scope("units"):
            # When a head is put in a transaction, moved to another day's shard, read, and its index queried
            client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": head}}])
            client.update_item(
                TableName=table,
                Key={"pk": head["pk"], "sk": head["sk"]},
                UpdateExpression="SET report_day = :d",
                ExpressionAttributeValues={":d": {"S": "2026-11-25#03"}},
            )
            client.get_item(TableName=table, Key={"pk": head["pk"], "sk": head["sk"]}, ConsistentRead=True)
            client.query(
                TableName=table,
                IndexName="by-day",
                KeyConditionExpression="#d = :d AND report_at > :t",
                ExpressionAttributeNames={"#d": "report_day"},
                ExpressionAttributeValues={":d": {"S": "2026-11-25#03"}, ":t": {"S": "2026"}},
            )
        calls = log.since(mark)
    uses = [(u.table, u.index, u.key, u.read_units, u.write_units) for c in calls for u in c.partitions]
    # Then the put costs the table's partition 2 units (a transaction) and the index's day partition 1; the move
    # deletes the entry from the first day's partition and puts it in the second's; reads land where they read
    assert uses == [
        ("ReferralsTable", "", "R#1", 0.0, 2),
        ("ReferralsTable", "by-day", "2026-11-24#03", 0.0, 1),
        ("ReferralsTable", "", "R#1", 0.0, 1),
        ("ReferralsTable", "by-day", "2026-11-24#03", 0.0, 1),
        ("ReferralsTable", "by-day", "2026-11-25#03", 0.0, 1),
        ("ReferralsTable", "", "R#1", 1.0, 0.0),
        ("ReferralsTable", "by-day", "2026-11-25#03", 0.5, 0.0),
    ]
    # And the calls' own totals are the sums of their partitions'
    assert [c.write_units + c.index_write_units for c in calls] == [3, 3, 0, 0]
