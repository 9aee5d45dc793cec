"""Reading template.yaml: cfn-lint's own YAML loader (short tags in their long forms), and the helpers every other
part of the package walks the template with."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from cfnlint.decode.cfn_yaml import CfnParseError, load

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
DEFAULT_PREFIX = "hod-local-"
LOCAL_ACCOUNT_ID = "123456789012"

TABLE = "AWS::DynamoDB::Table"
SECRET = "AWS::SecretsManager::Secret"
FUNCTION = "AWS::Serverless::Function"
STATE_MACHINE = "AWS::Serverless::StateMachine"
API = "AWS::Serverless::Api"
ROLE = "AWS::IAM::Role"
SCHEDULE_GROUP = "AWS::Scheduler::ScheduleGroup"
QUEUE = "AWS::SQS::Queue"


class TemplateError(Exception):
    """The template cannot be read, or a value in it has no local equivalent."""


def load_template(path: str | Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, short tags in their long forms ({"Ref": ...}, {"Fn::Sub": ...}, !GetAtt a.b as
    ["a", "b"]), read by cfn-lint's loader (which also refuses duplicate keys). Scalars YAML reads as dates or
    timestamps come back as ISO text, as CloudFormation reads them: `AWSTemplateFormatVersion: 2010-09-09` stays
    "2010-09-09"."""
    try:
        document = load(str(path))
    except CfnParseError as error:
        raise TemplateError(f"{path}: {'; '.join(match.message for match in error.matches)}") from None
    except (OSError, yaml.YAMLError) as error:
        raise TemplateError(f"{path} cannot be read: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources mapping).")
    _dates_as_text(document)
    return document


def _dates_as_text(node: Any) -> None:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, datetime.date):  # (datetime.datetime is a date too)
            node[key] = value.isoformat()
        else:
            _dates_as_text(value)


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, properties) of every resource of one type."""
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == resource_type:
            yield logical_id, resource.get("Properties") or {}


def literal(value: Any, where: str) -> Any:
    """`value` itself, refusing intrinsic functions where only a literal makes sense locally."""
    if isinstance(value, dict):
        for key in value:
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                raise TemplateError(f"{where}: {key} is not supported here; write a literal value.")
        return {key: literal(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [literal(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def truthy(value: Any) -> bool:
    """A template boolean, written as true or as "true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
