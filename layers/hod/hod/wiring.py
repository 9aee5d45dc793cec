"""The composition root: services built from settings and adapters on first use, once per process. No behaviour
lives here: each factory only builds one thing from others.

Imports are made where a service is first built, not at module import: each function loads only what it uses
(the match function never imports the intake's idempotency machinery, the intake never the workflow's tasks),
which is most of a cold start's import time.

Every factory is registered by `@_factory`, which both caches it and lists it for `reset`, so none can be missed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from hod.settings import get_settings

if TYPE_CHECKING:
    from hod.adapters.agent_loads import DynamoAgentLoads
    from hod.adapters.agent_store import DynamoAgentStore
    from hod.adapters.available import DynamoAvailableIndex
    from hod.adapters.aws import SecretsManagerKeys, SqsSendQueue
    from hod.adapters.referral_store import DynamoReferralStore
    from hod.adapters.sending import DynamoSendLedger
    from hod.adapters.sweep import SqsRefreshQueue
    from hod.adapters.webpush import DevicePush, VapidKey, WebPush
    from hod.adapters.workflow_store import DynamoWorkflowStore
    from hod.ports.agents import AgentStore
    from hod.ports.common import Clock, Timer
    from hod.ports.links import ShortLink
    from hod.ports.referrals import Workflow
    from hod.ports.workflow import Reminders
    from hod.services.access import AccessService
    from hod.services.agent_reports import AgentReports
    from hod.services.agents import AgentService
    from hod.services.auth import AuthService
    from hod.services.coverage import CoverageService
    from hod.services.intake import IntakeService
    from hod.services.links import ShortLinks, SignedLinks
    from hod.services.matching import MatchingService
    from hod.services.notifier import Notifier
    from hod.services.offer_links import LinkAnswers, LinkPages
    from hod.services.referral_views import ReferralViews
    from hod.services.reports import ReportService
    from hod.services.sender import Sender
    from hod.services.status import ConsumerReceipt, ConsumerStatus, StatusLinks
    from hod.services.submissions import Submissions
    from hod.services.sweep import AvailabilitySweep
    from hod.services.workflow.answers import Answers
    from hod.services.workflow.common import WorkflowPorts
    from hod.services.workflow.missed import MissedOffers
    from hod.services.workflow.not_called import NotCalled
    from hod.services.workflow.notices import Notices
    from hod.services.workflow.queue import WaitingReferrals
    from hod.services.workflow.tasks import WorkflowTasks

T = TypeVar("T")

# Every registered factory, as functools.cache made it (its cache_clear forgets what it built).
FACTORIES: list[functools._lru_cache_wrapper[Any]] = []


def _factory(build: Callable[[], T]) -> Callable[[], T]:
    """Build on first use, then return the same object until `reset`."""
    cached = functools.cache(build)
    FACTORIES.append(cached)
    return cached


_clock: list[Clock] = []


def clock() -> Clock:
    """The process's clock: the system's, unless a test or demo has set another with `use_clock`."""
    if not _clock:
        from hod.adapters.aws import SystemClock

        _clock.append(SystemClock())
    return _clock[0]


def use_clock(replacement: Clock) -> None:
    _clock[:] = [replacement]


def timer() -> Timer:
    """The process's clock when it can also be waited on (the system's, or a test's or benchmark's `Timer`), else
    the system's: the senders pace and back off on it."""
    current = clock()
    if callable(getattr(current, "sleep", None)):
        return cast("Timer", current)
    from hod.adapters.aws import SystemClock

    return SystemClock()


# ----- adapters --------------------------------------------------------------------------------------------------
@_factory
def keys() -> SecretsManagerKeys:
    from hod.adapters.aws import SecretsManagerKeys

    return SecretsManagerKeys(get_settings().signing_secret_id)


@_factory
def admin_keys() -> SecretsManagerKeys | None:
    """The administrator tokens' key, where the function has it (the intake function)."""
    from hod.adapters.aws import SecretsManagerKeys

    secret_id = get_settings().admin_signing_secret_id
    return SecretsManagerKeys(secret_id) if secret_id else None


@_factory
def agent_store() -> DynamoAgentStore:
    from hod.adapters.agent_store import DynamoAgentStore

    return DynamoAgentStore(get_settings().agents_table)


@_factory
def available_index() -> DynamoAvailableIndex:
    from hod.adapters.available import DynamoAvailableIndex

    return DynamoAvailableIndex(get_settings().available_table)


@_factory
def refresh_queue() -> SqsRefreshQueue:
    from hod.adapters.sweep import SqsRefreshQueue

    return SqsRefreshQueue(get_settings().refresh_queue_url)


