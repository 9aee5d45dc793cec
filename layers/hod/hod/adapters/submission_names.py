"""Consumers' submissions by name, in the idempotency table (hod.services.submissions): the name is claimed by one
more item in the transaction that stores the submission's referral (`DynamoReferralStore.create`), conditional on no
unexpired submission holding it; a repeat reads who holds it."""

from __future__ import annotations

from typing import ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from hod.adapters.dynamo import _sdk, bind
from hod.errors import ConfigurationError
from hod.ports.referrals import EarlierSubmission, SubmissionKey


class SubmissionItem(Model):
    """A submission's name: the referral it stored, and until when the name holds (`expiration`, the table's TTL
    attribute)."""

    class Meta:
        table_name: ClassVar[str | None] = None
        region: ClassVar[str | None] = None

    id = UnicodeAttribute(hash_key=True)
    referral_id = UnicodeAttribute()
    fingerprint = UnicodeAttribute()
    expiration = NumberAttribute()


def _bound(table: str | None) -> None:
    if not table:
        raise ConfigurationError("No idempotency table is configured (HOD_IDEMPOTENCY_TABLE).")
    bind(SubmissionItem, table)


def name_claim(table: str | None, once: SubmissionKey, referral_id: str) -> tuple[SubmissionItem, Condition]:
    """The item that claims `once`'s name for `referral_id`, and its condition: no unexpired submission holds it."""
    _bound(table)
    item = SubmissionItem(once.key, referral_id=referral_id, fingerprint=once.fingerprint, expiration=once.expires_at)
    return item, SubmissionItem.id.does_not_exist() | (SubmissionItem.expiration < once.now)


def name_holder(table: str | None, once: SubmissionKey) -> EarlierSubmission | None:
    """The submission that holds `once`'s name (unexpired at `once.now`, or the claim would have succeeded); None
    when none does: the condition that failed was another, or the holder's record has just been removed (its expiry
    passed), and the same submission may be sent again."""
    _bound(table)
    with _sdk("GetItem"):
        try:
            item = SubmissionItem.get(once.key, consistent_read=True)
        except SubmissionItem.DoesNotExist:
            return None
    return EarlierSubmission(item.referral_id, item.fingerprint)
