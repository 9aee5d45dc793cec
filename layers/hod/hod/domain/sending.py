"""What the send queue carries, and the arithmetic of sending at a rate. Pure: no clock reads, no I/O.

Two kinds of queued message (docs/notifications.md):

- `SafetyNetCalls`: up to `CALLS_PER_MESSAGE` of one referral's safety-net calls, each agent with their own signed
  link, all in one message group (`group`). The send function e-mails them at the account's SES rate, through SES
  bulk sending.
- `HeldMessage`: one message, on one channel, that could not be sent when it was due (the channel was throttling
  after the SDK's retries); sent later unless its moment (`not_after`) has passed.

The queue is FIFO: SQS never hands out a message of a group while another of the same group is in flight, so all the
calls to one agent (always in the same group) are made one after the other, never side by side. The quotas the
messages are sized by are AWS's, written down here once.
"""

from __future__ import annotations

import math
import zlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# SES v2 SendBulkEmail takes at most 50 destinations a call (SES quota).
SES_BULK_LIMIT = 50
# SQS: at most 10 messages a SendMessageBatch, 256 KiB a message and a batch; a message made invisible for at most
# 12 hours (ChangeMessageVisibility: how the send function puts a message off, FIFO queues having no message delay).
SQS_BATCH_LIMIT = 10
SQS_MESSAGE_BYTES = 262_144
SQS_VISIBILITY_LIMIT = 43_200
# The longest a back-off puts a message off.
BACK_OFF_CAP = 900
# One queued message of safety-net calls holds this many agents (one full bulk call; about 14 KB with the links).
CALLS_PER_MESSAGE = SES_BULK_LIMIT
# One referral's safety-net calls are spread over this many message groups, each with its own partition key in the
# send ledger: up to this many senders can call its roster side by side, and one write a call keeps each partition
# under DynamoDB's 1,000 write units a second up to 10,000 calls a second.
LEDGER_SHARDS = 10


class Call(BaseModel):
    """One agent's safety-net call: who, and the link they answer through (signed for them alone)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    npn: str = Field(min_length=1, max_length=20)
    link: str = Field(min_length=1, max_length=2048)


class SafetyNetCalls(BaseModel):
    """Part of one referral's safety-net call, queued for the send function: agents of one message group (`group`,
    their ledger scope: `ledger_scope`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["safety_net"] = "safety_net"
    referral_id: str = Field(min_length=1, max_length=64)
    group: str = Field(min_length=1, max_length=96)
    city: str
    county: str
    state: str = Field(min_length=2, max_length=2)
    calls: tuple[Call, ...] = Field(min_length=1, max_length=CALLS_PER_MESSAGE)

    @property
    def message_group(self) -> str:
        return self.group


class HeldMessage(BaseModel):
    """A message on one channel that the channel refused for now (throttled after the SDK's retries), kept whole
    as rendered so it can be sent later exactly as it would have been. `scope` and `key` name it in the send
    ledger; `trail` is the referral whose audit trail records the outcome (None for an agent's own messages)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["held"] = "held"
    scope: str = Field(min_length=1)
    key: str = Field(min_length=1)
    label: str
    channel: Literal["email", "text", "app"]
    to: tuple[str, ...] = Field(min_length=1)  # the address, the phone number, or "platform:token" per device
    subject: str = ""
    text: str = ""
    html: str = ""
    not_after: datetime
    trail: str | None = None

    @property
    def message_group(self) -> str:
        return f"{self.scope}#{self.key}"


QueuedMessage = Annotated[SafetyNetCalls | HeldMessage, Field(discriminator="kind")]


def calls_per_send(rate: float, senders: int) -> int:
    """Recipients per SES call when `senders` send side by side within `rate` recipients a second: each sender's
    share of one second, at most a bulk call's limit, at least one. Sent at once, all senders' calls together stay
    within one second of the account's rate, which SES lets through as a burst."""
    return max(1, min(SES_BULK_LIMIT, math.floor(rate / max(1, senders))))


def full_jitter(attempt: int, draw: float, base: float = 1.0, cap: float = BACK_OFF_CAP) -> float:
    """Exponential back-off with full jitter: a delay drawn evenly from [0, min(cap, base * 2**attempt)); `draw` is
    a number in [0, 1) from the caller's random source."""
    return float(min(cap, base * 2.0 ** min(attempt, 30)) * min(max(draw, 0.0), 1.0))


def ledger_scope(referral_id: str, npn: str) -> str:
    """The message group of an agent's safety-net call, and the partition key of its ledger entry (LEDGER_SHARDS)."""
    return f"{referral_id}#calls{zlib.crc32(npn.encode()) % LEDGER_SHARDS}"


def call_key(npn: str) -> str:
    """The ledger key of an agent's safety-net call (the same as the single-message sends used before)."""
    return f"safety_net:{npn}#email"