@_factory
def referral_store() -> DynamoReferralStore:
    from hod.adapters.referral_store import DynamoReferralStore

    settings = get_settings()
    return DynamoReferralStore(settings.referrals_table, settings.idempotency_table, settings.agents_table)


@_factory
def workflow_store() -> DynamoWorkflowStore:
    from hod.adapters.workflow_store import DynamoWorkflowStore

    return DynamoWorkflowStore(get_settings().referrals_table)


@_factory
def agent_loads() -> DynamoAgentLoads:
    from hod.adapters.agent_loads import DynamoAgentLoads

    settings = get_settings()
    return DynamoAgentLoads(settings.referrals_table, settings.agents_table)


def workflow() -> Workflow:
    from hod.adapters.aws import DeferredWorkflow, StepFunctionsWorkflow

    arn = get_settings().state_machine_arn
    return StepFunctionsWorkflow(arn) if arn else DeferredWorkflow()


def reminders() -> Reminders:
    from hod.adapters.aws import SchedulerReminders

    settings = get_settings()
    return SchedulerReminders(
        settings.reminder_function_arn,
        settings.reminder_role_arn,
        settings.reminder_group,
        settings.reminder_dead_letter_arn,
    )


@_factory
def send_ledger() -> DynamoSendLedger:
    from hod.adapters.sending import DynamoSendLedger

    return DynamoSendLedger(get_settings().referrals_table)


def send_queue() -> SqsSendQueue:
    from hod.adapters.aws import SqsSendQueue

    return SqsSendQueue(get_settings().send_queue_url)


@_factory
def notifier() -> Notifier:
    from hod.adapters.aws import SesEmail, SnsText
    from hod.services.notifier import Notifier

    settings = get_settings()
    return Notifier(
        SesEmail(settings.sender_email),
        SnsText(),
        device_push(),
        send_ledger(),
        send_queue() if settings.send_queue_url else None,
        clock(),
        forget_device,
    )


@_factory
def device_push() -> DevicePush:
    """The "app" channel: browsers by Web Push (built when one is first pushed to), phones by Pinpoint."""
    from hod.adapters.aws import PinpointPush
    from hod.adapters.webpush import DevicePush

    return DevicePush(PinpointPush(get_settings().pinpoint_app_id), web_push)


@_factory
def vapid_key() -> VapidKey:
    """The Web Push (VAPID) key pair, read from its secret once per container."""
    from hod.adapters.webpush import VapidKey, secret_reader

    return VapidKey(secret_reader(get_settings().vapid_secret_id))


@_factory
def web_push() -> WebPush:
    from hod.adapters.webpush import WebPush

    settings = get_settings()
    # whoever runs the service, as push services may ask (RFC 8292): its sender address, else its site
    contact = f"mailto:{settings.sender_email}" if settings.sender_email else settings.public_base_url
    return WebPush(vapid_key(), contact, http_endpoints=settings.webpush_allow_http, now=clock().now)


def forget_device(label: str, platform: str, token: str) -> None:
    """Remove an agent's device its push service says is gone (`label` is "agent:<npn>")."""
    from hod.adapters.devices import DynamoDevices

    if label.startswith("agent:"):
        DynamoDevices(get_settings().agents_table).forget(label.removeprefix("agent:"), platform, token)


# ----- services --------------------------------------------------------------------------------------------------
@_factory
def auth() -> AuthService:
    from hod.services.auth import AuthService

    return AuthService(keys(), clock(), get_settings().session_ttl_seconds, admin_keys())


@_factory
def agents() -> AgentService:
    """Agents' changes; a save whose next change falls due too soon for the sweep queues that change itself."""
    from hod.services.agents import AgentService

    settings = get_settings()
    return AgentService(
        _queueing(agent_store()),
        available_index(),
        clock(),
        settings.plan_year,
        invitations=_InvitationsOnFirstUse(),
        http_push_endpoints=settings.webpush_allow_http,
    )


def _queueing(store: AgentStore) -> AgentStore:
    """The agent store, queueing near changes as agents are saved (when the refresh queue is configured)."""
    from hod.services.sweep import QueueingAgentStore, SweepPolicy

    if not get_settings().refresh_queue_url:
        return store
    return QueueingAgentStore(store, refresh_queue(), clock(), SweepPolicy().save_horizon_seconds)


