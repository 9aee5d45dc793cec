"""Keys spread over shards (hod.shards): whatever shard a writer puts an item in, its readers find it; the reports
read from shards are the reports read from one partition per day. Against moto tables built from template.yaml."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from hod.adapters.dynamo import bind
from hod.adapters.reports import DayItem, DynamoReports, _offer_fact, _referral_fact
from hod.api import views
from hod.api.models import MetricsQuery
from hod.domain.availability import WeeklySchedule
from hod.domain.metrics import program_metrics
from hod.services.agents import roster_areas
from hod.shards import REFERRAL_SHARDS, ROSTER_SHARDS, shard_of
from tests.conftest import FakeClock
from tests.integration.test_admin_reports import DAY, clock, get, import_agents, offer_round, submit  # noqa: F401
from tests.integration.test_api import ALWAYS, agent, agent_headers, client  # noqa: F401

pytestmark = pytest.mark.usefixtures("stack")


def ids_covering_every_shard(per_shard: int) -> list[str]:
    """Referral ids (as the intake makes them: 32 hex digits) with `per_shard` of them in every shard."""
    chosen: dict[int, list[str]] = {shard: [] for shard in range(REFERRAL_SHARDS)}
    n = 0
    while any(len(found) < per_shard for found in chosen.values()):
        n += 1
        candidate = uuid.UUID(int=n * 7919).hex
        found = chosen[shard_of(candidate, REFERRAL_SHARDS)]
        if len(found) < per_shard:
            found.append(candidate)
    return [rid for group in zip(*chosen.values(), strict=True) for rid in group]


@pytest.fixture
def referral_ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The intake gives the next referrals these ids, in order: three in each shard."""
    ids = ids_covering_every_shard(3)
    queue = iter(ids)
    monkeypatch.setattr("hod.services.intake.uuid", SimpleNamespace(uuid4=lambda: uuid.UUID(next(queue))))
    return ids


def days_truth(env: dict[str, str], day: date) -> tuple[Counter[Any], Counter[Any]]:
    """The day's referral and offer facts from a scan of the whole table (no index, no shards)."""
    bind(DayItem, env["HOD_REFERRALS_TABLE"])
    referrals: Counter[Any] = Counter()
    offers: Counter[Any] = Counter()
    for item in DayItem.scan(DayItem.report_day.startswith(day.isoformat())):
        if item.sk == "REFERRAL":
            referrals[_referral_fact(item)] += 1
        else:
            offers[_offer_fact(item)] += 1
    return referrals, offers


