"""Sending one message to one person over the channels they chose (R3): e-mail always, text and app push when
their preferred contact method includes them. A channel failing never stops the others; every outcome is returned
for the audit trail and metrics. Nothing here logs a name, a phone number or an e-mail address.

Each send happens once: either the caller's own conditional write already decided that this invocation, and no
other, sends it (the referral's creation for the receipt, the offer's for the offer, the acceptance for the
acceptance messages, the reminder's claim), or the send is claimed in the ledger first (`claim=True`): held by
this invocation for a few minutes, recorded only once the channel accepted it, given back when it failed.

What the audit trail keeps: the decision that sends a message names, in its own record, the channels the message
goes by (`planned`); the outcomes are written apart only when one of those channels did not take it (`went_amiss`:
failed, held for later, or not configured). SES, SNS and Pinpoint accepting a message is not its delivery either; the
structured log line "notified" of every send keeps each outcome, and the metrics count them.

A channel that is still throttling after the SDK's retries (or briefly unavailable) does not lose the message: it is
held on the send queue, rendered, and the send function sends it later with back-off — unless its moment has passed
by then (`not_after`: an offer's deadline, a sign-in link's expiry)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from hod.domain.sending import HeldMessage
from hod.errors import ConfigurationError, DependencyFailed, DeviceGone
from hod.logs import get_logger
from hod.messages import Message, channels_of, render
from hod.ports.common import Clock, SendQueue

logger = get_logger(__name__)

Channel = Literal["email", "text", "app"]
Outcome = Literal["sent", "failed", "suppressed", "duplicate", "held"]
CHANNELS: tuple[Channel, ...] = ("email", "text", "app")

# A claim keeps other invocations off a send this long; a holder that died lets it lapse, and a retry sends.
CLAIM_HOLD = timedelta(minutes=5)
# How long a held message is still worth sending, by kind, when the caller gives no moment of its own.
LATE_AFTER: Mapping[str, timedelta] = {
    "sign_in": timedelta(minutes=20),  # the link's life
    "reminder": timedelta(minutes=15),  # the next reminder is due by then
    "missed": timedelta(days=1),
    "suspended": timedelta(days=1),
    "activation": timedelta(days=1),
}
DEFAULT_LATE_AFTER = timedelta(hours=1)


class EmailChannel(Protocol):
    def send(self, to: str, subject: str, text: str, html: str) -> str: ...


class TextChannel(Protocol):
    def send(self, phone: str, text: str) -> str: ...


class PushChannel(Protocol):
    def send(
        self, platform: str, token: str, title: str, body: str, link: str = "", not_after: datetime | None = None
    ) -> str:
        """Push to one device; `link` is what the notification opens, `not_after` when it is no longer worth
        showing. Raises DeviceGone when the device's push service says it no longer exists."""
        ...


class ForgetDevice(Protocol):
    def __call__(self, label: str, platform: str, token: str) -> None:
        """Remove the device of the recipient `label` names (e.g. "agent:101")."""
        ...


class SendLedger(Protocol):
    def claim(self, scope: str, key: str, holder: str, now: datetime, hold: timedelta) -> bool:
        """Hold (scope, key) for `holder` until now + hold: True unless it was sent, or someone else holds it."""
        ...

    def record(self, sends: list[tuple[str, str]], outcome: str = "sent") -> None:
        """These (scope, key) sends are done for good."""
        ...

    def release(self, scope: str, key: str, holder: str) -> None:
        """Give `holder`'s claim back: the send failed and may be made again."""
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


class Channels:
    """The three channels, to send one rendered message on one of them. A device its push service says is gone is
    handed to `forget` (and the message is failed when every device was gone)."""

    def __init__(
        self, email: EmailChannel, text: TextChannel, push: PushChannel, forget: ForgetDevice | None = None
    ) -> None:
        self._email = email
        self._text = text
        self._push = push
        self._forget = forget

    def deliver(
        self,
        channel: str,
        to: tuple[str, ...],
        subject: str,
        text: str,
        html: str,
        *,
        label: str = "",
        not_after: datetime | None = None,
    ) -> None:
        """E-mail `to[0]`; text `to[0]` (`text` is the SMS); push to each "platform:token" in `to` (`subject` is the
        title, `text` the body, `html` the link it opens, kept until `not_after`). Raises DependencyFailed or
        ConfigurationError."""
        if channel == "email":
            self._email.send(to[0], subject, text, html)
        elif channel == "text":
            self._text.send(to[0], text)
        else:
            self._push_all(to, subject, text, html, label, not_after)

    def _push_all(
        self, to: tuple[str, ...], title: str, body: str, link: str, label: str, not_after: datetime | None
    ) -> None:
        gone = 0
        for device in to:
            platform, _, token = device.partition(":")
            try:
                self._push.send(platform, token, title, body, link, not_after)
            except DeviceGone:
                gone += 1
                if self._forget is not None and label:
                    self._forget(label, platform, token)
        if gone == len(to):
            raise DependencyFailed("push", "Send", "every device's subscription is gone")


def addressed(message: Message, recipient: Recipient, channel: str) -> tuple[tuple[str, ...], str, str, str]:
    """Where and what to send on `channel`: (to, subject, text, html) as `Channels.deliver` takes them (for a push,
    "html" is the link the notification opens)."""
    if channel == "email":
        return (recipient.email or "",), message.subject, message.text, message.html
    if channel == "text":
        return (recipient.phone or "",), "", message.sms or "", ""
    devices = tuple(f"{platform}:{token}" for platform, token in recipient.devices)
    return devices, message.push_title or "", message.push_body or "", message.push_link or ""


