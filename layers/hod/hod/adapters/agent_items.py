"""The agents table's agent items (pynamodb): the model, its indexes (`due-changes` for the sweep, `by-email` for
sign-in, `by-name` for the administrator's search) and what an agent's keys in them are.

Other items share the agents table (access items, devices, loads, coverage): each is modelled by its own adapter."""

from __future__ import annotations

from typing import ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, VersionAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from hod.domain.agent import Agent
from hod.domain.folding import name_key
from hod.ports.agents import StoredAgent
from hod.shards import shard_of

# The due-list (`due-changes`) is spread over this many partitions: at the national peak minute some 46,000 agents
# move in it within seconds, two index writes each (docs/availability.md). Items written under fewer shards keep
# their shard until their next save; every shard below this number is read, so none is missed.
SWEEP_SHARDS = 16
SUSPENDED_KEY = "1"
_PLACEMENT_SEP = "|"


class _DueChanges(GlobalSecondaryIndex["AgentItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "due-changes"
        projection = KeysOnlyProjection()

    sweep_shard = UnicodeAttribute(hash_key=True)
    next_change_at = NumberAttribute(range_key=True)


class _ByEmail(GlobalSecondaryIndex["AgentItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by-email"
        projection = KeysOnlyProjection()

    email_key = UnicodeAttribute(hash_key=True)


class _ByName(GlobalSecondaryIndex["AgentItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by-name"
        projection = KeysOnlyProjection()

    name_bucket = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)


class AgentItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    npn = UnicodeAttribute(hash_key=True)
    doc = UnicodeAttribute()
    placements = UnicodeSetAttribute(null=True)
    sweep_shard = UnicodeAttribute(null=True)
    next_change_at = NumberAttribute(null=True)
    email_key = UnicodeAttribute(null=True)  # the e-mail address in lower case: sign-in looks agents up by it
    suspended_key = UnicodeAttribute(null=True)  # "1" while suspended: the sparse "suspended" index (adapters.reports)
    # The administrator's search by name (adapters.reports): the folded name, last name first, and its first letter
    name_bucket = UnicodeAttribute(null=True)
    name_key = UnicodeAttribute(null=True)
    version = VersionAttribute()
    due_changes = _DueChanges()
    by_email = _ByEmail()
    by_name = _ByName()


def name_index_keys(first_name: str, last_name: str, npn: str) -> tuple[str, str]:
    """What puts an agent in the `by-name` index: "garcia ana#1001" under "g" (a prefix of the key is a Query)."""
    key = name_key(first_name, last_name)
    return key[:1] or "_", f"{key}#{npn}"


def sweep_shard(npn: str) -> str:
    return str(shard_of(npn, SWEEP_SHARDS))


def _stored(item: AgentItem) -> StoredAgent:
    placements = frozenset(tuple(p.split(_PLACEMENT_SEP, 1)) for p in (item.placements or set()))
    return StoredAgent(
        agent=Agent.model_validate_json(item.doc),
        version=int(item.version or 0),
        placements=placements,  # type: ignore[arg-type]
        next_change_at=int(item.next_change_at) if item.next_change_at is not None else None,
    )
