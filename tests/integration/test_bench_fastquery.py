"""The benchmark's faster moto Query must answer exactly as moto's own Query does."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from benchmarks.fastquery import fast_queries
from local.cfn import dynamodb_tables, load_template

ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"


@pytest.fixture
def table() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        kwargs = dynamodb_tables(load_template(), "fq-")["AvailableAgentsTable"]
        client = boto3.client("dynamodb")
        client.create_table(**kwargs)
        yield client, str(kwargs["TableName"])


def _fill(client: Any, name: str, rng: random.Random, count: int) -> list[tuple[str, str]]:
    keys = []
    for i in range(count):
        area = rng.choice(["TX#en", "TX#es", "FL#en", "ROSTER#TX"])
        cell = "".join(rng.choice(ALPHABET[:6]) for _ in range(rng.randint(2, 9))) + f"#{i:05d}"
        keys.append((area, cell))
        client.put_item(
            TableName=name,
            Item={"area": {"S": area}, "cell": {"S": cell}, "npn": {"S": f"{i:05d}"}, "until": {"N": str(i)}},
        )
    return keys


def _requests(name: str, rng: random.Random, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = []
    for _ in range(150):
        area = rng.choice(["TX#en", "TX#es", "FL#en", "ROSTER#TX", "OK#en"])
        kind = rng.choice(["begins", "begins", "between", "all", "filter"])
        values: dict[str, Any] = {":a": {"S": area}}
        condition = "area = :a"
        if kind == "begins":
            condition += " AND begins_with(cell, :p)"
            values[":p"] = {"S": "".join(rng.choice(ALPHABET[:6]) for _ in range(rng.randint(1, 3)))}
        elif kind == "between":
            low, high = sorted(rng.choice(ALPHABET[:6]) + rng.choice(ALPHABET[:6]) for _ in range(2))
            condition += " AND cell BETWEEN :l AND :h"
            values |= {":l": {"S": low}, ":h": {"S": high}}
        request: dict[str, Any] = {
            "TableName": name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if kind == "filter":
            request["FilterExpression"] = "#u > :u"
            request["ExpressionAttributeNames"] = {"#u": "until"}
            values[":u"] = {"N": "50"}
        if rng.random() < 0.5:
            request["Limit"] = rng.randint(1, 12)
        if rng.random() < 0.4:
            start = rng.choice(keys)[1] if rng.random() < 0.5 else rng.choice(ALPHABET[:6]) + "m"
            request["ExclusiveStartKey"] = {"area": {"S": area}, "cell": {"S": start}}
        if rng.random() < 0.15:
            request["Select"] = "COUNT"
        requests.append(request)
    return requests


def _answer(response: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(response.get(key) for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey"))


def test_fast_queries_answer_exactly_as_moto_does(table: tuple[Any, str]) -> None:
    # Given 400 items in four partitions, with sort keys that share prefixes at every length
    client, name = table
    rng = random.Random(4)
    keys = _fill(client, name, rng, 400)
    requests = _requests(name, rng, keys)
    # When 150 queries (prefixes, ranges, whole partitions, filters, limits, start keys, counts) run both ways
    slow = [_answer(client.query(**r)) for r in requests]
    with fast_queries():
        fast = [_answer(client.query(**r)) for r in requests]
    # Then every answer is the same, item for item
    assert fast == slow
    assert any(answer[3] for answer in slow)  # some pages ended early, so continuation was compared too


def test_writes_inside_the_block_are_seen_by_the_next_query(table: tuple[Any, str]) -> None:
    # Given a partition read once with the fast path
    client, name = table
    query = {
        "TableName": name,
        "KeyConditionExpression": "area = :a AND begins_with(cell, :p)",
        "ExpressionAttributeValues": {":a": {"S": "TX#en"}, ":p": {"S": "9v"}},
    }
    with fast_queries():
        assert client.query(**query)["Count"] == 0
        # When an item is added, then another removed
        client.put_item(TableName=name, Item={"area": {"S": "TX#en"}, "cell": {"S": "9v6k#1"}})
        client.put_item(TableName=name, Item={"area": {"S": "TX#en"}, "cell": {"S": "9v6m#2"}})
        added = client.query(**query)["Count"]
        client.delete_item(TableName=name, Key={"area": {"S": "TX#en"}, "cell": {"S": "9v6k#1"}})
        removed = client.query(**query)
    # Then each query sees the table as it is
    assert added == 2
    assert [item["cell"]["S"] for item in removed["Items"]] == ["9v6m#2"]


def test_a_page_that_fills_at_the_end_of_the_range_reports_a_continuation_as_moto_does(table: tuple[Any, str]) -> None:
    # Given keys a1, a2 and b1 in one partition
    client, name = table
    for cell in ("a1", "a2", "b1"):
        client.put_item(TableName=name, Item={"area": {"S": "TX#en"}, "cell": {"S": cell}})
    query = {
        "TableName": name,
        "KeyConditionExpression": "area = :a AND begins_with(cell, :p)",
        "ExpressionAttributeValues": {":a": {"S": "TX#en"}, ":p": {"S": "a"}},
        "Limit": 2,
    }
    # When the two "a" keys are read with Limit 2, by moto and by the fast path
    slow = client.query(**query)
    with fast_queries():
        fast = client.query(**query)
    # Then both stop at a2 and report it as the place to continue from
    assert slow["LastEvaluatedKey"] == {"area": {"S": "TX#en"}, "cell": {"S": "a2"}}
    assert _answer(fast) == _answer(slow)
