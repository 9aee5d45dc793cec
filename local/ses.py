"""SES v2 locally, where moto 5.2.5 falls short.

`bulk_email()`: moto answers SendBulkEmail with "The send_bulk_email action has not been implemented". This adds it
as SES documents it for inline templates: each destination's message is the template content with its `{{name}}`
placeholders replaced by that destination's ReplacementTemplateData over the default TemplateData (a simple
substitution: values are inserted unescaped), stored as moto stores SendEmail's messages (so moto's
`sent_messages`, the local outbox and the tests see it), with one result per destination. A placeholder with no
value is refused (BadRequestException) rather than sent blank, so a template mistake shows.

`throttle(rate, clock)`: SES's maximum send rate, enforced — a token bucket of `rate` recipients a second, one
second deep (at least one recipient), on `clock`; its `rate` can be changed while it runs (0 refuses everything).
A SendEmail or SendBulkEmail call that finds no token is refused with TooManyRequestsException (HTTP 429); a bulk
call that finds fewer tokens than destinations sends as many as there are tokens and answers ACCOUNT_THROTTLED for
the rest. This is the fault the safety net's fan-out must survive.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from unittest import mock

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


class _Clock(Protocol):
    def now(self) -> Any: ...


@dataclass
class SendingQuota:
    """The account's maximum send rate as a token bucket, with what it let through and refused."""

    rate: float
    clock: _Clock
    tokens: float = 0.0
    at: float | None = None
    accepted: int = 0
    refused_calls: int = 0
    throttled_entries: int = 0
    last_accepted: float | None = None  # when (the clock's epoch seconds) the last recipient was let through
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, wanted: int) -> int:
        """Up to `wanted` tokens: how many were available (and are now spent). The bucket holds one second of the
        rate, and at least one recipient; a rate of 0 refuses everything (SES shut, for a test)."""
        with self._lock:
            now = self.clock.now().timestamp()
            depth = max(1.0, self.rate) if self.rate > 0 else 0.0
            self.tokens = depth if self.at is None else min(depth, self.tokens + (now - self.at) * self.rate)
            self.at = now
            granted = min(wanted, int(self.tokens))
            self.tokens -= granted
            self.accepted += granted
            if granted:
                self.last_accepted = now
            return granted


_quota: list[SendingQuota] = []


def _too_many_requests() -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("TooManyRequestsException", "Maximum sending rate exceeded.")
    error.code = 429
    return error


def _bad_request(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("BadRequestException", message)


def _fill(text: str, data: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in data:
            raise _bad_request(f"The template needs a value for {name}.")
        return str(data[name])

    return _PLACEHOLDER.sub(value, text)


def _send_bulk_email(self: Any) -> str:
    params = json.loads(self.body)
    template = params["DefaultContent"]["Template"]
    content = template.get("TemplateContent")
    if content is None:
        raise _bad_request("Only inline templates (TemplateContent) are emulated locally.")
    defaults = json.loads(template.get("TemplateData") or "{}")
    entries = params["BulkEmailEntries"]
    if not 1 <= len(entries) <= 50:
        raise _bad_request("BulkEmailEntries must hold 1 to 50 destinations.")
    quota = _quota[0] if _quota else None
    granted = len(entries) if quota is None else quota.take(len(entries))
    if granted == 0:
        assert quota is not None
        with quota._lock:
            quota.refused_calls += 1
        raise _too_many_requests()
    results = []
    for index, entry in enumerate(entries):
        if index >= granted:
            results.append({"Status": "ACCOUNT_THROTTLED", "Error": "Maximum sending rate exceeded."})
            continue
        replacement = (entry.get("ReplacementEmailContent") or {}).get("ReplacementTemplate") or {}
        data = {**defaults, **json.loads(replacement.get("ReplacementTemplateData") or "{}")}
        message = self.sesv2_backend.send_email(
            source=params["FromEmailAddress"],
            destinations=entry["Destination"],
            subject=_fill(content["Subject"], data),
            body=_fill(content.get("Html") or content.get("Text") or "", data),
        )
        results.append({"Status": "SUCCESS", "MessageId": message.id})
    if quota is not None and granted < len(entries):
        with quota._lock:
            quota.throttled_entries += len(entries) - granted
    return json.dumps({"BulkEmailEntryResults": results})


@contextmanager
def bulk_email() -> Iterator[None]:
    """SES v2 SendBulkEmail with inline templates, for moto (see the module's docstring)."""
    from moto.sesv2.responses import SESV2Response

    with mock.patch.object(SESV2Response, "send_bulk_email", _send_bulk_email, create=True):
        yield


@contextmanager
def throttle(rate: float, clock: _Clock) -> Iterator[SendingQuota]:
    """SES refuses what goes beyond `rate` recipients a second (see the module's docstring), SendEmail included."""
    from moto.sesv2.responses import SESV2Response

    quota = SendingQuota(rate, clock)
    original = SESV2Response.send_email

    def send_email(self: Any) -> str:
        if quota.take(1) == 0:
            with quota._lock:
                quota.refused_calls += 1
            raise _too_many_requests()
        return original(self)

    _quota[:] = [quota]
    try:
        with mock.patch.object(SESV2Response, "send_email", send_email):
            yield quota
    finally:
        _quota.clear()


def received(marker: str = "") -> Counter[str]:
    """The e-mails moto holds as sent (SendEmail and the emulated SendBulkEmail alike) whose body contains `marker`,
    counted by recipient address."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    counts: Counter[str] = Counter()
    for message in ses_backends[DEFAULT_ACCOUNT_ID][os.environ.get("AWS_REGION", "us-east-1")].sent_messages:
        if marker in getattr(message, "body", ""):
            counts.update(message.destinations.get("ToAddresses", []))
    return counts
