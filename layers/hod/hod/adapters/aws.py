"""Small AWS adapters: the signing keys from Secrets Manager, the referral workflow on Step Functions, reminders on
EventBridge Scheduler, e-mail, text and push, the clock."""

from __future__ import annotations

import functools
import json
import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from hod.adapters.telemetry import count_channel_failure
from hod.domain.referral import WorkflowStart
from hod.errors import ConfigurationError, DependencyFailed
from hod.signing import KeyRing, SigningKey


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


_clients_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@functools.cache
def _client(service: str) -> Any:
    # One session for every client: each botocore session loads its own copy of the endpoint and retry data.
    return _session().client(service)  # type: ignore[call-overload]


def client(service: str) -> Any:
    """One boto3 client per service per process, created on first use (not at import). Creating clients is not
    thread-safe in botocore, so creation is serialised; using them is safe."""
    with _clients_lock:
        return _client(service)


def forget_clients() -> None:
    """Drop the cached session and clients (tests and the local stack, after changing the environment)."""
    with _clients_lock:
        _client.cache_clear()
        _session.cache_clear()


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
            raise DependencyFailed("secretsmanager", "GetSecretValue", str(exc)) from exc
        except BotoCoreError as exc:
            raise DependencyFailed("secretsmanager", "GetSecretValue", str(exc)) from exc
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
            raise DependencyFailed("stepfunctions", "StartExecution", str(exc)) from exc
        except BotoCoreError as exc:
            raise DependencyFailed("stepfunctions", "StartExecution", str(exc)) from exc
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
            raise DependencyFailed("stepfunctions", operation, str(exc)) from exc
        except BotoCoreError as exc:
            raise DependencyFailed("stepfunctions", operation, str(exc)) from exc
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

    def schedule(self, referral_id: str, after_minutes: int, at: datetime) -> None:
        if not (self._target and self._role and self._group):
            raise ConfigurationError("Reminders are not configured (HOD_REMINDER_* variables).")
        payload = {"task": "reminder", "referral_id": referral_id, "after_minutes": after_minutes}
        try:
            client("scheduler").create_schedule(
                Name=f"r-{referral_id}-{after_minutes}"[:64],
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
            raise DependencyFailed("scheduler", "CreateSchedule", str(exc)) from exc
        except BotoCoreError as exc:
            raise DependencyFailed("scheduler", "CreateSchedule", str(exc)) from exc


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
            raise DependencyFailed("sesv2", "SendEmail", str(exc)) from exc
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
            raise DependencyFailed("sns", "Publish", str(exc)) from exc
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
            raise DependencyFailed("pinpoint", "SendMessages", str(exc)) from exc
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
