"""The referral workflow's moves in DynamoDB: every move is one conditional transaction that also writes its audit
events, so a race (a late accept against the timeout, twenty safety-net accepts at once) has exactly one winner and
the trail always matches what happened.

They write the referral's item collection ("REF#<id>", read in `hod.adapters.workflow_reads`): its audit events
("EVENT#..."), its offers ("OFFER#<npn>") and the referral itself ("REFERRAL"); and, in the same transactions, the
agents' loads (`hod.adapters.agent_loads`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from hod.adapters.agent_loads import LoadItem, add_waiter, claim_slot, release_slot
from hod.adapters.dynamo import _conditional_failed, _sdk, bind, transact
from hod.adapters.referral_items import ROUND_FAILED, ReferralItem, _event_key
from hod.adapters.telemetry import count_decision
from hod.adapters.workflow_reads import _HEAD, DynamoWorkflowReads, _offer_item, _offer_sk, _pk, _state
from hod.domain.capacity import AgentLoad, Waiter
from hod.domain.offer import AgentContact, Offer, OfferStatus
from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from hod.errors import Conflict
from hod.ports.agents import SlotClaim, SlotRelease
from hod.ports.workflow import NotCalledReport, ReferralState
from hod.shards import key_for

# The `unstarted` index's flag (adapters.referral_items) on an accepted referral whose next reminder could not be
# scheduled
REMINDER_UNSCHEDULED = "remind"


class DynamoWorkflowStore(DynamoWorkflowReads):
    """The referral store plus the workflow's offers and moves (same table, same item collection)."""

    # ----- moves -------------------------------------------------------------------------------------------------
    def _transact(
        self,
        referral_id: str,
        events: Sequence[AuditEvent],
        build: Callable[[TransactWrite], None],
        conflict: str,
        after: Referral | None = None,
    ) -> None:
        """One decision: `build`'s writes and `events`, in one transaction. `after`: the referral as the decision
        leaves it, when the caller knows it (its measures then need no read back)."""
        bind(ReferralItem, self._table)
        bind(LoadItem, self._table)  # agents' loads: in the same table, claimed and released in these transactions

        def with_events(tx: TransactWrite) -> None:
            build(tx)
            for seq, event in enumerate(events):
                tx.save(ReferralItem(_pk(referral_id), _event_key(event, seq), doc=event.model_dump_json()))

        with _sdk("TransactWriteItems"):
            try:
                transact(with_events)
            except TransactWriteError as exc:
                if _conditional_failed(exc):
                    raise Conflict(conflict) from exc
                raise
        count_decision(events, lambda: after if after is not None else self.get(referral_id))

    def record_offer(
        self,
        offer: Offer,
        task_token: str,
        contact: AgentContact,
        events: Sequence[AuditEvent],
        claim: SlotClaim | None = None,
    ) -> None:
        """A new pending offer (holding the workflow's task token and the agent's contact details), and the referral
        marked offered; only while the referral is searching, the agent has never been offered it and (with
        `claim`) the agent's load is as matching read it. This write is also the claim on sending the offer: only
        the task that made it sends."""

        def build(tx: TransactWrite) -> None:
            tx.save(_offer_item(offer, task_token, contact), condition=ReferralItem.sk.does_not_exist())
            tx.update(
                ReferralItem(_pk(offer.referral_id), _HEAD),
                actions=[
                    ReferralItem.status.set(ReferralStatus.OFFERED.value),
                    ReferralItem.updated_at.set(offer.offered_at.isoformat()),
                    ReferralItem.needs_start.remove(),
                    ReferralItem.queue_token.remove(),
                ],
                condition=ReferralItem.status == ReferralStatus.SEARCHING.value,
            )
            if claim is not None:
                claim_slot(tx, claim)

        self._transact(
            offer.referral_id,
            events,
            build,
            "The referral is no longer searching, was offered before, or the agent's load changed.",
        )

    def queue(
        self,
        referral_id: str,
        task_token: str,
        waiter: Waiter,
        busy: Sequence[AgentLoad],
        events: Sequence[AuditEvent],
    ) -> None:
        """The referral waits for the busy agents (see `WorkflowStore.queue`)."""

        def build(tx: TransactWrite) -> None:
            tx.update(
                ReferralItem(_pk(referral_id), _HEAD),
                actions=[
                    ReferralItem.queue_token.set(task_token),
                    ReferralItem.queued_since.set(ReferralItem.queued_since | waiter.queued_at),
                    ReferralItem.queue_cycles.add(1),
                    ReferralItem.needs_start.remove(),
                ],
                condition=ReferralItem.status == ReferralStatus.SEARCHING.value,
            )
            for load in busy:
                add_waiter(tx, load, waiter)

        self._transact(referral_id, events, build, "The referral moved on, or an agent it waits for freed a slot.")

    def take_queue_token(self, referral_id: str) -> str | None:
        bind(ReferralItem, self._table)
        condition = ReferralItem.queue_token.exists() & (ReferralItem.status == ReferralStatus.SEARCHING.value)
        with _sdk("UpdateItem"):
            try:
                answer = ReferralItem._get_connection().update_item(
                    _pk(referral_id),
                    _HEAD,
                    actions=[ReferralItem.queue_token.remove()],
                    condition=condition,
                    return_values="ALL_OLD",
                )
            except UpdateError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    return None
                raise
        token = answer.get("Attributes", {}).get("queue_token", {}).get("S")
        return str(token) if token else None

    def mark_undelivered(self, referral_id: str, npn: str, events: Sequence[AuditEvent]) -> None:
        def build(tx: TransactWrite) -> None:
            tx.update(
                ReferralItem(_pk(referral_id), _offer_sk(npn)),
                actions=[ReferralItem.undelivered.set(True)],
                condition=ReferralItem.sk.exists(),
            )

        try:
            self._transact(referral_id, events, build, "The offer is gone.")
        except Conflict:
            self.append_events(referral_id, events)  # (no offer to mark: the outcomes are kept all the same)

    def move_referral(
        self,
        referral_id: str,
        *,
        expected: Sequence[ReferralStatus],
        to: ReferralStatus,
        event: AuditEvent,
        at: datetime,
        accepted_by_must_be: str | None = None,
        extra: dict[str, Any] | None = None,
        conflict: str = "The referral has moved on.",
        also: Sequence[AuditEvent] = (),
    ) -> None:
        condition: Condition = ReferralItem.status.is_in(*[s.value for s in expected])
        if accepted_by_must_be is not None:
            condition &= ReferralItem.accepted_by == accepted_by_must_be
        actions: list[Action] = [ReferralItem.status.set(to.value), ReferralItem.updated_at.set(at.isoformat())]
        for name, value in (extra or {}).items():
            attribute = getattr(ReferralItem, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))

        def build(tx: TransactWrite) -> None:
            tx.update(ReferralItem(_pk(referral_id), _HEAD), actions=actions, condition=condition)

        self._transact(referral_id, [*also, event], build, conflict)

    def decide_offer(
        self,
        referral_id: str,
        npn: str,
        *,
        to: OfferStatus,
        at: datetime,
        before_deadline: bool,
        referral_to: ReferralStatus,
        event: AuditEvent,
        contact: AgentContact | None = None,
        release: SlotRelease | None = None,
        after: Referral | None = None,
    ) -> None:
        """Pending offer → accepted / rejected / missed, with the referral moved from offered and the agent's load
        changed (`release`) in the same write (an accepted referral keeps the agent's contact details, for the
        reminders). `after`: the referral as this write leaves it, if the caller knows it."""
        offer_condition = ReferralItem.status == OfferStatus.PENDING.value
        if before_deadline:
            offer_condition &= ReferralItem.deadline > int(at.timestamp())
        referral_actions: list[Action] = [
            ReferralItem.status.set(referral_to.value),
            ReferralItem.updated_at.set(at.isoformat()),
        ]
        if referral_to is ReferralStatus.ACCEPTED:
            referral_actions += [ReferralItem.accepted_by.set(npn), ReferralItem.accepted_at.set(at.isoformat())]
            if contact is not None:
                referral_actions.append(ReferralItem.contact.set(contact.model_dump_json()))

        def build(tx: TransactWrite) -> None:
            tx.update(
                ReferralItem(_pk(referral_id), _offer_sk(npn)),
                actions=[ReferralItem.status.set(to.value), ReferralItem.decided_at.set(at.isoformat())],
                condition=offer_condition,
            )
            tx.update(
                ReferralItem(_pk(referral_id), _HEAD),
                actions=referral_actions,
                condition=ReferralItem.status == ReferralStatus.OFFERED.value,
            )
            if release is not None:
                release_slot(tx, release)

        self._transact(referral_id, [event], build, "This offer is no longer open.", after)

    def accept_safety_net(
        self,
        offer: Offer,
        event: AuditEvent,
        contact: AgentContact,
        release: SlotRelease | None = None,
        after: Referral | None = None,
    ) -> None:
        """The first agent to answer the safety net takes the referral (`offer`: their accepted offer, `release`:
        the wrap-up it holds, `after`: the referral as accepted, if the caller knows it); everyone after them gets
        a Conflict."""
        at = offer.decided_at or offer.offered_at

        def build(tx: TransactWrite) -> None:
            tx.save(_offer_item(offer, contact=contact), condition=ReferralItem.sk.does_not_exist())
            tx.update(
                ReferralItem(_pk(offer.referral_id), _HEAD),
                actions=[
                    ReferralItem.status.set(ReferralStatus.ACCEPTED.value),
                    ReferralItem.accepted_by.set(offer.agent_npn),
                    ReferralItem.accepted_at.set(at.isoformat()),
                    ReferralItem.updated_at.set(at.isoformat()),
                    ReferralItem.contact.set(contact.model_dump_json()),
                ],
                condition=ReferralItem.status == ReferralStatus.SAFETY_NET.value,
            )
            if release is not None:
                release_slot(tx, release)

        self._transact(offer.referral_id, [event], build, "Another agent has already taken this referral.", after)

    def attach_token(self, referral_id: str, npn: str | None, token: str) -> bool:
        """Keep the workflow's task token on the pending offer (npn) or the open safety net (None).
        False when that offer or safety net is no longer open."""
        bind(ReferralItem, self._table)
        if npn is None:
            item = ReferralItem(_pk(referral_id), _HEAD)
            condition = ReferralItem.status == ReferralStatus.SAFETY_NET.value
        else:
            item = ReferralItem(_pk(referral_id), _offer_sk(npn))
            condition = ReferralItem.status == OfferStatus.PENDING.value
        with _sdk("UpdateItem"):
            try:
                item.update(actions=[ReferralItem.task_token.set(token)], condition=condition)
            except UpdateError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def claim_reminder(self, referral_id: str, key: str, agent_npn: str | None = None) -> ReferralState | None:
        """One UpdateItem both checks that no progress is recorded (by the agent the reminder is for, when named) and
        claims the reminder (so a repeated delivery of the schedule sends nothing twice), returning the referral with
        the agent's contact details."""
        bind(ReferralItem, self._table)
        item = ReferralItem(_pk(referral_id), _HEAD)
        condition = (ReferralItem.status == ReferralStatus.ACCEPTED.value) & ~ReferralItem.reminded.contains(key)
        if agent_npn is not None:
            condition &= ReferralItem.accepted_by == agent_npn
        with _sdk("UpdateItem"):
            try:
                item.update(actions=[ReferralItem.reminded.add({key})], condition=condition)
            except UpdateError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    return None
                raise
        return _state([item])

    # ----- reminders that could not be scheduled ---------------------------------------------------------------------
    def mark_reminder_unscheduled(self, referral_id: str, events: Sequence[AuditEvent]) -> None:
        self._flag(referral_id, REMINDER_UNSCHEDULED, events)

    def reminders_unscheduled(self, limit: int) -> list[str]:
        return self._flagged(REMINDER_UNSCHEDULED, limit)

    def claim_unscheduled_reminder(self, referral_id: str) -> bool:
        bind(ReferralItem, self._table)
        condition = ReferralItem.needs_start == key_for(REMINDER_UNSCHEDULED, referral_id)
        with _sdk("UpdateItem"):
            try:
                ReferralItem(_pk(referral_id), _HEAD).update(
                    actions=[ReferralItem.needs_start.remove()], condition=condition
                )
            except UpdateError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    # ----- the consumer's status page ------------------------------------------------------------------------------
    def report_not_called(self, report: NotCalledReport) -> None:
        """The consumer says the accepting agent has not called: recorded once per acceptance (`report.key`), only
        while the referral is still accepted by `report.npn` with no progress, and only for an acceptance made at or
        before `report.accepted_by_then` (its contact-by time has passed). With `report.reassign` the same write sends
        the referral back to searching and flags it for the sweep, which starts its next round as it does after a
        failed one."""
        referral_id = report.referral_id
        condition = (
            (ReferralItem.status == ReferralStatus.ACCEPTED.value)
            & (ReferralItem.accepted_by == report.npn)
            & (ReferralItem.accepted_at <= report.accepted_by_then.isoformat())
            & ~ReferralItem.reminded.contains(report.key)
        )
        # Sent on, the referral's next acceptance starts its reminders afresh: only the report's key stays
        followed_up = (
            ReferralItem.reminded.set({report.key}) if report.reassign else ReferralItem.reminded.add({report.key})
        )
        actions: list[Action] = [followed_up, ReferralItem.updated_at.set(report.at.isoformat())]
        if report.reassign:
            actions += [
                ReferralItem.status.set(ReferralStatus.SEARCHING.value),
                ReferralItem.accepted_by.remove(),
                ReferralItem.accepted_at.remove(),
                ReferralItem.contact.remove(),
                ReferralItem.needs_start.set(key_for(ROUND_FAILED, referral_id)),
            ]

        def build(tx: TransactWrite) -> None:
            tx.update(ReferralItem(_pk(referral_id), _HEAD), actions=actions, condition=condition)

        self._transact(referral_id, report.events, build, "This request cannot be reported as not called now.")
