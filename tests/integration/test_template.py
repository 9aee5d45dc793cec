"""template.yaml is the one source of truth: its tables, functions and environment, checked offline against
moto, the source tree, cfn-lint and the service's own settings."""

from __future__ import annotations

import copy
import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_file
from moto import mock_aws

from hod.settings import get_settings
from local import cfn

pytestmark = pytest.mark.disable_socket

ROOT = cfn.PROJECT_ROOT
PREFIX = "hod-test-"
SENDER = "offers@example.org"


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load_template()


@pytest.fixture
def session() -> boto3.Session:
    return boto3.Session(region_name="us-east-1")


def _resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def _index_shape(indexes: list[dict[str, Any]]) -> dict[str, tuple[list[Any], str]]:
    return {index["IndexName"]: (index["KeySchema"], index["Projection"]["ProjectionType"]) for index in indexes}


# --- Tables -------------------------------------------------------------------------------------------------


def test_every_template_table_is_created_in_moto_with_exactly_its_keys_and_indexes(
    template: dict[str, Any], session: boto3.Session
) -> None:
    # Given the tables the template declares, read straight from its Resources
    declared = _resources_of_type(template, "AWS::DynamoDB::Table")
    assert len(declared) == 4

    # When the local resources are created from the template
    cfn.create_local_resources(session, template, PREFIX, {"SenderEmail": SENDER})

    # Then moto holds exactly those tables, each with the template's keys, indexes, billing and TTL
    dynamodb = session.client("dynamodb")
    assert set(dynamodb.list_tables()["TableNames"]) == {PREFIX + logical_id for logical_id in declared}
    for logical_id, properties in declared.items():
        table = dynamodb.describe_table(TableName=PREFIX + logical_id)["Table"]
        assert table["KeySchema"] == properties["KeySchema"], logical_id
        assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
            properties["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        ), logical_id
        assert _index_shape(table.get("GlobalSecondaryIndexes", [])) == _index_shape(
            properties.get("GlobalSecondaryIndexes", [])
        ), logical_id
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = dynamodb.describe_time_to_live(TableName=PREFIX + logical_id)["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in properties:
            assert ttl["TimeToLiveStatus"] == "ENABLED", logical_id
            assert ttl["AttributeName"] == properties["TimeToLiveSpecification"]["AttributeName"]
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED", logical_id


@pytest.mark.parametrize(
    ("logical_id", "keys", "indexes", "ttl_attribute"),
    [
        (
            "AgentsTable",
            [("npn", "HASH")],
            {
                "due-changes": ([("sweep_shard", "HASH"), ("next_change_at", "RANGE")], "KEYS_ONLY"),
                "by-email": ([("email_key", "HASH")], "KEYS_ONLY"),
                "due-invites": ([("invite_shard", "HASH"), ("invite_at", "RANGE")], "KEYS_ONLY"),
                "suspended": ([("suspended_key", "HASH"), ("npn", "RANGE")], "ALL"),
                "by-name": ([("name_bucket", "HASH"), ("name_key", "RANGE")], "KEYS_ONLY"),
            },
            "expires_at",
        ),
        ("AvailableAgentsTable", [("area", "HASH"), ("cell", "RANGE")], {}, "expires_at"),
        (
            "ReferralsTable",
            [("pk", "HASH"), ("sk", "RANGE")],
            {
                "by-agent": ([("agent_npn", "HASH"), ("offered_at", "RANGE")], "ALL"),
                "unstarted": ([("needs_start", "HASH")], "KEYS_ONLY"),
                "by-day": ([("report_day", "HASH"), ("report_at", "RANGE")], "INCLUDE"),
            },
            None,
        ),
        ("IdempotencyTable", [("id", "HASH")], {}, "expiration"),
    ],
)
def test_tables_have_the_layout_the_service_is_written_against(
    template: dict[str, Any],
    session: boto3.Session,
    logical_id: str,
    keys: list[tuple[str, str]],
    indexes: dict[str, tuple[list[tuple[str, str]], str]],
    ttl_attribute: str | None,
) -> None:
    # Given the key layout the design fixes for each table
    # When the template's tables are created in moto
    cfn.create_local_resources(session, template, PREFIX, {"SenderEmail": SENDER})

    # Then each table has exactly that layout
    dynamodb = session.client("dynamodb")
    table = dynamodb.describe_table(TableName=PREFIX + logical_id)["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == keys
    actual_indexes = {
        index["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in table.get("GlobalSecondaryIndexes", [])
    }
    assert actual_indexes == indexes
    ttl = dynamodb.describe_time_to_live(TableName=PREFIX + logical_id)["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == ttl_attribute


def test_queues_are_created_with_their_dead_letter_queue_and_consumed_as_the_template_says(
    template: dict[str, Any], session: boto3.Session
) -> None:
    # Given the template's queues and the SQS event of the refresh function
    declared = _resources_of_type(template, "AWS::SQS::Queue")

    # When the local resources are created
    environment = cfn.create_local_resources(session, template, PREFIX, {"SenderEmail": SENDER})

    # Then each queue exists with its template attributes, the refresh queue redriving to its dead-letter queue
    sqs = session.client("sqs")
    names = cfn.local_queue_names(template, PREFIX)
    assert (
        set(names)
        == set(declared)
        == {"RefreshQueue", "RefreshDeadLetterQueue", "DeadLetterQueue", "SendQueue", "SendDeadLetterQueue"}
    )
    url = sqs.get_queue_url(QueueName=names["RefreshQueue"])["QueueUrl"]
    assert environment["HOD_REFRESH_QUEUE_URL"] == url
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "120"
    dead = sqs.get_queue_url(QueueName=names["RefreshDeadLetterQueue"])["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5}
    # And the refresh function consumes the refresh queue, reporting failed batches, at most AvailabilityWorkers at once
    (source,) = [source for source in cfn.queue_sources(template) if source.queue == "RefreshQueue"]
    assert (source.function, source.queue, source.report_failures) == ("RefreshFunction", "RefreshQueue", True)
    assert source.maximum_concurrency == {"Ref": "AvailabilityWorkers"}


def test_queues_naming_each_other_in_a_cycle_are_refused(template: dict[str, Any], session: boto3.Session) -> None:
    # Given two queues each redriving to the other
    changed = copy.deepcopy(template)
    changed["Resources"]["RefreshDeadLetterQueue"]["Properties"]["RedrivePolicy"] = {
        "deadLetterTargetArn": {"Fn::GetAtt": ["RefreshQueue", "Arn"]},
        "maxReceiveCount": 5,
    }

    # When / Then they cannot be created, and the error names them
    with pytest.raises(cfn.TemplateError, match="RefreshDeadLetterQueue, RefreshQueue"):
        cfn.create_local_resources(session, changed, PREFIX, {"SenderEmail": SENDER})


def test_dynamodb_tables_refuses_an_intrinsic_in_a_key_schema(template: dict[str, Any]) -> None:
    # Given a template whose key attribute name is computed
    changed = copy.deepcopy(template)
    changed["Resources"]["AgentsTable"]["Properties"]["KeySchema"][0]["AttributeName"] = {"Ref": "Stage"}

    # When / Then the table cannot be built locally, and the error names where
    with pytest.raises(cfn.TemplateError, match=r"AgentsTable\.KeySchema.*Ref"):
        cfn.dynamodb_tables(changed)


# --- Environment --------------------------------------------------------------------------------------------


def test_every_function_environment_resolves_to_real_local_tables_and_the_secret(
    template: dict[str, Any], session: boto3.Session
) -> None:
    # Given the local tables and secret created from the template
    resources = cfn.provision(session, template, PREFIX, {"SenderEmail": SENDER})

    # When each function's environment is resolved
    environments = cfn.function_environments(template, resources, {"SenderEmail": SENDER})

    # Then every function gets names of tables and a secret that exist in moto
    assert set(environments) == {
        "IntakeFunction",
        "MatchFunction",
        "NotifyFunction",
        "ExpireFunction",
        "RefreshFunction",
        "SendFunction",
    }
    dynamodb, secrets = session.client("dynamodb"), session.client("secretsmanager")
    tables = set(dynamodb.list_tables()["TableNames"])
    queues = set(session.client("sqs").list_queues().get("QueueUrls", []))
    for function_id, environment in environments.items():
        assert all(isinstance(value, str) for value in environment.values()), function_id
        for name in (
            "HOD_AGENTS_TABLE",
            "HOD_AVAILABLE_TABLE",
            "HOD_REFERRALS_TABLE",
            "HOD_IDEMPOTENCY_TABLE",
        ):
            assert environment[name] in tables, (function_id, name)
        assert environment["HOD_REFRESH_QUEUE_URL"] in queues, function_id
        key = secrets.get_secret_value(SecretId=environment["HOD_SIGNING_SECRET_ID"])["SecretString"]
        assert len(key) == 64
        assert set(key) <= set(string.ascii_letters + string.digits)
        assert environment["POWERTOOLS_SERVICE_NAME"] == "help-on-demand"
    assert environments["IntakeFunction"]["HOD_AGENTS_TABLE"] == PREFIX + "AgentsTable"
    assert environments["NotifyFunction"]["HOD_SENDER_EMAIL"] == SENDER
    # every function that may send (intake: acceptance; expire: missed notices) knows the sender
    assert all(env["HOD_SENDER_EMAIL"] == SENDER for env in environments.values())


def test_merged_environment_is_what_the_service_settings_read(
    template: dict[str, Any], session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the merged environment of the local stack, with a short offer window as in demos
    environment = cfn.create_local_resources(
        session, template, PREFIX, {"SenderEmail": SENDER, "Stage": "local", "OfferWindowSeconds": 5}
    )

    # When the service reads its settings from that environment
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        settings = get_settings()
    finally:
        get_settings.cache_clear()

    # Then the settings name the local tables and secret and carry the parameters
    assert settings.agents_table == "hod-test-AgentsTable"
    assert settings.available_table == "hod-test-AvailableAgentsTable"
    assert settings.referrals_table == "hod-test-ReferralsTable"
    assert settings.idempotency_table == "hod-test-IdempotencyTable"
    assert settings.signing_secret_id.startswith("arn:aws:secretsmanager:us-east-1:")
    assert ":secret:hod-test-SigningSecret" in settings.signing_secret_id
    assert settings.plan_year == 2026
    assert settings.offer_window_seconds == 5
    assert settings.is_local
    # (no PublicBaseUrl given: links point at the stack's own API URL)
    assert settings.public_base_url == "https://hod-test-hodapi.execute-api.us-east-1.amazonaws.com/v1"
    assert settings.state_machine_arn is not None
    assert settings.state_machine_arn.endswith(":stateMachine:hod-test-referral")
    assert environment["HOD_SENDER_EMAIL"] == SENDER


def test_creating_the_local_resources_twice_reuses_them(template: dict[str, Any], session: boto3.Session) -> None:
    # Given local resources already created
    first = cfn.create_local_resources(session, template, PREFIX, {"SenderEmail": SENDER})

    # When they are created again (a restarted local stack on the same endpoint)
    second = cfn.create_local_resources(session, template, PREFIX, {"SenderEmail": SENDER})

    # Then the same tables and secret are used
    assert second == first


def test_sender_email_must_be_given(template: dict[str, Any], session: boto3.Session) -> None:
    # Given no SenderEmail parameter (it has no default)
    # When / Then resolving the environment fails and names the parameter
    with pytest.raises(cfn.TemplateError, match="Parameter SenderEmail has no default"):
        cfn.create_local_resources(session, template, PREFIX, {})


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"SenderEmail": SENDER, "LogLevel": "LOUD"}, "LogLevel='LOUD' is not one of"),
        ({"SenderEmail": "not-an-address"}, "SenderEmail='not-an-address' does not match"),
        ({"SenderEmail": SENDER, "OfferWindow": 5}, "Unknown template parameters: OfferWindow"),
    ],
)
def test_bad_parameters_are_refused(
    template: dict[str, Any], session: boto3.Session, parameters: dict[str, Any], message: str
) -> None:
    # Given a parameter the template does not allow
    # When / Then the local resources are refused with a message naming it
    with pytest.raises(cfn.TemplateError, match=message):
        cfn.create_local_resources(session, template, PREFIX, parameters)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::GetAtt": ["HodApi", "RootResourceId"]}, r"HOD_EXTRA.*GetAtt HodApi\.RootResourceId"),
        ({"Ref": "IntakeLogGroup"}, r"HOD_EXTRA.*Ref IntakeLogGroup has no local value"),
        ({"Fn::ImportValue": "shared-vpc"}, r"HOD_EXTRA.*Fn::ImportValue cannot be resolved locally"),
    ],
)
def test_an_unresolvable_intrinsic_is_a_clear_error(
    template: dict[str, Any], session: boto3.Session, value: dict[str, Any], message: str
) -> None:
    # Given a function variable that points at something with no local equivalent
    changed = copy.deepcopy(template)
    changed["Globals"]["Function"]["Environment"]["Variables"]["HOD_EXTRA"] = value

    # When / Then resolving fails and says which variable and which intrinsic
    with pytest.raises(cfn.TemplateError, match=message):
        cfn.create_local_resources(session, changed, PREFIX, {"SenderEmail": SENDER})


def test_intrinsics_used_in_templates_resolve_like_cloudformation(
    template: dict[str, Any], session: boto3.Session
) -> None:
    # Given variables built with Sub, Join, Select/Split, If/Equals and FindInMap
    changed = copy.deepcopy(template)
    changed["Mappings"] = {"Limits": {"prod": {"Burst": 100}}}
    changed["Globals"]["Function"]["Environment"]["Variables"].update(
        {
            "X_SUB": {"Fn::Sub": "${AWS::Region}/${Stage}/${AgentsTable.Arn}/${!Literal}"},
            "X_SUB_VARS": {"Fn::Sub": ["${Domain}-${AWS::AccountId}", {"Domain": "example.org"}]},
            "X_JOIN": {"Fn::Join": ["-", [{"Ref": "Stage"}, {"Ref": "PlanYear"}, "x"]]},
            "X_SELECT": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "SenderEmail"}]}]},
            "X_IF": {"Fn::If": ["HasAlarmTopic", "yes", "no"]},
            "X_MAP": {"Fn::FindInMap": ["Limits", {"Ref": "Stage"}, "Burst"]},
            "X_GONE": {"Fn::If": ["HasAlarmTopic", "yes", {"Ref": "AWS::NoValue"}]},
        }
    )

    # When the environment is resolved
    environment = cfn.create_local_resources(session, changed, PREFIX, {"SenderEmail": SENDER})

    # Then each value is what CloudFormation would produce
    assert environment["X_SUB"] == (
        "us-east-1/prod/arn:aws:dynamodb:us-east-1:123456789012:table/hod-test-AgentsTable/${Literal}"
    )
    assert environment["X_SUB_VARS"] == "example.org-123456789012"
    assert environment["X_JOIN"] == "prod-2026-x"
    assert environment["X_SELECT"] == "example.org"
    assert environment["X_IF"] == "no"
    assert environment["X_MAP"] == "100"
    assert "X_GONE" not in environment


