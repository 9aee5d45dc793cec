"""Creating the template's resources locally (in moto, or any endpoint boto3 points at): tables with their TTL, the
signing secret, IAM roles, Scheduler groups, SQS queues, placeholder functions and the state machines, each reused
when it already exists; and the environment every function runs with."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from local.cfn.intrinsics import (
    LocalResources,
    Resolver,
    function_environments,
    local_function_names,
    local_queue_names,
    local_stack_name,
    scalar_text,
)
from local.cfn.schema import dynamodb_tables, functions, state_machine_definition, ttl_attributes
from local.cfn.template import (
    API,
    DEFAULT_PREFIX,
    LOCAL_ACCOUNT_ID,
    PROJECT_ROOT,
    QUEUE,
    ROLE,
    SCHEDULE_GROUP,
    SECRET,
    STATE_MACHINE,
    TemplateError,
    literal,
    resources_of_type,
    truthy,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient


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
    secretsmanager: SecretsManagerClient, properties: Mapping[str, Any], resolver: Resolver, where: str
) -> str:
    if "SecretString" in properties:
        return scalar_text(resolver.resolve(properties["SecretString"], f"{where}.SecretString"))
    spec = literal(properties.get("GenerateSecretString") or {}, f"{where}.GenerateSecretString")
    options: dict[str, Any] = {}
    for key in _PASSWORD_OPTIONS:
        if key not in spec:
            continue
        if key == "PasswordLength":
            options[key] = int(spec[key])
        elif key == "ExcludeCharacters":
            options[key] = str(spec[key])
        else:
            options[key] = truthy(spec[key])
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
    *,
    root: Path = PROJECT_ROOT,
) -> LocalResources:
    """Create the template's tables (TTL included), secrets, functions and state machines; an existing one of the
    same name is reused. Functions get a placeholder package: their code runs in-process (see local/inproc.py).
    Paths in the template (a state machine's DefinitionUri) are relative to `root`, the template's folder."""
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
    stack_name = local_stack_name(prefix)
    partial = LocalResources(refs=refs, attributes=attributes, region=region, stack_name=stack_name)
    resolver = Resolver(template, partial, parameters or {})
    account_id = LOCAL_ACCOUNT_ID
    for logical_id, _ in resources_of_type(template, API):
        # No API Gateway locally: the API is served by the local stack; its id only shows up in default URLs.
        refs[logical_id] = f"{prefix}{logical_id}".lower()
    if not isinstance(session_or_clients, Mapping):
        _create_roles_and_schedule_groups(session_or_clients, template, prefix, refs, attributes, resolver)
        _create_queues(session_or_clients, template, prefix, refs, attributes, resolver)
    for logical_id, properties in resources_of_type(template, SECRET):
        value = _secret_value(secretsmanager, properties, resolver, logical_id)
        arn = _create_secret(secretsmanager, f"{prefix}{logical_id}", value)
        refs[logical_id] = arn
        attributes[(logical_id, "Id")] = arn
        account_id = arn.split(":")[4]
    if not isinstance(session_or_clients, Mapping):
        _create_functions_and_workflows(session_or_clients, template, prefix, refs, attributes, resolver, root)
    return LocalResources(refs=refs, attributes=attributes, region=region, account_id=account_id, stack_name=stack_name)


def _create_roles_and_schedule_groups(
    session: _SessionLike,
    template: Mapping[str, Any],
    prefix: str,
    refs: dict[str, str],
    attributes: dict[tuple[str, str], str],
    resolver: Resolver,
) -> None:
    """IAM roles (trust policy only: nothing enforces permissions locally) and EventBridge Scheduler groups."""
    iam = session.client("iam")
    for logical_id, properties in resources_of_type(template, ROLE):
        name = f"{prefix}{logical_id}"[:64]
        trust = resolver.resolve(properties.get("AssumeRolePolicyDocument") or {}, f"{logical_id}.Trust")
        try:
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        refs[logical_id] = name
        attributes[(logical_id, "Arn")] = arn
    scheduler = session.client("scheduler")
    for logical_id, _ in resources_of_type(template, SCHEDULE_GROUP):
        name = f"{prefix}{logical_id}"
        try:  # (get first: a second create would empty an existing group)
            arn = scheduler.get_schedule_group(Name=name)["Arn"]
        except scheduler.exceptions.ResourceNotFoundException:
            arn = scheduler.create_schedule_group(Name=name)["ScheduleGroupArn"]
        refs[logical_id] = name
        attributes[(logical_id, "Arn")] = arn


# A queue's properties as SQS attributes (the ones the local copy honours; any other is refused, not ignored).
_QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
)
_QUEUE_PROPERTIES = (*_QUEUE_ATTRIBUTES, "RedrivePolicy", "QueueName", "Tags")


def _queue_attributes(properties: Mapping[str, Any], resolver: Resolver, where: str) -> dict[str, str]:
    unknown = sorted(set(properties) - set(_QUEUE_PROPERTIES))
    if unknown:
        raise TemplateError(f"{where}: {', '.join(unknown)} cannot be created locally (local/cfn/provision.py).")
    attributes = {
        key: scalar_text(resolver.resolve(properties[key], f"{where}.{key}"))
        for key in _QUEUE_ATTRIBUTES
        if key in properties
    }
    if "RedrivePolicy" in properties:
        policy = resolver.resolve(properties["RedrivePolicy"], f"{where}.RedrivePolicy")
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": policy["deadLetterTargetArn"], "maxReceiveCount": int(policy["maxReceiveCount"])}
        )
    return attributes


def _create_queues(
    session: _SessionLike,
    template: Mapping[str, Any],
    prefix: str,
    refs: dict[str, str],
    attributes: dict[tuple[str, str], str],
    resolver: Resolver,
) -> None:
    """SQS queues, each after the queues it names (a redrive policy's dead-letter queue). !Ref is the queue's URL."""
    sqs = session.client("sqs")
    names = local_queue_names(template, prefix)
    waiting = dict(resources_of_type(template, QUEUE))
    while waiting:
        created = []
        for logical_id, properties in waiting.items():
            try:
                wanted = _queue_attributes(properties, resolver, logical_id)
            except TemplateError:
                continue  # names a queue not created yet
            url = sqs.create_queue(QueueName=names[logical_id], Attributes=wanted)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            refs[logical_id] = url
            attributes[(logical_id, "Arn")] = arn
            attributes[(logical_id, "QueueName")] = names[logical_id]
            attributes[(logical_id, "QueueUrl")] = url
            created.append(logical_id)
        if not created:
            _queue_attributes(next(iter(waiting.values())), resolver, next(iter(waiting)))  # raises the cause
            raise TemplateError(f"Queues {sorted(waiting)} name each other.")
        for logical_id in created:
            del waiting[logical_id]


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "# the function's code runs in-process locally\n")
    return buffer.getvalue()


def _create_functions_and_workflows(
    session: _SessionLike,
    template: Mapping[str, Any],
    prefix: str,
    refs: dict[str, str],
    attributes: dict[tuple[str, str], str],
    resolver: Resolver,
    root: Path,
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
    for logical_id, properties in resources_of_type(template, STATE_MACHINE):
        raw = properties.get("DefinitionSubstitutions") or {}
        substitutions = {
            key: scalar_text(resolver.resolve(value, f"{logical_id}.DefinitionSubstitutions.{key}"))
            for key, value in raw.items()
        }
        definition = state_machine_definition(template, logical_id, substitutions, root)
        name = (
            scalar_text(resolver.resolve(properties["Name"], f"{logical_id}.Name"))
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
    *,
    root: Path = PROJECT_ROOT,
) -> dict[str, str]:
    """Create the local resources (see `provision`); return the environment every function runs with, merged.

    All handlers share one process locally, so their environments are merged; a variable two functions resolve
    differently is an error. `parameters` override the template's defaults (SenderEmail has none).
    """
    resources = provision(session_or_clients, template, prefix, parameters, root=root)
    merged: dict[str, str] = {}
    for logical_id, environment in function_environments(template, resources, parameters).items():
        for name, value in environment.items():
            if merged.setdefault(name, value) != value:
                raise TemplateError(
                    f"{name} is {merged[name]!r} for one function and {value!r} for {logical_id}: "
                    "functions sharing one local process need the same value."
                )
    return merged
