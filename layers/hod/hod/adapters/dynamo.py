"""DynamoDB through pynamodb: agents and referrals (the available-now index is in `hod.adapters.available`).

Table names come from settings at run time (never at import): `bind()` points each model at its table before use.
Every SDK error leaves this module as one of the project's exceptions.
"""

from __future__ import annotations

import functools
import heapq
import os
import random
import secrets
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import Any, ClassVar

import botocore.session
from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, PynamoDBException, TableError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from hod.adapters import aws
from hod.adapters.telemetry import count_decision
from hod.domain.agent import Agent
from hod.domain.folding import name_key
from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from hod.errors import CodeTaken, ConfigurationError, Conflict, DependencyFailed
from hod.ports import DueRefresh, EarlierSubmission, ShortLink, StoredAgent, SubmissionKey
from hod.shards import every_key, key_for, shard_of

# The due-list (`due-changes`) is spread over this many partitions: at the national peak minute some 46,000 agents
# move in it within seconds, two index writes each (docs/availability.md). Items written under fewer shards keep
# their shard until their next save; every shard below this number is read, so none is missed.
SWEEP_SHARDS = 16
SUSPENDED_KEY = "1"
_PLACEMENT_SEP = "|"


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


# Throttling (a hot partition, an index that cannot keep up) and transient errors are retried by botocore's standard
# mode, with exponential back-off and full jitter, up to this many attempts in all (pynamodb's default is 4).
DYNAMODB_ATTEMPTS = 8


class _SharedSessionConnection(Connection):
    """A pynamodb connection on the process's one botocore session (`hod.adapters.aws.session`) instead of a
    session of its own, which would load the endpoints and DynamoDB's service model a second time."""

    @property
    def session(self) -> botocore.session.Session:
        return aws.session()

    @property
    def client(self) -> Any:
        with aws.clients_lock:  # its first use creates the client, on the session the other clients share
            return Connection.client.fget(self)  # type: ignore[attr-defined]


@functools.cache
def _transactions(region: str) -> Connection:
    """The process's DynamoDB connection, for the models and the transactions alike: each new pynamodb Connection
    creates its own botocore client, loading DynamoDB's service model again (tens of milliseconds)."""
    return _SharedSessionConnection(
        region=region, retry_configuration={"mode": "standard", "total_max_attempts": DYNAMODB_ATTEMPTS}
    )


def transactions() -> Connection:
    return _transactions(_region())


_BOUND: set[Any] = set()  # every model bind() has pointed at a table (other modules define models too)


def bind(model: Any, table_name: str) -> None:
    """Point a model class at its table (cheap when already bound). Every model shares the process's one
    connection (and so one botocore client) instead of creating its own."""
    meta = model.Meta
    if getattr(meta, "table_name", None) != table_name or getattr(meta, "region", None) != _region():
        _BOUND.add(model)
        meta.table_name = table_name
        meta.region = _region()
        model._connection = None
        table = model._get_connection()
        shared = transactions()
        own = table.connection.get_meta_table(table_name)
        try:
            known = shared.get_meta_table(table_name)
        except TableError:
            shared.add_meta_table(own)
        else:
            _merge_schema(known.data, own.data)  # two models of one table: the shared schema knows both's indexes
        table.connection = shared


def _merge_schema(into: dict[str, Any], other: dict[str, Any]) -> None:
    """Add ``other``'s attribute definitions and indexes to ``into`` (pynamodb schemas, as DescribeTable gives)."""
    for section, key in (
        ("AttributeDefinitions", "AttributeName"),
        ("GlobalSecondaryIndexes", "IndexName"),
        ("LocalSecondaryIndexes", "IndexName"),
    ):
        present = {entry[key] for entry in into.get(section, [])}
        extra = [entry for entry in other.get(section, []) if entry[key] not in present]
        if extra:
            into[section] = [*into.get(section, []), *extra]


@contextmanager
def _sdk(operation: str) -> Iterator[None]:
    try:
        yield
    except (Conflict, DependencyFailed):
        raise
    except PynamoDBException as exc:
        detail = exc.cause_response_code or (type(exc.cause).__name__ if exc.cause else str(exc))
        raise DependencyFailed("dynamodb", operation, detail) from exc


def _conditional_failed(exc: PynamoDBException) -> bool:
    """A condition said no. A transaction DynamoDB cancelled for another reason (want of capacity, a conflicting
    transaction in flight) is not one: nothing was decided, and the same transaction may succeed when sent again."""
    code = exc.cause_response_code
    if code != "TransactionCanceledException":
        return code == "ConditionalCheckFailedException"
    reasons = _cancellation_reasons(exc)
    return not reasons or "ConditionalCheckFailed" in reasons


def _cancellation_reasons(exc: PynamoDBException) -> set[str]:
    found = exc.cancellation_reasons if isinstance(exc, TransactWriteError) else []
    return {reason.code for reason in found if reason is not None and reason.code != "None"}


# Why DynamoDB may cancel a transaction without applying any of it, so that sending it again is safe. The SDK does
# not retry a cancellation (TransactionCanceledException), whatever its reasons.
_TRANSIENT_CANCELLATIONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})
TRANSACTION_ATTEMPTS = 3


