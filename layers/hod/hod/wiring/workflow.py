"""The composition root's referral workflow: the state machine's tasks, agents' answers, missed offers, referrals
waiting for busy agents, notices, and the consumer's "nobody has called me"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hod.settings import get_settings
from hod.wiring import adapters, clock, factory, sending, services

if TYPE_CHECKING:
    from hod.services.workflow.answers import Answers
    from hod.services.workflow.common import WorkflowPorts
    from hod.services.workflow.missed import MissedOffers
    from hod.services.workflow.not_called import NotCalled
    from hod.services.workflow.notices import Notices
    from hod.services.workflow.queue import WaitingReferrals
    from hod.services.workflow.tasks import WorkflowTasks


@factory
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
    return WorkflowPorts(
        adapters.workflow_store(), clock(), policy, TaskTokens(StepFunctionsCallbacks()), adapters.reminders()
    )


@factory
def notices() -> Notices:
    from hod.services.workflow.notices import Notices

    links = services.LinksOnFirstUse()
    queue = adapters.send_queue() if get_settings().send_queue_url else None
    return Notices(sending.notifier(), links, links, queue, adapters.send_ledger())


@factory
def missed_offers() -> MissedOffers:
    from hod.services.workflow.missed import MissedOffers

    return MissedOffers(workflow_ports(), services.agents(), notices())


@factory
def waiting_referrals() -> WaitingReferrals:
    from hod.services.workflow.queue import WaitingReferrals

    return WaitingReferrals(workflow_ports(), adapters.agent_loads())


@factory
def workflow_tasks() -> WorkflowTasks:
    from hod.services.workflow.tasks import WorkflowTasks

    return WorkflowTasks(
        workflow_ports(), services.agents(), services.matching(), notices(), missed_offers(), waiting_referrals()
    )


@factory
def answers() -> Answers:
    from hod.services.workflow.answers import Answers

    return Answers(workflow_ports(), services.agents(), notices(), waiting_referrals())


@factory
def not_called() -> NotCalled:
    from hod.services.workflow.not_called import NotCalled, NotCalledPolicy

    return NotCalled(
        workflow_ports(),
        adapters.workflow_store(),
        sending.notifier(),
        NotCalledPolicy(get_settings().not_called_policy),
    )
