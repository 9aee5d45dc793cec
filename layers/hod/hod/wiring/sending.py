"""The composition root's sending: the notifier and its channels (e-mail, text, push to browsers and phones), and the
send function's service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hod.settings import get_settings
from hod.wiring import adapters, clock, factory, timer

if TYPE_CHECKING:
    from hod.adapters.webpush import DevicePush, VapidKey, WebPush
    from hod.services.notifier import Notifier
    from hod.services.sender import Sender


@factory
def notifier() -> Notifier:
    from hod.adapters.aws import SesEmail, SnsText
    from hod.services.notifier import Notifier

    settings = get_settings()
    return Notifier(
        SesEmail(settings.sender_email),
        SnsText(),
        device_push(),
        adapters.send_ledger(),
        adapters.send_queue() if settings.send_queue_url else None,
        clock(),
        forget_device,
    )


@factory
def device_push() -> DevicePush:
    """The "app" channel: browsers by Web Push (built when one is first pushed to), phones by Pinpoint."""
    from hod.adapters.aws import PinpointPush
    from hod.adapters.webpush import DevicePush

    return DevicePush(PinpointPush(get_settings().pinpoint_app_id), web_push)


@factory
def vapid_key() -> VapidKey:
    """The Web Push (VAPID) key pair, read from its secret once per container."""
    from hod.adapters.webpush import VapidKey, secret_reader

    return VapidKey(secret_reader(get_settings().vapid_secret_id))


@factory
def web_push() -> WebPush:
    from hod.adapters.webpush import WebPush

    settings = get_settings()
    # whoever runs the service, as push services may ask (RFC 8292): its sender address, else its site
    contact = f"mailto:{settings.sender_email}" if settings.sender_email else settings.public_base_url
    return WebPush(vapid_key(), contact, http_endpoints=settings.webpush_allow_http, now=clock().now)


def forget_device(label: str, platform: str, token: str) -> None:
    """Remove an agent's device its push service says is gone (`label` is "agent:<npn>")."""
    from hod.adapters.devices import DynamoDevices

    if label.startswith("agent:"):
        DynamoDevices(get_settings().agents_table).forget(label.removeprefix("agent:"), platform, token)


@factory
def sender() -> Sender:
    """The send function's service: the safety net's calls at the account's SES rate, and held messages."""
    from hod.adapters.aws import SesBulkEmail, SesEmail, SnsText
    from hod.adapters.sending import DynamoAgentDirectory
    from hod.services.notifier import Channels
    from hod.services.sender import Sender, SendPolicy

    settings = get_settings()
    return Sender(
        adapters.workflow_store(),
        DynamoAgentDirectory(settings.agents_table),
        adapters.send_ledger(),
        SesBulkEmail(settings.sender_email),
        Channels(SesEmail(settings.sender_email), SnsText(), device_push(), forget_device),
        timer(),
        SendPolicy(
            rate=settings.ses_send_rate,
            senders=settings.safety_net_senders,
            offer_window_seconds=settings.offer_window_seconds,
        ),
    )
