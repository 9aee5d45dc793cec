"""Ports of the agents' side: their records, the available-now index, the sweep's queue and cursor, their loads
(capacity) and the slots an offer claims and releases, invitations and missed offers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hod.domain.agent import Agent
from hod.domain.capacity import AgentLoad, Slot, Waiter
from hod.domain.nearest import IndexEntry


@dataclass(frozen=True)
class Placement:
    """One entry of the agent index: in `area` "TX#es" the agent is available until `until` (epoch seconds of the
    next change); in area "ROSTER#TX" (or one of its shards, "ROSTER#TX#07") the agent takes Texas referrals at all
    (until = 0: no expiry)."""

    area: str
    cell: str
    npn: str
    lat: float
    lon: float
    until: int


@dataclass(frozen=True)
class StoredAgent:
    agent: Agent
    version: int
    placements: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    next_change_at: int | None = None


@dataclass(frozen=True)
class DueRefresh:
    """An agent whose availability or eligibility changes at `due_at` (epoch seconds): the available-now index must
    be brought up to date for them then."""

    npn: str
    due_at: int


class AgentStore(Protocol):
    def get(self, npn: str) -> StoredAgent | None: ...

    def get_many(self, npns: Sequence[str]) -> list[StoredAgent]:
        """The agents of `npns` that exist (strongly consistent), in no particular order."""
        ...

    def save(
        self,
        agent: Agent,
        *,
        expected_version: int | None,
        placements: frozenset[tuple[str, str]],
        next_change_at: int | None,
    ) -> int:
        """Write the agent if its stored version is still `expected_version` (None: must not exist yet).
        Returns the new version; raises Conflict when another writer got there first."""
        ...

    def due_for_refresh(self, until: int, after: int | None = None, limit: int | None = None) -> Iterator[DueRefresh]:
        """Agents whose next change falls in (`after`, `until`] (epoch seconds; no `after`: any time up to `until`),
        earliest first, at most `limit` of them. Read lazily: stopping early reads no more."""
        ...


class AvailableIndex(Protocol):
    def query(self, area: str, prefix: str) -> Sequence[IndexEntry]: ...

    def replace(self, remove: Iterable[tuple[str, str]], add: Iterable[Placement]) -> None: ...


@dataclass(frozen=True)
class RefreshBatch:
    """Agents whose changes all fall due at `due_at`, to be applied to the available-now index together."""

    due_at: int
    npns: tuple[str, ...]


class RefreshQueue(Protocol):
    """Where due changes wait until they fall due, for the workers that apply them."""

    def send(self, batches: Sequence[RefreshBatch], now: datetime) -> None:
        """Queue each batch to be handed to a worker at its `due_at` (at once when that is not after `now`).
        Raises DependencyFailed if any batch could not be queued (those before it in `batches` were)."""
        ...


class SweepCursor(Protocol):
    """How far ahead the sweep has queued due changes: every change due at or before `through()` is queued."""

    def through(self) -> int | None: ...

    def advance(self, through: int) -> None:
        """Record that every change due at or before `through` is queued (never moves back)."""
        ...


@dataclass(frozen=True)
class SlotClaim:
    """An offer's claim on a slot of its agent's load, conditional on the load as matching read it (its version), so
    of two matches racing for an agent's last slot exactly one wins. Slots past their moment are dropped meanwhile."""

    load: AgentLoad
    slot: Slot
    now: int


@dataclass(frozen=True)
class SlotRelease:
    """What an answer, a lapse or progress changes in the agent's load: the offer's slot freed (`offer`), an
    accepted referral's wrap-up held (`wrap_up`) or ended (`wrap_up_ended`)."""

    npn: str
    offer: Slot | None = None
    wrap_up: Slot | None = None
    wrap_up_ended: Slot | None = None


class AgentLoads(Protocol):
    """Agents' loads (capacity): the slots they hold, when they were last offered a referral, who waits for them."""

    def loads(self, npns: Sequence[str]) -> dict[str, AgentLoad]:
        """Each agent's load as stored now (an agent with nothing stored holds nothing)."""
        ...

    def load(self, npn: str) -> AgentLoad: ...

    def loads_and_agents(self, npns: Sequence[str]) -> tuple[dict[str, AgentLoad], dict[str, Agent]]:
        """Each agent's load, and their stored record (agents no longer stored are left out), in one read."""
        ...

    def release(self, release: SlotRelease) -> None:
        """Apply a release outside any other decision (a wrap-up ended by progress or by the follow-up reminder)."""
        ...

    def forget_waiters(self, npn: str, waiters: Sequence[Waiter]) -> None:
        """Take referrals off the agent's waiting list (woken, or no longer waiting)."""
        ...


class Invitations(Protocol):
    def queue_invite(self, npn: str) -> None:
        """Queue an account invitation for an agent who just became eligible (the one-minute sweep sends it)."""
        ...


class MissedCount(Protocol):
    def missed_recently(self, npn: str) -> int:
        """How many direct offers the agent missed in the last 7 days (R9)."""
        ...
