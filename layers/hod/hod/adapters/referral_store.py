"""The referrals' store in DynamoDB (`ReferralStore`): a referral created in one transaction with its audit events,
its confirmation code's claim, its short links and its submission's name; its audit trail; the flags the sweep reads.
The workflow's moves on it are in `hod.adapters.workflow_store`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from hod.adapters.dynamo import _conditional_failed, _sdk, bind, transact
from hod.adapters.referral_items import (
    NEVER_STARTED,
    ROUND_FAILED,
    START_FAILED,
    ReferralItem,
    _event_key,
    referral_from_item,
    report_attributes,
)
from hod.adapters.telemetry import count_decision
from hod.domain.referral import AuditEvent, Referral
from hod.errors import CodeTaken, ConfigurationError, Conflict
from hod.ports.links import ShortLink
from hod.ports.referrals import EarlierSubmission, SubmissionKey
from hod.shards import every_key, key_for

# A confirmation code's claim (hod.domain.confirmation): one item per code, holding the referral's id, written with
# the referral in its one transaction on the condition that no referral holds the code yet.
_CODE_PREFIX = "CODE#"
_CODE_SK = "CODE"


def _code_item(code: str, referral_id: str) -> ReferralItem:
    return ReferralItem(_CODE_PREFIX + code, _CODE_SK, doc=referral_id)


def _drawn_taken(exc: PynamoDBException, drawn: Collection[int]) -> bool:
    """Whether the intake's transaction failed only because a code it drew is taken: every item that said no is at
    one of the `drawn` places (the confirmation code's claim, a short link's), none is the referral itself or the
    submission's name."""
    reasons = [r.code if r is not None else "None" for r in getattr(exc, "cancellation_reasons", None) or []]
    refused = {place for place, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"}
    return bool(refused) and refused <= set(drawn)


class DynamoReferralStore:
    def __init__(self, table_name: str, submissions_table: str | None = None, links_table: str | None = None) -> None:
        self._table = table_name
        self._submissions = submissions_table
        self._links = links_table  # where short links live (the agents table's access items)

    def create(
        self,
        referral: Referral,
        events: Sequence[AuditEvent],
        once: SubmissionKey | None = None,
        links: Sequence[ShortLink] = (),
    ) -> EarlierSubmission | None:
        bind(ReferralItem, self._table)
        pk = f"REF#{referral.referral_id}"
        head = ReferralItem(
            pk,
            "REFERRAL",
            doc=referral.model_dump_json(),
            status=referral.status.value,
            safety_net_round=referral.safety_net_round,
            updated_at=referral.updated_at.isoformat(),
            **report_attributes(referral.referral_id, referral.created_at, referral.place.state, referral.language),
            needs_start=key_for(NEVER_STARTED, referral.referral_id),
        )

        claim = None
        if once is not None:
            # (only the intake names submissions: the other functions never load this)
            from hod.adapters.submission_names import name_claim

            claim = name_claim(self._submissions, once, referral.referral_id)

        code = referral.confirmation_code
        link_items = self._link_items(links)
        # The places of the items whose keys were drawn at random (the transaction's order, below): a refusal of
        # those alone means "draw again", told apart from a referral or a submission already stored
        first_link = 1 + (code is not None) + len(events)
        drawn = ([1] if code is not None else []) + list(range(first_link, first_link + len(link_items)))

        def build(tx: TransactWrite) -> None:
            tx.save(head, condition=ReferralItem.pk.does_not_exist())
            if code is not None:  # second, so that a refusal of it is told apart by its place (`drawn`)
                tx.save(_code_item(code, referral.referral_id), condition=ReferralItem.pk.does_not_exist())
            for seq, event in enumerate(events):
                tx.save(ReferralItem(pk, _event_key(event, seq), doc=event.model_dump_json()))
            for item, condition in link_items:  # (a code taken by another link: a refusal like any conflict)
                tx.save(item, condition=condition)
            if claim is not None:  # last
                tx.save(claim[0], condition=claim[1])

        with _sdk("TransactWriteItems"):
            try:
                transact(build)
            except TransactWriteError as exc:
                if not _conditional_failed(exc):
                    raise
                if _drawn_taken(exc, drawn):
                    raise CodeTaken(f"Confirmation code {code} or a short link's code is taken.") from exc
                if once is None:
                    raise Conflict(f"Referral {referral.referral_id} already exists.") from exc
                from hod.adapters.submission_names import name_holder

                earlier = name_holder(self._submissions, once)
                if earlier is None:
                    raise Conflict(f"Referral {referral.referral_id} already exists.") from exc
                return earlier
        count_decision(events, lambda: referral)
        return None

    def _link_items(self, links: Sequence[ShortLink]) -> list[tuple[Any, Any]]:
        if not links:
            return []
        if not self._links:
            raise ConfigurationError("No table for short links is configured (HOD_AGENTS_TABLE).")
        # (only the intake stores a referral's links: the other functions never load this)
        from hod.adapters.access import AccessItem, short_link_item

        bind(AccessItem, self._links)
        return [short_link_item(link.code, link.target, link.expires_at) for link in links]

    def _head(self, referral_id: str) -> ReferralItem | None:
        bind(ReferralItem, self._table)
        with _sdk("GetItem"):
            try:
                return ReferralItem.get(f"REF#{referral_id}", "REFERRAL", consistent_read=True)
            except ReferralItem.DoesNotExist:
                return None

    def referral_for_code(self, code: str) -> str | None:
        """The id of the referral given this confirmation code (stored form), or None."""
        bind(ReferralItem, self._table)
        with _sdk("GetItem"):
            try:
                return ReferralItem.get(_CODE_PREFIX + code, _CODE_SK, consistent_read=True).doc
            except ReferralItem.DoesNotExist:
                return None

    def as_created(self, referral_id: str) -> Referral | None:
        item = self._head(referral_id)
        return Referral.model_validate_json(item.doc) if item is not None else None

    def get(self, referral_id: str) -> Referral | None:
        item = self._head(referral_id)
        return referral_from_item(item) if item is not None else None

    def audit_trail(self, referral_id: str) -> list[AuditEvent]:
        bind(ReferralItem, self._table)
        with _sdk("Query"):
            return [
                AuditEvent.model_validate_json(item.doc)
                for item in ReferralItem.query(
                    f"REF#{referral_id}", ReferralItem.sk.startswith("EVENT#"), consistent_read=True
                )
            ]

    def mark_unstarted(self, referral_id: str, unstarted: bool) -> None:
        """Flag (or clear) a referral whose workflow has not started yet, for the sweep to find."""
        bind(ReferralItem, self._table)
        attribute = ReferralItem.needs_start
        action = attribute.set(key_for(START_FAILED, referral_id)) if unstarted else attribute.remove()
        with _sdk("UpdateItem"):
            ReferralItem(f"REF#{referral_id}", "REFERRAL").update(actions=[action])

    def start_failed(self, referral_id: str, events: Sequence[AuditEvent]) -> None:
        self._flag(referral_id, START_FAILED, events)

    def _flag(self, referral_id: str, flag: str, events: Sequence[AuditEvent]) -> None:
        """Flag the referral for the sweep, with the events that say why, in one transaction."""
        bind(ReferralItem, self._table)
        pk = f"REF#{referral_id}"

        def build(tx: TransactWrite) -> None:
            tx.update(ReferralItem(pk, "REFERRAL"), actions=[ReferralItem.needs_start.set(key_for(flag, referral_id))])
            for seq, event in enumerate(events):
                tx.save(ReferralItem(pk, _event_key(event, seq), doc=event.model_dump_json()))

        with _sdk("TransactWriteItems"):
            transact(build)

    def unstarted(self, limit: int) -> list[str]:
        return self._flagged(START_FAILED, limit)

    def mark_round_failed(self, referral_id: str, events: Sequence[AuditEvent]) -> None:
        self._flag(referral_id, ROUND_FAILED, events)

    def round_failed(self, limit: int) -> list[str]:
        return self._flagged(ROUND_FAILED, limit)

    def claim_restart(self, referral_id: str) -> int | None:
        bind(ReferralItem, self._table)
        item = ReferralItem(f"REF#{referral_id}", "REFERRAL")
        with _sdk("UpdateItem"):
            try:
                item.update(
                    actions=[ReferralItem.needs_start.remove(), ReferralItem.restarts.add(1)],
                    # The state machine's own flag (a lapse that kept failing) is written unsharded: it cannot
                    # compute the shard's hash. Such flags are rare, so shard 0 takes them all.
                    condition=ReferralItem.needs_start.is_in(key_for(ROUND_FAILED, referral_id), ROUND_FAILED),
                )
            except UpdateError as exc:
                if _conditional_failed(exc):
                    return None
                raise
        return int(item.restarts or 0)

    def never_started(self, limit: int) -> list[str]:
        return self._flagged(NEVER_STARTED, limit)

    def _flagged(self, flag: str, limit: int) -> list[str]:
        """At most `limit` referrals flagged `flag`, shard after shard (the once-a-minute sweep reads them)."""
        bind(ReferralItem, self._table)
        found: list[str] = []
        with _sdk("Query"):
            for key in every_key(flag):
                if len(found) >= limit:
                    break
                found += [
                    item.pk.removeprefix("REF#") for item in ReferralItem.unstarted.query(key, limit=limit - len(found))
                ]
        return found

    def append_events(self, referral_id: str, events: Sequence[AuditEvent]) -> None:
        bind(ReferralItem, self._table)
        pk = f"REF#{referral_id}"
        with _sdk("BatchWriteItem"), ReferralItem.batch_write() as batch:
            for seq, event in enumerate(events):
                batch.save(ReferralItem(pk, _event_key(event, seq), doc=event.model_dump_json()))
