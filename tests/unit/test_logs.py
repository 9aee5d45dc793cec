"""The `hod` package logs through the function's Powertools Logger: a service's fields come out as JSON keys."""

from __future__ import annotations

import io
import json
import logging
import uuid
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from hod.errors import DependencyFailed
from hod.services.notifier import Notifier, Recipient

VALUES = {
    "first_name": "Ana",
    "consumer_phone": "+15125550142",
    "status_link": "https://hod.test/status?t=x",
    "text_status_link": "https://hod.test/l/x",
    "code": "HK7M-4QXZ",
}


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []

    def send(self, *message: str) -> str:
        self.sent.append(message)
        return f"id-{len(self.sent)}"


class FailingText:
    def send(self, phone: str, text: str) -> str:
        raise DependencyFailed("sns", "Publish", "Throttling")


class OpenLedger:
    def claim(self, *send: Any) -> bool:
        return True

    def record(self, sends: Any, outcome: str = "sent") -> None: ...

    def release(self, *send: Any) -> None: ...


def function_logger(monkeypatch: pytest.MonkeyPatch, level: str) -> io.StringIO:
    """A function's Powertools Logger, for a service name of this test's own, writing to a buffer."""
    service = f"hod-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)
    stream = io.StringIO()
    Logger(service=service, level=level, stream=stream)
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def send_receipt() -> None:
    """The notifier sends the consumer's receipt: the e-mail goes, the text fails."""
    notifier = Notifier(email=Outbox(), text=FailingText(), push=Outbox(), ledger=OpenLedger())
    consumer = Recipient(
        label="consumer",
        language="en",
        channels=frozenset({"email", "text"}),
        email="a@b.example",
        phone="+15125550142",
    )
    notifier.send("referral#r-1", "received", consumer, "consumer_received", VALUES)


def test_a_service_log_line_carries_its_fields_as_json_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a function's Powertools Logger, for a service named only after the notifier module was imported
    stream = function_logger(monkeypatch, "INFO")

    # When the notifier sends a message, one channel of which fails
    send_receipt()

    # Then each of its log lines is one JSON object with the service's keys and the line's own fields
    failed, notified = json_lines(stream)
    assert failed["level"] == "ERROR"
    assert failed["message"] == "channel failed"
    assert failed["service"].startswith("hod-test-")
    assert (failed["channel"], failed["recipient"], failed["aws_service"], failed["op"]) == (
        "text",
        "consumer",
        "sns",
        "Publish",
    )
    assert failed["location"].startswith("_deliver:")  # the line in the notifier that logged, not hod.logs
    assert notified["level"] == "INFO"
    assert notified["message"] == "notified"
    assert notified["service"] == failed["service"]
    assert notified["scope"] == "referral#r-1"
    assert notified["message_key"] == "received"
    assert notified["kind"] == "consumer_received"
    assert notified["outcomes"] == {"email": "sent", "text": "failed"}
    assert notified["location"].startswith("send:")
    # and no contact detail of the consumer's is among them
    assert "a@b.example" not in stream.getvalue()
    assert "5550142" not in stream.getvalue()


def test_the_function_log_level_applies_to_the_service_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a function's Powertools Logger at WARNING (POWERTOOLS_LOG_LEVEL)
    stream = function_logger(monkeypatch, "WARNING")

    # When the notifier logs an error and an information line
    send_receipt()

    # Then only the error is written
    assert [line["message"] for line in json_lines(stream)] == ["channel failed"]


def test_without_a_powertools_logger_records_reach_the_root_logger(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given no Powertools Logger for the service (the admin command line, say)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"hod-test-{uuid.uuid4().hex}")
    caplog.set_level(logging.INFO)

    # When the notifier logs
    send_receipt()

    # Then the standard logging records carry the fields as attributes
    notified = next(record for record in caplog.records if record.getMessage() == "notified")
    assert notified.name.endswith(".hod.services.notifier")
    assert notified.__dict__["outcomes"] == {"email": "sent", "text": "failed"}
