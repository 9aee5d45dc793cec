"""DynamoDB for the senders: the send ledger, and the agents a batch of safety-net calls goes to.

The ledger keeps one item per message and channel ("SEND#<key>") under its scope's partition key (a referral's id,
"<referral id>#calls<n>" for its safety-net calls, "AGENT#<npn>" for an agent's own notices), in the referrals
table. A send is recorded only once it succeeded ("sent"). A send that more than one invocation could make at once
is claimed first ("sending", by one holder until a moment) and given back when it failed, so a retry can make it; a
claim whose holder died lapses at its moment. (Safety-net calls need no claim: one agent's calls are in one message
group of a FIFO queue, never handled by two invocations at once.) Items written before leases existed ("claimed")
count as sent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError
from pynamodb.models import Model

from hod.adapters.agent_items import AgentItem
from hod.adapters.dynamo import _conditional_failed, _sdk, bind
from hod.domain.agent import Agent

SENDING = "sending"
SENT = "sent"


class LedgerItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    doc = UnicodeAttribute(default="{}")  # (every item of the referrals table has a document)
    status = UnicodeAttribute(null=True)
    holder = UnicodeAttribute(null=True)
    held_until = NumberAttribute(null=True)


def _sk(key: str) -> str:
    return f"SEND#{key}"


class DynamoSendLedger:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def claim(self, scope: str, key: str, holder: str, now: datetime, hold: timedelta) -> bool:
        """Claim one send for `holder` until now + hold: True when nobody has sent it and nobody else holds it."""
        bind(LedgerItem, self._table)
        item = LedgerItem(scope, _sk(key), status=SENDING, holder=holder, held_until=int((now + hold).timestamp()))
        free = LedgerItem.sk.does_not_exist() | (
            (LedgerItem.status == SENDING) & (LedgerItem.held_until < int(now.timestamp()))
        )
        with _sdk("PutItem"):
            try:
                item.save(condition=free)
            except PutError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    def record(self, sends: Iterable[tuple[str, str]], outcome: str = SENT) -> None:
        """These (scope, key) sends are done for good (`outcome`: sent, or refused by the channel for good)."""
        bind(LedgerItem, self._table)
        with _sdk("BatchWriteItem"), LedgerItem.batch_write() as batch:
            for scope, key in sends:
                batch.save(LedgerItem(scope, _sk(key), status=outcome))

    def recorded(self, sends: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (scope, key) sends are done for good (BatchGetItem, 100 keys a request)."""
        bind(LedgerItem, self._table)
        keys = [(scope, _sk(key)) for scope, key in dict.fromkeys(sends)]
        with _sdk("BatchGetItem"):
            items = list(LedgerItem.batch_get(keys)) if keys else []
        return {(item.pk, item.sk.removeprefix("SEND#")) for item in items if item.status != SENDING}

    def release(self, scope: str, key: str, holder: str) -> None:
        """Give back `holder`'s claim (its send failed): the send can be claimed again at once."""
        bind(LedgerItem, self._table)
        mine = (LedgerItem.status == SENDING) & (LedgerItem.holder == holder)
        with _sdk("DeleteItem"):
            try:
                LedgerItem(scope, _sk(key)).delete(condition=mine)
            except DeleteError as exc:
                if not _conditional_failed(exc):
                    raise


class DynamoAgentDirectory:
    """The agents a batch of calls goes to, read together (BatchGetItem, 100 keys a request)."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def agents(self, npns: Sequence[str]) -> dict[str, Agent]:
        """The stored agents among `npns` (agents removed since are absent)."""
        bind(AgentItem, self._table)
        with _sdk("BatchGetItem"):
            items = list(AgentItem.batch_get(list(dict.fromkeys(npns)))) if npns else []
        return {item.npn: Agent.model_validate_json(item.doc) for item in items}