@_factory
def availability_sweep() -> AvailabilitySweep:
    """The sweep that queues agents' changes as they come due, and the workers' side that applies them."""
    from hod.adapters.sweep import DynamoSweepCursor
    from hod.services.sweep import AvailabilitySweep

    return AvailabilitySweep(
        _queueing(agent_store()),
        DynamoSweepCursor(get_settings().agents_table),
        refresh_queue(),
        agents(),
        clock(),
    )


@_factory
def access() -> AccessService:
    """Sign-in links (requested here, sent by the notify function) and account invitations (the portal URL is the
    public base URL's /portal)."""
    from hod.adapters.access import DynamoAccessStore
    from hod.adapters.aws import LambdaSignIns
    from hod.services.access import AccessService

    settings = get_settings()
    return AccessService(
        agent_store(),
        DynamoAccessStore(settings.agents_table),
        auth(),
        notifier(),
        clock(),
        timedelta(seconds=settings.portal_session_seconds),
        settings,
        LambdaSignIns(settings.sign_in_function_arn),
    )


@_factory
def short_links() -> ShortLinks:
    from hod.adapters.access import DynamoShortLinks
    from hod.services.links import ShortLinks

    settings = get_settings()
    return ShortLinks(DynamoShortLinks(settings.agents_table), clock(), settings)


@_factory
def signed_links() -> SignedLinks:
    from hod.services.links import SignedLinks

    return SignedLinks(auth(), clock(), get_settings())


@_factory
def matching() -> MatchingService:
    from hod.services.matching import MatchingService

    return MatchingService(available_index(), clock(), agent_loads())


@_factory
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
        receipt=consumer_receipt(),
        offer_window_seconds=settings.offer_window_seconds,
        safety_net_window_seconds=settings.safety_net_window_seconds,
    )


@_factory
def submissions() -> Submissions:
    """The intake made idempotent: each submission's name is claimed in the idempotency table, in the transaction
    that stores its referral."""
    from hod.services.submissions import Submissions

    settings = get_settings()
    return Submissions(intake(), referral_store(), clock(), settings.idempotency_ttl_seconds)


@_factory
def reports() -> ReportService:
    """The administrator's reports: suspended agents and program metrics."""
    from hod.adapters.reports import DynamoReports
    from hod.services.reports import ReportService

    settings = get_settings()
    return ReportService(DynamoReports(settings.agents_table, settings.referrals_table), missed_offers())


@_factory
def coverage() -> CoverageService:
    """The administrator's coverage map: the job that recomputes it and the reads of its summaries."""
    from hod.adapters.coverage import DynamoCoverageStore
    from hod.adapters.reports import DynamoReports
    from hod.services.coverage import CoverageService

    settings = get_settings()
    return CoverageService(
        DynamoCoverageStore(settings.agents_table),
        DynamoReports(settings.agents_table, settings.referrals_table),
        clock(),
        settings.plan_year,
        # the longest a referral may stay open: every offer round, then every safety-net round
        settle=timedelta(
            seconds=settings.max_offer_rounds * settings.offer_window_seconds
            + settings.safety_net_rounds * settings.safety_net_window_seconds
        ),
    )


# ----- the referral workflow -------------------------------------------------------------------------------------
@_factory
def workflow_ports() -> WorkflowPorts:
    from hod.adapters.aws import StepFunctionsCallbacks
    from hod.services.workflow.common import TaskTokens, WorkflowPolicy, WorkflowPorts

    settings = get_settings()
    policy = WorkflowPolicy(
        offer_window_seconds=settings.offer_window_seconds,
        follow_up_seconds=settings.follow_up_seconds,
        safety_net_window_seconds=settings.safety_net_window_seconds,
        safety_net_rounds=settings.safety_net_rounds,
        suspend_after_missed=settings.suspend_after_missed,
        offer_capacity=settings.offer_capacity,
        wrap_up_seconds=settings.wrap_up_seconds,
        queue_wait_seconds=settings.queue_wait_seconds,
        max_offer_rounds=settings.max_offer_rounds,
    )
    return WorkflowPorts(workflow_store(), clock(), policy, TaskTokens(StepFunctionsCallbacks()), reminders())


@_factory
def notices() -> Notices:
    from hod.services.workflow.notices import Notices

    links = _LinksOnFirstUse()
    queue = send_queue() if get_settings().send_queue_url else None
    return Notices(notifier(), links, links, queue, send_ledger())


@_factory
def missed_offers() -> MissedOffers:
    from hod.services.workflow.missed import MissedOffers

    return MissedOffers(workflow_ports(), agents(), notices())


@_factory
def waiting_referrals() -> WaitingReferrals:
    from hod.services.workflow.queue import WaitingReferrals

    return WaitingReferrals(workflow_ports(), agent_loads())


