"""The referral state machine lives in statemachine/referral.asl.json, named by the template's DefinitionUri: the local
stack deploys exactly that file, with the template's DefinitionSubstitutions, into moto."""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import cfn

pytestmark = pytest.mark.disable_socket

PREFIX = "hod-test-"
PARAMETERS = {"SenderEmail": "offers@example.org"}
DEFINITION = "statemachine/referral.asl.json"
SUBSTITUTIONS = {"MatchFunctionArn": "arn:m", "NotifyFunctionArn": "arn:n", "ExpireFunctionArn": "arn:e"}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    # (the offline credentials and region come from tests/conftest.py)
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load_template()


def _workflow(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"]["ReferralWorkflow"]["Properties"]
    return properties


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\$\{([^}]*)\}", text))


def _deployed_definition(session: boto3.Session, resources: cfn.LocalResources) -> Any:
    arn = resources.attributes[("ReferralWorkflow", "Arn")]
    return json.loads(session.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"])


def test_the_template_names_the_definition_file_and_substitutes_every_placeholder_in_it(
    template: dict[str, Any],
) -> None:
    # Given the state machine as the template declares it
    properties = _workflow(template)

    # When its definition file is read
    text = (cfn.PROJECT_ROOT / properties["DefinitionUri"]).read_text(encoding="utf-8")

    # Then the definition is only in that file, and its placeholders are exactly the template's substitutions
    assert properties["DefinitionUri"] == DEFINITION
    assert "Definition" not in properties
    assert json.loads(text)["StartAt"] == "Offer"
    assert _placeholders(text) == set(properties["DefinitionSubstitutions"])


def test_moto_runs_the_definition_file_with_the_functions_arns_substituted(
    template: dict[str, Any],
) -> None:
    # Given the definition file, and each substitution's !GetAtt (a function's ARN) or !Ref (a table's name) target
    session = boto3.Session(region_name="us-east-1")
    text = (cfn.PROJECT_ROOT / DEFINITION).read_text(encoding="utf-8")
    substitutions = _workflow(template)["DefinitionSubstitutions"]
    targets = {name: value["Fn::GetAtt"] for name, value in substitutions.items() if "Fn::GetAtt" in value}
    tables = {name: value["Ref"] for name, value in substitutions.items() if "Ref" in value}

    # When the local resources are created from the template
    resources = cfn.provision(session, template, PREFIX, PARAMETERS)

    # Then the state machine in moto is that file with each placeholder replaced by its function's local ARN, or
    # its table's local name
    arns = {name: resources.attributes[(resource, attribute)] for name, (resource, attribute) in targets.items()}
    assert all(arn.startswith("arn:aws:lambda:us-east-1:") for arn in arns.values())
    names = {name: resources.refs[table] for name, table in tables.items()}
    assert all(name.startswith(PREFIX) for name in names.values())
    assert set(arns) | set(names) == set(substitutions)
    values = {**arns, **names}
    expected = json.loads(re.sub(r"\$\{([^}]*)\}", lambda match: values[match.group(1)], text))
    assert _deployed_definition(session, resources) == expected


def test_the_definition_file_is_read_relative_to_the_template_folder(template: dict[str, Any], tmp_path: Path) -> None:
    # Given a copy of the definition file, with another comment, in another folder taken as the template's
    (tmp_path / "statemachine").mkdir()
    document = json.loads((cfn.PROJECT_ROOT / DEFINITION).read_text(encoding="utf-8"))
    document["Comment"] = "the copy"
    (tmp_path / DEFINITION).write_text(json.dumps(document), encoding="utf-8")

    # When the local resources are created with that folder as the root
    session = boto3.Session(region_name="us-east-1")
    resources = cfn.provision(session, template, PREFIX, PARAMETERS, root=tmp_path)

    # Then the copy is the one deployed
    assert _deployed_definition(session, resources)["Comment"] == "the copy"


def test_an_inline_definition_is_still_deployed_as_written(template: dict[str, Any]) -> None:
    # Given a template whose state machine has its definition inline instead of in a file
    changed = copy.deepcopy(template)
    properties = _workflow(changed)
    del properties["DefinitionUri"]
    properties["Definition"] = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Pass", "Result": "${MatchFunctionArn}", "End": True}},
    }

    # When its definition is read
    definition = cfn.state_machine_definition(changed, "ReferralWorkflow", SUBSTITUTIONS)

    # Then it is the inline one, substituted
    assert json.loads(definition)["States"]["Call"]["Result"] == "arn:m"


@pytest.mark.parametrize(
    ("uri", "content", "message"),
    [
        (
            "statemachine/missing.asl.json",
            None,
            r"ReferralWorkflow: its DefinitionUri .*missing\.asl\.json cannot be read",
        ),
        (
            "statemachine/bad.asl.json",
            "StartAt: Offer",
            r"ReferralWorkflow: its DefinitionUri .*bad\.asl\.json is not JSON",
        ),
        (
            {"Bucket": "b", "Key": "k.json"},
            None,
            r"ReferralWorkflow: DefinitionUri must be the path of a file beside the template",
        ),
        (
            "statemachine/extra.asl.json",
            '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "${Unknown}", "End": true}}}',
            r"ReferralWorkflow: no substitution for Unknown\.",
        ),
    ],
)
def test_a_definition_that_cannot_be_deployed_is_a_clear_error(
    template: dict[str, Any], tmp_path: Path, uri: Any, content: str | None, message: str
) -> None:
    # Given a state machine whose DefinitionUri names a missing file, a file that is not JSON, an S3 object (no
    # local copy), or a definition with a placeholder the template does not substitute
    changed = copy.deepcopy(template)
    _workflow(changed)["DefinitionUri"] = uri
    shutil.copytree(cfn.PROJECT_ROOT / "statemachine", tmp_path / "statemachine")
    if content is not None:
        (tmp_path / uri).write_text(content, encoding="utf-8")

    # When / Then reading it fails and says which state machine and why
    with pytest.raises(cfn.TemplateError, match=message):
        cfn.state_machine_definition(changed, "ReferralWorkflow", SUBSTITUTIONS, root=tmp_path)
