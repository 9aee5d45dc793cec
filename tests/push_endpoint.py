"""A local push service for tests: an HTTP server in the test process that takes Web Push requests as a browser's
push service would, checks their VAPID authorisation (RFC 8292) and decrypts their payload (RFC 8291) with the
subscription's own keys, which the test made as a browser would. Plain http on 127.0.0.1: the service sends to such
an endpoint only when HOD_WEBPUSH_ALLOW_HTTP is set (tests and the local stack alone).

Each path is one subscription; `answer(path, 410)` makes the next request to it get that status instead of 201."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    """A browser's side of a push subscription: its key pair and authentication secret, and its endpoint."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def to_json(self) -> dict[str, Any]:
        """As `PushSubscription.toJSON()` gives it."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass
class Received:
    """One push request, checked and decrypted."""

    path: str
    status: int
    headers: dict[str, str]  # names in lower case
    claims: dict[str, Any]
    vapid_key: str
    payload: dict[str, Any] | None


def verify_vapid(authorization: str, audience: str) -> tuple[dict[str, Any], str]:
    """The claims of a `vapid t=<JWT>,k=<key>` header, after checking the JWT's ES256 signature with the key it names
    and its audience and expiry (at most 24 hours ahead). Raises AssertionError otherwise."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    params = dict(part.strip().split("=", 1) for part in rest.split(","))
    token, key = params["t"], params["k"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64url(header_b64))
    assert header["alg"] == "ES256", header
    signature = unb64url(signature_b64)
    assert len(signature) == 64
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("the VAPID token's signature does not verify") from None
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert str(claims["sub"]).startswith(("mailto:", "https:")), claims
    return claims, key


class PushService:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.subscriptions: dict[str, Subscription] = {}
        self._answers: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"

    def subscribe(self, name: str) -> Subscription:
        subscription = Subscription(f"{self.origin}/push/{name}")
        self.subscriptions[f"/push/{name}"] = subscription
        return subscription

    def answer(self, subscription: Subscription, *statuses: int) -> None:
        """The next requests to `subscription` get these statuses (then 201 again)."""
        path = subscription.endpoint.removeprefix(self.origin)
        with self._lock:
            self._answers.setdefault(path, []).extend(statuses)

    def to(self, subscription: Subscription) -> list[Received]:
        path = subscription.endpoint.removeprefix(self.origin)
        with self._lock:
            return [r for r in self.received if r.path == path]

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        claims, key = verify_vapid(headers.get("authorization", ""), self.origin)
        subscription = self.subscriptions[path]
        assert headers.get("content-encoding") == "aes128gcm", headers
        plain = http_ece.decrypt(body, private_key=subscription.private_key, auth_secret=subscription.auth)
        with self._lock:
            waiting = self._answers.get(path) or []
            status = waiting.pop(0) if waiting else 201
            self.received.append(Received(path, status, headers, claims, key, json.loads(plain)))
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    status = service._receive(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                except Exception as problem:  # a request a push service would refuse (or cannot read): answered 400
                    with service._lock:
                        service.received.append(Received(self.path, 400, {}, {}, "", None))
                    self.send_error(400, str(problem)[:200])
                    return
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", f"{service.origin}/message/{len(service.received)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[PushService]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()
