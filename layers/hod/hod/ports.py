"""The small interfaces the services need. Adapters implement them over AWS; tests implement them in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from hod.domain.agent import Agent
from hod.domain.capacity import AgentLoad, Slot, Waiter
from hod.domain.metrics import ListedReferral, OfferFact, ReferralFact
from hod.domain.nearest import IndexEntry
from hod.domain.offer import AgentContact, Offer, OfferStatus
from hod.domain.referral import AuditEvent, Referral, ReferralStatus, WorkflowStart
from hod.domain.sending import HeldMessage, SafetyNetCalls
from hod.signing import KeyRing


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class SubmissionKey:
    """A consumer's submission, named for idempotency: `key` names it (a hash of its Idempotency-Key, or of its
    fields), `fingerprint` is a hash of its fields; the name is held until `expires_at`, and `now` is when it is
    claimed (epoch seconds both)."""

    key: str
    fingerprint: str
    expires_at: int
    now: int


@dataclass(frozen=True)
class EarlierSubmission:
    """The referral an unexpired earlier submission of the same name stored, and that submission's fingerprint."""

    referral_id: str
    fingerprint: str


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


class ReferralStore(Protocol):
    def create(
        self,
        referral: Referral,
        events: Sequence[AuditEvent],
        once: SubmissionKey | None = None,
        links: Sequence[ShortLink] = (),
    ) -> EarlierSubmission | None:
        """Store a new referral, flagged as not started until its workflow's first round clears the flag. With
        `once`, in the same write, the submission's name is claimed: when an unexpired earlier submission holds it,
        nothing is stored and that submission is returned. `links`: short links its receipt carries, stored in the
        same write."""
        ...

    def as_created(self, referral_id: str) -> Referral | None:
        """The referral as it was when stored (what its submission answered)."""
        ...

    def get(self, referral_id: str) -> Referral | None: ...

    def audit_trail(self, referral_id: str) -> list[AuditEvent]: ...

    def append_events(self, referral_id: str, events: Sequence[AuditEvent]) -> None: ...

    def mark_unstarted(self, referral_id: str, unstarted: bool) -> None: ...

    def start_failed(self, referral_id: str, events: Sequence[AuditEvent]) -> None:
        """Flag the referral for the sweep to start (its workflow failed to start), with the audit events."""
        ...

    def unstarted(self, limit: int) -> list[str]:
        """Referrals whose workflow failed to start."""
        ...

    def mark_round_failed(self, referral_id: str, events: Sequence[AuditEvent]) -> None:
        """Flag a referral whose execution ends because a round kept failing, for the sweep to restart."""
        ...

    def round_failed(self, limit: int) -> list[str]:
        """Referrals flagged by `mark_round_failed`."""
        ...

    def claim_restart(self, referral_id: str) -> int | None:
        """Take a flagged referral's restart (clearing the flag): its run number, or None if already taken."""
        ...

    def never_started(self, limit: int) -> list[str]:
        """Referrals still flagged as not started since they were created (the start may be under way)."""
        ...


@dataclass(frozen=True)
class OfferRecord:
    """An offer as stored: with the workflow's task token and the agent's contact details kept on it."""

    offer: Offer
    task_token: str | None = None
    contact: AgentContact | None = None


@dataclass(frozen=True)
class ReferralState:
    """A referral with its offers (all, or the one asked for), the safety net's task token, the accepting agent's
    contact details, and how it waited for busy agents: what one read of its item collection returns."""

    referral: Referral
    offers: tuple[OfferRecord, ...] = ()
    task_token: str | None = None
    contact: AgentContact | None = None
    queued_since: datetime | None = None
    queue_cycles: int = 0

    def offer_to(self, npn: str) -> OfferRecord | None:
        return next((record for record in self.offers if record.offer.agent_npn == npn), None)

    @property
    def pending(self) -> OfferRecord | None:
        return next((r for r in self.offers if r.offer.status is OfferStatus.PENDING), None)


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


