"""An agent's offers by time, newest first, from the referrals table's `by-agent` index (agent NPN, offer time): a
key range per request, never a scan."""

from __future__ import annotations

from datetime import UTC, datetime

from hod.adapters.dynamo import _sdk, bind
from hod.adapters.referral_items import ReferralItem
from hod.adapters.workflow_reads import offer_from_item
from hod.domain.offer import Offer


class DynamoAgentHistory:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def offers_between(self, npn: str, start: datetime, end: datetime, limit: int) -> list[Offer]:
        """At most `limit` of the agent's offers made in [start, end), newest first."""
        bind(ReferralItem, self._table)
        first, last = start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()
        span = ReferralItem.offered_at.between(first, last)
        with _sdk("Query"):
            items = ReferralItem.by_agent.query(
                npn, span, scan_index_forward=False, limit=limit + 1, page_size=limit + 1
            )
            return [offer_from_item(item) for item in items if item.offered_at != last][:limit]
