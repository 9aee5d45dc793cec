"""What agents and administrators are shown of referrals: the rows of Manage Referrals (R11) and an administrator's
look-up of one referral. Consumer details go only to the agent who accepted (R7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hod.domain import confirmation
from hod.domain.offer import Offer, OfferStatus
from hod.domain.referral import AuditEvent, Referral
from hod.errors import NotFound
from hod.ports.common import Clock

MISSED = "missed"


class ReferralReads(Protocol):
    """What these views read of the referrals table."""

    def get(self, referral_id: str) -> Referral | None: ...

    def audit_trail(self, referral_id: str) -> list[AuditEvent]: ...

    def referral_for_code(self, code: str) -> str | None: ...


@dataclass(frozen=True)
class AgentReferral:
    """One offer as the agent who received it sees it: the status shown, and the referral only if they accepted."""

    offer: Offer
    status: str
    accepted: Referral | None


def agent_referral(offer: Offer, referral: Referral | None, npn: str, now: datetime) -> AgentReferral:
    """An unanswered offer past its deadline reads as missed; an accepted one shows the referral's own status."""
    mine = referral is not None and referral.accepted_by == npn and offer.status is OfferStatus.ACCEPTED
    if offer.status is OfferStatus.PENDING and now >= offer.deadline:
        return AgentReferral(offer, MISSED, None)
    if mine and referral is not None:
        return AgentReferral(offer, referral.status.value, referral)
    return AgentReferral(offer, offer.status.value, None)


class ReferralViews:
    def __init__(self, store: ReferralReads, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def with_audit_trail(self, key: str) -> tuple[Referral, list[AuditEvent]]:
        """A referral and its audit trail, for an administrator: `key` is the referral's id or its confirmation
        code, as the consumer reads it out (any case, with or without the hyphen)."""
        code = confirmation.normalised(key)
        referral_id = self._store.referral_for_code(code) if code else key
        referral = self._store.get(referral_id) if referral_id else None
        if referral is None or referral_id is None:
            raise NotFound(f"Referral {key}")
        return referral, self._store.audit_trail(referral_id)
