"""The consumer's submission made idempotent (R1): within the idempotency window, a repeated submission returns the
first referral instead of creating another. With an Idempotency-Key header the key names the submission, and the same
key with other fields is refused (422), never a second referral; without one, the fields themselves name it.

The submission's name is claimed in the transaction that stores its referral (`ReferralStore.create`): the
referral and its name are stored together or not at all, so no request ever sees a submission in progress, and two
identical submissions arriving together store one referral (the other's transaction fails its condition, and it
answers with the referral the first stored). A submission whose request failed before storing anything leaves no
name behind: sent again, it stores its referral. One whose request stopped after storing it (a timeout) is answered
with that referral; the sweep starts its workflow if the interrupted request did not."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from hod.domain.referral import ConsumerRequest, Referral
from hod.errors import Conflict, Unprocessable
from hod.ports.common import Clock
from hod.ports.referrals import EarlierSubmission, ReferralStore, SubmissionKey
from hod.services.intake import IntakeService

# A submission whose name's holder vanished between the claim and the read (its expiry passed) is sent again.
ATTEMPTS = 3
REUSED_KEY = "This Idempotency-Key was already used for another request; send a new key for a new request."


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def submission_key(request: ConsumerRequest, idempotency_key: str, now: int, expires_after: int) -> SubmissionKey:
    """The submission's name (its Idempotency-Key, else its fields) and fingerprint (its fields), both hashed."""
    fields = json.dumps(request.model_dump(mode="json"), sort_keys=True)
    named_by = f"key:{idempotency_key}" if idempotency_key else f"fields:{fields}"
    return SubmissionKey(f"referral#{_digest(named_by)}", _digest(fields), now + expires_after, now)


class Submissions:
    def __init__(
        self, intake: IntakeService, referrals: ReferralStore, clock: Clock, expires_after_seconds: int
    ) -> None:
        self._intake = intake
        self._referrals = referrals
        self._clock = clock
        self._expires_after = timedelta(seconds=expires_after_seconds)

    def submit(self, request: ConsumerRequest, idempotency_key: str) -> Referral:
        """Store the referral once for this submission and key; the referral stored first for it otherwise."""
        for _ in range(ATTEMPTS):
            now = int(self._clock.now().timestamp())
            once = submission_key(request, idempotency_key, now, int(self._expires_after.total_seconds()))
            try:
                stored = self._intake.submit(request, once)
            except Conflict:
                continue  # the name's holder vanished as it was read: claim it again
            if isinstance(stored, Referral):
                return stored
            return self._answer_again(stored, once)
        raise Conflict("This request is already being processed; please wait a moment and check again.")

    def _answer_again(self, earlier: EarlierSubmission, once: SubmissionKey) -> Referral:
        if earlier.fingerprint != once.fingerprint:
            raise Unprocessable(REUSED_KEY)
        referral = self._referrals.as_created(earlier.referral_id)
        if referral is None:
            raise Conflict("This request is already being processed; please wait a moment and check again.")
        return referral
