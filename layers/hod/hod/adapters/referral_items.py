"""The referrals table's items (pynamodb): one item collection per referral ("REF#<id>"), its model and indexes
(`by-agent`, `unstarted`), the sweep's flags, the reports' by-day keys, and the referral as read back from its item.

The offers' side of the collection is read in `hod.adapters.workflow_reads`; the send ledger's claims ("SEND#...") in
the same collections are `hod.adapters.sending`'s."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, ClassVar

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from hod.shards import key_for


class _ByAgent(GlobalSecondaryIndex["ReferralItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by-agent"
        projection = AllProjection()

    agent_npn = UnicodeAttribute(hash_key=True)
    offered_at = UnicodeAttribute(range_key=True)


class _Unstarted(GlobalSecondaryIndex["ReferralItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "unstarted"
        projection = KeysOnlyProjection()

    needs_start = UnicodeAttribute(hash_key=True)


class ReferralItem(Model):
    """One item collection per referral: the referral ("REFERRAL"), its offers ("OFFER#<npn>") and its audit trail
    ("EVENT#..."). What changes during the workflow is kept in top-level attributes so writes can be conditional."""

    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    doc = UnicodeAttribute()
    status = UnicodeAttribute(null=True)
    task_token = UnicodeAttribute(null=True)
    accepted_by = UnicodeAttribute(null=True)
    accepted_at = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    deadline = NumberAttribute(null=True)
    safety_net_round = NumberAttribute(null=True)
    not_good_reason = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    agent_npn = UnicodeAttribute(null=True)
    offered_at = UnicodeAttribute(null=True)
    needs_start = UnicodeAttribute(null=True)
    restarts = NumberAttribute(null=True)  # executions started after a failed round
    # The administrator's reports (adapters.reports): referral heads and offers by UTC day, with what metrics need.
    report_day = UnicodeAttribute(null=True)
    report_at = UnicodeAttribute(null=True)
    report_state = UnicodeAttribute(null=True)
    report_language = UnicodeAttribute(null=True)
    offer_kind = UnicodeAttribute(null=True)
    contact = UnicodeAttribute(null=True)  # AgentContact JSON: on an offer, and on an accepted referral
    reminded = UnicodeSetAttribute(null=True)  # follow-up reminders already sent (R12)
    undelivered = BooleanAttribute(null=True)  # on an offer no channel delivered (its lapse does not count)
    # A referral waiting for busy agents (hod.domain.capacity): the Offer task's token, since when (epoch seconds of
    # its first wait), and how many times it waited
    queue_token = UnicodeAttribute(null=True)
    queued_since = NumberAttribute(null=True)
    queue_cycles = NumberAttribute(null=True)
    by_agent = _ByAgent()
    unstarted = _Unstarted()


def _event_key(event: AuditEvent, seq: int) -> str:
    return f"EVENT#{event.at.isoformat()}#{seq:03d}#{secrets.token_hex(3)}"


# `needs_start` (the sparse `unstarted` index): "pending" from creation until the workflow's first round clears it
# (a start interrupted by a crash is found by the sweep), "1" once a start has failed (the sweep starts it at once),
# "retry" once a round or a lapse kept failing, "remind" once a reminder could not be scheduled
# (adapters.workflow_store); each in the referral's shard ("pending#07"; adapters.shards), since every referral enters
# and leaves the index.
NEVER_STARTED = "pending"
START_FAILED = "1"
ROUND_FAILED = "retry"


def report_attributes(referral_id: str, at: datetime, state: str, language: str) -> dict[str, Any]:
    """What puts a referral or an offer in the administrator's "by-day" index: its UTC day (in the referral's shard:
    a referral and its offers share one), time, state and language (no consumer details)."""
    moment = at.astimezone(UTC)
    return {
        "report_day": key_for(moment.date().isoformat(), referral_id),
        "report_at": moment.isoformat(),
        "report_state": state,
        "report_language": language,
    }


def referral_from_item(item: ReferralItem) -> Referral:
    """The stored referral: its fixed part from the document, what the workflow changed from the attributes."""
    referral = Referral.model_validate_json(item.doc)
    changes: dict[str, Any] = {}
    if item.status:
        changes["status"] = ReferralStatus(item.status)
    if item.updated_at:
        changes["updated_at"] = datetime.fromisoformat(item.updated_at)
    if item.accepted_by:
        changes["accepted_by"] = item.accepted_by
    if item.accepted_at:
        changes["accepted_at"] = datetime.fromisoformat(item.accepted_at)
    if item.safety_net_round is not None:
        changes["safety_net_round"] = int(item.safety_net_round)
    changes["not_good_reason"] = item.not_good_reason
    changes["outcome"] = item.outcome
    return referral.model_copy(update=changes)
