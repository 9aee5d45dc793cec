"""The composition root: services built from settings and adapters on first use, once per process.

Imports are made where a service is first built, not at module import: each function loads only what it uses
(the match function never imports the intake's idempotency machinery, the intake never the geohash search), which
is most of a cold start's import time."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from hod.settings import get_settings

if TYPE_CHECKING:
    from hod.adapters.available import DynamoAvailableIndex
    from hod.adapters.aws import SecretsManagerKeys
    from hod.adapters.dynamo import DynamoAgentStore, DynamoReferralStore
    from hod.adapters.workflow_store import DynamoWorkflowStore
    from hod.domain.referral import ConsumerRequest, Referral
    from hod.ports import Clock, Reminders, Workflow
    from hod.services.access import AccessService
    from hod.services.agents import AgentService
    from hod.services.auth import AuthService
    from hod.services.intake import IntakeService
    from hod.services.links import ShortLinks
    from hod.services.matching import MatchingService
    from hod.services.notifier import Notifier
    from hod.services.reports import ReportService
    from hod.services.workflow import WorkflowService

# Seconds to wait between looks when an identical submission is still being stored.
_IN_PROGRESS_WAITS = (0.1, 0.2, 0.4, 0.8, 1.5)


_clock: list[Clock] = []


def clock() -> Clock:
    """The process's clock: the system's, unless a test or demo has set another with `use_clock`."""
    if not _clock:
        from hod.adapters.aws import SystemClock

        _clock.append(SystemClock())
    return _clock[0]


def use_clock(replacement: Clock) -> None:
    _clock[:] = [replacement]


@functools.cache
def keys() -> SecretsManagerKeys:
    from hod.adapters.aws import SecretsManagerKeys

    return SecretsManagerKeys(get_settings().signing_secret_id)


@functools.cache
def auth() -> AuthService:
    from hod.services.auth import AuthService

    return AuthService(keys(), clock(), get_settings().session_ttl_seconds)


@functools.cache
def agent_store() -> DynamoAgentStore:
    from hod.adapters.dynamo import DynamoAgentStore

    return DynamoAgentStore(get_settings().agents_table)


@functools.cache
def available_index() -> DynamoAvailableIndex:
    from hod.adapters.available import DynamoAvailableIndex

    return DynamoAvailableIndex(get_settings().available_table)


@functools.cache
def referral_store() -> DynamoReferralStore:
    from hod.adapters.dynamo import DynamoReferralStore

    return DynamoReferralStore(get_settings().referrals_table)


@functools.cache
def agents() -> AgentService:
    from hod.services.agents import AgentService

    return AgentService(
        agent_store(),
        available_index(),
        clock(),
        get_settings().plan_year,
        on_newly_eligible=lambda npn: access().queue_invite(npn),
    )


@functools.cache
def short_links() -> ShortLinks:
    from hod.adapters.access import DynamoShortLinks
    from hod.services.links import ShortLinks

    return ShortLinks(DynamoShortLinks(get_settings().agents_table), clock(), lambda: get_settings().public_base_url)


@functools.cache
def access() -> AccessService:
    """Sign-in links and account invitations (the portal URL is the public base URL's /portal)."""
    from hod.adapters.access import DynamoAccessStore
    from hod.services.access import AccessService

    settings = get_settings()
    return AccessService(
        agent_store(),
        DynamoAccessStore(settings.agents_table),
        auth(),
        notifier(),
        clock(),
        timedelta(seconds=settings.portal_session_seconds),
        lambda: get_settings().public_base_url,
    )


@functools.cache
def matching() -> MatchingService:
    from hod.services.matching import MatchingService

    return MatchingService(available_index(), clock())


def workflow() -> Workflow:
    from hod.adapters.aws import DeferredWorkflow, StepFunctionsWorkflow

    arn = get_settings().state_machine_arn
    return StepFunctionsWorkflow(arn) if arn else DeferredWorkflow()


@functools.cache
def workflow_store() -> DynamoWorkflowStore:
    from hod.adapters.workflow_store import DynamoWorkflowStore

    return DynamoWorkflowStore(get_settings().referrals_table)


def signed_link(purpose: str, referral_id: str, npn: str, expires: datetime) -> str:
    """The page an agent opens from a notification to see and answer one referral."""
    base = get_settings().public_base_url
    token = auth().issue(purpose, npn, expires - clock().now(), resource=referral_id)
    return f"{base}/offers/view?t={token}"


@functools.cache
def notifier() -> Notifier:
    from hod.adapters.aws import PinpointPush, SesEmail, SnsText
    from hod.adapters.dynamo import DynamoSendLedger
    from hod.services.notifier import Notifier

    settings = get_settings()
    return Notifier(
        SesEmail(settings.sender_email),
        SnsText(),
        PinpointPush(settings.pinpoint_app_id),
        DynamoSendLedger(settings.referrals_table),
    )


def reminders() -> Reminders:
    from hod.adapters.aws import SchedulerReminders

    settings = get_settings()
    return SchedulerReminders(settings.reminder_function_arn, settings.reminder_role_arn, settings.reminder_group)


@functools.cache
def referral_workflow() -> WorkflowService:
    from hod.adapters.aws import StepFunctionsCallbacks
    from hod.services.workflow import WorkflowPolicy, WorkflowService

    settings = get_settings()
    policy = WorkflowPolicy(
        offer_window_seconds=settings.offer_window_seconds,
        follow_up_seconds=settings.follow_up_seconds,
        safety_net_window_seconds=settings.safety_net_window_seconds,
        safety_net_rounds=settings.safety_net_rounds,
        suspend_after_missed=settings.suspend_after_missed,
    )
    return WorkflowService(
        workflow_store(),
        agents(),
        matching(),
        StepFunctionsCallbacks(),
        notifier(),
        clock(),
        policy,
        signed_link,
        reminders(),
        lambda url, expires: short_links().shorten(url, expires),
    )


def consumer_receipt(referral: Referral) -> dict[str, str]:
    """Tell the consumer, in their language, that the request arrived (sent once: by the call that stored it)."""
    from hod.services.workflow import consumer_recipient

    consumer = referral.consumer
    values = {"first_name": consumer.first_name, "consumer_phone": consumer.phone}
    outcomes = notifier().send(
        referral.referral_id, "received", consumer_recipient(referral), "consumer_received", values, claim=False
    )
    return dict(outcomes)


@functools.cache
def intake() -> IntakeService:
    from hod import zipdir
    from hod.services.intake import IntakeService

    settings = get_settings()
    return IntakeService(
        referral_store(),
        workflow(),
        clock(),
        settings.plan_year,
        zipdir.lookup,
        receipt=consumer_receipt,
        offer_window_seconds=settings.offer_window_seconds,
        safety_net_window_seconds=settings.safety_net_window_seconds,
    )


@functools.cache
def submit_referral() -> Callable[[ConsumerRequest, str, Any], Referral]:
    """IntakeService.submit made idempotent: the same submission (same fields, same Idempotency-Key header)
    within the idempotency window returns the first referral instead of creating another. A duplicate that
    arrives while the first is still being stored waits for it (briefly) rather than failing."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

    from hod.adapters.aws import client
    from hod.domain.referral import ConsumerRequest, Referral
    from hod.errors import Conflict

    settings = get_settings()
    # The process's shared DynamoDB client, instead of one Powertools would create (and load the model for) itself
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=client("dynamodb"))
    config = IdempotencyConfig(expires_after_seconds=settings.idempotency_ttl_seconds)
    service = intake()

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="submission",
        persistence_store=persistence,
        config=config,
        output_serializer=PydanticSerializer(model=Referral),
    )
    def submit_once(submission: dict[str, Any]) -> Referral:
        return service.submit(ConsumerRequest.model_validate(submission["request"]))

    def submit(request: ConsumerRequest, idempotency_key: str, lambda_context: Any = None) -> Referral:
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            # An interrupted attempt then blocks retries only until its Lambda timeout, not the whole window.
            config.register_lambda_context(lambda_context)
        submission = {"request": request.model_dump(mode="json"), "key": idempotency_key}
        for delay in _IN_PROGRESS_WAITS:
            try:
                return cast("Referral", submit_once(submission=submission))
            except IdempotencyAlreadyInProgressError:
                time.sleep(delay)
        raise Conflict("This request is already being processed; please wait a moment and check again.")

    return submit


@functools.cache
def reports() -> ReportService:
    """The administrator's reports: suspended agents and program metrics."""
    from hod.adapters.reports import DynamoReports
    from hod.services.reports import ReportService

    settings = get_settings()
    return ReportService(
        DynamoReports(settings.agents_table, settings.referrals_table),
        lambda npn: referral_workflow().missed_recently(npn),
    )


def reset() -> None:
    """Forget every cached service (tests and the local stack call this after changing the environment)."""
    from hod.adapters.aws import forget_clients
    from hod.adapters.dynamo import forget_connections

    get_settings.cache_clear()
    _clock.clear()
    for factory in (
        keys,
        auth,
        agent_store,
        available_index,
        referral_store,
        agents,
        access,
        short_links,
        matching,
        intake,
        workflow_store,
        notifier,
        referral_workflow,
        reports,
    ):
        factory.cache_clear()
    submit_referral.cache_clear()
    forget_clients()
    forget_connections()
