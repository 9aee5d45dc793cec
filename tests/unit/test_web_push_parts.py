"""Web Push's pieces without a network: the VAPID key from its secret, subscriptions stored as devices, the app
channel's dispatch between browsers and phones, and a device its push service says is gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from hod.adapters.webpush import DevicePush, VapidKey, WebPush, private_key_of, unb64url
from hod.domain.agent import PushDevice, WebPushSubscription
from hod.errors import ConfigurationError, DependencyFailed, DeviceGone
from hod.services.notifier import Channels
from tests.push_endpoint import Subscription

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
BROWSER = Subscription("https://push.example.net/send/abc")


def test_a_random_secret_gives_the_same_p256_key_each_time_and_another_secret_another_key() -> None:
    # Given the random string the template generates
    secret = "k" * 40 + "Q3" * 12
    # When the key is derived from it twice
    first, second = VapidKey(lambda: secret), VapidKey(lambda: secret)
    # Then it is the same public key: an uncompressed P-256 point (65 bytes, 0x04 first)
    assert first.public_key() == second.public_key()
    assert len(unb64url(first.public_key())) == 65
    assert unb64url(first.public_key())[0] == 4
    # And another secret gives another key
    assert VapidKey(lambda: secret + "x").public_key() != first.public_key()


def test_a_pem_p256_key_in_the_secret_is_used_as_it_is_and_anything_else_is_refused() -> None:
    # Given an operator's own P-256 key in PEM
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    # Then it is the key used
    assert private_key_of(pem).private_numbers() == key.private_numbers()
    # And a key on another curve, or a short string, is a configuration error
    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigurationError):
        private_key_of(other.decode())
    with pytest.raises(ConfigurationError):
        private_key_of("too short")


def test_a_subscription_is_stored_as_a_webpush_device_whose_token_gives_it_back() -> None:
    # Given a browser's subscription as toJSON() gives it
    subscription = WebPushSubscription.model_validate(BROWSER.to_json())
    # When it is stored as a device
    device = subscription.device()
    # Then its platform is webpush, its identity the endpoint, and its token gives the same subscription back
    assert device.platform == "webpush"
    assert device.identity == BROWSER.endpoint
    assert WebPushSubscription.of(device.token) == subscription
    # And a token that is no subscription is refused for webpush, as a browser's endpoint is for a phone
    with pytest.raises(ValidationError):
        PushDevice(platform="webpush", token="device-token-0001")
    with pytest.raises(ValidationError):
        PushDevice(platform="fcm", token=device.token)


def test_a_push_whose_moment_has_passed_is_not_sent_and_is_not_worth_retrying() -> None:
    # Given a sender whose endpoint would not answer anyway
    sender = WebPush(VapidKey(lambda: "s" * 40), "mailto:a@example.com", now=lambda: NOW)
    token = WebPushSubscription.model_validate(BROWSER.to_json()).device().token
    # When the offer's deadline is already past
    with pytest.raises(DependencyFailed) as refused:
        sender.send(token, "t", "b", "https://hod.example/offers/view?t=x", NOW - timedelta(seconds=1))
    # Then nothing is tried and nothing is held
    assert refused.value.retryable is False
    # And a plain-http endpoint is refused unless allowed
    plain = WebPushSubscription.model_validate(Subscription("http://127.0.0.1:9/push/a").to_json()).device().token
    with pytest.raises(DependencyFailed, match="not https"):
        sender.send(plain, "t", "b", "l", NOW + timedelta(minutes=5))


class _Recorded:
    def __init__(self, gone: frozenset[str] = frozenset()) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.gone = gone

    def send(self, platform: str, token: str, title: str, body: str, link: str = "", not_after: object = None) -> str:
        if token in self.gone:
            raise DeviceGone("gone")
        self.sent.append((platform, token, link))
        return "id"


class _Browsers:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, object]] = []

    def send(self, token: str, title: str, body: str, link: str, not_after: object) -> str:
        self.sent.append((token, link, not_after))
        return "id"


class _Nothing:
    def send(self, *args: object) -> str:
        raise AssertionError("not this channel")


def test_the_app_channel_sends_browsers_by_web_push_and_phones_by_the_native_service() -> None:
    # Given a dispatcher over a native service and a browser sender (both recording)
    native, web = _Recorded(), _Browsers()
    push = DevicePush(native, lambda: web)  # type: ignore[arg-type,return-value]
    # When a phone and a browser are pushed to
    push.send("fcm", "phone-token-01", "t", "b", "link", NOW)
    push.send("webpush", "browser", "t", "b", "link", NOW)
    # Then each went its own way: the browser with the link and the moment; the phone's app opens itself
    assert native.sent == [("fcm", "phone-token-01", "")]
    assert web.sent == [("browser", "link", NOW)]


def test_a_gone_device_is_forgotten_and_the_push_fails_only_when_every_device_was_gone() -> None:
    # Given an agent's two devices, one of them gone
    forgotten: list[tuple[str, str, str]] = []
    push = _Recorded(gone=frozenset({"old"}))
    channels = Channels(_Nothing(), _Nothing(), push, lambda *device: forgotten.append(device))  # type: ignore[arg-type]
    # When a push goes to both
    channels.deliver("app", ("webpush:old", "webpush:new"), "t", "b", "link", label="agent:101")
    # Then the live one got it, the gone one is forgotten, and the push counts as delivered
    assert push.sent == [("webpush", "new", "link")]
    assert forgotten == [("agent:101", "webpush", "old")]
    # When the only device is gone
    with pytest.raises(DependencyFailed) as failed:
        channels.deliver("app", ("webpush:old",), "t", "b", "link", label="agent:101")
    # Then the push failed for good (nothing to hold it for)
    assert failed.value.retryable is False
