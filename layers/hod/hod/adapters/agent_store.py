"""The agents' store in DynamoDB (`AgentStore`): agents read and written with their optimistic version, and the
`due-changes` index read for the sweep."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from pynamodb.exceptions import PutError

from hod.adapters.agent_items import (
    _PLACEMENT_SEP,
    SUSPENDED_KEY,
    SWEEP_SHARDS,
    AgentItem,
    _stored,
    name_index_keys,
    sweep_shard,
)
from hod.adapters.dynamo import _conditional_failed, _sdk, bind
from hod.domain.agent import Agent
from hod.errors import Conflict
from hod.ports.agents import DueRefresh, StoredAgent


class DynamoAgentStore:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def get(self, npn: str) -> StoredAgent | None:
        bind(AgentItem, self._table)
        with _sdk("GetItem"):
            try:
                item = AgentItem.get(npn, consistent_read=True)
            except AgentItem.DoesNotExist:
                return None
        return _stored(item)

    def get_many(self, npns: Sequence[str]) -> list[StoredAgent]:
        bind(AgentItem, self._table)
        with _sdk("BatchGetItem"):
            return [_stored(item) for item in AgentItem.batch_get(npns, consistent_read=True)]

    def save(
        self,
        agent: Agent,
        *,
        expected_version: int | None,
        placements: frozenset[tuple[str, str]],
        next_change_at: int | None,
    ) -> int:
        bind(AgentItem, self._table)
        name_bucket, name = name_index_keys(agent.record.first_name, agent.record.last_name, agent.npn)
        item = AgentItem(
            npn=agent.npn,
            doc=agent.model_dump_json(),
            placements={_PLACEMENT_SEP.join(p) for p in placements} or None,
            sweep_shard=sweep_shard(agent.npn) if next_change_at is not None else None,
            next_change_at=next_change_at,
            email_key=agent.record.email.strip().lower() if agent.record.email else None,
            suspended_key=SUSPENDED_KEY if agent.suspended else None,
            name_bucket=name_bucket,
            name_key=name,
        )
        if expected_version is not None:
            item.version = expected_version
        with _sdk("PutItem"):
            try:
                item.save()
            except PutError as exc:
                if _conditional_failed(exc):
                    raise Conflict(f"Agent {agent.npn} was changed by someone else; try again.") from exc
                raise
        return int(item.version or 0)

    def due_for_refresh(self, until: int, after: int | None = None, limit: int | None = None) -> Iterator[DueRefresh]:
        """The `due-changes` index, every shard read in due order and merged: earliest first, page by page as the
        caller reads on (stopping early reads no more)."""
        bind(AgentItem, self._table)
        due = AgentItem.next_change_at
        condition = due <= until if after is None else due.between(after + 1, until)
        shards = [self._due_in_shard(str(shard), condition, limit) for shard in range(SWEEP_SHARDS)]
        merged = heapq.merge(*shards, key=lambda change: change.due_at)
        return merged if limit is None else islice(merged, limit)

    @staticmethod
    def _due_in_shard(shard: str, condition: Any, limit: int | None) -> Iterator[DueRefresh]:
        with _sdk("Query"):
            for item in AgentItem.due_changes.query(shard, condition, limit=limit):
                yield DueRefresh(item.npn, int(item.next_change_at))
