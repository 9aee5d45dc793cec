"""Agents' loads in DynamoDB (hod.domain.capacity): one item per agent in the referrals table, beside the agent's
send-ledger claims ("AGENT#<npn>" / "LOAD"), so the offer that claims a slot, the answer that frees it and the
referral's own move are one transaction.

Slots and waiters are string sets, each element naming one referral exactly ("<referral>|<until>",
"<queued at>|<referral>"): a release deletes its own element, and deleting from a set that is missing changes
nothing. Pending offers and wrap-ups are two sets, so an acceptance frees the one and holds the other in one update.
Only a claim rewrites the sets whole, conditional on the version it read."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from hod.adapters.agent_items import AgentItem, _stored
from hod.adapters.dynamo import DYNAMODB_ATTEMPTS, _sdk, bind, transactions
from hod.domain.agent import Agent
from hod.domain.capacity import AgentLoad, Slot, Waiter
from hod.errors import ConfigurationError, DependencyFailed
from hod.ports.agents import SlotClaim, SlotRelease

_LOAD = "LOAD"


class LoadItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    offers = UnicodeSetAttribute(null=True)  # pending direct offers: "<referral>|<deadline>"
    wrap_ups = UnicodeSetAttribute(null=True)  # accepted referrals the agent is calling: "<referral>|<until>"
    waiters = UnicodeSetAttribute(null=True)  # referrals waiting for a slot: "<queued at>|<referral>"
    last_offer_at = NumberAttribute(null=True)
    load_version = NumberAttribute(null=True)


def _pk(npn: str) -> str:
    return f"AGENT#{npn}"


def _load(npn: str, item: LoadItem | None) -> AgentLoad:
    if item is None:
        return AgentLoad(npn)
    waiters = sorted(w for key in item.waiters or () if (w := Waiter.parse(key)) is not None)
    return AgentLoad(
        npn,
        offers=frozenset(s for key in item.offers or () if (s := Slot.parse(key)) is not None),
        wrap_ups=frozenset(s for key in item.wrap_ups or () if (s := Slot.parse(key)) is not None),
        last_offer_at=int(item.last_offer_at or 0),
        version=int(item.load_version or 0),
        waiters=tuple(waiters),
    )


def _as_read(load: AgentLoad) -> Condition:
    if load.version == 0:
        return LoadItem.load_version.does_not_exist()
    return LoadItem.load_version == load.version


def claim_slot(tx: TransactWrite, claim: SlotClaim) -> None:
    """The claim, in the offer's transaction: the agent's live slots plus this one, if the load is still as read."""
    load = claim.load
    wrap_ups = load.live_wrap_ups(claim.now)
    actions: list[Action] = [
        LoadItem.offers.set({slot.key for slot in load.live_offers(claim.now) | {claim.slot}}),
        LoadItem.wrap_ups.set({slot.key for slot in wrap_ups}) if wrap_ups else LoadItem.wrap_ups.remove(),
        LoadItem.last_offer_at.set(claim.now),
        LoadItem.load_version.set(load.version + 1),
    ]
    tx.update(LoadItem(_pk(load.npn), _LOAD), actions=actions, condition=_as_read(load))


def _release_actions(release: SlotRelease) -> list[Action]:
    actions: list[Action] = [LoadItem.load_version.add(1)]
    if release.offer is not None:
        actions.append(LoadItem.offers.delete({release.offer.key}))
    if release.wrap_up is not None:
        actions.append(LoadItem.wrap_ups.add({release.wrap_up.key}))
    elif release.wrap_up_ended is not None:
        actions.append(LoadItem.wrap_ups.delete({release.wrap_up_ended.key}))
    return actions


def release_slot(tx: TransactWrite, release: SlotRelease) -> None:
    """The release, in the answer's (or the lapse's) transaction; unconditional, so it never fails the decision."""
    tx.update(LoadItem(_pk(release.npn), _LOAD), actions=_release_actions(release))


def add_waiter(tx: TransactWrite, load: AgentLoad, waiter: Waiter) -> None:
    """List a waiting referral on a busy agent's load, if the load is still as read (nobody freed a slot since)."""
    tx.update(LoadItem(_pk(load.npn), _LOAD), actions=[LoadItem.waiters.add({waiter.key})], condition=_as_read(load))