# --- Reading the template -----------------------------------------------------------------------------------


def test_short_tags_load_as_their_long_forms(tmp_path: Path) -> None:
    # Given a template written with every short tag
    path = tmp_path / "t.yaml"
    path.write_text(
        """
AWSTemplateFormatVersion: 2010-09-09
Resources:
  R:
    Properties:
      Ref: !Ref Stage
      GetAtt: !GetAtt Table.StreamArn
      GetAttList: !GetAtt [Table, Arn]
      Sub: !Sub "${AWS::Region}-x"
      If: !If [IsProd, !Equals [a, b], !Not [!Condition IsProd]]
      Select: !Select [0, !Split [",", "a,b"]]
      Join: !Join ["", [!FindInMap [M, k, v], !ImportValue other]]
      Logic: !And [!Or [!Condition A, !Condition B], !Condition C]
      Misc: [!Base64 text, !Cidr [10.0.0.0/16, 2, 8], !GetAZs ""]
""",
        encoding="utf-8",
    )

    # When it is loaded
    document = cfn.load_template(path)

    # Then tags become CloudFormation's long forms and dates stay strings
    assert document["AWSTemplateFormatVersion"] == "2010-09-09"
    assert document["Resources"]["R"]["Properties"] == {
        "Ref": {"Ref": "Stage"},
        "GetAtt": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "GetAttList": {"Fn::GetAtt": ["Table", "Arn"]},
        "Sub": {"Fn::Sub": "${AWS::Region}-x"},
        "If": {"Fn::If": ["IsProd", {"Fn::Equals": ["a", "b"]}, {"Fn::Not": [{"Condition": "IsProd"}]}]},
        "Select": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
        "Join": {"Fn::Join": ["", [{"Fn::FindInMap": ["M", "k", "v"]}, {"Fn::ImportValue": "other"}]]},
        "Logic": {"Fn::And": [{"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}, {"Condition": "C"}]},
        "Misc": [{"Fn::Base64": "text"}, {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, {"Fn::GetAZs": ""}],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Resources:\n  R:\n    Type: AWS::SNS::Topic\n    Type: AWS::SQS::Queue\n",
            r"t\.yaml: Duplicate found 'Type' \(line 3\)",
        ),
        ("Resources:\n  R: [unclosed\n", r"t\.yaml cannot be read"),
        ("Parameters: {}\n", r"t\.yaml is not a CloudFormation template"),
    ],
)
def test_a_template_that_cannot_be_read_is_refused_with_where(tmp_path: Path, text: str, message: str) -> None:
    # Given a template with a key written twice, broken YAML, or no Resources
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")

    # When / Then loading it fails with a message naming the file and, where there is one, the line
    with pytest.raises(cfn.TemplateError, match=message):
        cfn.load_template(path)


def test_functions_merge_globals_under_their_own_settings() -> None:
    # Given a template with global settings, one function overriding a variable, and events of two kinds
    template: dict[str, Any] = {
        "Globals": {"Function": {"Runtime": "python3.13", "Environment": {"Variables": {"A": "1", "B": "2"}}}},
        "Resources": {
            "Web": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/web/",
                    "Handler": "web.handler",
                    "Environment": {"Variables": {"B": "own", "C": "3"}},
                    "Events": {
                        "A": {"Type": "Api", "Properties": {"Path": "/x/{id}", "Method": "get"}},
                        "B": {"Type": "Api", "Properties": {"Path": "/x", "Method": "post"}},
                        "T": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}},
                    },
                },
            },
            "Other": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/other/",
                    "Handler": "pkg.other.run",
                    "Runtime": "python3.12",
                    "Events": {"A": {"Type": "Api", "Properties": {"Path": "/y", "Method": "DELETE"}}},
                },
            },
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        },
    }

    # When the functions and routes are read
    specs = cfn.functions(template)
    routes = cfn.api_routes(template)

    # Then globals are merged under each function's own values, and only Api events are routes
    assert set(specs) == {"Web", "Other"}
    assert specs["Web"].environment == {"A": "1", "B": "own", "C": "3"}
    assert specs["Web"].runtime == "python3.13"
    assert specs["Other"].runtime == "python3.12"
    assert specs["Other"].environment == {"A": "1", "B": "2"}
    assert specs["Web"].events["T"].type == "Schedule"
    assert specs["Other"].handler_module == "pkg.other"
    assert specs["Other"].handler_attribute == "run"
    assert specs["Other"].handler_file(Path("/src")) == Path("/src/functions/other/pkg/other.py")
    assert routes == {("GET", "/x/{id}"), ("POST", "/x"), ("DELETE", "/y")}


