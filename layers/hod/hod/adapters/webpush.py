"""Web Push (the "app" channel for browsers): a payload encrypted for the subscription (RFC 8291, aes128gcm, with
`http_ece`), signed for the push service with the service's VAPID key (RFC 8292, with `py_vapid`), POSTed to the
subscription's endpoint. Both libraries need `cryptography` alone; they are imported when a web push is first sent
or the public key first asked for, so no other path pays for them at cold start.

The VAPID key comes from Secrets Manager, read once per container. The secret is either a PEM-encoded P-256 private
key or — what the template generates, so a stack needs no manual step — a random string from which the key is
derived (SHA-256 of the string, reduced to a scalar of the curve). Rotating the secret changes the public key: the
portal subscribes again with the new key the next time it is opened (docs/notifications.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from hod.adapters.telemetry import count_channel_failure
from hod.domain.agent import WebPushSubscription
from hod.errors import ConfigurationError, DependencyFailed, DeviceGone

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

# A push service must accept 4096 bytes of payload (RFC 8030 §7.2); the aes128gcm header (86 bytes), the padding
# delimiter and the tag (17) leave this much for the JSON.
MAX_PAYLOAD_BYTES = 3993
TIMEOUT_SECONDS = 10
# A VAPID token must not live over 24 hours (RFC 8292 §2); a fresh one is signed for each send.
TOKEN_SECONDS = 12 * 3600
# A push with no moment of its own (nothing here sends one today) is kept by the push service at most this long.
DEFAULT_TTL_SECONDS = 3600
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def secret_reader(secret_id: str) -> Callable[[], str]:
    """A reader of the secret's current value (Secrets Manager)."""

    def read() -> str:
        from hod.adapters.aws import client, sdk_failure

        if not secret_id:
            raise ConfigurationError("HOD_VAPID_SECRET_ID is not set: Web Push is not configured.")
        try:
            return str(client("secretsmanager").get_secret_value(SecretId=secret_id).get("SecretString") or "")
        except (ClientError, BotoCoreError) as exc:
            raise sdk_failure("secretsmanager", "GetSecretValue", exc) from exc

    return read


class VapidKey:
    """The service's VAPID key pair, read from its secret when first needed and kept for the container's life."""

    def __init__(self, fetch: Callable[[], str]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._key: EllipticCurvePrivateKey | None = None

    def private_key(self) -> EllipticCurvePrivateKey:
        with self._lock:
            if self._key is None:
                self._key = private_key_of(self._fetch())
            return self._key

    def public_key(self) -> str:
        """The public key as browsers take it (`applicationServerKey`): the uncompressed point, base64url."""
        from cryptography.hazmat.primitives import serialization

        raw = (
            self.private_key()
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        return b64url(raw)


def private_key_of(secret: str) -> EllipticCurvePrivateKey:
    """The P-256 private key a secret's value stands for: a PEM key as it is, any other string of 32 characters or
    more as the seed of a derived key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    secret = secret.strip()
    if secret.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(secret.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ConfigurationError("The VAPID secret's PEM key must be a P-256 (prime256v1) private key.")
        return key
    if len(secret) < 32:
        raise ConfigurationError("The VAPID secret must be a P-256 PEM key or a random string of 32+ characters.")
    scalar = int.from_bytes(hashlib.sha256(secret.encode()).digest(), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


class WebPush:
    """Sends one notification to one browser subscription. A 404 or 410 from the push service means the subscription
    is gone (DeviceGone); 429, a 5xx or no answer are worth trying later (retryable DependencyFailed); any other
    refusal fails the send."""

    def __init__(
        self,
        key: VapidKey,
        contact: str,
        *,
        http_endpoints: bool = False,
        now: Callable[[], datetime],
    ) -> None:
        self._key = key
        self._contact = contact  # the VAPID "sub": mailto: or https: of whoever runs the service
        self._http_endpoints = http_endpoints
        self._now = now

    def send(self, token: str, title: str, body: str, link: str, not_after: datetime | None) -> str:
        subscription = WebPushSubscription.of(token)
        if not (subscription.secure or self._http_endpoints):
            raise DependencyFailed("webpush", "Send", "the endpoint is not https")
        ttl = DEFAULT_TTL_SECONDS if not_after is None else int((not_after - self._now()).total_seconds())
        if ttl <= 0:
            raise DependencyFailed("webpush", "Send", "the message's moment has passed")
        payload = json.dumps({"title": title, "body": body, "url": link}, ensure_ascii=False).encode()
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise DependencyFailed("webpush", "Send", f"payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
        request = urllib.request.Request(
            subscription.endpoint,
            data=self._encrypt(payload, subscription),
            method="POST",
            headers={
                "Authorization": self._authorization(subscription.endpoint),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(ttl),
                "Urgency": "high",
            },
        )
        return self._post(request)

    def _encrypt(self, payload: bytes, subscription: WebPushSubscription) -> bytes:
        import http_ece
        from cryptography.hazmat.primitives.asymmetric import ec

        encrypted: bytes = http_ece.encrypt(
            payload,
            salt=os.urandom(16),
            private_key=ec.generate_private_key(ec.SECP256R1()),  # a key of the sender's for this message alone
            dh=unb64url(subscription.keys.p256dh),
            auth_secret=unb64url(subscription.keys.auth),
            version="aes128gcm",
        )
        return encrypted

    def _authorization(self, endpoint: str) -> str:
        from py_vapid import Vapid02

        parts = urlsplit(endpoint)
        expires = int(time.time()) + TOKEN_SECONDS
        claims = {"aud": f"{parts.scheme}://{parts.netloc}", "sub": self._contact, "exp": expires}
        headers: dict[str, str] = Vapid02(private_key=self._key.private_key()).sign(claims)
        return headers["Authorization"]

    @staticmethod
    def _post(request: urllib.request.Request) -> str:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return str(response.headers.get("Location") or "")
        except urllib.error.HTTPError as exc:
            status = exc.code
            detail = f"the push service answered {status}"
        except (urllib.error.URLError, OSError) as exc:
            count_channel_failure("app")
            raise DependencyFailed("webpush", "Send", f"no answer: {exc}", retryable=True) from exc
        count_channel_failure("app")
        if status in (404, 410):
            raise DeviceGone(detail)
        raise DependencyFailed("webpush", "Send", detail, retryable=status == 429 or status >= 500)


class DevicePush:
    """The "app" channel's one entry point: browsers' subscriptions to Web Push, phones to Pinpoint (or whatever
    `native` is)."""

    def __init__(self, native: Any, web: Callable[[], WebPush]) -> None:
        self._native = native
        self._web = web

    def send(
        self, platform: str, token: str, title: str, body: str, link: str = "", not_after: datetime | None = None
    ) -> str:
        if platform == "webpush":
            return self._web().send(token, title, body, link, not_after)
        return str(self._native.send(platform, token, title, body))
