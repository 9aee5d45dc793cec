"""Sending one message to one person over the channels they chose (R3): e-mail always, text and app push when
their preferred contact method includes them. A channel failing never stops the others; every outcome is returned
for the audit trail and metrics. Nothing here logs a name, a phone number or an e-mail address.

Each send happens at most once: either the caller's own conditional write already decided that this invocation,
and no other, sends it (the referral's creation for the receipt, the offer's for the offer, the acceptance for the
acceptance messages, the reminder's claim), or the send is first claimed in a ledger (`claim=True`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hod.errors import ConfigurationError, DependencyFailed
from hod.logs import get_logger
from hod.messages import Message, render

logger = get_logger(__name__)

Channel = Literal["email", "text", "app"]
Outcome = Literal["sent", "failed", "suppressed", "duplicate"]
CHANNELS: tuple[Channel, ...] = ("email", "text", "app")


class EmailChannel(Protocol):
    def send(self, to: str, subject: str, text: str, html: str) -> str: ...


class TextChannel(Protocol):
    def send(self, phone: str, text: str) -> str: ...


class PushChannel(Protocol):
    def send(self, platform: str, token: str, title: str, body: str) -> str: ...


class SendLedger(Protocol):
    def claim(self, scope: str, key: str) -> bool:
        """True the first time (scope, key) is claimed, False ever after."""
        ...


@dataclass(frozen=True)
class Recipient:
    """Who gets a message, in which language, over which channels. `label` names them in logs and the audit
    trail (e.g. "agent:101", "consumer") — never their contact details."""

    label: str
    language: str
    channels: frozenset[str]
    email: str | None = None
    phone: str | None = None
    devices: tuple[tuple[str, str], ...] = field(default=())  # (platform, token)


class Notifier:
    def __init__(self, email: EmailChannel, text: TextChannel, push: PushChannel, ledger: SendLedger) -> None:
        self._email = email
        self._text = text
        self._push = push
        self._ledger = ledger

    def send(
        self,
        scope: str,
        message_key: str,
        recipient: Recipient,
        kind: str,
        values: Mapping[str, str],
        *,
        claim: bool = True,
    ) -> dict[str, Outcome]:
        """Send message `kind` to `recipient`; `scope` + `message_key` identify this send for de-duplication
        (e.g. the referral and "offer:101"). `claim=False` when the caller's conditional write already guarantees
        that only this invocation sends it. Returns the outcome per channel tried."""
        message = render(kind, recipient.language, values)
        outcomes: dict[str, Outcome] = {}
        for channel in CHANNELS:
            if channel not in recipient.channels or not self._has_content(message, channel):
                continue
            if not self._address(recipient, channel):
                outcomes[channel] = "suppressed"
                continue
            if claim and not self._ledger.claim(scope, f"{message_key}#{channel}"):
                outcomes[channel] = "duplicate"
                continue
            outcomes[channel] = self._deliver(message, recipient, channel)
        logger.info("notified", extra={"scope": scope, "message_key": message_key, "kind": kind, "outcomes": outcomes})
        return outcomes

    @staticmethod
    def _has_content(message: Message, channel: str) -> bool:
        return (
            channel == "email"
            or (channel == "text" and message.sms is not None)
            or (channel == "app" and message.push_title is not None)
        )

    @staticmethod
    def _address(recipient: Recipient, channel: str) -> bool:
        return bool({"email": recipient.email, "text": recipient.phone, "app": recipient.devices}[channel])

    def _deliver(self, message: Message, recipient: Recipient, channel: str) -> Outcome:
        try:
            # (addresses and content were checked by the caller: _address and _has_content)
            if channel == "email":
                self._email.send(recipient.email or "", message.subject, message.text, message.html)
            elif channel == "text":
                self._text.send(recipient.phone or "", message.sms or "")
            else:
                for platform, token in recipient.devices:
                    self._push.send(platform, token, message.push_title or "", message.push_body or "")
        except ConfigurationError as exc:
            logger.warning("channel not configured", extra={"channel": channel, "reason": str(exc)})
            return "suppressed"
        except DependencyFailed as exc:
            logger.error(
                "channel failed",
                extra={
                    "channel": channel,
                    "recipient": recipient.label,
                    "aws_service": exc.service,
                    "op": exc.operation,
                },
            )
            return "failed"
        return "sent"