@_factory
def workflow_tasks() -> WorkflowTasks:
    from hod.services.workflow.tasks import WorkflowTasks

    return WorkflowTasks(workflow_ports(), agents(), matching(), notices(), missed_offers(), waiting_referrals())


@_factory
def answers() -> Answers:
    from hod.services.workflow.answers import Answers

    return Answers(workflow_ports(), agents(), notices(), waiting_referrals())


# ----- what agents and administrators read and answer through the API ---------------------------------------------
@_factory
def agent_reports() -> AgentReports:
    """An agent's referrals filtered, exported and counted on the server."""
    from hod.adapters.agent_history import DynamoAgentHistory
    from hod.services.agent_reports import AgentReports

    return AgentReports(DynamoAgentHistory(get_settings().referrals_table), workflow_store(), clock())


def referral_views() -> ReferralViews:
    from hod.services.referral_views import ReferralViews

    return ReferralViews(workflow_store(), clock())


@_factory
def link_pages() -> LinkPages:
    from hod.services.offer_links import LinkPages

    return LinkPages(auth(), workflow_store(), clock())


@_factory
def link_answers() -> LinkAnswers:
    from hod.services.offer_links import LinkAnswers

    return LinkAnswers(auth(), answers(), clock())


# ----- the consumer's status page ---------------------------------------------------------------------------------
@_factory
def status_links() -> StatusLinks:
    from hod.services.status import StatusLinks

    return StatusLinks(auth(), get_settings())


@_factory
def consumer_receipt() -> ConsumerReceipt:
    """The receipt the intake sends, with the consumer's status link (a short one in the text)."""
    from hod.services.status import ConsumerReceipt

    return ConsumerReceipt(notifier(), status_links(), _LinksOnFirstUse(), clock())


@_factory
def consumer_status() -> ConsumerStatus:
    from hod.services.status import ConsumerStatus, StatusTimes

    settings = get_settings()
    times = StatusTimes(settings.follow_up_seconds, settings.safety_net_window_seconds, settings.safety_net_rounds)
    return ConsumerStatus(status_links(), workflow_store(), clock(), times)


@_factory
def not_called() -> NotCalled:
    from hod.services.workflow.not_called import NotCalled, NotCalledPolicy

    return NotCalled(workflow_ports(), workflow_store(), notifier(), NotCalledPolicy(get_settings().not_called_policy))


# ----- the send function ---------------------------------------------------------------------------------------------
@_factory
def sender() -> Sender:
    """The send function's service: the safety net's calls at the account's SES rate, and held messages."""
    from hod.adapters.aws import SesBulkEmail, SesEmail, SnsText
    from hod.adapters.sending import DynamoAgentDirectory
    from hod.services.notifier import Channels
    from hod.services.sender import Sender, SendPolicy

    settings = get_settings()
    return Sender(
        workflow_store(),
        DynamoAgentDirectory(settings.agents_table),
        send_ledger(),
        SesBulkEmail(settings.sender_email),
        Channels(SesEmail(settings.sender_email), SnsText(), device_push(), forget_device),
        timer(),
        SendPolicy(
            rate=settings.ses_send_rate,
            senders=settings.safety_net_senders,
            offer_window_seconds=settings.offer_window_seconds,
        ),
    )


# ----- ports whose service is built on first use -----------------------------------------------------------------
class _InvitationsOnFirstUse:
    """The agents service's Invitations port: only an import queues invitations, so the functions that read agents
    without importing them never build the access service (nor load its modules)."""

    def queue_invite(self, npn: str) -> None:
        access().queue_invite(npn)


class _LinksOnFirstUse:
    """The notices' LinkSigner and LinkShortener ports: reminders and missed-offer notices carry no link and only a
    texted offer needs a short one, so a function that sends none never builds (nor loads) them."""

    def signed_link(self, purpose: str, referral_id: str, npn: str, expires: datetime) -> str:
        return signed_links().signed_link(purpose, referral_id, npn, expires)

    def shorten(self, target: str, expires: datetime) -> str:
        return short_links().shorten(target, expires)

    def draw(self, target: str, expires: datetime) -> ShortLink:
        return short_links().draw(target, expires)

    def url(self, link: ShortLink) -> str:
        return short_links().url(link)


def reset() -> None:
    """Forget every built service (tests and the local stack call this after changing the environment)."""
    from hod.adapters.aws import forget_clients
    from hod.adapters.dynamo import forget_connections

    get_settings.cache_clear()
    _clock.clear()
    for factory in FACTORIES:
        factory.cache_clear()
    forget_clients()
    forget_connections()