class WorkflowStore(ReferralStore, Protocol):
    """The referral workflow's state: offers and the conditional moves between statuses (each also writes its
    audit event). A move that lost a race raises Conflict and changes nothing."""

    def offers(self, referral_id: str) -> list[Offer]: ...

    def offer(self, referral_id: str, npn: str) -> tuple[Offer, str | None] | None:
        """The offer and the workflow's task token kept on it."""
        ...

    def state(self, referral_id: str) -> ReferralState | None:
        """The referral and all its offers (one Query)."""
        ...

    def state_for(self, referral_id: str, npn: str) -> ReferralState | None:
        """The referral and the offer to one agent, if any (one BatchGetItem)."""
        ...

    def offers_for_agent(self, npn: str, since: datetime) -> list[Offer]: ...

    def record_offer(
        self,
        offer: Offer,
        task_token: str,
        contact: AgentContact,
        events: Sequence[AuditEvent],
        claim: SlotClaim | None = None,
    ) -> None: ...

    def queue(
        self,
        referral_id: str,
        task_token: str,
        waiter: Waiter,
        busy: Sequence[AgentLoad],
        events: Sequence[AuditEvent],
    ) -> None:
        """The referral waits for busy agents: the Offer task's token kept on it, and the referral listed on each
        agent's load, conditional on the loads as read (an agent who freed a slot meanwhile fails it: Conflict)."""
        ...

    def still_waiting(self, referral_ids: Sequence[str], npn: str) -> set[str]:
        """Which of these referrals still wait for an agent and were never offered to agent `npn`."""
        ...

    def take_queue_token(self, referral_id: str) -> str | None:
        """Claim the waiting referral's token (only while it still waits): the one caller that gets it wakes it."""
        ...

    def mark_undelivered(self, referral_id: str, npn: str, events: Sequence[AuditEvent]) -> None:
        """No channel delivered the offer: its lapse will not count against the agent. One write with `events` (the
        send's outcomes)."""
        ...

    def move_referral(
        self,
        referral_id: str,
        *,
        expected: Sequence[ReferralStatus],
        to: ReferralStatus,
        event: AuditEvent,
        at: datetime,
        accepted_by_must_be: str | None = None,
        extra: dict[str, Any] | None = None,
        conflict: str = ...,
        also: Sequence[AuditEvent] = (),
    ) -> None: ...

    def decide_offer(
        self,
        referral_id: str,
        npn: str,
        *,
        to: OfferStatus,
        at: datetime,
        before_deadline: bool,
        referral_to: ReferralStatus,
        event: AuditEvent,
        contact: AgentContact | None = None,
        release: SlotRelease | None = None,
        after: Referral | None = None,
    ) -> None:
        """`after`: the referral as this write leaves it, when the caller knows it (measured without a read)."""
        ...

    def accept_safety_net(
        self,
        offer: Offer,
        event: AuditEvent,
        contact: AgentContact,
        release: SlotRelease | None = None,
        after: Referral | None = None,
    ) -> None: ...

    def attach_token(self, referral_id: str, npn: str | None, token: str) -> bool: ...

    def claim_reminder(self, referral_id: str, key: str, agent_npn: str | None = None) -> ReferralState | None:
        """Mark reminder `key` as sent, only while the referral is accepted without progress (by `agent_npn`, when
        given: a reminder scheduled for an earlier acceptance is not this one's) and the reminder was not sent
        before; returns the referral and the accepting agent's contact, or None."""
        ...

    def mark_reminder_unscheduled(self, referral_id: str, events: Sequence[AuditEvent]) -> None:
        """Flag an accepted referral whose next reminder could not be scheduled, for the sweep, with the events."""
        ...

    def reminders_unscheduled(self, limit: int) -> list[str]:
        """Referrals flagged by `mark_reminder_unscheduled`."""
        ...

    def claim_unscheduled_reminder(self, referral_id: str) -> bool:
        """Clear a referral's unscheduled-reminder flag: False when another sweep already did."""
        ...


class Workflow(Protocol):
    @property
    def records_start(self) -> bool:
        """True when the workflow's first round writes `workflow.started` and the receipt's outcomes (from
        `WorkflowStart`) to the audit trail; False when the caller must."""
        ...

    def start(self, start: WorkflowStart) -> str:
        """Start the referral's workflow; returns an identifier of the run."""
        ...


class Callbacks(Protocol):
    """The state machine's waiting tasks, woken by their task token. True when the task was still waiting."""

    def success(self, token: str, output: dict[str, Any]) -> bool: ...

    def failure(self, token: str, error: str, cause: str = "") -> bool: ...


class Reminders(Protocol):
    def schedule(self, referral_id: str, after_minutes: int, at: datetime, agent_npn: str) -> None:
        """Remind `agent_npn`, who accepted the referral, at `at` unless progress is recorded by then or the
        referral is no longer theirs (R12). Raises DependencyFailed."""
        ...


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


class ReportSource(Protocol):
    """What the administrator's reports read: facts about referrals and offers (never consumer details), and the
    suspended agents."""

    def day(self, day: date, limit: int) -> tuple[list[ReferralFact], list[OfferFact]]:
        """Referrals created and offers made on this UTC day; at most `limit` of them in all."""
        ...

    def suspended_agents(self, limit: int, after: str | None) -> tuple[list[Agent], str | None]:
        """Suspended agents by NPN, after the NPN `after`; and the NPN to continue after, when there are more."""
        ...

    def referrals_between(
        self, start: datetime, end: datetime, statuses: frozenset[str], budget: int
    ) -> tuple[list[ListedReferral], bool]:
        """Referrals created in [start, end) with one of `statuses`; True when more than `budget` items were there."""
        ...

    def find_agents(self, text: str, limit: int) -> list[Agent]:
        """At most `limit` agents whose NPN is `text`, whose e-mail address is `text`, or whose name starts so."""
        ...


# ----- links between services (each implemented by another service, or by the settings) --------------------------
class PublicSite(Protocol):
    @property
    def public_base_url(self) -> str:
        """Where the service is reached from outside, the base of every link it sends; "" when not configured."""
        ...


class LinkSigner(Protocol):
    def signed_link(self, purpose: str, referral_id: str, npn: str, expires: datetime) -> str:
        """The page an agent opens from a notification to see and answer one referral, valid until `expires`."""
        ...


@dataclass(frozen=True)
class ShortLink:
    """A short code standing for a long signed link until `expires_at` (epoch seconds): `/l/<code>`."""

    code: str
    target: str
    expires_at: int


class LinkShortener(Protocol):
    def shorten(self, target: str, expires: datetime) -> str:
        """A short URL for `target` until `expires` (for text messages); `target` itself if none could be made."""
        ...


class Invitations(Protocol):
    def queue_invite(self, npn: str) -> None:
        """Queue an account invitation for an agent who just became eligible (the one-minute sweep sends it)."""
        ...


class MissedCount(Protocol):
    def missed_recently(self, npn: str) -> int:
        """How many direct offers the agent missed in the last 7 days (R9)."""
        ...


@dataclass(frozen=True)
class NotCalledReport:
    """A consumer's "nobody has called me" as one write records it (hod.services.workflow.not_called): once per
    acceptance (`key`), for an acceptance by `npn` made at or before `accepted_by_then`; with `reassign`, the referral
    goes back to searching in the same write."""

    referral_id: str
    npn: str
    key: str
    at: datetime
    accepted_by_then: datetime
    events: Sequence[AuditEvent]
    reassign: bool
