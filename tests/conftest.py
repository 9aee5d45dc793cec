"""Shared test set-up: a clean, offline AWS environment for every test (no test may reach a real endpoint)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aws_xray_sdk.core  # noqa: F401  (opens its UDP emitter socket on import: do it before sockets are blocked)
import pytest

from hod import wiring
from local.stack import LOCAL_ENV

# Every AWS call the functions make is checked against their IAM policies when the session ends (tests/iam_check.py).
pytest_plugins = ["tests.iam_check"]

# The local stack's offline environment, with metrics kept on so handlers exercise Powertools' metric flushing.
FAKE_ENV = {
    **LOCAL_ENV,
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_METRICS_DISABLED": "false",
    "POWERTOOLS_DEV": "false",
}


# moto's Step Functions interpreter logs every caught task timeout at ERROR: in this workflow that is the normal end of
# an unanswered offer, not a failure.
logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


@pytest.fixture(autouse=True)
def offline_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "HOD_STATE_MACHINE_ARN"):
        monkeypatch.delenv(name, raising=False)
    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture(autouse=True)
def service_logs_reach_this_tests_output() -> None:
    """Powertools gives the service's logger one stream handler per process, holding the sys.stdout of the moment it
    was made; pytest swaps sys.stdout for every test, so the handler is pointed at this test's."""
    service = logging.getLogger(FAKE_ENV["POWERTOOLS_SERVICE_NAME"])
    for handler in service.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(sys.stdout)


@dataclass
class FakeClock:
    """A clock tests move by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 15, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)
