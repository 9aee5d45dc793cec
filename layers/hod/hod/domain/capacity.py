"""Agent capacity: how many referrals an agent holds at once, who is free, and who has waited longest.

An agent's *load* is a set of slots, each held by one referral until a moment (epoch seconds):

- a pending direct offer holds a slot until its deadline, or until it is answered;
- an accepted referral holds one for the *wrap-up* while the agent calls the consumer (R12): until they record
  progress, the first follow-up reminder, or the wrap-up time after accepting, whichever comes first.

A slot whose moment has passed is free even if nothing released it, so a lost release can hold an agent back by one
offer window or one wrap-up at most, never for good. Safety-net calls hold no slot: they are broadcasts, not offers.

Referrals that found every qualifying agent near them at capacity wait for them: each waiting referral is listed on
the loads of the agents it waits for (a *waiter*), oldest first, so the first of those agents to free a slot wakes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_SEP = "|"


@dataclass(frozen=True, order=True)
class Slot:
    """One referral held by an agent until `until` (epoch seconds)."""

    referral_id: str
    until: int

    @property
    def key(self) -> str:
        """How the slot is stored: releasing it names it exactly, so a release never frees another referral's."""
        return f"{self.referral_id}{_SEP}{self.until}"

    @classmethod
    def parse(cls, key: str) -> Slot | None:
        referral_id, _, until = key.rpartition(_SEP)
        return cls(referral_id, int(until)) if referral_id and until.isdigit() else None


@dataclass(frozen=True, order=True)
class Waiter:
    """A referral waiting for an agent to free a slot, since `queued_at` (epoch seconds of its first wait)."""

    queued_at: int
    referral_id: str

    @property
    def key(self) -> str:
        """Sorts by waiting time as text, so the oldest waiter comes first."""
        return f"{self.queued_at:012d}{_SEP}{self.referral_id}"

    @classmethod
    def parse(cls, key: str) -> Waiter | None:
        queued_at, _, referral_id = key.partition(_SEP)
        return cls(int(queued_at), referral_id) if queued_at.isdigit() and referral_id else None


@dataclass(frozen=True)
class AgentLoad:
    """What an agent holds now, as stored. `version` counts the writes to it (0: nothing stored yet): claiming a
    slot is conditional on the version read, so two matches racing for the agent's last slot have one winner."""

    npn: str
    offers: frozenset[Slot] = frozenset()
    wrap_ups: frozenset[Slot] = frozenset()
    last_offer_at: int = 0
    version: int = 0
    waiters: tuple[Waiter, ...] = field(default=())

    def held(self, now: int) -> list[Slot]:
        return sorted(slot for slot in self.offers | self.wrap_ups if slot.until > now)

    def has_room(self, capacity: int, now: int) -> bool:
        return len(self.held(now)) < capacity

    def frees_at(self, now: int) -> int | None:
        """When the first slot held now frees at the latest (an answer or progress can free it sooner)."""
        return min((slot.until for slot in self.held(now)), default=None)

    def live_offers(self, now: int) -> frozenset[Slot]:
        return frozenset(slot for slot in self.offers if slot.until > now)

    def live_wrap_ups(self, now: int) -> frozenset[Slot]:
        return frozenset(slot for slot in self.wrap_ups if slot.until > now)


def most_rested(loads: Iterable[AgentLoad]) -> AgentLoad:
    """Of agents at the same distance, the one who has waited longest since their last offer (never offered first),
    then the lowest NPN: equal distances rotate among the agents instead of always going to the same one."""
    return min(loads, key=lambda load: (load.last_offer_at, load.npn))


def first_to_free(loads: Sequence[AgentLoad], now: int) -> int | None:
    """The earliest moment one of these agents frees a slot at the latest."""
    return min((moment for load in loads if (moment := load.frees_at(now)) is not None), default=None)
