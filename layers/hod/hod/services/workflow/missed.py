"""Missed referrals (R9): an agent's direct offers that lapsed in the last 7 days are their missed count; each miss
is told to the agent, and reaching the policy's limit suspends them until an administrator reactivates them.
Safety-net calls never count; towards suspension, neither do offers the agent could not have answered (never
delivered, or their availability ended inside the window), and misses whose windows overlapped count once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hod.domain.offer import Offer, OfferKind, OfferStatus, countable_misses
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
        return sum(
            1 for offer in self._recent(npn) if offer.kind is OfferKind.DIRECT and offer.status is OfferStatus.MISSED
        )

    def after_miss(self, offer: Offer) -> bool:
        """Tell the agent about the offer they missed (already recorded as missed) and apply the suspension policy:
        it counts only the misses the agent could have answered (`countable_misses`). Whether the agent still takes
        offers afterwards."""
        npn = offer.agent_npn
        try:
            agent = self._agents.view(npn).agent
        except NotFound:
            return False  # the agent was removed meanwhile
        recent = self._recent(npn)
        missed = sum(1 for o in recent if o.kind is OfferKind.DIRECT and o.status is OfferStatus.MISSED)
        self._notices.missed(offer, agent, missed)
        counted = countable_misses(recent)
        limit = self._ports.policy.suspend_after_missed
        if not limit or counted < limit or agent.suspended:
            return not agent.suspended
        self._agents.suspend(npn, f"missed {counted} referrals in the last 7 days")
        self._notices.suspended(agent, counted, self._ports.clock.now().date())
        logger.warning("agent suspended", extra={"agent_npn": npn, "missed": missed, "counted": counted})
        return False

    def _recent(self, npn: str) -> list[Offer]:
        return self._ports.store.offers_for_agent(npn, self._ports.clock.now() - self._ports.policy.missed_window)


def missed_alert(count: int) -> str | None:
    """The sign-in alert of R9, or None when nothing was missed."""
    if count <= 0:
        return None
    return (
        f"Alert! You have missed {count} referral(s) in the last seven days. As a reminder, you must accept a "
        "referral within 15 minutes of receiving your notification. Missed referrals are sent to the next available "
        "Help On Demand agent or broker."
    )
