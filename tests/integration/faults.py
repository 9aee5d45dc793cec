"""Faults injected into the embedded AWS, the way AWS gives them: chosen operations answer with a throttling error,
a 5xx or a dropped connection, a number of times or until cleared, and then reach moto again.

The injection sits in front of moto's request handler (moto's `before-send` hook, through which every botocore
client in the process reaches the embedded AWS, pynamodb's and Powertools' included), so a fault is an HTTP answer
that botocore parses and retries exactly as it would AWS's: the clients' own retry configuration applies, and a
faulted request never reaches the embedded service (nothing is half done). Each rule can be narrowed to the calls one
function makes (its code on the calling thread's stack, as the IAM recorder attributes calls) and to requests that
contain a given text (a table name, a task's name).

Waiting is compressed, not skipped: botocore's retry back-off and the state machine's Retry intervals sleep for a
hundredth of their time, and every wait asked for is recorded, so a test can show which retries ran and with which
delays without waiting minutes for Step Functions' back-off to run out.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partialmethod
from typing import Any, Literal
from unittest import mock

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectionClosedError
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from local.cfn import load_template
from local.iam.recorder import Recorder

Kind = Literal["throttle", "unavailable", "disconnect", "cancelled"]
Protocol = Literal["json", "rest-json", "query"]


@dataclass(frozen=True)
class Service:
    """How a service words its errors: its protocol, its throttling error and a server error (code, HTTP status)."""

    protocol: Protocol
    throttle: tuple[str, int]
    unavailable: tuple[str, int]
    namespace: str = ""  # the JSON protocol's "__type" prefix


# Keyed by botocore's service id as its events name it ("before-send.<id>.<Operation>").
SERVICES: dict[str, Service] = {
    "dynamodb": Service(
        "json",
        ("ProvisionedThroughputExceededException", 400),
        ("InternalServerError", 500),
        "com.amazonaws.dynamodb.v20120810#",
    ),
    "sfn": Service("json", ("ThrottlingException", 400), ("ServiceUnavailable", 503)),
    "secrets-manager": Service("json", ("ThrottlingException", 400), ("InternalServiceError", 500)),
    "sesv2": Service("rest-json", ("TooManyRequestsException", 429), ("InternalFailure", 500)),
    "sns": Service("query", ("Throttled", 429), ("InternalError", 500)),
    "scheduler": Service("rest-json", ("ThrottlingException", 429), ("InternalServerException", 500)),
    "pinpoint": Service("rest-json", ("TooManyRequestsException", 429), ("InternalServerErrorException", 500)),
    "lambda": Service("rest-json", ("TooManyRequestsException", 429), ("ServiceException", 500)),
    "sqs": Service("json", ("RequestThrottled", 400), ("InternalFailure", 500), "com.amazonaws.sqs#"),
}

# What DynamoDB says, per item, when it cancels a transaction for want of capacity.
_CANCELLED_FOR_CAPACITY = {
    "Code": "ThrottlingError",
    "Message": "Throughput exceeds the current capacity of your table or index.",
}


@dataclass
class Rule:
    """One injected fault. `faulted`: attempts answered with it; `passed`: matching attempts let through to the
    embedded AWS after it ran out or was cleared."""

    service: str
    operation: str
    kind: Kind
    code: str
    status: int
    times: int | None  # None: until cleared
    by: str | None = None  # only calls made by this function's code (template logical id)
    containing: str | None = None  # only requests whose body contains this text
    faulted: int = 0
    passed: int = 0
    active: bool = True

    def clear(self) -> None:
        """The fault clears: from now on matching requests reach the embedded AWS."""
        self.active = False

    def due(self) -> bool:
        return self.active and (self.times is None or self.faulted < self.times)


@dataclass
class Faults:
    scale: float = 0.01
    rules: list[Rule] = field(default_factory=list)
    waits: list[tuple[str, float]] = field(default_factory=list)  # (who waited: "botocore" | "states", seconds)
    stand_ins: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _attribution: Recorder = field(default_factory=lambda: Recorder(load_template()))

    # ----- declaring faults ----------------------------------------------------------------------------------------
    def inject(
        self,
        kind: Kind,
        service: str,
        operation: str,
        times: int | None = 1,
        *,
        by: str | None = None,
        containing: str | None = None,
    ) -> Rule:
        """Answer `times` matching requests (None: until cleared) with a fault of this kind; the methods below name
        each kind."""
        if service not in SERVICES:
            raise ValueError(f"no fault model for service {service!r}")
        if kind == "cancelled" and (service, operation) != ("dynamodb", "TransactWriteItems"):
            raise ValueError("only DynamoDB's TransactWriteItems is cancelled for capacity")
        code, status = {
            "throttle": SERVICES[service].throttle,
            "unavailable": SERVICES[service].unavailable,
            "disconnect": ("ConnectionClosedError", 0),
            "cancelled": ("TransactionCanceledException", 400),
        }[kind]
        rule = Rule(service, operation, kind, code, status, times, by, containing)
        with self._lock:
            self.rules.append(rule)
        return rule

    # The service's throttling error (with its HTTP status, 400 or 429)
    throttle = partialmethod(inject, "throttle")
    # A 5xx server error
    unavailable = partialmethod(inject, "unavailable")
    # The connection drops before an answer arrives
    disconnect = partialmethod(inject, "disconnect")
    # DynamoDB cancels a transaction because a table lacks capacity: TransactionCanceledException (which botocore
    # does not retry), with the reason ThrottlingError on the first item
    cancel_for_capacity = partialmethod(inject, "cancelled")

    def stand_in(self, service: str, operation: str, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Answer an operation moto does not implement (Pinpoint's SendMessages): once no fault is due, its JSON
        request body is passed to `answer`, whose result is the 200 response's JSON body."""
        self.stand_ins[(service, operation)] = answer

    def clear(self) -> None:
        for rule in self.rules:
            rule.clear()

    def waited(self, who: str) -> list[float]:
        return [seconds for source, seconds in self.waits if source == who]

    # ----- answering -----------------------------------------------------------------------------------------------
    def _take(self, event_name: str, request: AWSPreparedRequest) -> Rule | None:
        _, service, operation = event_name.split(".", 2)
        matching = [r for r in self.rules if r.service == service and r.operation == operation]
        if not matching:
            return None
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        principal = self._attribution.principal()
        with self._lock:
            for rule in matching:
                if rule.by is not None and rule.by != principal:
                    continue
                if rule.containing is not None and rule.containing.encode() not in body:
                    continue
                if rule.due():
                    rule.faulted += 1
                    return rule
                rule.passed += 1
        return None

    def answer(self, event_name: str, request: AWSPreparedRequest) -> AWSResponse | None:
        rule = self._take(event_name, request)
        if rule is None:
            _, service, operation = event_name.split(".", 2)
            stand_in = self.stand_ins.get((service, operation))
            if stand_in is None:
                return None
            body = json.dumps(stand_in(json.loads(request.body or b"{}"))).encode()
            return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, MockRawResponse(body))  # type: ignore[arg-type]
        if rule.kind == "disconnect":
            raise ConnectionClosedError(endpoint_url=request.url)
        service = SERVICES[rule.service]
        message = f"injected {rule.kind} ({rule.service}.{rule.operation})"
        request_id = str(uuid.uuid4())
        extra: dict[str, Any] = {}
        if rule.kind == "cancelled":
            items = json.loads(request.body or b"{}").get("TransactItems", [])
            extra["CancellationReasons"] = [_CANCELLED_FOR_CAPACITY] + [{"Code": "None"}] * (len(items) - 1)
            message = "Transaction cancelled, please refer cancellation reasons for specific reasons"
        if service.protocol == "query":
            body = (
                '<ErrorResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/">'
                f"<Error><Type>Sender</Type><Code>{rule.code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
        elif service.protocol == "rest-json":
            body = json.dumps({"message": message}).encode()
            headers = {
                "Content-Type": "application/json",
                "x-amzn-ErrorType": rule.code,
                "x-amzn-RequestId": request_id,
            }
        else:
            body = json.dumps({"__type": service.namespace + rule.code, "message": message, **extra}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}
        return AWSResponse(request.url, rule.status, headers, MockRawResponse(body))  # type: ignore[arg-type]


class _CompressedTime:
    """The `time` module as one library sees it, with sleeps recorded and shortened."""

    def __init__(self, faults: Faults, who: str) -> None:
        self._faults = faults
        self._who = who

    def sleep(self, seconds: float) -> None:
        self._faults.waits.append((self._who, seconds))
        time.sleep(seconds * self._faults.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextmanager
def injected_faults(scale: float = 0.01) -> Iterator[Faults]:
    """Inject faults into the embedded AWS (inside mock_aws) while the block runs; waits compressed by `scale`."""
    faults = Faults(scale=scale)
    original = BotocoreStubber.__call__

    def call(self: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> Any:
        if self.enabled:
            response = faults.answer(event_name, request)
            if response is not None:
                return response
        return original(self, event_name, request, **kwargs)

    retries = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.time"
    with (
        mock.patch.object(BotocoreStubber, "__call__", call),
        mock.patch("botocore.endpoint.time", _CompressedTime(faults, "botocore")),
        mock.patch(retries, _CompressedTime(faults, "states")),
    ):
        try:
            yield faults
        finally:
            faults.clear()