def transact(build: Callable[[TransactWrite], None]) -> None:
    """One TransactWriteItems, its items added by `build`. Cancelled only for capacity or a conflicting transaction,
    it is sent again (up to TRANSACTION_ATTEMPTS, backing off with jitter); any other failure, or the last one, is
    raised as pynamodb's TransactWriteError (`_conditional_failed` tells a condition's refusal from the rest)."""
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            with TransactWrite(connection=transactions()) as tx:
                build(tx)
            return
        except TransactWriteError as exc:
            reasons = _cancellation_reasons(exc)
            if attempt == TRANSACTION_ATTEMPTS or not reasons or not reasons <= _TRANSIENT_CANCELLATIONS:
                raise
        time.sleep(random.uniform(0, 0.05 * 2**attempt))


class _DueChanges(GlobalSecondaryIndex["AgentItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "due-changes"
        projection = KeysOnlyProjection()

    sweep_shard = UnicodeAttribute(hash_key=True)
    next_change_at = NumberAttribute(range_key=True)


class _ByEmail(GlobalSecondaryIndex["AgentItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by-email"
        projection = KeysOnlyProjection()

    email_key = UnicodeAttribute(hash_key=True)


class _ByName(GlobalSecondaryIndex["AgentItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by-name"
        projection = KeysOnlyProjection()

    name_bucket = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)


class AgentItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    npn = UnicodeAttribute(hash_key=True)
    doc = UnicodeAttribute()
    placements = UnicodeSetAttribute(null=True)
    sweep_shard = UnicodeAttribute(null=True)
    next_change_at = NumberAttribute(null=True)
    email_key = UnicodeAttribute(null=True)  # the e-mail address in lower case: sign-in looks agents up by it
    suspended_key = UnicodeAttribute(null=True)  # "1" while suspended: the sparse "suspended" index (adapters.reports)
    # The administrator's search by name (adapters.reports): the folded name, last name first, and its first letter
    name_bucket = UnicodeAttribute(null=True)
    name_key = UnicodeAttribute(null=True)
    version = VersionAttribute()
    due_changes = _DueChanges()
    by_email = _ByEmail()
    by_name = _ByName()


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


def name_index_keys(first_name: str, last_name: str, npn: str) -> tuple[str, str]:
    """What puts an agent in the `by-name` index: "garcia ana#1001" under "g" (a prefix of the key is a Query)."""
    key = name_key(first_name, last_name)
    return key[:1] or "_", f"{key}#{npn}"


def sweep_shard(npn: str) -> str:
    return str(shard_of(npn, SWEEP_SHARDS))


def _stored(item: AgentItem) -> StoredAgent:
    placements = frozenset(tuple(p.split(_PLACEMENT_SEP, 1)) for p in (item.placements or set()))
    return StoredAgent(
        agent=Agent.model_validate_json(item.doc),
        version=int(item.version or 0),
        placements=placements,  # type: ignore[arg-type]
        next_change_at=int(item.next_change_at) if item.next_change_at is not None else None,
    )


class DynamoAgentStore:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def get(self, npn: str) -> StoredAgent | None:
        bind(AgentItem, self._table)
        with _sdk("GetItem"):
            try:
                item = AgentItem.get(npn, consistent_read=True)
            except AgentItem.DoesNotExist:
                return None
        return _stored(item)

    def get_many(self, npns: Sequence[str]) -> list[StoredAgent]:
        bind(AgentItem, self._table)
        with _sdk("BatchGetItem"):
            return [_stored(item) for item in AgentItem.batch_get(npns, consistent_read=True)]

    def save(
        self,
        agent: Agent,
        *,
        expected_version: int | None,
        placements: frozenset[tuple[str, str]],
        next_change_at: int | None,
    ) -> int:
        bind(AgentItem, self._table)
        name_bucket, name = name_index_keys(agent.record.first_name, agent.record.last_name, agent.npn)
        item = AgentItem(
            npn=agent.npn,
            doc=agent.model_dump_json(),
            placements={_PLACEMENT_SEP.join(p) for p in placements} or None,
            sweep_shard=sweep_shard(agent.npn) if next_change_at is not None else None,
            next_change_at=next_change_at,
            email_key=agent.record.email.strip().lower() if agent.record.email else None,
            suspended_key=SUSPENDED_KEY if agent.suspended else None,
            name_bucket=name_bucket,
            name_key=name,
        )
        if expected_version is not None:
            item.version = expected_version
        with _sdk("PutItem"):
            try:
                item.save()
            except PutError as exc:
                if _conditional_failed(exc):
                    raise Conflict(f"Agent {agent.npn} was changed by someone else; try again.") from exc
                raise
        return int(item.version or 0)

    def due_for_refresh(self, until: int, after: int | None = None, limit: int | None = None) -> Iterator[DueRefresh]:
        """The `due-changes` index, every shard read in due order and merged: earliest first, page by page as the
        caller reads on (stopping early reads no more)."""
        bind(AgentItem, self._table)
        due = AgentItem.next_change_at
        condition = due <= until if after is None else due.between(after + 1, until)
        shards = [self._due_in_shard(str(shard), condition, limit) for shard in range(SWEEP_SHARDS)]
        merged = heapq.merge(*shards, key=lambda change: change.due_at)
        return merged if limit is None else islice(merged, limit)

    @staticmethod
    def _due_in_shard(shard: str, condition: Any, limit: int | None) -> Iterator[DueRefresh]:
        with _sdk("Query"):
            for item in AgentItem.due_changes.query(shard, condition, limit=limit):
                yield DueRefresh(item.npn, int(item.next_change_at))


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


def forget_connections() -> None:
    """Unbind every model and drop the shared connection (tests and the local stack, after changing the
    environment)."""
    for model in (AgentItem, ReferralItem, *_BOUND):
        model.Meta.table_name = None
        model._connection = None
    _BOUND.clear()
    _transactions.cache_clear()
