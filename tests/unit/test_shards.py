"""Write sharding (hod.shards): where a writer puts an item is always among the keys its readers query."""

from __future__ import annotations

import uuid
from collections import Counter

from hod.shards import REFERRAL_SHARDS, every_key, key_for, shard_key, shard_of


def test_shard_zero_keeps_the_unsharded_key_and_the_others_carry_a_suffix() -> None:
    # Given a day's key
    # Then shard 0 is the key as it was before sharding (items written then are still read), the others are suffixed
    assert shard_key("2026-11-24", 0) == "2026-11-24"
    assert shard_key("2026-11-24", 7) == "2026-11-24#07"
    assert every_key("pending", 3) == ["pending", "pending#01", "pending#02"]
    assert len(set(every_key("2026-11-24"))) == REFERRAL_SHARDS


def test_every_owner_is_written_under_a_key_its_readers_query_and_always_the_same_one() -> None:
    # Given many referral ids
    ids = [uuid.UUID(int=n * 104_729).hex for n in range(2_000)]
    readers = set(every_key("2026-11-24"))
    # Then each id's key is one the day's readers query, and it does not change from one call to the next
    for rid in ids:
        assert key_for("2026-11-24", rid) in readers
        assert key_for("2026-11-24", rid) == key_for("2026-11-24", rid)


def test_owners_spread_evenly_over_the_shards() -> None:
    # Given 16,000 random-looking ids (as the intake makes them) over 16 shards: 1,000 each on average
    ids = [uuid.uuid5(uuid.NAMESPACE_URL, f"referral-{n}").hex for n in range(16_000)]
    counts = Counter(shard_of(rid, REFERRAL_SHARDS) for rid in ids)
    # Then every shard gets its share within 10% (a hot shard would defeat the purpose)
    assert set(counts) == set(range(REFERRAL_SHARDS))
    assert max(counts.values()) < 1_100
    assert min(counts.values()) > 900