def planned(kind: str, recipient: Recipient) -> list[Channel]:
    """The channels message `kind` goes to `recipient` by: those of their contact method that the message has content
    for and the recipient an address on (what `Notifier.send` tries)."""
    content = channels_of(kind, recipient.language)
    return [c for c in CHANNELS if c in recipient.channels and c in content and _has_address(recipient, c)]


def went_amiss(outcomes: Mapping[str, Outcome], channels: Sequence[str]) -> bool:
    """Whether one of the planned `channels` did not take its message (failed, held for later, not configured): then
    the outcomes go on the audit trail. "sent" and "duplicate" (another invocation sent it) need no record of their
    own, nor a channel left out for want of an address (the plan already leaves it out)."""
    return any(outcomes.get(channel, "sent") not in ("sent", "duplicate") for channel in channels)


def _has_address(recipient: Recipient, channel: str) -> bool:
    return bool({"email": recipient.email, "text": recipient.phone, "app": recipient.devices}[channel])


class _SystemTime:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Notifier:
    def __init__(
        self,
        email: EmailChannel,
        text: TextChannel,
        push: PushChannel,
        ledger: SendLedger,
        queue: SendQueue | None = None,
        clock: Clock | None = None,
        forget: ForgetDevice | None = None,
    ) -> None:
        self._channels = Channels(email, text, push, forget)
        self._ledger = ledger
        self._queue = queue
        self._clock = clock or _SystemTime()

    def send(
        self,
        scope: str,
        message_key: str,
        recipient: Recipient,
        kind: str,
        values: Mapping[str, str],
        *,
        claim: bool = True,
        not_after: datetime | None = None,
        trail: str | None = None,
    ) -> dict[str, Outcome]:
        """Send message `kind` to `recipient`; `scope` + `message_key` identify this send for de-duplication
        (e.g. the referral and "offer:101"). `claim=False` when the caller's conditional write already guarantees
        that only this invocation sends it. A channel still throttling is held for later until `not_after` (by
        default LATE_AFTER of the kind), its outcome then going to `trail`'s audit trail. Returns the outcome
        per channel tried."""
        message = render(kind, recipient.language, values)
        outcomes: dict[str, Outcome] = {}
        for channel in CHANNELS:
            if channel not in recipient.channels or not self._has_content(message, channel):
                continue
            if not _has_address(recipient, channel):
                outcomes[channel] = "suppressed"
                continue
            send = _Send(scope, f"{message_key}#{channel}", kind, channel, recipient.label, not_after, trail)
            outcomes[channel] = self._send(send, message, recipient, claim)
        logger.info("notified", extra={"scope": scope, "message_key": message_key, "kind": kind, "outcomes": outcomes})
        return outcomes

    def _send(self, send: _Send, message: Message, recipient: Recipient, claim: bool) -> Outcome:
        holder = uuid.uuid4().hex
        if claim and not self._ledger.claim(send.scope, send.key, holder, self._clock.now(), CLAIM_HOLD):
            return "duplicate"
        to, subject, text, html = addressed(message, recipient, send.channel)
        outcome = self._deliver(send, to, subject, text, html)
        if claim:
            if outcome == "sent":
                self._ledger.record([(send.scope, send.key)])
            else:
                self._ledger.release(send.scope, send.key, holder)
        return outcome

    @staticmethod
    def _has_content(message: Message, channel: str) -> bool:
        return (
            channel == "email"
            or (channel == "text" and message.sms is not None)
            or (channel == "app" and message.push_title is not None)
        )

    def _deliver(self, send: _Send, to: tuple[str, ...], subject: str, text: str, html: str) -> Outcome:
        try:
            # (addresses and content were checked by the caller: _has_address and _has_content)
            self._channels.deliver(send.channel, to, subject, text, html, label=send.label, not_after=send.not_after)
        except ConfigurationError as exc:
            logger.warning("channel not configured", extra={"channel": send.channel, "reason": str(exc)})
            return "suppressed"
        except DependencyFailed as exc:
            if exc.retryable and self._hold(send, to, subject, text, html):
                return "held"
            logger.error(
                "channel failed",
                extra={
                    "channel": send.channel,
                    "recipient": send.label,
                    "aws_service": exc.service,
                    "op": exc.operation,
                },
            )
            return "failed"
        return "sent"

    def _hold(self, send: _Send, to: tuple[str, ...], subject: str, text: str, html: str) -> bool:
        """Put the message on the send queue to be sent later; False when there is no queue or it failed too."""
        if self._queue is None:
            return False
        not_after = send.not_after or self._clock.now() + LATE_AFTER.get(send.kind, DEFAULT_LATE_AFTER)
        held = HeldMessage(
            scope=send.scope,
            key=send.key,
            label=send.label,
            channel=send.channel,
            to=to,
            subject=subject,
            text=text,
            html=html,
            not_after=not_after,
            trail=send.trail,
        )
        try:
            self._queue.put([held])
        except (DependencyFailed, ConfigurationError) as exc:
            where = {"channel": send.channel, "recipient": send.label, "error": str(exc)}
            logger.error("message not held", extra=where)
            return False
        logger.warning("channel throttled: message held", extra={"channel": send.channel, "recipient": send.label})
        return True


@dataclass(frozen=True)
class _Send:
    """One message on one channel: its ledger entry (scope, key) and what holding it needs."""

    scope: str
    key: str
    kind: str
    channel: str
    label: str
    not_after: datetime | None
    trail: str | None
