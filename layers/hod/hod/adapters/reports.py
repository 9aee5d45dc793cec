"""The administrator's reports in DynamoDB: two sparse indexes, read-only here.

- ``suspended`` on the agents table: only agent items of suspended agents carry ``suspended_key`` (written by
  ``DynamoAgentStore.save`` from ``agent.suspended``, so it follows every rewrite of the item); sign-in and
  invitation items ("SIGNIN#", "INVITE#") never do.
- ``by-day`` on the referrals table: referral heads (written by ``DynamoReferralStore.create``) and offers (written
  with the offer) carry their UTC day and time, state and language; the index projects only what metrics need,
  never the consumer's details. A day is spread over ``REFERRAL_SHARDS`` partitions (``adapters.shards``): a day is
  read by querying every shard at once, within one budget of items, and merging them by time.
"""

from __future__ import annotations

import heapq
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from hod.adapters.agent_items import SUSPENDED_KEY, AgentItem
from hod.adapters.dynamo import _sdk, bind
from hod.domain.agent import Agent
from hod.domain.folding import name_key, name_prefixes
from hod.domain.metrics import ListedReferral, OfferFact, ReferralFact
from hod.shards import every_key

_HEAD = "REFERRAL"
_OFFER = "OFFER#"
_PAGE = 1000  # items asked for per Query page of one shard (DynamoDB also stops a page at 1 MB)
_PROJECTED = ["status", "accepted_at", "safety_net_round", "report_state", "report_language", "offer_kind"]