def test_template_api_routes_are_the_intake_function_events(template: dict[str, Any]) -> None:
    # Given the intake function's events as declared
    events = template["Resources"]["IntakeFunction"]["Properties"]["Events"]

    # When the routes are read
    routes = cfn.api_routes(template)

    # Then there is one route per Api event, no greedy proxy, and every route goes through the one REST API
    assert len(routes) == len(events)  # (test_contract checks these against the Chalice app's routes)
    assert ("GET", "/health") in routes
    assert ("DELETE", "/agent/availability/out-of-office") in routes
    assert not any("+}" in path for _, path in routes)
    assert all(event["Properties"]["RestApiId"] == {"Ref": "HodApi"} for event in events.values())


# --- Source tree, parameters, lint --------------------------------------------------------------------------


def test_every_function_code_uri_and_handler_module_exist(template: dict[str, Any]) -> None:
    # Given the template's functions
    specs = cfn.functions(template)

    # Then each CodeUri is a directory holding the handler's module, and module names are unique
    # (the local stack imports every handler into one process)
    assert len(specs) == 6
    for spec in specs.values():
        assert (ROOT / spec.code_uri).is_dir(), spec.code_uri
        assert spec.handler_file().is_file(), spec.handler
    modules = [spec.handler_module for spec in specs.values()]
    assert len(set(modules)) == len(modules)


