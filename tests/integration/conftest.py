"""Integration tests run the real handlers and adapters against moto, with resources built from template.yaml."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import HTTPResponse, TestHTTPClient
from moto import mock_aws

from benchmarks.counting import CallLog
from hod import wiring
from local.cfn import create_local_resources, dynamodb_tables, load_template
from local.iam.recorder import stack_created
from local.inproc import Invocations, atomic_dynamodb, route_lambdas_in_process
from local.queues import QueueWorkers
from local.scheduler import run_schedules
from local.ses import bulk_email
from tests.integration.api_contract import check_answer
from tests.integration.faults import Faults, injected_faults

SENDER = "offers@help-on-demand.example"
PARAMETERS = {
    "SenderEmail": SENDER,
    "PlanYear": "2026",
    "Stage": "test",
    "PublicBaseUrl": "http://hod.test",
}


@pytest.fixture(autouse=True)
def answers_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer an integration test receives from the API is checked against its route's declared models."""
    send = TestHTTPClient.request

    def checked(self: TestHTTPClient, method: str, path: str, **kwargs: Any) -> HTTPResponse:
        response = send(self, method, path, **kwargs)
        check_answer(method, path, response)
        return response

    monkeypatch.setattr(TestHTTPClient, "request", checked)


@pytest.fixture
def counted() -> Iterator[tuple[CallLog, str]]:
    """An available-now table alone in moto, every call counted (benchmarks.counting); yields the log and the
    table's name."""
    log = CallLog()
    with mock_aws(), log.install():
        kwargs = dynamodb_tables(load_template(), "count-")["AvailableAgentsTable"]
        boto3.client("dynamodb").create_table(**kwargs)
        yield log, str(kwargs["TableName"])


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A fresh local copy of the stack's tables and secret in moto; the process environment points at it.
    Referrals are stored but their workflow is not started (see `workflow` for that)."""
    with mock_aws(), bulk_email():
        session, template = boto3.session.Session(), load_template()
        env = create_local_resources(session, template, parameters=PARAMETERS)
        stack_created(session, template, PARAMETERS)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("HOD_STATE_MACHINE_ARN", raising=False)
        wiring.reset()
        yield env
        wiring.reset()


@pytest.fixture
def refresh_workers(stack: dict[str, str]) -> QueueWorkers:
    """The template's queue consumers (the refresh function, applying availability changes), run in this process
    when a test calls `drain()`."""
    return QueueWorkers(load_template())


@pytest.fixture
def invocations(stack: dict[str, str]) -> Iterator[Invocations]:
    """The stack's functions run in-process when invoked: the notify function that POST /sign-in invokes
    asynchronously, for one (the workflow is still not started: see `workflow`)."""
    with route_lambdas_in_process(load_template()) as running:
        yield running


@dataclass
class Workflow:
    env: dict[str, str]
    invocations: Invocations
    consumers: QueueWorkers | None = None

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions")
        return list(sfn.list_executions(stateMachineArn=self.env["HOD_STATE_MACHINE_ARN"])["executions"])

    def execution(self, referral_id: str) -> dict[str, Any]:
        arn = self.env["HOD_STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:") + f":{referral_id}"
        return dict(boto3.client("stepfunctions").describe_execution(executionArn=arn))

    def wait_for(self, condition: Any, timeout: float = 60.0, what: str = "condition") -> Any:
        # A bound for a stuck workflow, not a speed check: a loaded machine may take many seconds
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


WINDOWS = {"OfferWindowSeconds": "3", "SafetyNetWindowSeconds": "3", "SafetyNetRounds": "2", "FollowUpSeconds": "2"}


@contextmanager
def running_stack(monkeypatch: pytest.MonkeyPatch, parameters: dict[str, str]) -> Iterator[Workflow]:
    """The whole stack with the template's state machine executing in moto (real ASL, real handlers in-process) and
    the template's queues consumed by their functions (the send queue, the refresh queue), created with the template
    `parameters`."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        template = load_template()
        session = boto3.session.Session()
        env = create_local_resources(session, template, parameters=parameters)
        stack_created(session, template, parameters)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        session.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        wiring.reset()
        with atomic_dynamodb(), bulk_email(), route_lambdas_in_process(template) as invocations:
            harness = Workflow(env, invocations)
            # EventBridge Scheduler's one-off schedules (the reminders), fired when due; the queues' event sources
            with run_schedules(), QueueWorkers(template, parameters=parameters).running() as consumers:
                harness.consumers = consumers
                yield harness
            # Stop what is still running, and let in-flight handlers finish while the embedded AWS is still here
            sfn = session.client("stepfunctions")
            for execution in harness.executions():
                if execution["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=execution["executionArn"])
            invocations.close()
        wiring.reset()


@pytest.fixture
def windows(request: pytest.FixtureRequest) -> dict[str, str]:
    """The workflow's windows (template parameters): 3 seconds, or what the test's `windows(Name="value")` marker
    says; a test module may override this fixture."""
    marker = request.node.get_closest_marker("windows")
    return {**WINDOWS, **(marker.kwargs if marker else {})}


@pytest.fixture
def workflow(monkeypatch: pytest.MonkeyPatch, windows: dict[str, str]) -> Iterator[Workflow]:
    """The running stack with offer and safety-net windows of 3 seconds (unless `windows` says otherwise)."""
    with running_stack(monkeypatch, {**PARAMETERS, **windows}) as harness:
        yield harness


@pytest.fixture
def faults(workflow: Workflow) -> Iterator[Faults]:
    """Faults injected into the workflow's embedded AWS (tests/integration/faults.py); cleared before it stops."""
    with injected_faults() as injector:
        yield injector
