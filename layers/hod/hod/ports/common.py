"""Ports many services share: the clock (and a clock that can be waited on), the signing keys, the send queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from hod.domain.sending import HeldMessage, SafetyNetCalls
from hod.signing import KeyRing


class Clock(Protocol):
    def now(self) -> datetime: ...


class Timer(Clock, Protocol):
    """A clock that can also be waited on (the senders' pacing and back-off)."""

    def sleep(self, seconds: float) -> None: ...


class SendQueue(Protocol):
    def put(self, messages: Sequence[SafetyNetCalls | HeldMessage]) -> None:
        """Queue messages for the send function, each in its message group. Raises DependencyFailed (retryable when
        the queue was throttling)."""
        ...


class KeyProvider(Protocol):
    def key_ring(self, with_previous: bool = True) -> KeyRing:
        """The signing keys; `with_previous=False` when only the current key is needed (signing, or verifying a
        token signed with it), which spares fetching the previous one."""
        ...
