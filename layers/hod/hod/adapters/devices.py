"""Forgetting a push device its push service says is gone: the agent's stored document without it, written back only
if nobody changed the agent meanwhile (the item's version), in one GetItem and one UpdateItem. Nothing else about
the agent changes, so neither the agent index nor the sweep needs to know."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from hod.adapters.agent_items import AgentItem
from hod.adapters.dynamo import _conditional_failed, _sdk, bind
from hod.domain.agent import Agent
from hod.logs import get_logger

logger = get_logger(__name__)
_ATTEMPTS = 3


class DynamoDevices:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def forget(self, npn: str, platform: str, token: str) -> bool:
        """Remove the agent's device; False when there was none such (or the agent is gone)."""
        bind(AgentItem, self._table)
        for _ in range(_ATTEMPTS):
            with _sdk("GetItem"):
                try:
                    item = AgentItem.get(npn, consistent_read=True)
                except AgentItem.DoesNotExist:
                    return False
            agent = Agent.model_validate_json(item.doc)
            kept = tuple(d for d in agent.devices if (d.platform, d.token) != (platform, token))
            if kept == agent.devices:
                return False
            with _sdk("UpdateItem"):
                try:
                    item.update(actions=[AgentItem.doc.set(agent.evolve(devices=kept).model_dump_json())])
                except UpdateError as exc:
                    if _conditional_failed(exc):
                        continue  # the agent changed meanwhile: read again
                    raise
            logger.info("push device forgotten", extra={"recipient": f"agent:{npn}", "platform": platform})
            return True
        return False
