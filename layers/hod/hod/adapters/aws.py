"""Small AWS adapters: the signing keys from Secrets Manager, the referral workflow on Step Functions, reminders on
EventBridge Scheduler, e-mail (one message, or SES bulk sending), text and push, the send queue on SQS (FIFO), the
clock."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from botocore.loaders import JSONFileLoader, Loader

from hod.adapters.telemetry import count_channel_failure
from hod.domain.referral import WorkflowStart
from hod.domain.sending import SQS_BATCH_LIMIT, SQS_MESSAGE_BYTES, SQS_VISIBILITY_LIMIT, HeldMessage, SafetyNetCalls
from hod.errors import ConfigurationError, DependencyFailed
from hod.signing import KeyRing, SigningKey


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


# Creating clients is not thread-safe in botocore: every client of the process's session (these and pynamodb's) is
# created under this lock. Using them is safe.
clients_lock = threading.RLock()

# Every client retries throttling and transient errors in botocore's "standard" mode (exponential back-off with full
# jitter, a retry quota per client), up to these attempts in all, the first included. The sending channels get few:
# a message a channel still refuses after them is held on the send queue (docs/notifications.md) rather than
# keeping a function waiting. DynamoDB's attempts are set on its pynamodb connection (adapters/dynamo.py).
ATTEMPTS: Mapping[str, int] = {
    "sesv2": 3,
    "sns": 3,
    "pinpoint": 3,
    "stepfunctions": 6,
    "sqs": 6,
    "scheduler": 5,
    "secretsmanager": 5,
    "dynamodb": 8,
}
DEFAULT_ATTEMPTS = 5

# What botocore's standard mode counts as throttling (besides any 5xx answer and a lost connection).
_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
    }
)


class _JsonFiles(JSONFileLoader):
    """botocore's data files (`name.json` or `name.json.gz`) read into plain dicts. botocore's own reader builds
    OrderedDicts, which parses the 1.2 MB endpoints file and each service model about twice as slowly; dicts keep
    their order anyway."""

    _OPENERS: ClassVar[tuple[tuple[str, Any], ...]] = ((".json", open), (".json.gz", gzip.open))

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + suffix) for suffix, _ in self._OPENERS)

    def load_file(self, file_path: str) -> Any:
        for suffix, opener in self._OPENERS:
            if os.path.isfile(file_path + suffix):
                with opener(file_path + suffix, "rb") as stream:
                    return json.loads(stream.read().decode("utf-8"))
        return None


class _DataLoader(Loader):
    """botocore's loader, without its survey of the data folders: to check a service name, botocore looks inside
    each of its ~400 service folders (about 2,800 file-system calls, once for the service models and once for the
    endpoint rules) before loading one. Here every folder on the search path counts as a service; one without the
    data asked for still fails, with botocore's DataNotFoundError instead of UnknownServiceError."""

    def __init__(self, extra_search_paths: list[str]) -> None:
        super().__init__(extra_search_paths=extra_search_paths, file_loader=_JsonFiles())
        self._services: list[str] | None = None

    def list_available_services(self, type_name: str) -> list[str]:
        if self._services is None:
            found: set[str] = set()
            for path in (path for path in self.search_paths if os.path.isdir(path)):
                with os.scandir(path) as entries:  # the entries' types come with the listing: no stat per entry
                    found.update(entry.name for entry in entries if entry.is_dir())
            self._services = sorted(found)
        return self._services


@functools.cache
def session() -> botocore.session.Session:
    """The process's one botocore session, for every client (pynamodb's too, adapters/dynamo.py): each session loads
    its own copy of the endpoints, the defaults and every service model its clients use. botocore's, not boto3's:
    nothing here needs boto3, whose import (s3transfer and all) adds about a seventh to botocore's."""
    shared = botocore.session.get_session()
    data_path = shared.get_config_variable("data_path")  # AWS_DATA_PATH, as botocore's own loader reads it
    extra = [os.path.expanduser(os.path.expandvars(path)) for path in data_path.split(os.pathsep)] if data_path else []
    shared.register_component("data_loader", _DataLoader(extra))
    return shared


@functools.cache
def _client(service: str, attempts: int) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return session().create_client(service, config=config)


def client(service: str, attempts: int | None = None) -> Any:
    """One client per service (and number of attempts) per process, created on first use (not at import), on the
    process's one session."""
    with clients_lock:
        return _client(service, attempts or ATTEMPTS.get(service, DEFAULT_ATTEMPTS))


