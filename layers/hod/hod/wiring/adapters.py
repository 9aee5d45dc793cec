"""The composition root's adapters: the signing keys, the DynamoDB stores, the queues, the workflow's start and the
reminders, each built from settings on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hod.settings import get_settings
from hod.wiring import factory

if TYPE_CHECKING:
    from hod.adapters.agent_loads import DynamoAgentLoads
    from hod.adapters.agent_store import DynamoAgentStore
    from hod.adapters.available import DynamoAvailableIndex
    from hod.adapters.aws import SecretsManagerKeys, SqsSendQueue
    from hod.adapters.referral_store import DynamoReferralStore
    from hod.adapters.sending import DynamoSendLedger
    from hod.adapters.sweep import SqsRefreshQueue
    from hod.adapters.workflow_store import DynamoWorkflowStore
    from hod.ports.referrals import Workflow
    from hod.ports.workflow import Reminders


@factory
def keys() -> SecretsManagerKeys:
    from hod.adapters.aws import SecretsManagerKeys

    return SecretsManagerKeys(get_settings().signing_secret_id)


@factory
def admin_keys() -> SecretsManagerKeys | None:
    """The administrator tokens' key, where the function has it (the intake function)."""
    from hod.adapters.aws import SecretsManagerKeys

    secret_id = get_settings().admin_signing_secret_id
    return SecretsManagerKeys(secret_id) if secret_id else None


@factory
def agent_store() -> DynamoAgentStore:
    from hod.adapters.agent_store import DynamoAgentStore

    return DynamoAgentStore(get_settings().agents_table)


@factory
def available_index() -> DynamoAvailableIndex:
    from hod.adapters.available import DynamoAvailableIndex

    return DynamoAvailableIndex(get_settings().available_table)


@factory
def refresh_queue() -> SqsRefreshQueue:
    from hod.adapters.sweep import SqsRefreshQueue

    return SqsRefreshQueue(get_settings().refresh_queue_url)


@factory
def referral_store() -> DynamoReferralStore:
    from hod.adapters.referral_store import DynamoReferralStore

    settings = get_settings()
    return DynamoReferralStore(settings.referrals_table, settings.idempotency_table, settings.agents_table)


@factory
def workflow_store() -> DynamoWorkflowStore:
    from hod.adapters.workflow_store import DynamoWorkflowStore

    return DynamoWorkflowStore(get_settings().referrals_table)


@factory
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


@factory
def send_ledger() -> DynamoSendLedger:
    from hod.adapters.sending import DynamoSendLedger

    return DynamoSendLedger(get_settings().referrals_table)


def send_queue() -> SqsSendQueue:
    from hod.adapters.aws import SqsSendQueue

    return SqsSendQueue(get_settings().send_queue_url)
