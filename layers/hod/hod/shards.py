"""Write sharding: a key that every referral of a day, every referral at all, or every agent of a state would share
is spread over a fixed number of partitions by a suffix taken from a hash of what the item belongs to (its referral,
its agent).

DynamoDB gives one partition at most 1,000 write units and 3,000 read units a second, and a global secondary index
that cannot keep up holds back its table's writes. At 500 referrals a second one partition per UTC day in the
referrals table's ``by-day`` index would take 3,000 to 5,000 write units a second, and every safety net reading a
state's whole roster from one partition would take Texas's over its read limit. docs/benchmarks.md ("Partitions")
has every key's figures, before and after.

Writers put an item under the one shard of its owner (``key_for``); readers query every shard (``every_key``) and
merge. Shard 0 keeps the unsharded key, so items written before a key was sharded are read as shard 0. Changing a
count moves where new items go: readers must then read the old and the new shards for as long as older items matter.
"""

from __future__ import annotations

import zlib

# The referrals table's sparse indexes `by-day` (program metrics) and `unstarted` (the workflow sweep), by referral:
# a referral's head and its offers share its shard.
REFERRAL_SHARDS = 16
# A state's roster in the available-now table (every agent who takes its referrals, read whole by the safety net), by
# agent.
ROSTER_SHARDS = 16


def shard_of(owner: str, shards: int) -> int:
    """The shard, 0 to shards - 1, of what an item belongs to (a referral id, an NPN): a stable, uniform hash."""
    return zlib.crc32(owner.encode()) % shards


def shard_key(base: str, shard: int) -> str:
    """``base`` for shard 0 (the key as it was before sharding), ``base#07`` for shard 7."""
    return base if shard == 0 else f"{base}#{shard:02d}"


def key_for(base: str, owner: str, shards: int = REFERRAL_SHARDS) -> str:
    """The partition key under which an item of ``owner`` is written."""
    return shard_key(base, shard_of(owner, shards))


def every_key(base: str, shards: int = REFERRAL_SHARDS) -> list[str]:
    """Every partition key a reader of ``base`` must query, shard 0 first."""
    return [shard_key(base, shard) for shard in range(shards)]
