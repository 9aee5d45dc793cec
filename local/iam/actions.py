"""What IAM authorises for one AWS API call: the action(s) and the resource ARN(s) each is checked against.

The mapping follows AWS's Service Authorization Reference (docs/iam.md lists the pages); only the operations the
functions make are mapped. An operation with no entry is an error, never a silent pass: add it here, with its source.

- DynamoDB: an item or index operation on its table (`table/T`) or index (`table/T/index/I`); BatchGetItem and
  BatchWriteItem are IAM actions of their own, checked once per table they touch; TransactWriteItems and
  TransactGetItems have no action of their own: each item is authorised as the PutItem, UpdateItem, DeleteItem,
  ConditionCheckItem or GetItem it is, on its own table.
- Step Functions: StartExecution on the state machine; the task-token callbacks have no resource ("*").
- EventBridge Scheduler: CreateSchedule on schedule/<group>/<name>, and iam:PassRole of the target's role, passed to
  scheduler.amazonaws.com.
- SES v2: ses:SendEmail or ses:SendBulkEmail on the sending identity (the From address's identity), and on the
  configuration set or stored template the call names.
- SNS: Publish on the topic, or on "*" when it goes straight to a phone number (SMS has no ARN).
- Pinpoint: mobiletargeting:SendMessages on apps/<app id>/messages.
- Secrets Manager: GetSecretValue on the secret.
- Lambda: lambda:InvokeFunction on the function (a qualifier is part of the ARN).
- SQS: SendMessage(Batch) as sqs:SendMessage, ChangeMessageVisibility(Batch) as sqs:ChangeMessageVisibility, on the
  queue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any


class UnmappedCall(Exception):
    """An AWS call whose IAM authorisation this module does not know."""


@dataclass(frozen=True)
class Request:
    """One authorisation IAM makes for a call: `action` on `resource`, with the condition keys the call sets."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> list[Any]:
        return [self.action, self.resource, dict(sorted(self.context.items()))]

    @classmethod
    def from_json(cls, data: list[Any]) -> Request:
        action, resource, context = data
        return cls(str(action), str(resource), {str(k): str(v) for k, v in dict(context).items()})


@dataclass(frozen=True)
class Where:
    """The partition, region and account a call is made in (ARNs are built from them)."""

    region: str
    account: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"


Mapper = Callable[[Mapping[str, Any], Where], Iterator[Request]]


# --- DynamoDB -----------------------------------------------------------------------------------------------


def _table(name: str, where: Where) -> str:
    return name if name.startswith("arn:") else where.arn("dynamodb", f"table/{name}")


def _table_or_index(params: Mapping[str, Any], where: Where) -> str:
    table = _table(str(params["TableName"]), where)
    return f"{table}/index/{params['IndexName']}" if params.get("IndexName") else table


