"""Small AWS adapters: the signing keys from Secrets Manager, the referral workflow on Step Functions, the clock."""

from __future__ import annotations

import functools
import json
import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from hod.domain.referral import Referral
from hod.errors import ConfigurationError, DependencyFailed
from hod.signing import KeyRing, SigningKey


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


_clients_lock = threading.Lock()


@functools.cache
def _client(service: str) -> Any:
    return boto3.session.Session().client(service)  # type: ignore[call-overload]


def client(service: str) -> Any:
    """One boto3 client per service per process, created on first use (not at import). Creating clients is not
    thread-safe in botocore, so creation is serialised; using them is safe."""
    with _clients_lock:
        return _client(service)


class SecretsManagerKeys:
    """The HMAC key ring: AWSCURRENT signs; AWSPREVIOUS still verifies (rotation grace). Cached for `max_age`."""

    def __init__(self, secret_id: str, max_age_seconds: int = 300) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._cached: tuple[float, KeyRing] | None = None

    def key_ring(self) -> KeyRing:
        now = datetime.now(UTC).timestamp()
        if self._cached and now - self._cached[0] < self._max_age:
            return self._cached[1]
        current = self._fetch("AWSCURRENT")
        if current is None:
            raise ConfigurationError(f"Signing secret {self._secret_id} has no current value.")
        previous = self._fetch("AWSPREVIOUS")
        ring = KeyRing(current=current, previous=(previous,) if previous and previous != current else ())
        self._cached = (now, ring)
        return ring

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

    def __init__(self, state_machine_arn: str) -> None:
        self._arn = state_machine_arn

    def start(self, referral: Referral) -> str:
        try:
            response = client("stepfunctions").start_execution(
                stateMachineArn=self._arn,
                name=referral.referral_id,
                input=json.dumps({"referral_id": referral.referral_id}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return f"{self._arn.replace(':stateMachine:', ':execution:')}:{referral.referral_id}"
            raise DependencyFailed("stepfunctions", "StartExecution", str(exc)) from exc
        except BotoCoreError as exc:
            raise DependencyFailed("stepfunctions", "StartExecution", str(exc)) from exc
        return str(response["executionArn"])


class DeferredWorkflow:
    """Used while no state machine is configured: the referral is stored and waits for matching to be run."""

    def start(self, referral: Referral) -> str:
        return f"deferred:{referral.referral_id}"


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
            raise DependencyFailed("pinpoint", "SendMessages", str(exc)) from exc
        result = response["MessageResponse"]["Result"].get(token, {})
        if result.get("DeliveryStatus") not in (None, "SUCCESSFUL"):
            raise DependencyFailed("pinpoint", "SendMessages", str(result.get("DeliveryStatus")))
        return str(result.get("MessageId", ""))
