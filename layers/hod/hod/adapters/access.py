"""Sign-in links, account invitations and short links, kept in the agents table beside the agents' items.

An agent's item is rewritten whole whenever the agent changes (availability sweeps included), so what must
survive those writes lives in separate items: ``SIGNIN#<npn>`` holds the one sign-in link that is valid now (a new
link replaces it; using it deletes it) and ``INVITE#<npn>`` an invitation the sweep has still to send (a sparse
index finds the due ones); ``LINK#<code>`` maps a short code in a text message to a long signed link. Agents are
found by e-mail address through the agents' ``by-email`` index.
"""

from __future__ import annotations

from typing import ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from hod.adapters.agent_items import AgentItem
from hod.adapters.dynamo import _conditional_failed, _sdk, bind
from hod.shards import shard_of

INVITE_SHARDS = 4
_SIGNIN = "SIGNIN#"
_INVITE = "INVITE#"
_LINK = "LINK#"


class _DueInvites(GlobalSecondaryIndex["AccessItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "due-invites"
        projection = KeysOnlyProjection()

    invite_shard = UnicodeAttribute(hash_key=True)
    invite_at = NumberAttribute(range_key=True)


class AccessItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    npn = UnicodeAttribute(hash_key=True)  # "SIGNIN#<npn>" or "INVITE#<npn>"
    nonce = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    requested_at = NumberAttribute(null=True)
    invite_shard = UnicodeAttribute(null=True)
    invite_at = NumberAttribute(null=True)
    attempts = NumberAttribute(null=True)
    target = UnicodeAttribute(null=True)
    due_invites = _DueInvites()


class DynamoAccessStore:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def agents_with_email(self, email: str, limit: int = 5) -> list[str]:
        bind(AgentItem, self._table)
        with _sdk("Query"):
            return [item.npn for item in AgentItem.by_email.query(email.strip().lower(), limit=limit)]

    def replace_sign_in(self, npn: str, nonce: str, expires_at: int, now: int, min_interval: int) -> bool:
        """Make ``nonce`` the agent's one valid sign-in link, unless another, still unused, was issued under
        ``min_interval`` seconds ago (then False: nothing changes, so the form cannot flood someone's inbox)."""
        bind(AccessItem, self._table)
        item = AccessItem(_SIGNIN + npn, nonce=nonce, expires_at=expires_at, requested_at=now)
        with _sdk("PutItem"):
            try:
                item.save(condition=AccessItem.npn.does_not_exist() | (AccessItem.requested_at <= now - min_interval))
            except PutError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    def use_sign_in(self, npn: str, nonce: str, now: int) -> bool:
        """Spend the agent's sign-in link ``nonce``: True once, if it is the current one and not expired."""
        bind(AccessItem, self._table)
        with _sdk("DeleteItem"):
            try:
                AccessItem(_SIGNIN + npn).delete(condition=(AccessItem.nonce == nonce) & (AccessItem.expires_at > now))
            except DeleteError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    def queue_invite(self, npn: str, due_at: int) -> None:
        bind(AccessItem, self._table)
        shard = str(shard_of(npn, INVITE_SHARDS))
        with _sdk("PutItem"):
            AccessItem(_INVITE + npn, invite_shard=shard, invite_at=due_at, attempts=0).save()

    def due_invites(self, now: int, limit: int) -> list[tuple[str, int]]:
        """(npn, attempts so far) of at most ``limit`` invitations due at or before ``now``."""
        bind(AccessItem, self._table)
        due: list[str] = []
        with _sdk("Query"):
            for shard in range(INVITE_SHARDS):
                if len(due) >= limit:
                    break
                keys = AccessItem.due_invites.query(str(shard), AccessItem.invite_at <= now, limit=limit - len(due))
                due.extend(key.npn.removeprefix(_INVITE) for key in keys)
        found: list[tuple[str, int]] = []
        with _sdk("GetItem"):
            for npn in due[:limit]:
                try:
                    item = AccessItem.get(_INVITE + npn, consistent_read=True)
                except AccessItem.DoesNotExist:
                    continue  # sent (and dropped) since the index was read
                found.append((npn, int(item.attempts or 0)))
        return found

    def claim_invite(self, npn: str, attempts: int, retry_at: int) -> bool:
        """Take a due invitation before sending it: pushed to ``retry_at`` with one more attempt, so a crash
        mid-send is retried later and a second sweep running at once does not send it too."""
        bind(AccessItem, self._table)
        with _sdk("UpdateItem"):
            try:
                AccessItem(_INVITE + npn).update(
                    actions=[AccessItem.invite_at.set(retry_at), AccessItem.attempts.set(attempts + 1)],
                    condition=AccessItem.attempts == attempts,
                )
            except UpdateError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    def drop_invite(self, npn: str) -> None:
        bind(AccessItem, self._table)
        with _sdk("DeleteItem"):
            AccessItem(_INVITE + npn).delete()


def short_link_item(code: str, target: str, expires_at: int) -> tuple[AccessItem, Condition]:
    """A short link's item, and the condition it is written on: that no other link holds the code."""
    return AccessItem(_LINK + code, target=target, expires_at=expires_at), AccessItem.npn.does_not_exist()


class DynamoShortLinks:
    """Short codes for long signed links (``LINK#<code>`` items, removed by the table's TTL once expired)."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def put(self, code: str, target: str, expires_at: int) -> bool:
        """Store ``code`` → ``target``; False when the code is taken (the caller draws another)."""
        bind(AccessItem, self._table)
        with _sdk("PutItem"):
            item, condition = short_link_item(code, target, expires_at)
            try:
                item.save(condition=condition)
            except PutError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    def get(self, code: str, now: int) -> str | None:
        bind(AccessItem, self._table)
        with _sdk("GetItem"):
            try:
                item = AccessItem.get(_LINK + code)
            except AccessItem.DoesNotExist:
                return None
        if item.target is None or (item.expires_at is not None and item.expires_at <= now):
            return None  # the TTL removes expired items within days, not at once
        return str(item.target)
