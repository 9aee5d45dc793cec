"""The template's IAM as `sam deploy` creates it: template.yaml expanded by aws-sam-translator (each function's and
state machine's generated role, SAM policy templates expanded), then every intrinsic function resolved to the names
and ARNs of a local copy of the stack (local.cfn's resolver, through its public `function_environments`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from unittest import mock

from local.cfn import LocalResources, TemplateError, function_environments

_FUNCTION = "AWS::Lambda::Function"
_STATE_MACHINE = "AWS::StepFunctions::StateMachine"
_ROLE = "AWS::IAM::Role"
_POLICY = "AWS::IAM::Policy"
_MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
_ROLE_OF = {_FUNCTION: "Role", _STATE_MACHINE: "RoleArn"}


class _NoManagedPolicies:
    """aws-sam-translator asks for the account's managed policies by name; offline there are none to look up."""

    def load(self) -> dict[str, str]:
        return {}


@lru_cache(maxsize=8)
def _expand_text(text: str, region: str) -> str:
    from samtranslator.translator.transform import transform

    document = json.loads(text)
    for resource in document.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if key in properties:  # packaging is irrelevant to IAM: what `sam package` would have uploaded
                properties[key] = "s3://placeholder-bucket/placeholder-key"
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # feature-toggle chatter
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": region}):
        return json.dumps(transform(document, {}, _NoManagedPolicies()))


def expand(template: Mapping[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """The template as plain CloudFormation, as `sam deploy` submits it (intrinsics left unresolved)."""
    return dict(json.loads(_expand_text(json.dumps(template, sort_keys=True), region)))


@dataclass(frozen=True)
class Principal:
    """Who makes calls (a function, a state machine, or a role a service assumes) and the role it acts with."""

    logical_id: str
    role: str  # the role's logical id; "" when the role is not one of the template's own
    documents: tuple[Mapping[str, Any], ...]  # inline and attached customer policy documents, unresolved
    managed: tuple[Any, ...]  # managed policies named by ARN (AWS's own): not evaluated


def _role_id(value: Any) -> str:
    if isinstance(value, Mapping) and list(value) == ["Fn::GetAtt"]:
        resource, attribute = value["Fn::GetAtt"]
        return str(resource) if attribute == "Arn" else ""
    return ""


def _attached(resources: Mapping[str, Any], role: str) -> Iterator[Mapping[str, Any]]:
    for resource in resources.values():
        properties = resource.get("Properties") or {}
        if resource.get("Type") in (_POLICY, _MANAGED_POLICY) and {"Ref": role} in (properties.get("Roles") or []):
            yield properties["PolicyDocument"]


def _role_principal(resources: Mapping[str, Any], logical_id: str, role: str) -> Principal:
    if resources.get(role, {}).get("Type") != _ROLE:
        return Principal(logical_id, "", (), ())
    properties = resources[role].get("Properties") or {}
    documents = [policy["PolicyDocument"] for policy in properties.get("Policies") or []]
    managed = []
    for arn in properties.get("ManagedPolicyArns") or []:
        target = arn.get("Ref") if isinstance(arn, Mapping) else None
        if target and resources.get(target, {}).get("Type") == _MANAGED_POLICY:
            documents.append(resources[target]["Properties"]["PolicyDocument"])
        else:
            managed.append(arn)
    documents.extend(_attached(resources, role))
    return Principal(logical_id, role, tuple(documents), tuple(managed))


def principals(expanded: Mapping[str, Any]) -> dict[str, Principal]:
    """Logical id → Principal, for every function, state machine and role of an expanded template."""
    resources = expanded["Resources"]
    found: dict[str, Principal] = {}
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        if kind in _ROLE_OF:
            role = _role_id((resource.get("Properties") or {}).get(_ROLE_OF[kind]))
            found[logical_id] = _role_principal(resources, logical_id, role)
        elif kind == _ROLE:
            found[logical_id] = _role_principal(resources, logical_id, logical_id)
    return found


# --- Resolving intrinsics -----------------------------------------------------------------------------------

_NO_VALUE = object()


def _intrinsic(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))


def _resolved_scalars(
    template: Mapping[str, Any], resources: LocalResources, parameters: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, str]:
    """Resolve named intrinsics to strings through local.cfn's resolver: they become the environment of a function
    in a template holding only the original's parameters, conditions and mappings. A name resolving to
    AWS::NoValue is missing from the answer."""
    probe = {key: template[key] for key in ("Parameters", "Conditions", "Mappings") if key in template} | {
        "Resources": {
            "IamProbe": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": ".", "Handler": "probe.handler", "Environment": {"Variables": values}},
            }
        }
    }
    return function_environments(probe, resources, parameters)["IamProbe"]


class Resolver:
    """Resolves policy documents of `template` against one local copy of the stack."""

    def __init__(self, template: Mapping[str, Any], resources: LocalResources, parameters: Mapping[str, Any]) -> None:
        self._template = template
        self._resources = resources
        self._parameters = dict(parameters)
        names = list(template.get("Conditions") or {})
        answers = _resolved_scalars(
            template,
            resources,
            parameters,
            {f"C{i}": {"Fn::If": [name, "true", "false"]} for i, name in enumerate(names)},
        )
        self._conditions = {name: answers[f"C{i}"] == "true" for i, name in enumerate(names)}

    def _choose(self, value: Any, leaves: dict[str, Any]) -> Any:
        """`value` with Fn::If decided and every other intrinsic replaced by a placeholder name in `leaves`."""
        if isinstance(value, list):
            return [item for item in (self._choose(v, leaves) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if list(value) == ["Fn::If"]:
            condition, when_true, when_false = value["Fn::If"]
            if condition not in self._conditions:
                raise TemplateError(f"Condition {condition} is not declared.")
            return self._choose(when_true if self._conditions[condition] else when_false, leaves)
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        if _intrinsic(value):
            name = f"V{len(leaves)}"
            leaves[name] = value
            return _Leaf(name)
        chosen = {key: self._choose(item, leaves) for key, item in value.items()}
        return {key: item for key, item in chosen.items() if item is not _NO_VALUE}

    def resolve(self, value: Any) -> Any:
        leaves: dict[str, Any] = {}
        chosen = self._choose(value, leaves)
        answers = _resolved_scalars(self._template, self._resources, self._parameters, leaves) if leaves else {}
        return _fill(chosen, answers)


@dataclass(frozen=True)
class _Leaf:
    name: str


def _fill(value: Any, answers: Mapping[str, str]) -> Any:
    if isinstance(value, _Leaf):
        return answers.get(value.name, _NO_VALUE)
    if isinstance(value, list):
        return [item for item in (_fill(v, answers) for v in value) if item is not _NO_VALUE]
    if isinstance(value, dict):
        filled = {key: _fill(item, answers) for key, item in value.items()}
        return {key: item for key, item in filled.items() if item is not _NO_VALUE}
    return value
