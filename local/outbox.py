"""The local stack's outbox: every e-mail, text and app push the service sent, as JSON (GET /dev/outbox) and as a page
with clickable links (GET /dev/outbox?format=html). Registered on the app by the local stack only: the deployed API
has no such route (tests/integration/test_contract.py checks)."""

from __future__ import annotations

import html
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

_pushes: list[dict[str, str]] = []
_lock = threading.Lock()
_LINK = re.compile(r"https?://[^\s\"'<>]+")


def messages() -> list[dict[str, Any]]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    region = os.environ.get("AWS_REGION", "us-east-1")
    found: list[dict[str, Any]] = []
    for message in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages:
        found.append(
            {
                "channel": "email",
                "to": ", ".join(message.destinations.get("ToAddresses", [])),
                "subject": message.subject,
                "body": message.body,
                "links": [html.unescape(u) for u in re.findall(r'href="([^"]+)"', message.body)],
            }
        )
    for phone, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID][region].sms_messages.values():
        found.append({"channel": "text", "to": phone, "subject": "", "body": text, "links": _LINK.findall(text)})
    with _lock:
        found.extend({"channel": "app", **push, "links": []} for push in _pushes)
    return found


@contextmanager
def record_push() -> Iterator[None]:
    """moto does not implement Pinpoint's send_messages: locally, app pushes are recorded here instead."""
    from hod.adapters.aws import PinpointPush

    def send(self: PinpointPush, platform: str, token: str, title: str, body: str) -> str:
        with _lock:
            _pushes.append({"to": f"{platform}:{token}", "subject": title, "body": body})
        return "local"

    with mock.patch.object(PinpointPush, "send", send):
        yield


def page(items: list[dict[str, Any]]) -> str:
    rows = []
    for item in reversed(items):
        body = item["body"] if item["channel"] == "email" else html.escape(item["body"])
        links = "".join(f'<li><a href="{html.escape(u)}">{html.escape(u[:80])}…</a></li>' for u in item["links"])
        rows.append(
            f"<article><h2>{html.escape(item['channel'])} to {html.escape(item['to'])}</h2>"
            f"<p><b>{html.escape(item['subject'])}</b></p><div>{body}</div><ul>{links}</ul></article>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Outbox — Help On Demand (local)</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem}"
        "article{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:.7rem 0}h2{font-size:1rem}</style>"
        f"</head><body><h1>Outbox ({len(items)} messages, newest first)</h1>{''.join(rows)}</body></html>"
    )


def register_outbox(app: Any) -> None:
    from chalice.app import Response

    @app.route("/dev/outbox", methods=["GET"])  # type: ignore[untyped-decorator]
    def outbox() -> Any:
        items = messages()
        if (app.current_request.query_params or {}).get("format") == "html":
            return Response(body=page(items), status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
        return {"messages": items}
