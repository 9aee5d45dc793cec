"""Integration tests run the real handlers and adapters against moto, with resources built from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from hod import wiring
from local.cfn import create_local_resources, load_template

PARAMETERS = {"SenderEmail": "offers@help-on-demand.example", "PlanYear": "2026", "Stage": "test"}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A fresh local copy of the stack's tables and secret in moto; the process environment points at it."""
    with mock_aws():
        env = create_local_resources(boto3.session.Session(), load_template(), parameters=PARAMETERS)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("HOD_STATE_MACHINE_ARN", raising=False)
        wiring.reset()
        yield env
        wiring.reset()