def _dynamodb_single(action: str) -> Mapper:
    def requests(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
        yield Request(f"dynamodb:{action}", _table_or_index(params, where))

    return requests


def _dynamodb_batch(action: str) -> Mapper:
    def requests(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
        for table in params.get("RequestItems") or {}:
            yield Request(f"dynamodb:{action}", _table(str(table), where))

    return requests


_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _dynamodb_transaction(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
    for item in params.get("TransactItems") or []:
        for kind, request in item.items():
            yield Request(f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}", _table(str(request["TableName"]), where))


# --- Other services -----------------------------------------------------------------------------------------


def _start_execution(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
    yield Request("states:StartExecution", str(params["stateMachineArn"]))


def _no_resource(action: str) -> Mapper:
    def requests(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
        yield Request(action, "*")

    return requests


def _create_schedule(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
    group = params.get("GroupName") or "default"
    yield Request("scheduler:CreateSchedule", where.arn("scheduler", f"schedule/{group}/{params['Name']}"))
    role = (params.get("Target") or {}).get("RoleArn")
    if role:
        yield Request("iam:PassRole", str(role), {"iam:PassedToService": "scheduler.amazonaws.com"})


def _sending(action: str, operation: str) -> Mapper:
    """SES v2 sending (SendEmail, SendBulkEmail): the action on the From address's identity, its configuration set
    if one is named, and for bulk sending a stored template if one is named (inline template content has no ARN)."""

    def requests(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
        _, address = parseaddr(str(params.get("FromEmailAddress") or ""))
        if not address:
            raise UnmappedCall(f"sesv2.{operation} without FromEmailAddress: the identity it sends from is unknown.")
        yield Request(action, where.arn("ses", f"identity/{address}"))
        if params.get("ConfigurationSetName"):
            yield Request(action, where.arn("ses", f"configuration-set/{params['ConfigurationSetName']}"))
        template = ((params.get("DefaultContent") or {}).get("Template") or {}).get("TemplateName")
        if template:
            yield Request(action, where.arn("ses", f"template/{template}"))

    return requests


def _publish(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
    target = params.get("TopicArn") or params.get("TargetArn")
    yield Request("sns:Publish", str(target) if target else "*")


def _send_messages(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
    yield Request(
        "mobiletargeting:SendMessages", where.arn("mobiletargeting", f"apps/{params['ApplicationId']}/messages")
    )


def _get_secret_value(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
    secret = str(params["SecretId"])
    yield Request(
        "secretsmanager:GetSecretValue",
        secret if secret.startswith("arn:") else where.arn("secretsmanager", f"secret:{secret}"),
    )


_FUNCTION_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$")


def _invoke(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
    name = str(params["FunctionName"])
    if _FUNCTION_ARN.match(name):
        arn = name
    elif name.count(":") >= 2:  # partial ARN: 123456789012:function:name[:qualifier]
        account, rest = name.split(":", 1)
        arn = f"arn:{where.partition}:lambda:{where.region}:{account}:{rest}"
    else:  # name[:qualifier]
        arn = where.arn("lambda", f"function:{name}")
    if params.get("Qualifier") and arn.count(":") == 6:
        arn = f"{arn}:{params['Qualifier']}"
    yield Request("lambda:InvokeFunction", arn)


def _queue(action: str) -> Mapper:
    """An operation on one queue, authorised as `action` on it (its URL ends with the account and the queue's name):
    SendMessage and SendMessageBatch as sqs:SendMessage, ChangeMessageVisibility(Batch) as
    sqs:ChangeMessageVisibility."""

    def requests(params: Mapping[str, Any], where: Where) -> Iterator[Request]:
        account, name = str(params["QueueUrl"]).rstrip("/").rsplit("/", 2)[-2:]
        yield Request(action, f"arn:{where.partition}:sqs:{where.region}:{account}:{name}")

    return requests


# botocore service name → operation → the requests it is authorised by.
MAPPERS: dict[str, dict[str, Mapper]] = {
    "dynamodb": {
        **{op: _dynamodb_single(op) for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable")},
        "Query": _dynamodb_single("Query"),
        "Scan": _dynamodb_single("Scan"),
        "BatchGetItem": _dynamodb_batch("BatchGetItem"),
        "BatchWriteItem": _dynamodb_batch("BatchWriteItem"),
        "TransactWriteItems": _dynamodb_transaction,
        "TransactGetItems": _dynamodb_transaction,
    },
    "stepfunctions": {
        "StartExecution": _start_execution,
        "SendTaskSuccess": _no_resource("states:SendTaskSuccess"),
        "SendTaskFailure": _no_resource("states:SendTaskFailure"),
        "SendTaskHeartbeat": _no_resource("states:SendTaskHeartbeat"),
    },
    "scheduler": {"CreateSchedule": _create_schedule},
    "sesv2": {
        "SendEmail": _sending("ses:SendEmail", "SendEmail"),
        "SendBulkEmail": _sending("ses:SendBulkEmail", "SendBulkEmail"),
    },
    "sns": {"Publish": _publish},
    "pinpoint": {"SendMessages": _send_messages},
    "secretsmanager": {"GetSecretValue": _get_secret_value},
    "lambda": {"Invoke": _invoke},
    "sqs": {
        "SendMessage": _queue("sqs:SendMessage"),
        "SendMessageBatch": _queue("sqs:SendMessage"),
        "ChangeMessageVisibility": _queue("sqs:ChangeMessageVisibility"),
        "ChangeMessageVisibilityBatch": _queue("sqs:ChangeMessageVisibility"),
    },
}


def requests_for(service: str, operation: str, params: Mapping[str, Any], where: Where) -> list[Request]:
    """The authorisations IAM makes for `service.operation` called with `params` (botocore names)."""
    mapper = MAPPERS.get(service, {}).get(operation)
    if mapper is None:
        raise UnmappedCall(f"{service}.{operation} has no IAM mapping in local/iam/actions.py.")
    try:
        return list(mapper(params, where))
    except KeyError as exc:
        raise UnmappedCall(f"{service}.{operation} without {exc.args[0]}: its resource is unknown.") from None