def batch_get_across(request: dict[str, list[dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """One BatchGetItem of items from several tables (strongly consistent; keys in DynamoDB's JSON form), sent
    again for whatever DynamoDB leaves unprocessed: each item found, with its table's name."""
    pending = {table: {"Keys": keys, "ConsistentRead": True} for table, keys in request.items() if keys}
    for attempt in range(DYNAMODB_ATTEMPTS):
        if not pending:
            return
        if attempt:
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        try:
            answer = transactions().dispatch("BatchGetItem", {"RequestItems": pending})
        except (BotoCoreError, ClientError) as exc:
            code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
            raise DependencyFailed("dynamodb", "BatchGetItem", str(code or type(exc).__name__)) from exc
        for table, items in answer.get("Responses", {}).items():
            for item in items:
                yield table, item
        pending = answer.get("UnprocessedKeys") or {}
    raise DependencyFailed("dynamodb", "BatchGetItem", "keys left unprocessed")


class DynamoAgentLoads:
    def __init__(self, table_name: str, agents_table: str | None = None) -> None:
        self._table = table_name
        self._agents = agents_table

    def loads_and_agents(self, npns: Sequence[str]) -> tuple[dict[str, AgentLoad], dict[str, Agent]]:
        """One BatchGetItem of both tables (strongly consistent): the agents' loads and their records."""
        if not self._agents:
            raise ConfigurationError("No agents table is configured (HOD_AGENTS_TABLE).")
        bind(LoadItem, self._table)
        bind(AgentItem, self._agents)
        unique = list(dict.fromkeys(npns))
        found: dict[str, LoadItem] = {}
        agents: dict[str, Agent] = {}
        for table, item in batch_get_across(
            {
                self._table: [{"pk": {"S": _pk(npn)}, "sk": {"S": _LOAD}} for npn in unique],
                self._agents: [{"npn": {"S": npn}} for npn in unique],
            }
        ):
            if table == self._table:
                load = LoadItem.from_raw_data(item)
                found[load.pk.removeprefix("AGENT#")] = load
            else:
                agent = _stored(AgentItem.from_raw_data(item)).agent
                agents[agent.npn] = agent
        return {npn: _load(npn, found.get(npn)) for npn in unique}, agents

    def loads(self, npns: Sequence[str]) -> dict[str, AgentLoad]:
        bind(LoadItem, self._table)
        unique = list(dict.fromkeys(npns))
        found: dict[str, LoadItem] = {}
        if unique:
            with _sdk("BatchGetItem"):
                for item in LoadItem.batch_get([(_pk(npn), _LOAD) for npn in unique], consistent_read=True):
                    found[item.pk.removeprefix("AGENT#")] = item
        return {npn: _load(npn, found.get(npn)) for npn in unique}

    def load(self, npn: str) -> AgentLoad:
        bind(LoadItem, self._table)
        with _sdk("GetItem"):
            try:
                item = LoadItem.get(_pk(npn), _LOAD, consistent_read=True)
            except LoadItem.DoesNotExist:
                return AgentLoad(npn)
        return _load(npn, item)

    def release(self, release: SlotRelease) -> None:
        bind(LoadItem, self._table)
        with _sdk("UpdateItem"):
            LoadItem(_pk(release.npn), _LOAD).update(actions=_release_actions(release))

    def forget_waiters(self, npn: str, waiters: Sequence[Waiter]) -> None:
        if not waiters:
            return
        bind(LoadItem, self._table)
        with _sdk("UpdateItem"):
            LoadItem(_pk(npn), _LOAD).update(actions=[LoadItem.waiters.delete({w.key for w in waiters})])
