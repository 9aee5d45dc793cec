"""The referral workflow's reads of a referral's item collection ("REF#<id>"): the referral with its offers
("OFFER#<npn>", each with the workflow's task token and the agent's contact details), as one Query, one BatchGetItem
or one GetItem. Offers and the referral sort next to each other, so one Query reads them together.

The workflow's moves, which write this collection, are in `hod.adapters.workflow_store`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from hod.adapters.dynamo import _sdk, bind
from hod.adapters.referral_items import ReferralItem, referral_from_item, report_attributes
from hod.adapters.referral_store import DynamoReferralStore
from hod.domain.offer import AgentContact, Offer, OfferStatus
from hod.domain.referral import Referral, ReferralStatus
from hod.ports.workflow import OfferRecord, ReferralState

_HEAD = "REFERRAL"
_OFFER = "OFFER#"


def _pk(referral_id: str) -> str:
    return f"REF#{referral_id}"


def _offer_sk(npn: str) -> str:
    return f"{_OFFER}{npn}"


def _offer_item(offer: Offer, task_token: str | None = None, contact: AgentContact | None = None) -> ReferralItem:
    return ReferralItem(
        _pk(offer.referral_id),
        _offer_sk(offer.agent_npn),
        doc=offer.model_dump_json(),
        status=offer.status.value,
        decided_at=offer.decided_at.isoformat() if offer.decided_at else None,
        deadline=int(offer.deadline.timestamp()),
        agent_npn=offer.agent_npn,
        offered_at=offer.offered_at.isoformat(),
        offer_kind=offer.kind.value,
        **report_attributes(offer.referral_id, offer.offered_at, offer.state, offer.language),
        task_token=task_token,
        contact=contact.model_dump_json() if contact else None,
    )


def offer_from_item(item: ReferralItem) -> Offer:
    offer = Offer.model_validate_json(item.doc)
    changes: dict[str, Any] = {}
    if item.status:
        changes["status"] = OfferStatus(item.status)
    if item.decided_at:
        changes["decided_at"] = datetime.fromisoformat(item.decided_at)
    if item.undelivered:
        changes["delivered"] = False
    return offer.model_copy(update=changes)


def _contact(item: ReferralItem) -> AgentContact | None:
    return AgentContact.model_validate_json(item.contact) if item.contact else None


def _state(items: Sequence[ReferralItem]) -> ReferralState | None:
    head = next((item for item in items if item.sk == _HEAD), None)
    if head is None:
        return None
    offers = tuple(
        OfferRecord(offer_from_item(item), item.task_token, _contact(item))
        for item in sorted(items, key=lambda item: item.sk)
        if item.sk.startswith(_OFFER)
    )
    queued_since = datetime.fromtimestamp(int(head.queued_since), UTC) if head.queued_since is not None else None
    return ReferralState(
        referral_from_item(head),
        offers,
        head.task_token,
        _contact(head),
        queued_since=queued_since,
        queue_cycles=int(head.queue_cycles or 0),
    )


class DynamoWorkflowReads(DynamoReferralStore):
    """The referral store plus the reads of the workflow's offers (same table, same item collection)."""

    def offers(self, referral_id: str) -> list[Offer]:
        found = self.state(referral_id)
        return [record.offer for record in found.offers] if found else []

    def state(self, referral_id: str) -> ReferralState | None:
        bind(ReferralItem, self._table)
        with _sdk("Query"):
            items = list(
                ReferralItem.query(_pk(referral_id), ReferralItem.sk.between(_OFFER, _HEAD), consistent_read=True)
            )
        return _state(items)

    def state_for(self, referral_id: str, npn: str) -> ReferralState | None:
        bind(ReferralItem, self._table)
        with _sdk("BatchGetItem"):
            items = list(
                ReferralItem.batch_get(
                    [(_pk(referral_id), _HEAD), (_pk(referral_id), _offer_sk(npn))], consistent_read=True
                )
            )
        return _state(items)

    def offer(self, referral_id: str, npn: str) -> tuple[Offer, str | None] | None:
        """The offer and its task token."""
        bind(ReferralItem, self._table)
        with _sdk("GetItem"):
            try:
                item = ReferralItem.get(_pk(referral_id), _offer_sk(npn), consistent_read=True)
            except ReferralItem.DoesNotExist:
                return None
        return offer_from_item(item), item.task_token

    def offers_for_agent(self, npn: str, since: datetime) -> list[Offer]:
        bind(ReferralItem, self._table)
        with _sdk("Query"):
            return [
                offer_from_item(item)
                for item in ReferralItem.by_agent.query(npn, ReferralItem.offered_at >= since.isoformat())
            ]

    def referrals(self, referral_ids: Sequence[str]) -> dict[str, Referral]:
        bind(ReferralItem, self._table)
        keys = [(_pk(rid), _HEAD) for rid in dict.fromkeys(referral_ids)]
        with _sdk("BatchGetItem"):
            items = list(ReferralItem.batch_get(keys)) if keys else []
        return {item.pk.removeprefix("REF#"): referral_from_item(item) for item in items}

    def still_waiting(self, referral_ids: Sequence[str], npn: str) -> set[str]:
        """One BatchGetItem of each referral and its offer to the agent (if any)."""
        bind(ReferralItem, self._table)
        keys = [key for rid in dict.fromkeys(referral_ids) for key in ((_pk(rid), _HEAD), (_pk(rid), _offer_sk(npn)))]
        with _sdk("BatchGetItem"):
            items = list(ReferralItem.batch_get(keys, consistent_read=True)) if keys else []
        waiting = {
            item.pk.removeprefix("REF#")
            for item in items
            if item.sk == _HEAD and item.queue_token and item.status == ReferralStatus.SEARCHING.value
        }
        return waiting - {item.pk.removeprefix("REF#") for item in items if item.sk.startswith(_OFFER)}

    def consumer_state(self, referral_id: str) -> tuple[ReferralState, frozenset[str]] | None:
        """The referral with the accepting agent's contact details, and the keys of the follow-ups recorded on it
        (reminders sent, the consumer's "nobody has called me"): one GetItem of the referral alone."""
        bind(ReferralItem, self._table)
        with _sdk("GetItem"):
            try:
                item = ReferralItem.get(_pk(referral_id), _HEAD, consistent_read=True)
            except ReferralItem.DoesNotExist:
                return None
        state = _state([item])
        return (state, frozenset(item.reminded or ())) if state is not None else None