def test_the_layer_holds_the_hod_package_and_its_requirements(template: dict[str, Any]) -> None:
    # Given the layer resource
    layer = template["Resources"]["HodLayer"]

    # Then its content has the package and requirements.txt, and SAM builds it with its Makefile for the functions'
    # runtime, with bytecode (the interpreter that compiles it is the runtime's version)
    content = ROOT / layer["Properties"]["ContentUri"]
    assert (content / "requirements.txt").is_file()
    assert (content / "hod" / "__init__.py").is_file()
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    runtime = template["Globals"]["Function"]["Runtime"]
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    makefile = (content / "Makefile").read_text()
    assert "build-HodLayer:" in makefile
    assert f"PYTHON ?= {runtime}" in makefile
    assert "compileall" in makefile
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "HodLayer"}]


def test_every_function_is_built_by_its_makefile_with_bytecode(template: dict[str, Any]) -> None:
    # Given the template's functions
    runtime = template["Globals"]["Function"]["Runtime"]
    for logical_id, spec in cfn.functions(template).items():
        resource = template["Resources"][logical_id]
        # Then each is built by the Makefile in its CodeUri, which copies the handler and compiles its bytecode
        assert resource["Metadata"]["BuildMethod"] == "makefile", logical_id
        makefile = (ROOT / spec.code_uri / "Makefile").read_text()
        assert f"build-{logical_id}:" in makefile
        assert f"cp {spec.handler_module}.py" in makefile
        assert f"PYTHON ?= {runtime}" in makefile
        assert "compileall -q" in makefile
        assert "unchecked-hash" in makefile


