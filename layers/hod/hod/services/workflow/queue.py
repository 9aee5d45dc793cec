"""Agent capacity in the workflow: the slot an offer or an acceptance holds, and the referrals waiting for busy agents.

A referral that finds every qualifying agent near it at capacity waits (the Offer task keeps its token and is not
answered) and is listed on those agents' loads. The first of them to free a slot — by answering, by an offer lapsing,
by recording progress on an accepted referral, or at the first follow-up reminder — wakes the oldest referral listed
on them: its Offer task fails with Recheck and the execution runs the next round at once, which offers the referral
to the nearest agent who now has room. A wait nobody ends lasts one offer window (the task's timeout), then the round
runs again; after `queue_wait_seconds` of waiting the referral goes to the safety net instead."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hod.domain.capacity import AgentLoad, Slot, Waiter, first_to_free
from hod.domain.offer import Offer
from hod.domain.referral import AuditEvent
from hod.logs import get_logger
from hod.ports.agents import AgentLoads, SlotRelease
from hod.services.workflow.common import WorkflowPorts

logger = get_logger(__name__)


def offer_slot(offer: Offer) -> Slot:
    """The slot a pending direct offer holds: until its deadline."""
    return Slot(offer.referral_id, int(offer.deadline.timestamp()))


class WaitingReferrals:
    def __init__(self, ports: WorkflowPorts, loads: AgentLoads) -> None:
        self._ports = ports
        self._loads = loads

    def may_wait(self, queued_since: datetime | None) -> bool:
        """Whether a referral (waiting since `queued_since`, if it has waited before) may start another wait."""
        budget = self._ports.policy.queue_wait_seconds
        if budget <= 0:
            return False
        return queued_since is None or self._ports.clock.now() - queued_since < timedelta(seconds=budget)

    def wait(
        self,
        referral_id: str,
        queued_since: datetime | None,
        busy: Sequence[AgentLoad],
        task_token: str,
        opening: Sequence[AuditEvent] = (),
    ) -> None:
        """The qualifying agents near the consumer are all at capacity: the referral waits for the first of them to
        free a slot, on the Offer task's token, listed on their loads; one write, conditional on the loads as read
        (Conflict: one of them freed a slot meanwhile, or the referral moved on)."""
        now = self._ports.clock.now()
        since = queued_since or now
        frees_by = first_to_free(busy, int(now.timestamp()))
        queued = self._ports.event(
            "system",
            "referral.queued",
            busy=len(busy),
            frees_by=datetime.fromtimestamp(frees_by, UTC).isoformat() if frees_by else None,
            waited_s=int((now - since).total_seconds()),
        )
        waiter = Waiter(int(since.timestamp()), referral_id)
        self._ports.store.queue(referral_id, task_token, waiter, busy, [*opening, queued])

    def wrap_up(self, referral_id: str, accepted_at: datetime) -> Slot | None:
        """The slot an accepted referral holds while the agent calls the consumer; None when there is no wrap-up."""
        seconds = self._ports.policy.wrap_up_seconds
        if seconds <= 0:
            return None
        return Slot(referral_id, int((accepted_at + timedelta(seconds=seconds)).timestamp()))

    def end_wrap_up(self, referral_id: str, npn: str, accepted_at: datetime) -> str | None:
        """The agent recorded progress, or the first reminder came: the wrap-up's slot frees, and a referral waiting
        for the agent is woken (its id returned)."""
        slot = self.wrap_up(referral_id, accepted_at)
        if slot is None:
            return None  # accepting freed the slot already
        if slot.until > int(self._ports.clock.now().timestamp()):
            self._loads.release(SlotRelease(npn, wrap_up_ended=slot))
        return self.wake_for(npn)  # (a wrap-up that just ended by itself woke nobody)

    def _now(self) -> int:
        return int(self._ports.clock.now().timestamp())

    def wake_for(self, npn: str) -> str | None:
        """An agent freed a slot: wake the referral that has waited longest for them, if one still waits and was
        not offered to them since (it could not take them). Every referral listed on the agent that no longer waits
        is taken off the list, so the list holds only the referrals waiting now. Returns the woken referral's id."""
        load = self._loads.load(npn)
        if not load.waiters or not load.has_room(self._ports.policy.offer_capacity, self._now()):
            return None
        waiting = self._ports.store.still_waiting([w.referral_id for w in load.waiters], npn)
        done = [waiter for waiter in load.waiters if waiter.referral_id not in waiting]
        woken: str | None = None
        for waiter in load.waiters:
            if waiter.referral_id not in waiting:
                continue
            done.append(waiter)
            token = self._ports.store.take_queue_token(waiter.referral_id)
            if token is not None and self._ports.tokens.recheck(token):
                woken = waiter.referral_id
                break
        self._loads.forget_waiters(npn, done)
        if woken is not None:
            logger.info("waiting referral woken", extra={"referral_id": woken, "agent_npn": npn})
        return woken
