"""What a cold start loads: the intake function's first POST /referrals, in a fresh interpreter (the question is what
that interpreter imports), against the template's resources in moto.

The page renderer, the workflow's tasks and the X-Ray SDK are loaded by the requests and settings that use them
(docs/benchmarks.md, "Cold start and size"); these checks keep them off the consumer's request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import boto3
from moto import mock_aws
from benchmarks._probe import _Context
from benchmarks.coldstart import SENDER, _api_event
from local.cfn import create_local_resources, load_template

LAZY = (
    "hod.api.pages",
    "hod.api.status_page",
    "hod.services.offer_links",
    "hod.services.workflow.tasks",
    "aws_xray_sdk.core",
)
with mock_aws():
    parameters = {"SenderEmail": SENDER, "PlanYear": "2026", "Stage": "probe"}
    env = create_local_resources(boto3.session.Session(), load_template(), parameters=parameters)
    boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER)
    import os
    os.environ.update(env)
    before = [name for name in LAZY if name in sys.modules]
    sys.path.insert(0, sys.argv[1])
    from app import app
    body = {"first_name": "Rosa", "last_name": "Diaz", "phone": "5125557000", "zip": "78702", "language": "es"}
    answer = app(_api_event("/referrals", body), _Context("IntakeFunction"))
    loaded = [name for name in LAZY if name in sys.modules]
    print(json.dumps({"before": before, "status": answer["statusCode"], "loaded": loaded}))
"""


def test_the_intake_s_first_post_of_a_referral_loads_no_page_workflow_task_or_tracing_sdk() -> None:
    # Given a fresh interpreter with the template's resources in moto, none of the lazy modules loaded yet
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HOD_", "POWERTOOLS_"))}
    env |= {
        "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "layers" / "hod"))),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "HelpOnDemand",
    }

    # When the intake function is imported and answers its first POST /referrals
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "functions" / "intake")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    # Then the referral was accepted, and neither the pages, the workflow's tasks nor the X-Ray SDK were loaded
    assert result["before"] == []
    assert result["status"] == 201, done.stdout[-3000:]
    assert result["loaded"] == []