def sdk_failure(service: str, operation: str, exc: ClientError | BotoCoreError) -> DependencyFailed:
    """The SDK's error as the project's own, marked retryable when the service was throttling or failing briefly."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        retryable = code in _THROTTLING or status >= 500
    else:
        retryable = isinstance(exc, ConnectionError | HTTPClientError)
    return DependencyFailed(service, operation, str(exc), retryable=retryable)


def forget_clients() -> None:
    """Drop the cached session and clients (tests and the local stack, after changing the environment)."""
    with clients_lock:
        _client.cache_clear()
        session.cache_clear()


class SecretsManagerKeys:
    """The HMAC key ring: AWSCURRENT signs; AWSPREVIOUS still verifies (rotation grace). Each is fetched when first
    needed (most containers never need the previous one) and cached for `max_age`."""

    def __init__(self, secret_id: str, max_age_seconds: int = 300) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._cached: dict[str, tuple[float, SigningKey | None]] = {}

    def key_ring(self, with_previous: bool = True) -> KeyRing:
        current = self._key("AWSCURRENT")
        if current is None:
            raise ConfigurationError(f"Signing secret {self._secret_id} has no current value.")
        previous = self._key("AWSPREVIOUS") if with_previous else None
        return KeyRing(current=current, previous=(previous,) if previous and previous != current else ())

    def _key(self, stage: str) -> SigningKey | None:
        now = datetime.now(UTC).timestamp()
        cached = self._cached.get(stage)
        if cached and now - cached[0] < self._max_age:
            return cached[1]
        key = self._fetch(stage)
        self._cached[stage] = (now, key)
        return key

    def _fetch(self, stage: str) -> SigningKey | None:
        try:
            value = client("secretsmanager").get_secret_value(SecretId=self._secret_id, VersionStage=stage)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException" and stage != "AWSCURRENT":
                return None
            raise sdk_failure("secretsmanager", "GetSecretValue", exc) from exc
        except BotoCoreError as exc:
            raise sdk_failure("secretsmanager", "GetSecretValue", exc) from exc
        secret = value.get("SecretString") or ""
        if len(secret) < 32:
            raise ConfigurationError(f"Signing secret {self._secret_id} must be at least 32 characters.")
        return SigningKey(secret.encode())


class StepFunctionsWorkflow:
    """One Standard execution per referral, named after it (a retried start cannot run two)."""

    records_start = True  # the first round's transaction writes the start of the audit trail

    def __init__(self, state_machine_arn: str) -> None:
        self._arn = state_machine_arn

    @staticmethod
    def name(start: WorkflowStart) -> str:
        """The execution's name: the referral's id, then "<id>-run<n>" for the n-th restart after a failed round."""
        return start.referral_id if start.run == 0 else f"{start.referral_id}-run{start.run}"

    def start(self, start: WorkflowStart) -> str:
        try:
            response = client("stepfunctions").start_execution(
                stateMachineArn=self._arn, name=self.name(start), input=start.model_dump_json()
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return f"{self._arn.replace(':stateMachine:', ':execution:')}:{self.name(start)}"
            raise sdk_failure("stepfunctions", "StartExecution", exc) from exc
        except BotoCoreError as exc:
            raise sdk_failure("stepfunctions", "StartExecution", exc) from exc
        return str(response["executionArn"])


class DeferredWorkflow:
    """Used while no state machine is configured: the referral is stored and waits for matching to be run."""

    records_start = False

    def start(self, start: WorkflowStart) -> str:
        return f"deferred:{start.referral_id}"


class StepFunctionsCallbacks:
    """Wake the waiting workflow: the answer itself is already in DynamoDB, so a callback that finds the task gone
    (timed out, already answered) is not an error."""

    _GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})

    def success(self, token: str, output: dict[str, Any]) -> bool:
        return self._call("SendTaskSuccess", taskToken=token, output=json.dumps(output))

    def failure(self, token: str, error: str, cause: str = "") -> bool:
        return self._call("SendTaskFailure", taskToken=token, error=error, cause=cause or error)

    def _call(self, operation: str, **kwargs: Any) -> bool:
        sfn = client("stepfunctions")
        method = sfn.send_task_success if operation == "SendTaskSuccess" else sfn.send_task_failure
        try:
            method(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in self._GONE:
                return False
            raise sdk_failure("stepfunctions", operation, exc) from exc
        except BotoCoreError as exc:
            raise sdk_failure("stepfunctions", operation, exc) from exc
        return True


class SchedulerReminders:
    """R12's follow-ups as one-off EventBridge Scheduler schedules that invoke the notify function once and delete
    themselves. Named after the referral and the minute, so a repeated request cannot schedule a reminder twice.

    Scheduler retries an invocation it could not deliver (`retries` times, for at most `max_age_seconds`: a reminder
    later than that is no use); one it gives up on goes to the dead-letter queue, whose alarm says so. Without a
    queue (an empty ARN), undeliverable reminders are dropped."""

    def __init__(
        self,
        target_arn: str,
        role_arn: str,
        group: str,
        dead_letter_arn: str = "",
        *,
        retries: int = 3,
        max_age_seconds: int = 900,
    ) -> None:
        self._target = target_arn
        self._role = role_arn
        self._group = group
        self._dead_letter = dead_letter_arn
        self._retry = {"MaximumRetryAttempts": retries, "MaximumEventAgeInSeconds": max_age_seconds}

    def schedule(self, referral_id: str, after_minutes: int, at: datetime, agent_npn: str) -> None:
        if not (self._target and self._role and self._group):
            raise ConfigurationError("Reminders are not configured (HOD_REMINDER_* variables).")
        payload = {
            "task": "reminder",
            "referral_id": referral_id,
            "after_minutes": after_minutes,
            "agent_npn": agent_npn,
        }
        try:
            client("scheduler").create_schedule(
                # one per acceptance: a referral sent on to another agent gets its own (32 + 2 + 10 + 4 characters)
                Name=f"r-{referral_id}-{after_minutes}-{agent_npn}"[:64],
                GroupName=self._group,
                ScheduleExpression=f"at({at.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self._target,
                    "RoleArn": self._role,
                    "Input": json.dumps(payload),
                    "RetryPolicy": self._retry,
                    **({"DeadLetterConfig": {"Arn": self._dead_letter}} if self._dead_letter else {}),
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConflictException":
                return  # already scheduled
            raise sdk_failure("scheduler", "CreateSchedule", exc) from exc
        except BotoCoreError as exc:
            raise sdk_failure("scheduler", "CreateSchedule", exc) from exc


class SesEmail:
    """E-mail through SES v2 (HTML with a plain-text alternative)."""

    def __init__(self, sender: str) -> None:
        self._sender = sender

    def send(self, to: str, subject: str, text: str, html: str) -> str:
        if not self._sender:
            raise ConfigurationError("HOD_SENDER_EMAIL is not set: no e-mail can be sent.")
        try:
            response = client("sesv2").send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": text, "Charset": "UTF-8"},
                            "Html": {"Data": html, "Charset": "UTF-8"},
                        },
                    }
                },
            )
        except (ClientError, BotoCoreError) as exc:
            count_channel_failure("email")
            raise sdk_failure("sesv2", "SendEmail", exc) from exc
        return str(response.get("MessageId", ""))


class SnsText:
    """Text messages through SNS (transactional, straight to the phone number)."""

    def send(self, phone: str, text: str) -> str:
        try:
            response = client("sns").publish(
                PhoneNumber=phone,
                Message=text,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        except (ClientError, BotoCoreError) as exc:
            count_channel_failure("text")
            raise sdk_failure("sns", "Publish", exc) from exc
        return str(response.get("MessageId", ""))


class PinpointPush:
    """App push through Pinpoint's messaging API (now AWS End User Messaging); a small adapter so it can be swapped."""

    CHANNELS: ClassVar[dict[str, str]] = {"apns": "APNS", "fcm": "GCM"}

    def __init__(self, application_id: str) -> None:
        self._application_id = application_id

    def send(self, platform: str, token: str, title: str, body: str) -> str:
        if not self._application_id:
            raise ConfigurationError("HOD_PINPOINT_APP_ID is not set: app push is not configured.")
        try:
            response = client("pinpoint").send_messages(
                ApplicationId=self._application_id,
                MessageRequest={
                    "Addresses": {token: {"ChannelType": self.CHANNELS[platform]}},
                    "MessageConfiguration": {
                        "DefaultPushNotificationMessage": {"Title": title, "Body": body, "Action": "OPEN_APP"}
                    },
                },
            )
        except (ClientError, BotoCoreError) as exc:
            count_channel_failure("app")
            raise sdk_failure("pinpoint", "SendMessages", exc) from exc
        result = response["MessageResponse"]["Result"].get(token, {})
        if result.get("DeliveryStatus") not in (None, "SUCCESSFUL"):
            count_channel_failure("app")
            raise DependencyFailed("pinpoint", "SendMessages", str(result.get("DeliveryStatus")))
        return str(result.get("MessageId", ""))


