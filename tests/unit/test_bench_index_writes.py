"""Global secondary index writes in the benchmark's cost model: the rule, on small hand-computed items."""

from __future__ import annotations

from benchmarks.tables import GlobalIndex, IndexedTable, global_indexes, index_write_units, index_writes
from local.cfn import load_template

# Shaped like the referrals table: one index of each projection.
TABLE = IndexedTable(
    "ReferralsTable",
    ("pk", "sk"),
    (
        GlobalIndex("by-agent", ("agent_npn", "offered_at"), "ALL"),
        GlobalIndex("unstarted", ("needs_start",), "KEYS_ONLY"),
        GlobalIndex("by-day", ("report_day", "report_at"), "INCLUDE", frozenset({"status"})),
    ),
)


def s(text: str) -> dict[str, str]:
    return {"S": text}


HEAD = {
    "pk": s("R#1"),  # 2 + 3 = 5 bytes
    "sk": s("HEAD"),  # 2 + 4 = 6
    "needs_start": s("1"),  # 11 + 1 = 12
    "report_day": s("2026-01-13"),  # 10 + 10 = 20
    "report_at": s("10:30"),  # 9 + 5 = 14
    "status": s("new"),  # 6 + 3 = 9
    "consumer": s("x" * 2000),  # 8 + 2000 = 2008, projected nowhere but ALL
}
OFFER = {
    "pk": s("R#1"),  # 5
    "sk": s("OFFER#1"),  # 2 + 7 = 9
    "agent_npn": s("101"),  # 9 + 3 = 12
    "offered_at": s("t1"),  # 10 + 2 = 12
    "big": s("y" * 1500),  # 3 + 1500 = 1503: the ALL entry is 1,541 bytes, 2 units
}


def test_a_new_item_costs_one_write_in_each_index_it_enters_sized_by_the_projection() -> None:
    # Given a new referral head (2,074 bytes) with the keys of `unstarted` and `by-day`, not of `by-agent`
    # Then `unstarted` stores its keys only (5 + 6 + 12 = 23 bytes: 1 unit), `by-day` keys and status
    # (5 + 6 + 20 + 14 + 9 = 54 bytes: 1 unit), and `by-agent` nothing
    assert index_writes(None, HEAD, TABLE) == {"unstarted": 1, "by-day": 1}
    # And a new offer enters `by-agent` whole: 1,541 bytes, 2 units
    assert index_writes(None, OFFER, TABLE) == {"by-agent": 2}


def test_an_update_costs_where_it_changes_an_entry_and_nothing_elsewhere() -> None:
    # When the head's non-projected attribute changes: no KEYS_ONLY or INCLUDE entry changes
    assert index_write_units(HEAD, {**HEAD, "consumer": s("z" * 2000)}, TABLE) == 0
    # When the workflow starts (needs_start removed) and the status changes: the item leaves `unstarted`
    # (one delete of its 23-byte entry) and `by-day`'s projected status changes (one put)
    started = {k: v for k, v in HEAD.items() if k != "needs_start"} | {"status": s("offered")}
    assert index_writes(HEAD, started, TABLE) == {"unstarted": 1, "by-day": 1}
    # When an ALL-projected item changes any attribute: one put of the whole entry
    assert index_writes(OFFER, {**OFFER, "status": s("accepted")}, TABLE) == {"by-agent": 2}


def test_a_changed_index_key_costs_a_delete_and_a_put() -> None:
    # When the offer's sort key in `by-agent` changes: the old entry is deleted (2 units), the new one put (2)
    assert index_writes(OFFER, {**OFFER, "offered_at": s("t2")}, TABLE) == {"by-agent": 4}
    # And a KEYS_ONLY key change: two 1-unit writes
    assert index_writes(HEAD, {**HEAD, "needs_start": s("2")}, TABLE) == {"unstarted": 2}


def test_a_delete_costs_one_write_per_index_the_item_was_in_and_a_sparse_item_costs_nothing() -> None:
    assert index_writes(OFFER, None, TABLE) == {"by-agent": 2}
    assert index_writes(HEAD, None, TABLE) == {"unstarted": 1, "by-day": 1}
    # An audit event carries no index key (report_at alone is half of by-day's key): no index writes at all
    event = {"pk": s("R#1"), "sk": s("EVENT#1"), "report_at": s("10:31")}
    assert index_write_units(None, event, TABLE) == 0
    assert index_write_units(event, None, TABLE) == 0


def test_the_indexes_are_read_from_the_template() -> None:
    # Given template.yaml
    found = global_indexes(load_template(), "bench-")
    # Then the tables with indexes are there under their local names, with keys and projections
    referrals = found["bench-ReferralsTable"]
    assert referrals.keys == ("pk", "sk")
    by_name = {index.name: index for index in referrals.indexes}
    assert by_name["by-agent"].projection == "ALL"
    assert by_name["unstarted"] == GlobalIndex("unstarted", ("needs_start",), "KEYS_ONLY")
    assert by_name["by-day"].keys == ("report_day", "report_at")
    assert by_name["by-day"].projection == "INCLUDE"
    assert "status" in by_name["by-day"].non_key
    agents = found["bench-AgentsTable"]
    assert {index.name for index in agents.indexes} >= {"due-changes", "by-email", "due-invites", "suspended"}
    # And a table without indexes (the available-now index) costs no index writes
    assert "bench-AvailableAgentsTable" not in found