class _Suspended(GlobalSecondaryIndex["SuspendedAgentItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "suspended"
        projection = AllProjection()

    suspended_key = UnicodeAttribute(hash_key=True)
    npn = UnicodeAttribute(range_key=True)


class SuspendedAgentItem(Model):
    """The agents table seen through its ``suspended`` index (AgentItem writes these attributes)."""

    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    npn = UnicodeAttribute(hash_key=True)
    doc = UnicodeAttribute()
    suspended_key = UnicodeAttribute(null=True)
    suspended = _Suspended()


class _ByDay(GlobalSecondaryIndex["DayItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by-day"
        projection = IncludeProjection(_PROJECTED)

    report_day = UnicodeAttribute(hash_key=True)
    report_at = UnicodeAttribute(range_key=True)


class DayItem(Model):
    """The referrals table seen through its ``by-day`` index (ReferralItem writes these attributes)."""

    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    report_day = UnicodeAttribute(null=True)
    report_at = UnicodeAttribute(null=True)
    report_state = UnicodeAttribute(null=True)
    report_language = UnicodeAttribute(null=True)
    offer_kind = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    accepted_at = UnicodeAttribute(null=True)
    safety_net_round = NumberAttribute(null=True)
    by_day = _ByDay()


def _referral_fact(item: DayItem) -> ReferralFact:
    return ReferralFact(
        created_at=datetime.fromisoformat(item.report_at or ""),
        state=item.report_state or "",
        language=item.report_language or "",
        status=item.status or "",
        accepted_at=datetime.fromisoformat(item.accepted_at) if item.accepted_at else None,
        went_to_safety_net=bool(item.safety_net_round),
    )


def _offer_fact(item: DayItem) -> OfferFact:
    return OfferFact(
        offered_at=datetime.fromisoformat(item.report_at or ""),
        state=item.report_state or "",
        language=item.report_language or "",
        kind=item.offer_kind or "",
        status=item.status or "",
    )


class ItemBudget:
    """How many items the shards of one read may still return, shared by the threads reading them. A reader takes
    part of it before each page and settles after; it is told 0 only once the budget is spent and no page is
    still out, so the shards together return either everything or exactly the budget (never a short read that
    looks complete)."""

    def __init__(self, items: int) -> None:
        self._left = items
        self._out = 0
        self._changed = threading.Condition()

    def take(self, most: int) -> int:
        with self._changed:
            while self._left == 0 and self._out > 0:
                self._changed.wait()
            taken = min(most, self._left)
            self._left -= taken
            self._out += taken
            return taken

    def settle(self, taken: int, used: int) -> None:
        with self._changed:
            self._out -= taken
            self._left += taken - used
            self._changed.notify_all()


def _read_shard(key: str, budget: ItemBudget) -> list[DayItem]:
    """One shard of a day, page by page, in time order, for as long as the budget lasts."""
    found: list[DayItem] = []
    start: dict[str, Any] | None = None
    while True:
        taken = budget.take(_PAGE)
        if not taken:
            return found
        page: list[DayItem] = []
        try:
            results = DayItem.by_day.query(key, limit=taken, page_size=taken, last_evaluated_key=start)
            page = list(results)
            start = results.last_evaluated_key
        finally:
            budget.settle(taken, len(page))
        found += page
        if start is None:
            return found


def _listed(item: DayItem) -> ListedReferral:
    return ListedReferral(
        referral_id=item.pk.removeprefix("REF#"),
        created_at=datetime.fromisoformat(item.report_at or ""),
        state=item.report_state or "",
        language=item.report_language or "",
        status=item.status or "",
        safety_net_round=int(item.safety_net_round or 0),
    )


class DynamoReports:
    def __init__(self, agents_table: str, referrals_table: str) -> None:
        self._agents_table = agents_table
        self._referrals_table = referrals_table

    def day(self, day: date, limit: int) -> tuple[list[ReferralFact], list[OfferFact]]:
        """The day's referrals and offers, in time order: all of them, or exactly `limit` when there are more."""
        bind(DayItem, self._referrals_table)
        budget = ItemBudget(limit)
        keys = every_key(day.isoformat())
        with _sdk("Query"), ThreadPoolExecutor(max_workers=len(keys), thread_name_prefix="by-day") as pool:
            shards = list(pool.map(lambda key: _read_shard(key, budget), keys))
        referrals: list[ReferralFact] = []
        offers: list[OfferFact] = []
        for item in heapq.merge(*shards, key=lambda item: item.report_at or ""):
            if item.sk == _HEAD:
                referrals.append(_referral_fact(item))
            elif item.sk.startswith(_OFFER):
                offers.append(_offer_fact(item))
        return referrals, offers

    def referrals_between(
        self, start: datetime, end: datetime, statuses: frozenset[str], budget: int
    ) -> tuple[list[ListedReferral], bool]:
        """Referrals created in [start, end) whose status is one of `statuses`, oldest first, from the `by-day`
        index: the UTC days the span touches, every shard of each, only the span's range of times. At most
        `budget` index items (referrals and offers) are read; the flag says the span held more."""
        bind(DayItem, self._referrals_table)
        first, last = start.astimezone(UTC), end.astimezone(UTC)
        days = [first.date() + timedelta(days=n) for n in range((last.date() - first.date()).days + 1)]
        span = DayItem.report_at.between(first.isoformat(), last.isoformat())
        found: list[ListedReferral] = []
        read = 0
        with _sdk("Query"):
            for key in (key for day in days for key in every_key(day.isoformat())):
                results = DayItem.by_day.query(key, span, limit=budget - read + 1, page_size=_PAGE)
                for item in results:
                    read += 1
                    if read > budget:
                        return sorted(found, key=lambda row: row.created_at), True
                    if item.sk == _HEAD and item.status in statuses and item.report_at != last.isoformat():
                        found.append(_listed(item))
        return sorted(found, key=lambda row: row.created_at), False

    def suspended_agents(self, limit: int, after: str | None) -> tuple[list[Agent], str | None]:
        bind(SuspendedAgentItem, self._agents_table)
        start: dict[str, Any] | None = None
        if after:
            start = {"suspended_key": {"S": SUSPENDED_KEY}, "npn": {"S": after}}
        with _sdk("Query"):
            items = list(SuspendedAgentItem.suspended.query(SUSPENDED_KEY, limit=limit + 1, last_evaluated_key=start))
        agents = [Agent.model_validate_json(item.doc) for item in items[:limit]]
        more = len(items) > limit
        return agents, (agents[-1].npn if more and agents else None)

    def find_agents(self, text: str, limit: int) -> list[Agent]:
        """Agents by NPN (all digits: that agent), e-mail address (with "@": exact, any case; the sign-in index) or
        name (a prefix of the last name, or of "first last" / "last first"; the `by-name` index): at most `limit`,
        by name. Each way is one Query (two for a name of several words) of at most `limit` keys, then one
        BatchGetItem."""
        bind(AgentItem, self._agents_table)
        typed = text.strip()
        if typed.isdigit():
            npns = [typed]
        elif "@" in typed:
            with _sdk("Query"):
                npns = [item.npn for item in AgentItem.by_email.query(typed.lower(), limit=limit)]
        else:
            npns = []
            with _sdk("Query"):
                for prefix in name_prefixes(typed):
                    found = AgentItem.by_name.query(prefix[0], AgentItem.name_key.startswith(prefix), limit=limit)
                    npns += [item.npn for item in found]
        wanted = list(dict.fromkeys(npns))[:limit]
        if not wanted:
            return []
        with _sdk("BatchGetItem"):
            items = list(AgentItem.batch_get(wanted, consistent_read=True))
        agents = [Agent.model_validate_json(item.doc) for item in items]
        return sorted(agents, key=lambda agent: (name_key(agent.record.first_name, agent.record.last_name), agent.npn))
