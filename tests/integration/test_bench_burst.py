"""scale.burst's own measures: overlapping offers are counted as held at once, and a small burst run by its driver
(the workflow's real tasks and answers against moto) keeps every agent within capacity and nobody idle."""

from __future__ import annotations

from datetime import timedelta

from benchmarks.scale.burst import START, _max_overlap, one_shape


def test_offers_held_at_once_are_the_most_that_overlap() -> None:
    # Given an agent's offers: two overlapping, then one starting exactly when the first ended
    minute = timedelta(minutes=1)
    spans = [
        (START, START + 10 * minute),
        (START + 5 * minute, START + 15 * minute),
        (START + 15 * minute, START + 20 * minute),
    ]
    # Then they held two at most; none at all is zero
    assert _max_overlap(spans) == 2
    assert _max_overlap([]) == 0


def test_a_small_burst_keeps_agents_within_capacity_and_leaves_nobody_idle_while_referrals_wait() -> None:
    # Given six referrals within ten seconds at one ZIP, and three agents: two at one office and one across town
    # When the burst and the two hours after it run, agents answering at random
    found = one_shape(("77002",) * 6, ("77002", "77002", "77056"), capacity=1, queue_wait=900)
    # Then no agent ever held two pending offers, referrals waited for them, and no agent sat free while one waited
    assert found["max_pending_per_agent"] == 1
    assert found["referrals_that_waited"] >= 3
    assert found["idle_while_waiting"] == 0
    assert sum(found["offers_per_agent"]) >= 6
    # And without capacity the same burst stacks offers on the agents at the consumer's ZIP
    uncapped = one_shape(("77002",) * 6, ("77002", "77002", "77056"), capacity=20, queue_wait=0)
    assert uncapped["max_pending_per_agent"] >= 2
