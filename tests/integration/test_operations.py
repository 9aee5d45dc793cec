"""Operations in the template: alarms on API errors, unhandled exceptions, dead letters, the index's lag and unserved
referrals; a dead-letter queue behind every asynchronous target; access logs without query strings; a dashboard
whose every widget reads a metric the code publishes (tests/integration/test_published_metrics.py shows it does)."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger

from hod import wiring
from hod.adapters import telemetry
from local.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]


def test_a_reminder_schedule_names_the_dead_letter_queue_and_its_retries(stack: dict[str, str]) -> None:
    # Given the stack's environment (the reminders' dead-letter queue among it)
    assert stack["HOD_REMINDER_DEAD_LETTER_ARN"].endswith(":hod-local-dead-letters")
    # When a reminder is scheduled
    wiring.adapters.reminders().schedule("r1", 15, datetime.now(UTC) + timedelta(minutes=15), "101")
    # Then Scheduler holds it (named for the acceptance it follows) with the queue for what it cannot deliver, and
    # bounded retries
    scheduler = boto3.client("scheduler")
    target = scheduler.get_schedule(Name="r-r1-15-101", GroupName=stack["HOD_REMINDER_GROUP"])["Target"]
    assert target["DeadLetterConfig"] == {"Arn": stack["HOD_REMINDER_DEAD_LETTER_ARN"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 900}


# ----- the template ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r.get("Properties", {}) for name, r in template["Resources"].items() if r["Type"] == kind}


def published_by_the_code() -> set[str]:
    """Every metric name the functions and the `hod` package publish (names written out, and telemetry's)."""
    names = {*telemetry.COUNTED.values(), telemetry.TO_SAFETY_NET, telemetry.TIME_TO_ACCEPT}
    names |= set(telemetry.CHANNEL_FAILURES.values())
    for path in [*ROOT.glob("functions/*/*.py"), *ROOT.glob("layers/hod/hod/**/*.py")]:
        names |= set(re.findall(r'add_metric\(\s*name="(\w+)"', path.read_text(encoding="utf-8")))
    return names


def counted_from_logs(template: dict[str, Any]) -> set[str]:
    return {
        transformation["MetricName"]
        for properties in of_type(template, "AWS::Logs::MetricFilter").values()
        for transformation in properties["MetricTransformations"]
    }


def the_namespace(template: dict[str, Any]) -> Any:
    return template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]


def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    text, variables = of_type(template, "AWS::CloudWatch::Dashboard")["OperationsDashboard"]["DashboardBody"]["Fn::Sub"]
    assert variables["Namespace"] == the_namespace(template)
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    assert variables["Service"] == service
    resolved = text.replace("${Namespace}", "NS").replace("${Service}", service)
    resolved = resolved.replace("${AWS::StackName}", "stack").replace("${AWS::Region}", "us-east-1")
    return dict(json.loads(re.sub(r"\$\{(\w+)\.Arn\}", r"arn-of-\1", resolved)))


def test_every_dashboard_widget_reads_a_metric_the_code_or_a_log_filter_publishes(template: dict[str, Any]) -> None:
    # Given what the code publishes (with the functions' service dimension) and what the metric filters count
    by_code = published_by_the_code()
    by_logs = counted_from_logs(template)
    widgets = dashboard(template)["widgets"]
    charted = [
        line
        for widget in widgets
        if widget["type"] == "metric"
        for line in widget["properties"]["metrics"]
        if isinstance(line[0], str) and line[0] == "NS"
    ]
    # Then every chart of the stack's namespace is on one of them, with the dimensions it is published with
    for line in charted:
        name = line[1]
        assert name in by_code | by_logs, name
        if name in by_code:
            assert line[2:4] == ["service", "help-on-demand"], line
        else:
            assert isinstance(line[2], dict), line  # a metric filter's metric has no dimensions
    # And the API's charts name the API as the template does
    api_name = of_type(template, "AWS::Serverless::Api")["HodApi"]["Name"]["Fn::Sub"]
    for widget in widgets:
        for line in widget["properties"].get("metrics", []):
            if line[0] == "AWS/ApiGateway":
                assert line[2:6] == ["ApiName", api_name.replace("${AWS::StackName}", "stack"), "Stage", "v1"]
    # And it shows what a marketplace watches, and every alarm
    titles = " | ".join(widget["properties"]["title"] for widget in widgets)
    for subject in ("Referrals a minute", "Offers", "Time to accept", "Safety-net rate", "Unserved", "lag", "Channel"):
        assert subject in titles
    alarms = next(widget for widget in widgets if widget["type"] == "alarm")["properties"]["alarms"]
    assert {alarm.removeprefix("arn-of-") for alarm in alarms} == set(of_type(template, "AWS::CloudWatch::Alarm"))


