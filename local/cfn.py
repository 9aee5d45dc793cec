"""template.yaml as the one source of truth for local runs and tests.

Reads the SAM template (CloudFormation short tags included), derives the DynamoDB tables, the functions and
the API routes from it, and creates a local copy of the stack's tables and signing secret (in moto or any
endpoint boto3 points at) with every function's environment resolved against them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
DEFAULT_PREFIX = "hod-local-"
LOCAL_ACCOUNT_ID = "123456789012"

_TABLE = "AWS::DynamoDB::Table"
_SECRET = "AWS::SecretsManager::Secret"
_FUNCTION = "AWS::Serverless::Function"
_STATE_MACHINE = "AWS::Serverless::StateMachine"
_API = "AWS::Serverless::Api"
_ROLE = "AWS::IAM::Role"
_SCHEDULE_GROUP = "AWS::Scheduler::ScheduleGroup"


class TemplateError(Exception):
    """The template cannot be read, or a value in it has no local equivalent."""


# --- Reading ------------------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short tags and keeps date-like scalars as strings."""


_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_FN_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAtt",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
)


def _construct_any(loader: _CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"Unexpected YAML node {node!r}.")


def _long_form(name: str) -> Callable[[_CfnLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: _CfnLoader, node: yaml.Node) -> dict[str, Any]:
        value = _construct_any(loader, node)
        if name in ("Ref", "Condition"):
            return {name: value}
        if name == "GetAtt" and isinstance(value, str):
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        return {f"Fn::{name}": value}

    return construct


for _name in (*_FN_TAGS, "Ref", "Condition"):
    _CfnLoader.add_constructor(f"!{_name}", _long_form(_name))


def load_template(path: str | Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, short tags in their long forms ({"Ref": ...}, {"Fn::Sub": ...})."""
    with open(path, encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_CfnLoader)
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources mapping).")
    return document


def _resources(template: Mapping[str, Any], resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == resource_type:
            yield logical_id, resource.get("Properties") or {}


def _literal(value: Any, where: str) -> Any:
    """`value` itself, refusing intrinsic functions where only a literal makes sense locally."""
    if isinstance(value, dict):
        for key in value:
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                raise TemplateError(f"{where}: {key} is not supported here; write a literal value.")
        return {key: _literal(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


# --- DynamoDB -----------------------------------------------------------------------------------------------


def _throughput(value: Mapping[str, Any]) -> dict[str, int]:
    return {
        "ReadCapacityUnits": int(value["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(value["WriteCapacityUnits"]),
    }


def _index(index: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "IndexName": index["IndexName"],
        "KeySchema": index["KeySchema"],
        "Projection": index["Projection"],
    }
    if provisioned and "ProvisionedThroughput" in index:
        kwargs["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"])
    return kwargs


_TABLE_SHAPE = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)


def dynamodb_tables(template: Mapping[str, Any], prefix: str = DEFAULT_PREFIX) -> dict[str, dict[str, Any]]:
    """Logical id → boto3 `create_table` keyword arguments, the table named prefix + logical id."""
    tables: dict[str, dict[str, Any]] = {}
    for logical_id, raw in _resources(template, _TABLE):
        properties = {key: _literal(raw[key], f"{logical_id}.{key}") for key in _TABLE_SHAPE if key in raw}
        billing_mode = properties.get("BillingMode", "PROVISIONED")
        provisioned = billing_mode == "PROVISIONED"
        kwargs: dict[str, Any] = {
            "TableName": f"{prefix}{logical_id}",
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": billing_mode,
        }
        if provisioned:
            kwargs["ProvisionedThroughput"] = _throughput(properties["ProvisionedThroughput"])
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if properties.get(key):
                kwargs[key] = [
                    _index(index, provisioned and key == "GlobalSecondaryIndexes") for index in properties[key]
                ]
        tables[logical_id] = kwargs
    return tables


def ttl_attributes(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id → the TTL attribute name, for tables whose TimeToLiveSpecification is enabled."""
    ttl: dict[str, str] = {}
    for logical_id, raw in _resources(template, _TABLE):
        spec = _literal(raw.get("TimeToLiveSpecification") or {}, f"{logical_id}.TimeToLiveSpecification")
        if spec and _truthy(spec.get("Enabled", False)):
            ttl[logical_id] = spec["AttributeName"]
    return ttl


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- Functions and routes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    type: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    """One function as the template declares it; `environment` holds the unresolved template values."""

    logical_id: str
    code_uri: str
    handler: str
    runtime: str | None
    environment: Mapping[str, Any]
    events: Mapping[str, EventSpec]
    function_name: Any = None  # the template's FunctionName (unresolved), if it sets one

    @property
    def handler_module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def handler_attribute(self) -> str:
        return self.handler.rpartition(".")[2]

    def handler_file(self, root: Path = PROJECT_ROOT) -> Path:
        """Where the handler's module lives in the source tree."""
        return root / self.code_uri / (self.handler_module.replace(".", "/") + ".py")


def functions(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    """Logical id → FunctionSpec, with Globals.Function merged under each function's own properties."""
    defaults: dict[str, Any] = (template.get("Globals") or {}).get("Function") or {}
    default_env: dict[str, Any] = (defaults.get("Environment") or {}).get("Variables") or {}
    specs: dict[str, FunctionSpec] = {}
    for logical_id, properties in _resources(template, _FUNCTION):
        merged = {**defaults, **properties}
        own_env = (properties.get("Environment") or {}).get("Variables") or {}
        code_uri, handler = merged.get("CodeUri"), merged.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            raise TemplateError(f"{logical_id}: CodeUri and Handler must be plain strings for local runs.")
        events = {
            name: EventSpec(type=event["Type"], properties=event.get("Properties") or {})
            for name, event in (properties.get("Events") or {}).items()
        }
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=code_uri,
            handler=handler,
            runtime=merged.get("Runtime"),
            environment={**default_env, **own_env},
            events=events,
            function_name=properties.get("FunctionName"),
        )
    return specs


def local_function_names(template: Mapping[str, Any], prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Function logical id → the function's name in the local copy: its FunctionName when the template fixes one
    (resolved with the local stack name, the prefix without its dash), else <prefix><LogicalId>."""
    resolver = _Resolver(
        template,
        LocalResources(refs={}, attributes={}, region="us-east-1", stack_name=prefix.rstrip("-_") or "hod-local"),
        {},
    )
    return {
        logical_id: (
            _scalar_text(resolver.resolve(spec.function_name, f"{logical_id}.FunctionName"))
            if spec.function_name is not None
            else f"{prefix}{logical_id}"
        )
        for logical_id, spec in functions(template).items()
    }


def api_routes(template: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every Api event of every function, e.g. ("GET", "/admin/agents/{npn}")."""
    return {
        (str(event.properties["Method"]).upper(), str(event.properties["Path"]))
        for spec in functions(template).values()
        for event in spec.events.values()
        if event.type == "Api"
    }


# --- Resolving intrinsic functions --------------------------------------------------------------------------


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


_NO_VALUE = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _Resolver:
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
            "AWS::NoValue": _NO_VALUE,
        }

    def parameter(self, name: str) -> Any:
        declaration = self._declared[name] or {}
        if name in self._given:
            value = self._given[name]
        elif "Default" in declaration:
            value = _scalar_text(declaration["Default"])
        else:
            raise TemplateError(f"Parameter {name} has no default: pass it in `parameters`.")
        allowed = declaration.get("AllowedValues")
        if allowed is not None and value not in [_scalar_text(item) for item in allowed]:
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
            return [item for item in items if item is not _NO_VALUE]
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
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

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
            return str(delimiter).join(_scalar_text(item) for item in items)
        if key == "Fn::Select":
            index, items = resolved
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = resolved
            return str(text).split(str(delimiter))
        if key == "Fn::Equals":
            left, right = resolved
            return _scalar_text(left) == _scalar_text(right)
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
                return _scalar_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.attribute(resource, attribute, where)
            return _scalar_text(self.ref(name, where))

        return _SUB_VARIABLE.sub(replace, str(text))


def _scalar_text(value: Any) -> str:
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
    resolver = _Resolver(template, resources, parameters or {})
    environments: dict[str, dict[str, str]] = {}
    for logical_id, spec in functions(template).items():
        environment: dict[str, str] = {}
        for name, raw in spec.environment.items():
            value = resolver.resolve(raw, f"{logical_id}.Environment.{name}")
            if value is _NO_VALUE:
                continue
            try:
                environment[name] = _scalar_text(value)
            except TemplateError:
                raise TemplateError(f"{logical_id}.Environment.{name} resolved to {value!r}, not a string.") from None
        environments[logical_id] = environment
    return environments


# --- Creating the local resources ---------------------------------------------------------------------------


class _SessionLike(Protocol):
    def client(self, service_name: str) -> Any: ...


def _clients(
    session_or_clients: _SessionLike | Mapping[str, Any],
) -> tuple[DynamoDBClient, SecretsManagerClient]:
    if isinstance(session_or_clients, Mapping):
        return session_or_clients["dynamodb"], session_or_clients["secretsmanager"]
    return session_or_clients.client("dynamodb"), session_or_clients.client("secretsmanager")


def _create_table(dynamodb: DynamoDBClient, kwargs: dict[str, Any]) -> str:
    try:
        return dynamodb.create_table(**kwargs)["TableDescription"]["TableArn"]
    except dynamodb.exceptions.ResourceInUseException:
        return dynamodb.describe_table(TableName=kwargs["TableName"])["Table"]["TableArn"]


_PASSWORD_OPTIONS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def _secret_value(
    secretsmanager: SecretsManagerClient, properties: Mapping[str, Any], resolver: _Resolver, where: str
) -> str:
    if "SecretString" in properties:
        return _scalar_text(resolver.resolve(properties["SecretString"], f"{where}.SecretString"))
    spec = _literal(properties.get("GenerateSecretString") or {}, f"{where}.GenerateSecretString")
    options: dict[str, Any] = {}
    for key in _PASSWORD_OPTIONS:
        if key not in spec:
            continue
        if key == "PasswordLength":
            options[key] = int(spec[key])
        elif key == "ExcludeCharacters":
            options[key] = str(spec[key])
        else:
            options[key] = _truthy(spec[key])
    password = secretsmanager.get_random_password(**options)["RandomPassword"]
    if "SecretStringTemplate" in spec:
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = password
        return json.dumps(document)
    return password


def _create_secret(secretsmanager: SecretsManagerClient, name: str, value: str) -> str:
    try:
        return secretsmanager.create_secret(Name=name, SecretString=value)["ARN"]
    except secretsmanager.exceptions.ResourceExistsException:
        return secretsmanager.describe_secret(SecretId=name)["ARN"]


def provision(
    session_or_clients: _SessionLike | Mapping[str, Any],
    template: Mapping[str, Any],
    prefix: str = DEFAULT_PREFIX,
    parameters: Mapping[str, Any] | None = None,
) -> LocalResources:
    """Create the template's tables (TTL included), secrets, functions and state machines; an existing one of the
    same name is reused. Functions get a placeholder package: their code runs in-process (see local/inproc.py)."""
    dynamodb, secretsmanager = _clients(session_or_clients)
    region = dynamodb.meta.region_name
    refs: dict[str, str] = {}
    attributes: dict[tuple[str, str], str] = {}
    ttl = ttl_attributes(template)
    for logical_id, kwargs in dynamodb_tables(template, prefix).items():
        attributes[(logical_id, "Arn")] = _create_table(dynamodb, kwargs)
        refs[logical_id] = kwargs["TableName"]
        if logical_id in ttl:
            dynamodb.update_time_to_live(
                TableName=kwargs["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[logical_id]},
            )
    stack_name = prefix.rstrip("-_") or "hod-local"
    partial = LocalResources(refs=refs, attributes=attributes, region=region, stack_name=stack_name)
    resolver = _Resolver(template, partial, parameters or {})
    account_id = LOCAL_ACCOUNT_ID
    for logical_id, _ in _resources(template, _API):
        # No API Gateway locally: the API is served by the local stack; its id only shows up in default URLs.
        refs[logical_id] = f"{prefix}{logical_id}".lower()
    if not isinstance(session_or_clients, Mapping):
        _create_roles_and_schedule_groups(session_or_clients, template, prefix, refs, attributes, resolver)
    for logical_id, properties in _resources(template, _SECRET):
        value = _secret_value(secretsmanager, properties, resolver, logical_id)
        arn = _create_secret(secretsmanager, f"{prefix}{logical_id}", value)
        refs[logical_id] = arn
        attributes[(logical_id, "Id")] = arn
        account_id = arn.split(":")[4]
    if not isinstance(session_or_clients, Mapping):
        _create_functions_and_workflows(session_or_clients, template, prefix, refs, attributes, resolver)
    return LocalResources(refs=refs, attributes=attributes, region=region, account_id=account_id, stack_name=stack_name)


def _create_roles_and_schedule_groups(
    session: _SessionLike,
    template: Mapping[str, Any],
    prefix: str,
    refs: dict[str, str],
    attributes: dict[tuple[str, str], str],
    resolver: _Resolver,
) -> None:
    """IAM roles (trust policy only: nothing enforces permissions locally) and EventBridge Scheduler groups."""
    iam = session.client("iam")
    for logical_id, properties in _resources(template, _ROLE):
        name = f"{prefix}{logical_id}"[:64]
        trust = resolver.resolve(properties.get("AssumeRolePolicyDocument") or {}, f"{logical_id}.Trust")
        try:
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        refs[logical_id] = name
        attributes[(logical_id, "Arn")] = arn
    scheduler = session.client("scheduler")
    for logical_id, _ in _resources(template, _SCHEDULE_GROUP):
        name = f"{prefix}{logical_id}"
        try:  # (get first: a second create would empty an existing group)
            arn = scheduler.get_schedule_group(Name=name)["Arn"]
        except scheduler.exceptions.ResourceNotFoundException:
            arn = scheduler.create_schedule_group(Name=name)["ScheduleGroupArn"]
        refs[logical_id] = name
        attributes[(logical_id, "Arn")] = arn


def _placeholder_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "# the function's code runs in-process locally\n")
    return buffer.getvalue()


def state_machine_definition(template: Mapping[str, Any], logical_id: str, substitutions: Mapping[str, str]) -> str:
    """A state machine's inline Definition as JSON, with ${Name} DefinitionSubstitutions applied."""
    properties = dict(template["Resources"][logical_id]["Properties"])
    text = json.dumps(properties["Definition"])
    missing = sorted(set(_SUB_VARIABLE.findall(text)) - set(substitutions))
    if missing:
        raise TemplateError(f"{logical_id}: no substitution for {', '.join(missing)}.")
    return _SUB_VARIABLE.sub(lambda m: substitutions[m.group(1)], text)


def _create_functions_and_workflows(
    session: _SessionLike,
    template: Mapping[str, Any],
    prefix: str,
    refs: dict[str, str],
    attributes: dict[tuple[str, str], str],
    resolver: _Resolver,
) -> None:
    iam = session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_name = f"{prefix}role"
    try:
        role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    lambda_client = session.client("lambda")
    names = local_function_names(template, prefix)
    for logical_id, spec in functions(template).items():
        name = names[logical_id]
        try:
            arn = lambda_client.create_function(
                FunctionName=name,
                Runtime=spec.runtime or "python3.13",
                Role=role_arn,
                Handler=spec.handler,
                Code={"ZipFile": _placeholder_zip()},
                Timeout=60,
            )["FunctionArn"]
        except lambda_client.exceptions.ResourceConflictException:
            arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        refs[logical_id] = name
        attributes[(logical_id, "Arn")] = arn
    sfn = session.client("stepfunctions")
    for logical_id, properties in _resources(template, _STATE_MACHINE):
        raw = properties.get("DefinitionSubstitutions") or {}
        substitutions = {
            key: _scalar_text(resolver.resolve(value, f"{logical_id}.DefinitionSubstitutions.{key}"))
            for key, value in raw.items()
        }
        definition = state_machine_definition(template, logical_id, substitutions)
        name = (
            _scalar_text(resolver.resolve(properties["Name"], f"{logical_id}.Name"))
            if "Name" in properties
            else f"{prefix}{logical_id}"
        )
        existing = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == name]
        if existing:
            arn = existing[0]
        else:
            arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)["stateMachineArn"]
        refs[logical_id] = arn
        attributes[(logical_id, "Arn")] = arn
        attributes[(logical_id, "Name")] = name


def create_local_resources(
    session_or_clients: _SessionLike | Mapping[str, Any],
    template: Mapping[str, Any],
    prefix: str = DEFAULT_PREFIX,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Create the local tables and signing secret; return the environment every function runs with, merged.

    All handlers share one process locally, so their environments are merged; a variable two functions resolve
    differently is an error. `parameters` override the template's defaults (SenderEmail has none).
    """
    resources = provision(session_or_clients, template, prefix, parameters)
    merged: dict[str, str] = {}
    for logical_id, environment in function_environments(template, resources, parameters).items():
        for name, value in environment.items():
            if merged.setdefault(name, value) != value:
                raise TemplateError(
                    f"{name} is {merged[name]!r} for one function and {value!r} for {logical_id}: "
                    "functions sharing one local process need the same value."
                )
    return merged