class LambdaSignIns:
    """Sign-in link requests handed to the notify function by an asynchronous invoke (Lambda queues the event and
    retries it), so the request path makes this one call whether or not the address is an agent's."""

    def __init__(self, function_arn: str) -> None:
        self._function = function_arn

    def put(self, email: str, portal_url: str | None) -> None:
        if not self._function:
            raise ConfigurationError("Sign-in links are not configured (HOD_SIGN_IN_FUNCTION_ARN).")
        payload = {"task": "sign_in", "email": email, "portal_url": portal_url}
        try:
            client("lambda").invoke(FunctionName=self._function, InvocationType="Event", Payload=json.dumps(payload))
        except (BotoCoreError, ClientError) as exc:
            raise DependencyFailed("lambda", "Invoke", str(exc)) from exc


class SesBulkEmail:
    """SES v2 bulk sending: one message with inline template content, `{{name}}` placeholders filled per
    destination from its own data (SES's simple substitution, which does not escape: values for the HTML part come
    escaped already). At most 50 destinations a call. One outcome per destination, in order: SES's status
    ("SUCCESS", "ACCOUNT_THROTTLED", ...).

    Made once, not retried by the SDK: the send function paces these calls and backs off itself, knowing how long
    its invocation has left."""

    def __init__(self, sender: str) -> None:
        self._sender = sender

    def send(self, subject: str, text: str, html: str, entries: Sequence[tuple[str, Mapping[str, str]]]) -> list[str]:
        if not self._sender:
            raise ConfigurationError("HOD_SENDER_EMAIL is not set: no e-mail can be sent.")
        try:
            response = client("sesv2", attempts=1).send_bulk_email(
                FromEmailAddress=self._sender,
                DefaultContent={
                    "Template": {
                        "TemplateContent": {"Subject": subject, "Text": text, "Html": html},
                        "TemplateData": "{}",
                    }
                },
                BulkEmailEntries=[
                    {
                        "Destination": {"ToAddresses": [address]},
                        "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": data_json}},
                    }
                    for address, data_json in ((address, json.dumps(data)) for address, data in entries)
                ],
            )
        except (ClientError, BotoCoreError) as exc:
            raise sdk_failure("sesv2", "SendBulkEmail", exc) from exc
        return [str(result.get("Status", "FAILED")) for result in response.get("BulkEmailEntryResults", [])]


