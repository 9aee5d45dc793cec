"""Consumer intake (R1): validate, place the consumer by ZIP, store the referral once, tell the consumer it arrived,
start its workflow."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from hod import zipdir
from hod.domain import confirmation
from hod.domain.marketplace import US_STATE_NAMES, healthcare_gov_states, own_marketplace
from hod.domain.referral import AuditEvent, ConsumerRequest, Place, Referral, ReferralStatus, WorkflowStart
from hod.errors import CodeTaken, Conflict, DependencyFailed, ValidationFailed
from hod.logs import get_logger
from hod.ports.common import Clock
from hod.ports.referrals import EarlierSubmission, ReferralStore, SubmissionKey, Workflow

if TYPE_CHECKING:
    from hod.services.status import ReceiptLinks

logger = get_logger(__name__)

# A referral still flagged as never started this long after its creation had its start interrupted (the Lambda
# stopped between storing it and starting its workflow): the sweep starts it.
START_GRACE = timedelta(minutes=2)
_UNKNOWN_ZIP = {
    "en": "We could not find this ZIP code. Please check it.",
    "es": "No encontramos este código postal. Revíselo, por favor.",
}
# A ZIP code in a state with its own Marketplace: the consumer is sent there (its site is a link on the form)
_OWN_MARKETPLACE = {
    "en": "{state} does not use HealthCare.gov: residents of {state} apply, and find help, at {name}: {url}",
    "es": "{state} no usa CuidadoDeSalud.gov: los residentes de {state} solicitan su seguro, y encuentran ayuda, "
    "en {name}: {url}",
}
_NOT_SERVED = {
    "en": "{state} does not use HealthCare.gov; please contact your state's Marketplace.",
    "es": "{state} no usa CuidadoDeSalud.gov; comuníquese con el Mercado de seguros médicos de su estado.",
}
ANSWER_LANGUAGES = ("en", "es")
# Draws of a confirmation code (and the status link's short code) before giving up: with 30^8 codes, even a second
# draw is rare.
CODE_ATTEMPTS = 5


def random_code() -> str:
    return confirmation.from_numbers(
        [secrets.randbelow(len(confirmation.ALPHABET)) for _ in range(confirmation.LENGTH)]
    )


class Receipt(Protocol):
    def links(self, referral_id: str) -> ReceiptLinks:
        """The links the receipt will carry, made before the referral is stored (the short one is stored with it)."""
        ...

    def __call__(self, referral: Referral, links: ReceiptLinks) -> dict[str, str]:
        """Tell the consumer the request arrived; the outcome per channel."""
        ...


class IntakeService:
    def __init__(
        self,
        referrals: ReferralStore,
        workflow: Workflow,
        clock: Clock,
        plan_year: int,
        zip_lookup: Callable[[str], zipdir.ZipPlace | None] = zipdir.lookup,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        *,
        new_code: Callable[[], str] = random_code,
        receipt: Receipt | None = None,
        offer_window_seconds: int = 900,
        safety_net_window_seconds: int = 1800,
    ) -> None:
        self._referrals = referrals
        self._workflow = workflow
        self._clock = clock
        self._plan_year = plan_year
        self._zip_lookup = zip_lookup
        self._new_id = new_id
        self._new_code = new_code
        self._receipt = receipt
        self._windows = (offer_window_seconds, safety_net_window_seconds)

    def zip_problem(self, zip_code: str, language: str = "en") -> str | None:
        """Why referrals from this ZIP code cannot be taken, in `language` (English or Spanish), or None: unknown, or
        in a state not on HealthCare.gov (then naming the state's own Marketplace and its site)."""
        return self._lookup(zip_code, language)[1]

    def place_of(self, zip_code: str) -> Place:
        found, problem = self._lookup(zip_code, "en")
        if found is None or problem:
            raise ValidationFailed({"zip": problem or _UNKNOWN_ZIP["en"]})
        return Place(
            zip=found.zip,
            city=found.city,
            county=found.county,
            state=found.state,
            lat=found.lat,
            lon=found.lon,
            time_zone=found.time_zone,
        )

    def _lookup(self, zip_code: str, language: str) -> tuple[zipdir.ZipPlace | None, str | None]:
        language = language if language in ANSWER_LANGUAGES else "en"
        found = self._zip_lookup(zip_code)
        if found is None:
            return None, _UNKNOWN_ZIP[language]
        if found.state not in healthcare_gov_states(self._plan_year):
            site = own_marketplace(found.state, self._plan_year)
            if site is None:  # a territory, or a state the data does not name
                return found, _NOT_SERVED[language].format(state=US_STATE_NAMES.get(found.state, found.state))
            state = site.state_name_es if language == "es" else site.state_name
            return found, _OWN_MARKETPLACE[language].format(state=state, name=site.name, url=site.url)
        return found, None

    def submit(self, request: ConsumerRequest, once: SubmissionKey | None = None) -> Referral | EarlierSubmission:
        """Store a new referral, send the consumer's receipt and start matching. Storing it is also the claim on the
        receipt: only this call sends it. With `once` (`Submissions`), the submission's name is claimed in the same
        write: when an earlier submission holds it, nothing is stored or sent and that submission is returned."""
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
        for _ in range(CODE_ATTEMPTS):
            referral = referral.model_copy(update={"confirmation_code": self._new_code()})
            links = self._receipt.links(referral.referral_id) if self._receipt else None
            try:
                earlier = self._referrals.create(referral, [created], once, [links.short] if links else [])
            except CodeTaken:
                logger.warning("a drawn code is taken; drawing again", extra={"referral_id": referral.referral_id})
                continue
            break
        else:
            raise Conflict("Your request could not be stored just now; please send it again.")
        if earlier is not None:
            return earlier
        receipt = self._receipt(referral, links) if self._receipt and links else {}
        self._start(referral, receipt)
        return referral

    def workflow_start(self, referral: Referral, receipt: dict[str, str], at: datetime, run: int = 0) -> WorkflowStart:
        offer_window, safety_net_window = self._windows
        return WorkflowStart(
            referral_id=referral.referral_id,
            offer_window_seconds=offer_window,
            safety_net_window_seconds=safety_net_window,
            at=at,
            place=referral.place,
            language=referral.language,
            receipt=receipt,
            run=run,
        )

    def _start(self, referral: Referral, receipt: dict[str, str]) -> bool:
        """Start the workflow. Its first round writes `workflow.started` and the receipt's outcomes to the audit
        trail, in the transaction that records the first offer; a failed start writes them here."""
        try:
            run = self._workflow.start(self.workflow_start(referral, receipt, self._clock.now()))
        except DependencyFailed as exc:
            # The referral is stored and flagged; the one-minute sweep starts it (`start_unstarted`). The consumer
            # is not asked to retry: that could not lose it, but could not help either.
            logger.error("workflow start failed", extra={"referral_id": referral.referral_id, "error": str(exc)})
            now = self._clock.now()
            events = [AuditEvent(at=now, actor="system", action="workflow.start_failed")]
            if receipt:
                events.append(AuditEvent(at=now, actor="system", action="consumer.notified", detail=receipt))
            self._referrals.start_failed(referral.referral_id, events)
            return False
        if not self._workflow.records_start:
            now = self._clock.now()
            events = [AuditEvent(at=now, actor="system", action="workflow.started", detail={"run": run})]
            if receipt:
                events.append(AuditEvent(at=now, actor="system", action="consumer.notified", detail=receipt))
            self._referrals.append_events(referral.referral_id, events)
        return True

    def start_unstarted(self, limit: int = 100) -> int:
        """Start the workflow of referrals whose start failed, or was interrupted, earlier. Executions are named
        after the referral, so a referral can never get two."""
        started = 0
        now = self._clock.now()
        failed = self._referrals.unstarted(limit)
        for referral_id in [*failed, *self._referrals.never_started(limit)]:
            referral = self._referrals.get(referral_id)
            if referral is None:
                continue
            if referral_id not in failed and now - referral.created_at < START_GRACE:
                continue  # its intake may still be starting it
            if self._start(referral, {}):
                self._referrals.mark_unstarted(referral_id, False)
                started += 1
        return started + self._restart_failed(limit)

    def _restart_failed(self, limit: int) -> int:
        """Start a new execution for each referral whose last one ended because a round kept failing (the
        execution failed and its alarm fired; the referral is still waiting for an agent). Each restart is
        claimed first, so two sweeps never start two; a restart that cannot start is flagged again."""
        restarted = 0
        for referral_id in self._referrals.round_failed(limit):
            run = self._referrals.claim_restart(referral_id)
            referral = self._referrals.get(referral_id) if run is not None else None
            if run is None or referral is None:
                continue
            now = self._clock.now()
            try:
                name = self._workflow.start(self.workflow_start(referral, {}, now, run=run))
            except DependencyFailed as exc:
                logger.error("workflow restart failed", extra={"referral_id": referral_id, "error": str(exc)})
                failed = AuditEvent(at=now, actor="system", action="workflow.restart_failed", detail={"run": run})
                self._referrals.mark_round_failed(referral_id, [failed])
                continue
            started = AuditEvent(at=now, actor="system", action="workflow.restarted", detail={"run": name})
            self._referrals.append_events(referral_id, [started])
            restarted += 1
        return restarted
