"""Consumer intake (R1): validate, place the consumer by ZIP, store the referral once, start its workflow."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from hod import zipdir
from hod.domain.marketplace import US_STATE_NAMES, healthcare_gov_states
from hod.domain.referral import AuditEvent, ConsumerRequest, Place, Referral, ReferralStatus
from hod.errors import DependencyFailed, ValidationFailed
from hod.ports import Clock, ReferralStore, Workflow

logger = logging.getLogger(__name__)


class IntakeService:
    def __init__(
        self,
        referrals: ReferralStore,
        workflow: Workflow,
        clock: Clock,
        plan_year: int,
        zip_lookup: Callable[[str], zipdir.ZipPlace | None] = zipdir.lookup,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._referrals = referrals
        self._workflow = workflow
        self._clock = clock
        self._plan_year = plan_year
        self._zip_lookup = zip_lookup
        self._new_id = new_id

    def place_of(self, zip_code: str) -> Place:
        found = self._zip_lookup(zip_code)
        if found is None:
            raise ValidationFailed({"zip": "We could not find this ZIP code. Please check it."})
        if found.state not in healthcare_gov_states(self._plan_year):
            name = US_STATE_NAMES.get(found.state, found.state)
            raise ValidationFailed(
                {"zip": f"{name} does not use HealthCare.gov; please contact your state's Marketplace."}
            )
        return Place(
            zip=found.zip,
            city=found.city,
            county=found.county,
            state=found.state,
            lat=found.lat,
            lon=found.lon,
            time_zone=found.time_zone,
        )

    def submit(self, request: ConsumerRequest) -> Referral:
        """Store a new referral and start matching. Callers wrap this for idempotency (one referral per request)."""
        place = self.place_of(request.zip)
        now = self._clock.now()
        referral = Referral(
            referral_id=self._new_id(),
            consumer=request,
            place=place,
            language=request.language,
            status=ReferralStatus.SEARCHING,
            created_at=now,
            updated_at=now,
        )
        created = AuditEvent(
            at=now,
            actor="consumer",
            action="referral.created",
            detail={
                "state": place.state,
                "county": place.county,
                "city": place.city,
                "language": referral.language,
            },
        )
        self._referrals.create(referral, [created])
        self._start(referral)
        return referral

    def _start(self, referral: Referral) -> bool:
        try:
            run = self._workflow.start(referral)
        except DependencyFailed as exc:
            # The referral is stored and flagged; the one-minute sweep starts it (`start_unstarted`). The consumer
            # is not asked to retry: that could not lose it, but could not help either.
            logger.error("workflow start failed", extra={"referral_id": referral.referral_id, "error": str(exc)})
            self._referrals.mark_unstarted(referral.referral_id, True)
            self._referrals.append_events(
                referral.referral_id,
                [AuditEvent(at=self._clock.now(), actor="system", action="workflow.start_failed")],
            )
            return False
        self._referrals.append_events(
            referral.referral_id,
            [AuditEvent(at=self._clock.now(), actor="system", action="workflow.started", detail={"run": run})],
        )
        return True

    def start_unstarted(self, limit: int = 100) -> int:
        """Start the workflow of referrals whose start failed earlier. Executions are named after the referral, so
        a referral can never get two."""
        started = 0
        for referral_id in self._referrals.unstarted(limit):
            referral = self._referrals.get(referral_id)
            if referral is None:
                continue
            if self._start(referral):
                self._referrals.mark_unstarted(referral_id, False)
                started += 1
        return started
