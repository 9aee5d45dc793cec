"""CloudFormation's intrinsic functions (Ref, GetAtt, Sub, If, Join, FindInMap...) resolved against the resources
created locally, and what the functions' settings resolve to."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.cfn.schema import SUB_VARIABLE, functions
from local.cfn.template import DEFAULT_PREFIX, LOCAL_ACCOUNT_ID, QUEUE, TemplateError, resources_of_type, truthy


@dataclass(frozen=True)
class LocalResources:
    """What !Ref and !GetAtt of the locally created resources resolve to."""

    refs: Mapping[str, str]
    attributes: Mapping[tuple[str, str], str]
    region: str
    account_id: str = LOCAL_ACCOUNT_ID
    stack_name: str = "hod-local"


class _NoValue:
    """AWS::NoValue: the property disappears."""


NO_VALUE = _NoValue()


def local_stack_name(prefix: str) -> str:
    """The local copy's stack name (what AWS::StackName resolves to): the resource prefix without its dash."""
    return prefix.rstrip("-_") or "hod-local"


class Resolver:
    """Resolves template values against `resources` and the given (or default) parameters."""

    def __init__(self, template: Mapping[str, Any], resources: LocalResources, parameters: Mapping[str, Any]) -> None:
        self._template = template
        self._resources = resources
        self._declared: dict[str, Any] = dict(template.get("Parameters") or {})
        unknown = sorted(set(parameters) - set(self._declared))
        if unknown:
            raise TemplateError(f"Unknown template parameters: {', '.join(unknown)}.")
        self._given = {name: str(value) for name, value in parameters.items()}
        self._pseudo: dict[str, Any] = {
            "AWS::Region": resources.region,
            "AWS::AccountId": resources.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": resources.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{resources.region}:{resources.account_id}"
                f":stack/{resources.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }

    def parameter(self, name: str) -> Any:
        declaration = self._declared[name] or {}
        if name in self._given:
            value = self._given[name]
        elif "Default" in declaration:
            value = scalar_text(declaration["Default"])
        else:
            raise TemplateError(f"Parameter {name} has no default: pass it in `parameters`.")
        allowed = declaration.get("AllowedValues")
        if allowed is not None and value not in [scalar_text(item) for item in allowed]:
            raise TemplateError(f"Parameter {name}={value!r} is not one of {allowed}.")
        pattern = declaration.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            raise TemplateError(f"Parameter {name}={value!r} does not match {pattern!r}.")
        if str(declaration.get("Type", "String")).startswith(("CommaDelimitedList", "List<")):
            return [item.strip() for item in value.split(",")] if value else []
        return value

    def ref(self, name: str, where: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._declared:
            return self.parameter(name)
        if name in self._resources.refs:
            return self._resources.refs[name]
        raise TemplateError(
            f"{where}: !Ref {name} has no local value (it is not a parameter, nor a table or secret created locally)."
        )

    def attribute(self, resource: str, attribute: str, where: str) -> str:
        try:
            return self._resources.attributes[(resource, attribute)]
        except KeyError:
            raise TemplateError(f"{where}: !GetAtt {resource}.{attribute} has no local value.") from None

    def condition(self, name: str, where: str) -> bool:
        conditions = self._template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"{where}: condition {name} is not declared.")
        return bool(self.resolve(conditions[name], f"Conditions.{name}"))

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{index}]") for index, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument, where)
            if key == "Condition":
                return self.condition(argument, where)
            if key.startswith("Fn::"):
                return self._function(key, argument, where)
        resolved = {key: self.resolve(item, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, key: str, argument: Any, where: str) -> Any:
        at = f"{where} ({key})"
        if key == "Fn::GetAtt":
            resource, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self.attribute(resource, attribute, at)
        if key == "Fn::Sub":
            return self._sub(argument, at)
        if key == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition, at) else when_false, at)
        if key == "Fn::FindInMap":
            name, top, second = (self.resolve(item, at) for item in argument)
            try:
                return self.resolve(self._template["Mappings"][name][top][second], at)
            except KeyError:
                raise TemplateError(f"{at}: mapping {name}.{top}.{second} does not exist.") from None
        resolved = self.resolve(argument, at)
        if key == "Fn::Join":
            delimiter, items = resolved
            return str(delimiter).join(scalar_text(item) for item in items)
        if key == "Fn::Select":
            index, items = resolved
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = resolved
            return str(text).split(str(delimiter))
        if key == "Fn::Equals":
            left, right = resolved
            return scalar_text(left) == scalar_text(right)
        if key == "Fn::Not":
            return not resolved[0]
        if key == "Fn::And":
            return all(resolved)
        if key == "Fn::Or":
            return any(resolved)
        if key == "Fn::Base64":
            return base64.b64encode(str(resolved).encode()).decode()
        raise TemplateError(f"{at}: {key} cannot be resolved locally.")

    def _sub(self, argument: Any, where: str) -> str:
        if isinstance(argument, list):
            text, raw_variables = argument
            variables = {name: self.resolve(item, where) for name, item in raw_variables.items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return scalar_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.attribute(resource, attribute, where)
            return scalar_text(self.ref(name, where))

        return SUB_VARIABLE.sub(replace, str(text))


def scalar_text(value: Any) -> str:
    """How CloudFormation writes a scalar into a string (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"Expected a scalar, got {value!r}.")


def function_environments(
    template: Mapping[str, Any], resources: LocalResources, parameters: Mapping[str, Any] | None = None
) -> dict[str, dict[str, str]]:
    """Function logical id → its environment variables, every intrinsic resolved against `resources`."""
    resolver = Resolver(template, resources, parameters or {})
    environments: dict[str, dict[str, str]] = {}
    for logical_id, spec in functions(template).items():
        environment: dict[str, str] = {}
        for name, raw in spec.environment.items():
            value = resolver.resolve(raw, f"{logical_id}.Environment.{name}")
            if value is NO_VALUE:
                continue
            try:
                environment[name] = scalar_text(value)
            except TemplateError:
                raise TemplateError(f"{logical_id}.Environment.{name} resolved to {value!r}, not a string.") from None
        environments[logical_id] = environment
    return environments


def local_function_names(template: Mapping[str, Any], prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Function logical id → the function's name in the local copy: its FunctionName when the template fixes one
    (resolved with the local stack name, the prefix without its dash), else <prefix><LogicalId>."""
    resolver = _names_resolver(template, prefix)
    return {
        logical_id: (
            scalar_text(resolver.resolve(spec.function_name, f"{logical_id}.FunctionName"))
            if spec.function_name is not None
            else f"{prefix}{logical_id}"
        )
        for logical_id, spec in functions(template).items()
    }


def local_queue_names(template: Mapping[str, Any], prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Queue logical id → the queue's name in the local copy: its QueueName when the template sets one (resolved
    with the local stack name), else <prefix><LogicalId> (".fifo" added for a FIFO queue, as SQS requires), as
    `provision` creates it."""
    resolver = _names_resolver(template, prefix)
    names: dict[str, str] = {}
    for logical_id, properties in resources_of_type(template, QUEUE):
        if "QueueName" in properties:
            names[logical_id] = scalar_text(resolver.resolve(properties["QueueName"], f"{logical_id}.QueueName"))
        else:
            fifo = truthy(properties.get("FifoQueue", False))
            names[logical_id] = f"{prefix}{logical_id}" + (".fifo" if fifo else "")
    return names


def _names_resolver(template: Mapping[str, Any], prefix: str) -> Resolver:
    """A resolver for names the template builds from parameters and pseudo parameters (no resources yet)."""
    return Resolver(
        template,
        LocalResources(refs={}, attributes={}, region="us-east-1", stack_name=local_stack_name(prefix)),
        {},
    )