def test_referrals_and_offers_written_to_any_shard_are_found_by_the_days_report(
    client: Client,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    stack: dict[str, str],
    referral_ids: list[str],
) -> None:
    # Given 48 referrals, three in each of the 16 shards (ids in shard order, round after round), over two UTC days
    # (rounds 1 and 3 on DAY, round 2 the day before); every third one offered to the one agent, who turns it down
    import_agents(agent("7130"))
    wiring.services.agents().set_weekly_schedule("7130", WeeklySchedule.model_validate(ALWAYS))
    referrals_on: Counter[date] = Counter()
    offers_on: Counter[date] = Counter()
    for n, rid in enumerate(referral_ids):
        clock.current = DAY + timedelta(minutes=n) - timedelta(days=(n // REFERRAL_SHARDS) % 2)
        assert submit("78702", "es" if n % 5 == 0 else "en") == rid
        referrals_on[clock.current.date()] += 1
        if n % 3 == 0:
            assert offer_round(rid).agent_npn == "7130"
            rejected = client.http.post(f"/agent/referrals/{rid}/reject", headers=agent_headers("7130"))
            assert rejected.status_code == 200, rejected.body
            offers_on[clock.current.date()] += 1
    assert referrals_on == {DAY.date(): 32, DAY.date() - timedelta(days=1): 16}
    # (each day's items are spread over all 16 of its keys)
    stored = boto3.client("dynamodb").scan(TableName=stack["HOD_REFERRALS_TABLE"])["Items"]
    keys = {item["report_day"]["S"] for item in stored if "report_day" in item}
    assert len(keys) == 2 * REFERRAL_SHARDS

    for day, count in referrals_on.items():
        # When the day is read from its shards
        referrals, offers = DynamoReports(stack["HOD_AGENTS_TABLE"], stack["HOD_REFERRALS_TABLE"]).day(day, 1000)
        # Then every referral and offer of the day is there once, as a scan of the whole table finds them
        truth_referrals, truth_offers = days_truth(stack, day)
        assert len(referrals) == count
        assert len(offers) == offers_on[day]
        assert Counter(referrals) == truth_referrals
        assert Counter(offers) == truth_offers
        # And in time order, as one partition would give them
        assert [r.created_at for r in referrals] == sorted(r.created_at for r in referrals)
        # And the metrics the console shows are those of the unsharded facts
        response = get(client, f"/admin/metrics?from={day}&to={day}")
        assert response.status_code == 200, response.body
        query = MetricsQuery.model_validate({"from": day.isoformat(), "to": day.isoformat()})
        expected = views.metrics_report(
            query, program_metrics(truth_referrals.elements(), truth_offers.elements()), DAY
        ).model_dump(mode="json")
        body = response.json_body
        for section in ("totals", "by_state", "by_language"):
            assert body[section] == expected[section]
        assert (body["totals"]["referrals"], body["totals"]["direct_offers"]) == (count, offers_on[day])


@pytest.mark.parametrize("limit", [1, 7, 47, 48, 49, 1000])
def test_a_days_read_returns_all_of_it_or_exactly_its_budget_never_more(
    clock: FakeClock,  # noqa: F811
    stack: dict[str, str],
    referral_ids: list[str],
    limit: int,
) -> None:
    # Given 48 referrals on one day, in every shard
    for n, rid in enumerate(referral_ids):
        clock.current = DAY + timedelta(seconds=n)
        assert submit("78702", "en") == rid
    # When the day is read with a budget of `limit` items
    referrals, offers = DynamoReports(stack["HOD_AGENTS_TABLE"], stack["HOD_REFERRALS_TABLE"]).day(DAY.date(), limit)
    # Then all 48 come back when they fit, else exactly `limit` (so the caller can tell there were more)
    assert len(referrals) == min(limit, 48)
    assert offers == []


def test_referrals_flagged_for_the_sweep_are_found_in_every_shard_and_restarts_are_claimed_once(
    clock: FakeClock,  # noqa: F811
    stack: dict[str, str],
    referral_ids: list[str],
) -> None:
    store = wiring.adapters.referral_store()
    # Given 48 referrals never started (every shard), of which 16 failed to start and 8 had rounds that kept failing
    for _ in referral_ids:
        submit("78702", "en")
    failed, retry = referral_ids[:16], referral_ids[16:24]
    for rid in failed:
        store.mark_unstarted(rid, True)
    for rid in retry:
        store.mark_round_failed(rid, [])
    # And one referral flagged the way it was before flags were sharded
    boto3.client("dynamodb").update_item(
        TableName=stack["HOD_REFERRALS_TABLE"],
        Key={"pk": {"S": f"REF#{referral_ids[-1]}"}, "sk": {"S": "REFERRAL"}},
        UpdateExpression="SET needs_start = :flag",
        ExpressionAttributeValues={":flag": {"S": "1"}},
    )
    # Then the sweep's reads find each of them under its flag, whatever its shard
    assert sorted(store.unstarted(100)) == sorted([*failed, referral_ids[-1]])
    assert sorted(store.round_failed(100)) == sorted(retry)
    assert sorted(store.never_started(100)) == sorted(referral_ids[24:-1])
    # And a smaller limit reads no more than it
    assert len(store.unstarted(5)) == 5
    # And a restart is claimed once
    assert store.claim_restart(retry[0]) == 1
    assert store.claim_restart(retry[0]) is None
    assert retry[0] not in store.round_failed(100)


def test_a_states_roster_is_spread_over_its_shards_and_read_whole(clock: FakeClock, stack: dict[str, str]) -> None:  # noqa: F811
    # Given 40 agents who take Texas referrals
    npns = [str(7200 + n) for n in range(40)]
    import_agents(*(agent(npn) for npn in npns))
    # Then their roster entries sit in the shards their NPNs hash to
    entries = boto3.client("dynamodb").scan(TableName=stack["HOD_AVAILABLE_TABLE"])["Items"]
    areas = Counter(item["area"]["S"] for item in entries if item["area"]["S"].startswith("ROSTER#TX"))
    assert set(areas) == {roster_areas("TX")[shard_of(npn, ROSTER_SHARDS)] for npn in npns}
    assert len(areas) > ROSTER_SHARDS // 2
    # And the safety net's roster has every one of them, once
    assert sorted(wiring.services.agents().roster("TX")) == npns
