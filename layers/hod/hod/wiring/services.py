"""The composition root's services of agents, consumers and their links: sign-in and tokens, agents and the
availability sweep, access, signed and short links, matching, the intake and the consumer's status page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hod.settings import get_settings
from hod.wiring import adapters, clock, factory, sending

if TYPE_CHECKING:
    from hod.ports.agents import AgentStore
    from hod.ports.links import ShortLink
    from hod.services.access import AccessService
    from hod.services.agents import AgentService
    from hod.services.auth import AuthService
    from hod.services.intake import IntakeService
    from hod.services.links import ShortLinks, SignedLinks
    from hod.services.matching import MatchingService
    from hod.services.status import ConsumerReceipt, ConsumerStatus, StatusLinks
    from hod.services.submissions import Submissions
    from hod.services.sweep import AvailabilitySweep


@factory
def auth() -> AuthService:
    from hod.services.auth import AuthService

    return AuthService(adapters.keys(), clock(), get_settings().session_ttl_seconds, adapters.admin_keys())


@factory
def agents() -> AgentService:
    """Agents' changes; a save whose next change falls due too soon for the sweep queues that change itself."""
    from hod.services.agents import AgentService

    settings = get_settings()
    return AgentService(
        _queueing(adapters.agent_store()),
        adapters.available_index(),
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
    return QueueingAgentStore(store, adapters.refresh_queue(), clock(), SweepPolicy().save_horizon_seconds)


@factory
def availability_sweep() -> AvailabilitySweep:
    """The sweep that queues agents' changes as they come due, and the workers' side that applies them."""
    from hod.adapters.sweep import DynamoSweepCursor
    from hod.services.sweep import AvailabilitySweep

    return AvailabilitySweep(
        _queueing(adapters.agent_store()),
        DynamoSweepCursor(get_settings().agents_table),
        adapters.refresh_queue(),
        agents(),
        clock(),
    )


@factory
def access() -> AccessService:
    """Sign-in links (requested here, sent by the notify function) and account invitations (the portal URL is the
    public base URL's /portal)."""
    from hod.adapters.access import DynamoAccessStore
    from hod.adapters.aws import LambdaSignIns
    from hod.services.access import AccessService

    settings = get_settings()
    return AccessService(
        adapters.agent_store(),
        DynamoAccessStore(settings.agents_table),
        auth(),
        sending.notifier(),
        clock(),
        timedelta(seconds=settings.portal_session_seconds),
        settings,
        LambdaSignIns(settings.sign_in_function_arn),
    )


@factory
def short_links() -> ShortLinks:
    from hod.adapters.access import DynamoShortLinks
    from hod.services.links import ShortLinks

    settings = get_settings()
    return ShortLinks(DynamoShortLinks(settings.agents_table), clock(), settings)


@factory
def signed_links() -> SignedLinks:
    from hod.services.links import SignedLinks

    return SignedLinks(auth(), clock(), get_settings())


@factory
def matching() -> MatchingService:
    from hod.services.matching import MatchingService

    return MatchingService(adapters.available_index(), clock(), adapters.agent_loads())


@factory
def intake() -> IntakeService:
    from hod import zipdir
    from hod.services.intake import IntakeService

    settings = get_settings()
    return IntakeService(
        adapters.referral_store(),
        adapters.workflow(),
        clock(),
        settings.plan_year,
        zipdir.lookup,
        receipt=consumer_receipt(),
        offer_window_seconds=settings.offer_window_seconds,
        safety_net_window_seconds=settings.safety_net_window_seconds,
    )


@factory
def submissions() -> Submissions:
    """The intake made idempotent: each submission's name is claimed in the idempotency table, in the transaction
    that stores its referral."""
    from hod.services.submissions import Submissions

    settings = get_settings()
    return Submissions(intake(), adapters.referral_store(), clock(), settings.idempotency_ttl_seconds)


@factory
def status_links() -> StatusLinks:
    from hod.services.status import StatusLinks

    return StatusLinks(auth(), get_settings())


@factory
def consumer_receipt() -> ConsumerReceipt:
    """The receipt the intake sends, with the consumer's status link (a short one in the text)."""
    from hod.services.status import ConsumerReceipt

    return ConsumerReceipt(sending.notifier(), status_links(), LinksOnFirstUse(), clock())


@factory
def consumer_status() -> ConsumerStatus:
    from hod.services.status import ConsumerStatus, StatusTimes

    settings = get_settings()
    times = StatusTimes(settings.follow_up_seconds, settings.safety_net_window_seconds, settings.safety_net_rounds)
    return ConsumerStatus(status_links(), adapters.workflow_store(), clock(), times)


class _InvitationsOnFirstUse:
    """The agents service's Invitations port: only an import queues invitations, so the functions that read agents
    without importing them never build the access service (nor load its modules)."""

    def queue_invite(self, npn: str) -> None:
        access().queue_invite(npn)


class LinksOnFirstUse:
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
