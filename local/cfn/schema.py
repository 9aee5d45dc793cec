"""What the template declares, as the local stack needs it: DynamoDB tables, functions, their API routes and SQS
event sources, and state-machine definitions."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.cfn.template import (
    DEFAULT_PREFIX,
    FUNCTION,
    PROJECT_ROOT,
    QUEUE,
    TABLE,
    TemplateError,
    literal,
    resources_of_type,
    truthy,
)

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
    for logical_id, raw in resources_of_type(template, TABLE):
        properties = {key: literal(raw[key], f"{logical_id}.{key}") for key in _TABLE_SHAPE if key in raw}
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
    for logical_id, raw in resources_of_type(template, TABLE):
        spec = literal(raw.get("TimeToLiveSpecification") or {}, f"{logical_id}.TimeToLiveSpecification")
        if spec and truthy(spec.get("Enabled", False)):
            ttl[logical_id] = spec["AttributeName"]
    return ttl


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
    for logical_id, properties in resources_of_type(template, FUNCTION):
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


def api_routes(template: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every Api event of every function, e.g. ("GET", "/admin/agents/{npn}")."""
    return {
        (str(event.properties["Method"]).upper(), str(event.properties["Path"]))
        for spec in functions(template).values()
        for event in spec.events.values()
        if event.type == "Api"
    }


@dataclass(frozen=True)
class QueueSource:
    """A function's SQS event (the event source mapping SAM makes of it): which of the template's queues it consumes,
    and how. `maximum_concurrency` is the template's value, unresolved (it may name a parameter; None: not capped)."""

    function: str  # the function's logical id
    event: str
    queue: str  # the queue's logical id
    batch_size: int
    report_failures: bool  # FunctionResponseTypes has ReportBatchItemFailures
    maximum_concurrency: Any  # ScalingConfig.MaximumConcurrency
    enabled: bool = True


def _queue_of(value: Any, where: str) -> str:
    """The logical id of the queue an SQS event names (!GetAtt Queue.Arn)."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        resource, attribute = target if isinstance(target, list) else str(target).split(".", 1)
        if attribute == "Arn":
            return str(resource)
    raise TemplateError(f"{where}: Queue must be !GetAtt <a queue of the template>.Arn.")


def queue_sources(template: Mapping[str, Any]) -> list[QueueSource]:
    """Every SQS event of every function, with Lambda's defaults (10 messages a batch). The queue must be one of the
    template's (`!GetAtt <Queue>.Arn`)."""
    queues = {logical_id for logical_id, _ in resources_of_type(template, QUEUE)}
    sources: list[QueueSource] = []
    for logical_id, spec in functions(template).items():
        for name, event in spec.events.items():
            if event.type != "SQS":
                continue
            where = f"{logical_id}.Events.{name}"
            queue = _queue_of(event.properties.get("Queue"), where)
            if queue not in queues:
                raise TemplateError(f"{where}: {queue} is not a queue of the template.")
            sources.append(
                QueueSource(
                    function=logical_id,
                    event=name,
                    queue=queue,
                    batch_size=int(event.properties.get("BatchSize", 10)),
                    report_failures="ReportBatchItemFailures" in (event.properties.get("FunctionResponseTypes") or []),
                    maximum_concurrency=(event.properties.get("ScalingConfig") or {}).get("MaximumConcurrency"),
                    enabled=truthy(event.properties.get("Enabled", True)),
                )
            )
    return sources


# --- State machines -----------------------------------------------------------------------------------------

SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def state_machine_definition(
    template: Mapping[str, Any], logical_id: str, substitutions: Mapping[str, str], root: Path = PROJECT_ROOT
) -> str:
    """A state machine's definition as JSON, with its ${Name} DefinitionSubstitutions applied: the file its
    DefinitionUri names (a path relative to `root`, the template's folder, as `sam build` reads it), or its inline
    Definition."""
    properties = template["Resources"][logical_id]["Properties"]
    text = json.dumps(_definition(properties, logical_id, root))
    missing = sorted(set(SUB_VARIABLE.findall(text)) - set(substitutions))
    if missing:
        raise TemplateError(f"{logical_id}: no substitution for {', '.join(missing)}.")
    return SUB_VARIABLE.sub(lambda m: substitutions[m.group(1)], text)


def _definition(properties: Mapping[str, Any], logical_id: str, root: Path) -> Any:
    if "Definition" in properties:
        return properties["Definition"]
    uri = properties.get("DefinitionUri")
    if not isinstance(uri, str):
        raise TemplateError(
            f"{logical_id}: DefinitionUri must be the path of a file beside the template for local runs, not {uri!r}."
        )
    try:
        text = (root / uri).read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"{logical_id}: its DefinitionUri {uri} cannot be read ({error.strerror}).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TemplateError(f"{logical_id}: its DefinitionUri {uri} is not JSON ({error}).") from None
