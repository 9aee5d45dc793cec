"""Agent capacity: slots that hold until a moment, who has waited longest, and which misses count towards suspension."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hod.domain.capacity import AgentLoad, Slot, Waiter, first_to_free, most_rested
from hod.domain.offer import Offer, OfferKind, OfferStatus, countable_misses

NOW = 1_800_000_000
START = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_a_slot_and_a_waiter_read_back_what_they_stored() -> None:
    # Given a slot and a waiter for a referral id
    slot = Slot("9650c1df2fab483b9ec6704b110a73f4", NOW + 900)
    waiter = Waiter(NOW, "9650c1df2fab483b9ec6704b110a73f4")
    # When they are stored and read back
    # Then they are the same, and anything else stored is not taken for one
    assert Slot.parse(slot.key) == slot
    assert Waiter.parse(waiter.key) == waiter
    assert Slot.parse("no-moment") is None
    assert Waiter.parse("1800000000|") is None


def test_waiters_stored_as_text_sort_oldest_first() -> None:
    # Given waiters queued at moments of different lengths of digits
    early, late = Waiter(999, "b"), Waiter(1_800_000_000, "a")
    # When their stored keys are sorted as text
    # Then the one that waited longest comes first
    assert sorted([late.key, early.key]) == [early.key, late.key]


def test_slots_past_their_moment_are_free_without_a_release() -> None:
    # Given an agent holding an offer until NOW + 60 and a wrap-up that ended at NOW
    load = AgentLoad("1", offers=frozenset({Slot("r1", NOW + 60)}), wrap_ups=frozenset({Slot("r0", NOW)}))
    # When capacity is counted now
    # Then only the offer holds a slot: with capacity 1 the agent is full, with 2 they have room
    assert load.held(NOW) == [Slot("r1", NOW + 60)]
    assert not load.has_room(1, NOW)
    assert load.has_room(2, NOW)
    # And once the offer's deadline passes, the agent has room again whatever was stored
    assert load.has_room(1, NOW + 60)
    assert load.frees_at(NOW) == NOW + 60


def test_an_agent_never_offered_anything_has_room() -> None:
    # Given an agent with nothing stored
    load = AgentLoad("1")
    # Then they have room and nothing to free
    assert load.has_room(1, NOW)
    assert load.frees_at(NOW) is None


def test_of_agents_at_one_point_the_one_who_waited_longest_gets_it_not_the_lowest_npn() -> None:
    # Given three agents at the same distance: 101 offered a minute ago, 102 an hour ago, 103 never
    loads = [AgentLoad("101", last_offer_at=NOW - 60), AgentLoad("102", last_offer_at=NOW - 3600), AgentLoad("103")]
    # When the most rested is chosen
    # Then it is 103 (never offered), then 102, then 101
    assert most_rested(loads).npn == "103"
    assert most_rested(loads[:2]).npn == "102"
    # And among agents who waited equally long, the lowest NPN
    assert most_rested([AgentLoad("205"), AgentLoad("204")]).npn == "204"


def test_the_first_busy_agent_to_free_a_slot_sets_the_wait() -> None:
    # Given two busy agents, freeing at NOW + 300 and NOW + 120 at the latest
    loads = [
        AgentLoad("1", offers=frozenset({Slot("a", NOW + 300)})),
        AgentLoad("2", wrap_ups=frozenset({Slot("b", NOW + 120)})),
    ]
    # Then the first of them frees at NOW + 120
    assert first_to_free(loads, NOW) == NOW + 120
    assert first_to_free([], NOW) is None


def missed(minute: int, window: int = 15, **changes: object) -> Offer:
    offered = START + timedelta(minutes=minute)
    fields: dict[str, object] = {
        "referral_id": f"r{minute}",
        "agent_npn": "101",
        "kind": OfferKind.DIRECT,
        "status": OfferStatus.MISSED,
        "offered_at": offered,
        "deadline": offered + timedelta(minutes=window),
        "city": "Austin",
        "county": "Travis",
        "state": "TX",
        "language": "en",
    }
    fields.update(changes)
    return Offer.model_validate(fields)


def test_misses_in_separate_windows_each_count() -> None:
    # Given three misses, one window after another
    offers = [missed(0), missed(20), missed(40)]
    # Then all three count towards suspension
    assert countable_misses(offers) == 3


def test_misses_whose_windows_overlap_count_once() -> None:
    # Given a burst: three offers lapsing inside one another's windows, then a later one
    offers = [missed(0), missed(5), missed(14), missed(30)]
    # Then the burst counts once: two absences
    assert countable_misses(offers) == 2


def test_an_offer_made_after_the_last_one_lapsed_counts_apart_though_before_its_recorded_deadline() -> None:
    # Given a miss that lapsed a moment before its recorded deadline (the workflow's timer starts before the offer is
    # recorded), and the next offer made in that moment, after the lapse
    first = missed(0, window=15)
    lapsed = first.deadline - timedelta(seconds=2)
    second = missed(0, offered_at=lapsed + timedelta(seconds=1), deadline=lapsed + timedelta(minutes=15, seconds=1))
    offers = [first.model_copy(update={"decided_at": lapsed}), second]
    # Then the two are two absences: the first window closed when it lapsed
    assert countable_misses(offers) == 2


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"delivered": False}, "no channel delivered it"),
        ({"available_until": START + timedelta(minutes=10)}, "the agent's hours ended inside the window"),
        ({"kind": OfferKind.SAFETY_NET}, "a safety-net call"),
        ({"status": OfferStatus.REJECTED}, "a rejection"),
    ],
)
def test_misses_the_agent_could_not_have_answered_do_not_count(changes: dict[str, object], why: str) -> None:
    # Given an offer the agent missed, but {why}
    offer = missed(0, **changes)
    # Then it does not count towards suspension
    assert countable_misses([offer]) == 0, why


def test_a_miss_inside_the_agents_hours_counts() -> None:
    # Given an offer whose window ended before the agent's hours did
    offer = missed(0, available_until=START + timedelta(minutes=15))
    # Then it counts
    assert offer.answerable
    assert countable_misses([offer]) == 1