def test_alarms_watch_api_errors_unhandled_exceptions_dead_letters_index_lag_and_unserved_referrals(
    template: dict[str, Any],
) -> None:
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    namespace = the_namespace(template)
    # API Gateway's 5XX count for this stack's API and stage
    api = alarms["ApiServerErrorsAlarm"]
    assert (api["Namespace"], api["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert {d["Name"]: d["Value"] for d in api["Dimensions"]} == {
        "ApiName": of_type(template, "AWS::Serverless::Api")["HodApi"]["Name"],
        "Stage": of_type(template, "AWS::Serverless::Api")["HodApi"]["StageName"],
    }
    # Every function's log group counts its ERROR lines into the metric the errors alarm watches
    errors = alarms["ErrorsLoggedAlarm"]
    assert (errors["Namespace"], errors["MetricName"], errors["Threshold"]) == (namespace, "ErrorsLogged", 1)
    filters = of_type(template, "AWS::Logs::MetricFilter")
    watched = {
        f["LogGroupName"]["Ref"]
        for f in filters.values()
        if f["MetricTransformations"][0]["MetricName"] == "ErrorsLogged"
        and f["MetricTransformations"][0]["MetricNamespace"] == namespace
    }
    groups = {f["LoggingConfig"]["LogGroup"]["Ref"] for f in of_type(template, "AWS::Serverless::Function").values()}
    assert watched == groups
    # The dead-letter queue's depth
    dead = alarms["DeadLettersAlarm"]
    assert dead["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
    # The sweep's lag (no data: no sweep, which is lag too) and unserved referrals, on what the code publishes
    lag, unserved = alarms["AvailabilityIndexLagAlarm"], alarms["UnservedReferralsAlarm"]
    assert (lag["MetricName"], lag["Statistic"], lag["TreatMissingData"]) == (
        "AvailabilityIndexLagSeconds",
        "Maximum",
        "breaching",
    )
    assert unserved["MetricName"] == "ReferralsUnserved"
    for alarm in alarms.values():
        if alarm["Namespace"] == namespace and alarm["MetricName"] != "ErrorsLogged":
            assert alarm["MetricName"] in published_by_the_code()
            assert alarm["Dimensions"] == [{"Name": "service", "Value": "help-on-demand"}]


def test_every_asynchronous_target_gives_up_into_the_dead_letter_queue(template: dict[str, Any]) -> None:
    queue = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    resources = template["Resources"]
    specs = of_type(template, "AWS::Serverless::Function")
    # The functions invoked asynchronously: by a schedule, or as the reminders' target (the notify function)
    scheduled = {
        name
        for name, spec in specs.items()
        if any(event["Type"] == "Schedule" for event in (resources[name]["Properties"].get("Events") or {}).values())
    }
    assert scheduled == {"ExpireFunction"}
    target = template["Globals"]["Function"]["Environment"]["Variables"]["HOD_REMINDER_FUNCTION_ARN"]["Fn::Sub"]
    reminded = {
        name
        for name in specs
        if "FunctionName" in resources[name]["Properties"]
        and target.endswith(":function:" + resources[name]["Properties"]["FunctionName"]["Fn::Sub"])
    }
    assert reminded == {"NotifyFunction"}
    for name in scheduled | reminded:
        on_failure = resources[name]["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure == {"Type": "SQS", "Destination": queue}, name
    # The schedules (the sweep's, the coverage map's) keep what they cannot deliver, and only those rules may send to
    # the queue
    events = resources["ExpireFunction"]["Properties"]["Events"]
    rules = [events[name]["Properties"] for name in ("AvailabilitySweep", "CoverageSummary")]
    assert all(rule["DeadLetterConfig"] == {"Arn": queue} for rule in rules)
    statement = resources["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    allowed = [arn["Fn::Sub"] for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]]
    assert [arn.rsplit(":rule/", 1)[1] for arn in allowed] == [rule["Name"]["Fn::Sub"] for rule in rules]
    # The reminders' schedules name the queue (by its fixed name), and their role may send to it
    queue_name = resources["DeadLetterQueue"]["Properties"]["QueueName"]["Fn::Sub"]
    arn = template["Globals"]["Function"]["Environment"]["Variables"]["HOD_REMINDER_DEAD_LETTER_ARN"]["Fn::Sub"]
    assert arn.endswith(":" + queue_name)
    role = resources["ReminderSchedulerRole"]["Properties"]["Policies"]
    assert any(
        s["Action"] == "sqs:SendMessage" and s["Resource"] == queue
        for policy in role
        for s in policy["PolicyDocument"]["Statement"]
    )


def test_access_logs_leave_out_query_strings_and_path_values(template: dict[str, Any]) -> None:
    api = of_type(template, "AWS::Serverless::Api")["HodApi"]
    setting = api["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    variables = set(re.findall(r"\$context\.[\w.]+", setting["Format"]))
    # The route's template, never the requested path or its query (signed-link tokens, short-link codes)
    assert "$context.resourcePath" in variables
    assert not {v for v in variables if re.search(r"path$|querystring|requestOverride|input", v, re.IGNORECASE)} - {
        "$context.resourcePath"
    }
    # One JSON document per request
    sample = json.loads(setting["Format"].replace("$context.error.messageString", '"x"').replace("$context.", "x"))
    assert sample["resource"] == "xresourcePath"


def test_error_lines_in_either_log_format_match_the_error_filter_and_other_lines_do_not(
    template: dict[str, Any],
) -> None:
    patterns = {
        f["FilterPattern"]
        for f in of_type(template, "AWS::Logs::MetricFilter").values()
        if f["MetricTransformations"][0]["MetricName"] == "ErrorsLogged"
    }
    assert len(patterns) == 1
    (pattern,) = patterns
    assert re.fullmatch(r"\w+", pattern)  # one bare term: a log event matches when it contains it

    # Given a Powertools logger's lines (JSON) ...
    written = io.StringIO()
    powertools = Logger(service="error-filter-check", stream=written, level="INFO")
    powertools.error("dependency failed")
    powertools.info("next step", extra={"next": "done"})
    powertools_error, powertools_info = written.getvalue().splitlines()
    # ... and the Lambda runtime's text lines for the standard loggers (Chalice's unhandled exceptions, hod's)
    runtime = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s")

    def runtime_line(level: int, message: str) -> str:
        record = logging.LogRecord("hod-intake", level, __file__, 1, message, None, None)
        record.aws_request_id = "6f1c4a2e"
        return runtime.format(record)

    # Then the errors match and the rest do not
    assert json.loads(powertools_error)["level"] == "ERROR"
    for line in (powertools_error, runtime_line(logging.ERROR, "Caught exception for path /referrals")):
        assert pattern in line, line
    for line in (powertools_info, runtime_line(logging.WARNING, "referral unserved")):
        assert pattern not in line, line
