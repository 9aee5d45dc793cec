"""The administrator's reports in DynamoDB: two sparse indexes, read-only here.

- ``suspended`` on the agents table: only agent items of suspended agents carry ``suspended_key`` (written by
  ``DynamoAgentStore.save`` from ``agent.suspended``, so it follows every rewrite of the item); sign-in and
  invitation items ("SIGNIN#", "INVITE#") never do.
- ``by-day`` on the referrals table: referral heads (written by ``DynamoReferralStore.create``) and offers (written
  with the offer) carry their UTC day and time, state and language; the index projects only what metrics need,
  never the consumer's details.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from hod.adapters.dynamo import SUSPENDED_KEY, _sdk, bind
from hod.domain.agent import Agent
from hod.domain.metrics import OfferFact, ReferralFact

_HEAD = "REFERRAL"
_OFFER = "OFFER#"
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


class DynamoReports:
    def __init__(self, agents_table: str, referrals_table: str) -> None:
        self._agents_table = agents_table
        self._referrals_table = referrals_table

    def day(self, day: date, limit: int) -> tuple[list[ReferralFact], list[OfferFact]]:
        bind(DayItem, self._referrals_table)
        referrals: list[ReferralFact] = []
        offers: list[OfferFact] = []
        with _sdk("Query"):
            for item in DayItem.by_day.query(day.isoformat(), limit=limit):
                if item.sk == _HEAD:
                    referrals.append(_referral_fact(item))
                elif item.sk.startswith(_OFFER):
                    offers.append(_offer_fact(item))
        return referrals, offers

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
