"""The project's exceptions. Handlers map these to HTTP answers in one place."""

from __future__ import annotations

from collections.abc import Mapping


class HodError(Exception):
    """Base class of every error the service raises on purpose."""


class ValidationFailed(HodError):
    """Input was refused; nothing was changed. `fields` maps a field path to a message."""

    def __init__(self, fields: Mapping[str, str], message: str = "The request has invalid fields.") -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields)


class NotFound(HodError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was not found.")
        self.message = str(self)


class Unauthorized(HodError):
    """Missing, malformed, forged or expired credentials."""

    def __init__(self, message: str = "Sign-in required.") -> None:
        super().__init__(message)
        self.message = message


class Forbidden(HodError):
    def __init__(self, message: str = "You may not do that.") -> None:
        super().__init__(message)
        self.message = message


class Conflict(HodError):
    """The request lost a race or does not fit the current state; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CodeTaken(Conflict):
    """A code a new referral drew is already held (its confirmation code by another referral, its status page's
    short link by another link): nothing was stored; draw again."""


class Unprocessable(HodError):
    """Well-formed input that cannot be acted on as sent (an Idempotency-Key reused with another body); nothing was
    changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(HodError):
    """A required setting is missing or invalid."""


class DeviceGone(HodError):
    """A push service says the device's subscription no longer exists (HTTP 404 or 410): it is to be forgotten."""


class DependencyFailed(HodError):
    """An AWS call failed; the adapter wrapped the SDK error in this. `retryable`: the service was throttling or
    briefly unavailable (after the SDK's own retries), so the same call may succeed later."""

    def __init__(self, service: str, operation: str, detail: str, *, retryable: bool = False) -> None:
        super().__init__(f"{service}.{operation} failed: {detail}")
        self.service = service
        self.operation = operation
        self.retryable = retryable
