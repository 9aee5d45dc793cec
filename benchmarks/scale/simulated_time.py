"""Simulated time for a benchmark whose subject is waiting: pacing, back-offs and delays that would take minutes.

`SimulatedClock` is discrete-event time shared by threads. The threads that take part (`member()`) run the real code
as fast as this machine runs it, while the clock stands still; when every member waits on the clock (`sleep`), the
clock jumps to the earliest wake-up. So a pacing pause or a back-off costs its simulated seconds and no wall time,
and work costs no simulated time at all, however slow the embedded AWS is here.

Real AWS calls take time, though, and a sender's work between two sends must fit in its pace. `charging_latency()`
makes each AWS call of a function (one the CallLog attributes to a scope) wait a fixed latency on the clock after it
returns: `LATENCY_S`, typical figures for calls within one region, assumed here, not measured. A threshold to keep in
mind: at the default pace a sender makes one SES call a second, and its work for that call (a GetItem, the bulk
send, a BatchWriteItem: about 0.2 s by these figures) fits in it with room to spare.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from benchmarks.counting import CallLog

# Simulated seconds each AWS call of a function takes, by service (assumed typical in-region latencies).
LATENCY_S = {"dynamodb": 0.010, "sqs": 0.020, "sesv2": 0.150, "lambda": 0.030, "secretsmanager": 0.030}
DEFAULT_LATENCY_S = 0.030


class SimulatedClock:
    def __init__(self, origin: datetime = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) -> None:
        self._now = origin.timestamp()
        self._turn = threading.Condition()
        self._members: set[int] = set()
        self._asleep: dict[int, float] = {}

    # ----- reading ---------------------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), UTC)

    def epoch(self) -> float:
        with self._turn:
            return self._now

    def epoch_ms(self) -> float:
        return self.epoch() * 1000

    # ----- taking part -----------------------------------------------------------------------------------------------
    @contextmanager
    def member(self) -> Iterator[None]:
        """The calling thread takes part while the block runs: the clock waits for it."""
        me = threading.get_ident()
        with self._turn:
            self._members.add(me)
        try:
            yield
        finally:
            with self._turn:
                self._members.discard(me)
                self._advance()

    def is_member(self) -> bool:
        with self._turn:
            return threading.get_ident() in self._members

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of simulated time. A thread that does not take part waits without holding time back."""
        me = threading.get_ident()
        with self._turn:
            wake = self._now + max(0.0, seconds)
            if me not in self._members:
                self._turn.wait_for(lambda: self._now >= wake or not self._members)
                return
            self._asleep[me] = wake
            self._advance()
            self._turn.wait_for(lambda: self._now >= wake)
            del self._asleep[me]

    def _advance(self) -> None:
        """(holding the lock) Every member waits: time jumps to the earliest wake-up."""
        if self._members and self._members <= set(self._asleep):
            self._now = max(self._now, min(self._asleep[member] for member in self._members))
            self._turn.notify_all()


@contextmanager
def charging_latency(clock: SimulatedClock, log: CallLog) -> Iterator[None]:
    """Each AWS call made inside a function (a CallLog scope) by a member of `clock` waits its service's latency."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def call(self: Any, operation_name: str, api_params: Any) -> Any:
        try:
            return original(self, operation_name, api_params)
        finally:
            if log.current_scope() is not None and clock.is_member():
                clock.sleep(LATENCY_S.get(self.meta.service_model.service_name, DEFAULT_LATENCY_S))

    with mock.patch.object(BaseClient, "_make_api_call", call):
        yield
