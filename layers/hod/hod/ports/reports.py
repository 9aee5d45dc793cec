"""The port the administrator's reports and coverage read through."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from hod.domain.agent import Agent
from hod.domain.metrics import ListedReferral, OfferFact, ReferralFact


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
