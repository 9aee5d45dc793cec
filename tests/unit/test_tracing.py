"""The functions' tracing: the X-Ray SDK is loaded only when AWS calls are traced (hod/tracing.py).

Each case runs in a fresh interpreter, because the question is what a cold start loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "HOD_AGENTS_TABLE": "agents",
    "HOD_AVAILABLE_TABLE": "available",
    "HOD_REFERRALS_TABLE": "referrals",
    "HOD_IDEMPOTENCY_TABLE": "idempotency",
    "HOD_SIGNING_SECRET_ID": "secret",
    "HOD_PLAN_YEAR": "2026",
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here: the Tracer records nothing, but is loaded
}
PROBE = """
import json, sys
from hod.tracing import traced

@traced
def handler(event, context):
    return {"echo": event, "sdk_loaded_when_called": "aws_xray_sdk.core" in sys.modules}

loaded_at_import = "aws_xray_sdk.core" in sys.modules
answer = handler({"n": 1}, None)
again = handler({"n": 2}, None)
print(json.dumps({"loaded_at_import": loaded_at_import, "answer": answer, "again": again,
                  "loaded_after": "aws_xray_sdk.core" in sys.modules}))
"""


def run_probe(trace_aws_calls: str | None) -> dict[str, object]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HOD_", "POWERTOOLS_"))}
    env |= SETTINGS | {"PYTHONPATH": str(ROOT / "layers" / "hod")}
    if trace_aws_calls is not None:
        env["HOD_TRACE_AWS_CALLS"] = trace_aws_calls
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("setting", [None, "false"])
def test_untraced_functions_never_load_the_x_ray_sdk(setting: str | None) -> None:
    # Given a function whose AWS calls are not traced (the template's default)
    # When it is imported and invoked twice
    result = run_probe(setting)
    # Then its handler answers as it is, and the X-Ray SDK was loaded neither at import nor on the invocations
    assert result["answer"] == {"echo": {"n": 1}, "sdk_loaded_when_called": False}
    assert result["again"] == {"echo": {"n": 2}, "sdk_loaded_when_called": False}
    assert (result["loaded_at_import"], result["loaded_after"]) == (False, False)


def test_traced_functions_load_the_tracer_on_their_first_invocation_not_at_import() -> None:
    # Given a function whose AWS calls are traced (TraceAwsCalls=true)
    # When it is imported and invoked twice
    result = run_probe("true")
    # Then the import loads no X-Ray SDK; the first invocation runs inside Powertools' Tracer, which loaded it
    assert result["loaded_at_import"] is False
    assert result["answer"] == {"echo": {"n": 1}, "sdk_loaded_when_called": True}
    assert result["again"] == {"echo": {"n": 2}, "sdk_loaded_when_called": True}