def test_chalice_runtime_module_needs_nothing_but_the_standard_library(tmp_path: Path) -> None:
    # Given only chalice/__init__.py and chalice/app.py, as functions/intake/Makefile ships them
    import subprocess
    import sys

    import chalice

    source = Path(chalice.__file__).parent
    (tmp_path / "chalice").mkdir()
    for name in ("__init__.py", "app.py"):
        (tmp_path / "chalice" / name).write_bytes((source / name).read_bytes())
    # When a bare interpreter (no site-packages) imports it
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import chalice; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names))"
    )
    found = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
    )
    # Then it loads Chalice's runtime and nothing outside the standard library
    assert found.stdout.strip() == "['__main__', 'chalice', 'chalice.app']"


def test_parameters_have_defaults_except_the_sender_address(template: dict[str, Any]) -> None:
    # Given the template's parameters
    parameters = template["Parameters"]

    # Then only SenderEmail must be supplied at deploy time
    assert {name for name, spec in parameters.items() if "Default" not in spec} == {"SenderEmail"}
    assert parameters["OfferWindowSeconds"]["Default"] == 900
    assert parameters["Stage"]["Default"] == "prod"


def test_cfn_lint_finds_nothing_including_informational_rules() -> None:
    # Given the template
    # When cfn-lint checks it with errors, warnings and informational rules
    matches = lint_file(ROOT / "template.yaml", config={"include_checks": ["I"], "regions": ["us-east-1"]})

    # Then it reports nothing
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []
