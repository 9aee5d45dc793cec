"""Ports of the intake: the referrals' store (a referral created with its submission's name and short links, its
audit trail, the sweep's flags) and the start of a referral's workflow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hod.domain.referral import AuditEvent, Referral, WorkflowStart
from hod.ports.links import ShortLink


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


class Workflow(Protocol):
    @property
    def records_start(self) -> bool:
        """True when the workflow's first round writes `workflow.started` and the receipt's outcomes (from
        `WorkflowStart`) to the audit trail; False when the caller must."""
        ...

    def start(self, start: WorkflowStart) -> str:
        """Start the referral's workflow; returns an identifier of the run."""
        ...
