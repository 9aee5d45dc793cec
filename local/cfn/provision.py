"""Creating the template's resources locally (in moto, or any endpoint boto3 points at): tables with their TTL, SQS
queues, the signing secret, IAM roles, Scheduler groups, placeholder functions and the state machines, each reused
when it already exists; and the environment every function runs with."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from boto3.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient


def _clients(
    session_or_clients: Session | Mapping[str, Any],
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
    session_or_clients: Session | Mapping[str, Any],
    template: Mapping[str, Any],
    prefix: str = DEFAULT_PREFIX,
    parameters: Mapping[str, Any] | None = None,
    *,
    root: Path = PROJECT_ROOT,
) -> LocalResources:
    """Create the template's tables (TTL included), queues, secrets, functions and state machines; an existing one of
    the same name is reused. Functions get a placeholder package: their code runs in-process (see local/inproc.py).
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
    sqs = _sqs(session_or_clients)
    if sqs is not None:
        _create_queues(sqs, template, prefix, refs, attributes, resolver)
    for logical_id, _ in resources_of_type(template, API):
        # No API Gateway locally: the API is served by the local stack; its id only shows up in default URLs.
        refs[logical_id] = f"{prefix}{logical_id}".lower()
    if not isinstance(session_or_clients, Mapping):
        _create_roles_and_schedule_groups(session_or_clients, template, prefix, refs, attributes, resolver)
    for logical_id, properties in resources_of_type(template, SECRET):
        value = _secret_value(secretsmanager, properties, resolver, logical_id)
        arn = _create_secret(secretsmanager, f"{prefix}{logical_id}", value)
        refs[logical_id] = arn
        attributes[(logical_id, "Id")] = arn
        account_id = arn.split(":")[4]
    if not isinstance(session_or_clients, Mapping):
        _create_functions_and_workflows(session_or_clients, template, prefix, refs, attributes, resolver, root)
    return LocalResources(refs=refs, attributes=attributes, region=region, account_id=account_id, stack_name=stack_name)


def _sqs(session_or_clients: Session | Mapping[str, Any]) -> Any:
    if isinstance(session_or_clients, Mapping):
        return session_or_clients.get("sqs")
    return session_or_clients.client("sqs")


# A queue's properties as SQS attributes of the same name (the ones the local copy honours; any other property is
# refused, not ignored). RedrivePolicy is written as JSON.
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DelaySeconds",
    "FifoQueue",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
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
    sqs: Any,
    template: Mapping[str, Any],
    prefix: str,
    refs: dict[str, str],
    attributes: dict[tuple[str, str], str],
    resolver: Resolver,
) -> None:
    """SQS queues, named as `local_queue_names` says. A queue whose properties name another queue (a dead-letter
    queue in its RedrivePolicy) is created after it. !Ref gives the URL, as in CloudFormation."""
    names = local_queue_names(template, prefix)
    waiting = dict(resources_of_type(template, QUEUE))
    while waiting:
        ready = {
            logical_id: properties
            for logical_id, properties in waiting.items()
            if not _names_waiting(properties, set(waiting) - {logical_id})
        }
        if not ready:
            raise TemplateError(f"Queues name each other in a cycle: {', '.join(sorted(waiting))}.")
        for logical_id, properties in ready.items():
            del waiting[logical_id]
            name = names[logical_id]
            url = sqs.create_queue(QueueName=name, Attributes=_queue_attributes(properties, resolver, logical_id))[
                "QueueUrl"
            ]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            refs[logical_id] = url
            attributes.update(
                {(logical_id, "Arn"): arn, (logical_id, "QueueName"): name, (logical_id, "QueueUrl"): url}
            )


def _names_waiting(value: Any, others: set[str]) -> bool:
    """Whether `value` refers (Ref, GetAtt, Sub) to one of `others`."""
    if isinstance(value, list):
        return any(_names_waiting(item, others) for item in value)
    if isinstance(value, str):
        return any(f"${{{name}" in value for name in others)
    if not isinstance(value, dict):
        return False
    if value.keys() == {"Ref"}:
        return value["Ref"] in others
    if value.keys() == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        return (target[0] if isinstance(target, list) else str(target).split(".", 1)[0]) in others
    return any(_names_waiting(item, others) for item in value.values())


def _create_roles_and_schedule_groups(
    session: Session,
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


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "# the function's code runs in-process locally\n")
    return buffer.getvalue()


def _create_functions_and_workflows(
    session: Session,
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
    session_or_clients: Session | Mapping[str, Any],
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
