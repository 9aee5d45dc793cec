"""Faults injected into the embedded AWS, for tests and benchmarks of what the service does under them (SES's rate
limit is in local/ses.py, with the SES emulation it applies to).

`throttle_dynamodb(every)`: every `every`-th DynamoDB request is refused with ProvisionedThroughputExceededException
(HTTP 400), as DynamoDB refuses requests beyond a partition's or an index's capacity, before moto handles it: nothing
of it is applied. The SDK's retries (adapters/dynamo.py, adapters/aws.py) must absorb it.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock


@dataclass
class Refusals:
    """How many requests a fault refused."""

    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self) -> None:
        with self._lock:
            self.count += 1


_THROUGHPUT_EXCEEDED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
)


@contextmanager
def throttle_dynamodb(every: int) -> Iterator[Refusals]:
    from moto.dynamodb.responses import DynamoHandler

    counter = itertools.count(1)
    refusals = Refusals()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        if next(counter) % every == 0:
            refusals.add()
            return 400, {"Content-Type": "application/x-amz-json-1.0"}, _THROUGHPUT_EXCEEDED
        return original(self)

    with mock.patch.object(DynamoHandler, "call_action", call_action):
        yield refusals
