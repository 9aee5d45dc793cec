"""Integration tests run the real handlers and adapters against moto, with resources built from template.yaml."""

from __future__ import annotations

import time
from collections.abc import Iterator
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
from tests.integration.api_contract import check_answer

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
    with mock_aws():
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


@dataclass
class Workflow:
    env: dict[str, str]
    invocations: Invocations

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


@pytest.fixture
def workflow(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Workflow]:
    """The whole stack with the template's state machine executing in moto (real ASL, real handlers in-process),
    offer and safety-net windows of 3 seconds (a test marked `windows(Name="value")` changes them)."""
    marker = request.node.get_closest_marker("windows")
    windows = {**WINDOWS, **(marker.kwargs if marker else {})}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        template = load_template()
        session = boto3.session.Session()
        env = create_local_resources(session, template, parameters={**PARAMETERS, **windows})
        stack_created(session, template, {**PARAMETERS, **windows})
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        session.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        wiring.reset()
        with atomic_dynamodb(), route_lambdas_in_process(template) as invocations:
            harness = Workflow(env, invocations)
            with run_schedules():  # EventBridge Scheduler's one-off schedules (the reminders), fired when due
                yield harness
            # Stop what is still running, and let in-flight handlers finish while the embedded AWS is still here
            sfn = session.client("stepfunctions")
            for execution in harness.executions():
                if execution["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=execution["executionArn"])
            invocations.close()
        wiring.reset()
