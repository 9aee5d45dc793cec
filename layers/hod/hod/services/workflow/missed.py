"""Missed referrals (R9): an agent's direct offers that lapsed in the last 7 days are their missed count; each miss
is told to the agent, and reaching the policy's limit suspends them until an administrator reactivates them.
Safety-net calls never count."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hod.domain.offer import Offer, OfferKind, OfferStatus
from hod.errors import NotFound
from hod.logs import get_logger
from hod.services.workflow.common import WorkflowPorts
from hod.services.workflow.notices import Notices

if TYPE_CHECKING:
    from hod.services.agents import AgentService

logger = get_logger(__name__)


class MissedOffers:
    def __init__(self, ports: WorkflowPorts, agents: AgentService, notices: Notices) -> None:
        self._ports = ports
        self._agents = agents
        self._notices = notices

    def missed_recently(self, npn: str) -> int:
        since = self._ports.clock.now() - self._ports.policy.missed_window
        return sum(
            1
            for offer in self._ports.store.offers_for_agent(npn, since)
            if offer.kind is OfferKind.DIRECT and offer.status is OfferStatus.MISSED
        )

    def after_miss(self, offer: Offer) -> None:
        """Tell the agent about the offer they missed (already recorded as missed) and apply the suspension policy."""
        npn = offer.agent_npn
        try:
            agent = self._agents.view(npn).agent
        except NotFound:
            return  # the agent was removed meanwhile
        missed = self.missed_recently(npn)
        self._notices.missed(offer, agent, missed)
        limit = self._ports.policy.suspend_after_missed
        if not limit or missed < limit or agent.suspended:
            return
        self._agents.suspend(npn, f"missed {missed} referrals in the last 7 days")
        self._notices.suspended(agent, missed, self._ports.clock.now().date())
        logger.warning("agent suspended", extra={"agent_npn": npn, "missed": missed})


def missed_alert(count: int) -> str | None:
    """The sign-in alert of R9, or None when nothing was missed."""
    if count <= 0:
        return None
    return (
        f"Alert! You have missed {count} referral(s) in the last seven days. As a reminder, you must accept a "
        "referral within 15 minutes of receiving your notification. Missed referrals are sent to the next available "
        "Help On Demand agent or broker."
    )
