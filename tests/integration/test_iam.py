"""The IAM check on the real template: the policies `sam deploy` creates, resolved to the local stack's names, allow
what a referral's whole life calls, and the check notices a function (or the state machine, or the Scheduler's role)
left without its policies."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from hod.domain.availability import WeeklySchedule
from local.cfn import LocalResources, load_template
from local.iam.check import check
from local.iam.policies import Resolver, expand, principals
from local.iam.recorder import Run, active, code_principals
from tests.integration.conftest import Workflow
from tests.integration.test_api import ALWAYS
from tests.integration.test_workflow import (
    FORM,
    NEVER,
    add_agents,
    emails_to,
    link_of,
    offer_emails_to,
    submit,
    submit_new,
    succeeded,
    token_of,
)

TEMPLATE = load_template()
# Everything in the template that is given policies: the functions, the state machine, the Scheduler's role
WITH_POLICIES = sorted(
    name for name, resource in TEMPLATE["Resources"].items() if "Policies" in (resource.get("Properties") or {})
)
_RECORDED: list[Run] = []


def _a_referrals_whole_life(flow: Workflow) -> None:
    """Intake takes the referral, Match offers it, Expire lapses the unanswered offer, Match offers the next agent,
    Intake takes the acceptance, the Scheduler's role invokes Notify for the reminder, Expire's sweep invites, a
    refresh worker applies an agent's availability change, and a second referral nobody can take goes to the safety
    net: Notify queues its calls and the send function e-mails them."""
    import app as intake_app
    import expire_handler
    from local.inproc import LocalContext

    add_agents(("201", "78701", ALWAYS), ("202", "78205", ALWAYS), ("203", "79901", NEVER))
    with Client(intake_app.app) as client:
        rid = submit(client)
        # (the nearest agent, 201, lets the offer lapse: the second offer goes to 202)
        accepted = client.http.post("/offers/accept", body=f"t={token_of(link_of('202', flow))}", headers=FORM)
        assert accepted.status_code == 200
    flow.wait_for(lambda: succeeded(flow, rid), what="the execution to succeed")
    flow.wait_for(
        lambda: [m for m in emails_to("202") if m.subject.startswith("Reminder")], timeout=30, what="a reminder"
    )
    assert expire_handler.handler({}, LocalContext("ExpireFunction"))["invitations"]["sent"] == 3
    # The refresh workers (the stack's queue event sources) apply an agent's availability change that falls due now
    workers = flow.consumers
    assert workers is not None
    before = workers.handed_over
    sqs = boto3.client("sqs")
    body = json.dumps({"due_at": int(time.time()), "npns": ["201"]})
    sqs.send_message(QueueUrl=flow.env["HOD_REFRESH_QUEUE_URL"], MessageBody=body)
    # (refreshes delayed until an agent's next change are work for later, not for now)
    flow.wait_for(lambda: workers.handed_over > before and workers.idle(delayed=False), what="the refresh workers")
    assert workers.failed == 0
    # Nobody is available for the next referral: the safety net calls the state's agents through the send queue
    for npn in ("201", "202"):
        wiring.services.agents().set_weekly_schedule(npn, WeeklySchedule.model_validate(NEVER))
    with Client(intake_app.app) as client:
        submit_new(client)
    flow.wait_for(lambda: offer_emails_to("203"), what="the safety net's call to agent 203")


@pytest.fixture
def recorded(request: pytest.FixtureRequest) -> list[Run]:
    """The runs recorded while a referral lives its whole life (made once, by the first test that needs them)."""
    if not _RECORDED:
        recorder = active()
        assert recorder is not None, "the recorder is installed by tests/iam_check.py"
        first = len(recorder.runs)
        _a_referrals_whole_life(request.getfixturevalue("workflow"))
        _RECORDED.extend(recorder.runs[first:])
    return _RECORDED


def test_a_referrals_whole_life_calls_as_every_principal_and_the_template_allows_it(recorded: list[Run]) -> None:
    # Given the calls of a referral's whole life (recorded by the fixture)
    # When they are checked against template.yaml
    report = check(recorded)
    # Then every principal with policies made calls, and every call is allowed
    assert report.principals == set(WITH_POLICIES)
    assert report.ok, report.text()


@pytest.mark.parametrize("principal", WITH_POLICIES)
def test_a_principal_without_its_policies_fails_the_check_naming_it(principal: str, recorded: list[Run]) -> None:
    # Given the template with this principal's policies deleted
    stripped = copy.deepcopy(TEMPLATE)
    del stripped["Resources"][principal]["Properties"]["Policies"]
    # When the same calls are checked against it
    report = check(recorded, stripped)
    # Then the check fails, and only this principal's calls are denied
    assert not report.ok
    assert {finding.principal for finding in report.findings.values()} == {principal}
    assert principal in report.text()


def test_policy_templates_expand_and_resolve_to_the_local_stacks_names() -> None:
    # Given a function with a SAM policy template, a parameter-built ARN and a conditional statement
    template: dict[str, Any] = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Parameters": {"Sender": {"Type": "String"}, "App": {"Type": "String", "Default": ""}},
        "Conditions": {"HasApp": {"Fn::Not": [{"Fn::Equals": [{"Ref": "App"}, ""]}]}},
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/fn/",
                    "Handler": "h.handler",
                    "Runtime": "python3.13",
                    "Policies": [
                        {"DynamoDBReadPolicy": {"TableName": {"Ref": "Table"}}},
                        {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "ses:SendEmail",
                                    "Resource": {
                                        "Fn::Sub": [
                                            "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${D}",
                                            {"D": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "Sender"}]}]}},
                                        ]
                                    },
                                },
                                {
                                    "Fn::If": [
                                        "HasApp",
                                        {"Effect": "Allow", "Action": "x:Y", "Resource": "*"},
                                        {"Ref": "AWS::NoValue"},
                                    ]
                                },
                            ]
                        },
                    ],
                },
            },
        },
    }
    local = LocalResources(
        refs={"Table": "hod-t-Table"},
        attributes={("Table", "Arn"): "arn:aws:dynamodb:us-east-1:123456789012:table/hod-t-Table"},
        region="us-east-1",
    )
    # When it is expanded as sam deploy would and resolved against the local copy
    found = principals(expand(template))["Fn"]
    resolved = Resolver(expand(template), local, {"Sender": "offers@x.example"}).resolve(list(found.documents))
    # Then the function has its own role, the policy template became statements on the local table and its
    # indexes, the ARN names the sender's domain, and the statement for an absent app is gone
    assert found.role == "FnRole"
    read, own = (document["Statement"] for document in resolved)
    assert "dynamodb:Query" in read[0]["Action"]
    assert read[0]["Resource"] == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/hod-t-Table",
        "arn:aws:dynamodb:us-east-1:123456789012:table/hod-t-Table/index/*",
    ]
    assert own == [
        {
            "Effect": "Allow",
            "Action": "ses:SendEmail",
            "Resource": "arn:aws:ses:us-east-1:123456789012:identity/x.example",
        }
    ]


def test_calls_are_attributed_to_the_code_making_them_and_never_guessed() -> None:
    # Given the template's code locations
    owners = code_principals(TEMPLATE)
    # Then each function's folder is that function, moto's interpreter the state machine, the local scheduler the
    # role EventBridge Scheduler assumes
    by_name = {Path(location).name: principal for location, principal in owners.items()}
    assert {by_name[name] for name in ("intake", "match", "notify", "expire")} == {
        "IntakeFunction",
        "MatchFunction",
        "NotifyFunction",
        "ExpireFunction",
    }
    assert by_name["stepfunctions"] == "ReferralWorkflow"
    assert by_name["scheduler.py"] == "ReminderSchedulerRole"
    # And with a second state machine, its calls get a name no resource has: reported, not passed
    doubled = copy.deepcopy(TEMPLATE)
    doubled["Resources"]["SecondWorkflow"] = doubled["Resources"]["ReferralWorkflow"]
    machine = {Path(k).name: v for k, v in code_principals(doubled).items()}["stepfunctions"]
    assert machine.startswith("(no single state machine")
    assert machine not in doubled["Resources"]