class SqsSendQueue:
    """The send queue (SQS, FIFO): messages for the send function, put in batches of ten (and at most 256 KiB a
    batch), each in its message group, de-duplicated by its content for five minutes (a retried put adds nothing).
    Entries SQS refuses in a batch are put again; still refused, the whole put fails as retryable."""

    _TRIES = 3

    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def put(self, messages: Sequence[SafetyNetCalls | HeldMessage]) -> None:
        if not self._url:
            raise ConfigurationError("HOD_SEND_QUEUE_URL is not set: nothing can be queued for sending.")
        batch: list[tuple[str, str]] = []
        size = 0
        for message in messages:
            body = message.model_dump_json()
            if batch and (len(batch) == SQS_BATCH_LIMIT or size + len(body) > SQS_MESSAGE_BYTES):
                self._put_batch(batch)
                batch, size = [], 0
            batch.append((message.message_group, body))
            size += len(body)
        if batch:
            self._put_batch(batch)

    def _put_batch(self, bodies: list[tuple[str, str]]) -> None:
        waiting = dict(enumerate(bodies))
        for _ in range(self._TRIES):
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": body,
                    "MessageGroupId": group,
                    "MessageDeduplicationId": hashlib.sha256(body.encode()).hexdigest(),
                }
                for index, (group, body) in waiting.items()
            ]
            try:
                response = client("sqs").send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise sdk_failure("sqs", "SendMessageBatch", exc) from exc
            waiting = {int(failed["Id"]): waiting[int(failed["Id"])] for failed in response.get("Failed", [])}
            if not waiting:
                return
        raise DependencyFailed("sqs", "SendMessageBatch", f"{len(waiting)} message(s) refused", retryable=True)

    def postpone(self, receipt_handle: str, seconds: int) -> None:
        """Leave a received message on the queue, out of sight for `seconds` (a FIFO queue's way to delay it)."""
        try:
            client("sqs").change_message_visibility(
                QueueUrl=self._url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(SQS_VISIBILITY_LIMIT, seconds)),
            )
        except (ClientError, BotoCoreError) as exc:
            raise sdk_failure("sqs", "ChangeMessageVisibility", exc) from exc
