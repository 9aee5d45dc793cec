"""Cold start of each function beside `import boto3` alone, and the built size of each function and the layer.

Each measurement is a fresh interpreter (`benchmarks/_probe.py`) that imports the handler module and invokes it
once, against moto running as a server in this process (so the probe imports nothing of moto, and its calls cross
a real socket). The probe runs with the function's Lambda environment from template.yaml and Lambda's markers set,
as deployed (Tracing: Active; the X-Ray SDK only with `TraceAwsCalls`, see hod/tracing.py). Bytecode caches are
warm (.venv has __pycache__); `compile_s` says what compiling the loaded non-standard-library modules from source
costs, which is what every cold start pays when the package ships without .pyc files (as `sam build` builds it).

The data each probe needs (agents, a referral to match, a pending offer to notify, one to expire) is seeded by a
separate interpreter (`python -m benchmarks.coldstart seed`) through the same server.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
PROBE = PROJECT / "benchmarks" / "_probe.py"
BUILD = PROJECT / ".aws-sam" / "build"
FUNCTIONS = {
    "intake": ("IntakeFunction", "functions/intake", "app", "app"),
    "match": ("MatchFunction", "functions/match", "match_handler", "handler"),
    "notify": ("NotifyFunction", "functions/notify", "notify_handler", "handler"),
    "expire": ("ExpireFunction", "functions/expire", "expire_handler", "handler"),
}
AUSTIN_ZIPS = ("78702", "78701", "78703", "78704", "78705", "78721")
SENDER = "offers@help-on-demand.example"


def _api_event(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event as Chalice reads it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "Host": "api.example.org"},
        "multiValueHeaders": {"Content-Type": ["application/json"], "Host": ["api.example.org"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "probe",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


# ----- seeding (run in its own interpreter) ----------------------------------------------------------------------


def seed(repeats: int) -> dict[str, Any]:
    """Create the stack's resources in the server AWS_ENDPOINT_URL points at, and what each probe will act on."""
    import boto3

    from hod import wiring
    from hod.domain.availability import WeeklySchedule
    from hod.domain.offer import OfferStatus
    from hod.domain.referral import ConsumerRequest
    from local.cfn import create_local_resources, load_template

    template = load_template()
    declared = template.get("Parameters") or {}
    parameters = {
        name: value
        for name, value in {"SenderEmail": SENDER, "PlanYear": "2026", "Stage": "probe"}.items()
        if name in declared
    }
    env = create_local_resources(boto3.session.Session(), template, parameters=parameters)
    boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER)
    os.environ.update({k: v for k, v in env.items() if k != "HOD_STATE_MACHINE_ARN"})
    wiring.reset()
    always = {
        "days": {
            d: {"enabled": True, "start": "00:00", "end": "24:00", "breaks": []}
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        }
    }
    records = [
        {
            "npn": str(301 + i),
            "first_name": "Ana",
            "last_name": "García",
            "email": f"agent{301 + i}@example.com",
            "phone": "(512) 555-0142",
            "business_address": {
                "street": "1 Main St",
                "city": "Austin",
                "state": "TX",
                "zip": AUSTIN_ZIPS[i % len(AUSTIN_ZIPS)],
            },
            "home_state": "TX",
            "licences": [{"state": "TX", "status": "active", "lines_of_authority": ["health"]}],
            "ffm_registration_plan_year": 2026,
            "ffm_registration_listed": True,
            "hod_training_complete": True,
            "display_option": 1,
            "languages": ["en", "es"],
            "contact_method": "email_only",
        }
        # One agent for every offer the runs leave pending or accepted: each holds one at a time (capacity 1)
        for i in range(4 * (repeats + 1))
    ]
    agents = wiring.services.agents()
    agents.import_agents(records)
    for record in records:
        agents.set_weekly_schedule(str(record["npn"]), WeeklySchedule.model_validate(always))

    def referral(serial: int) -> str:
        request = ConsumerRequest(
            first_name="Rosa", last_name="Díaz", phone=f"51255501{serial:02d}", zip="78702", language="es"
        )
        return wiring.services.intake().submit(request).referral_id

    def offer_state(referral_id: str) -> dict[str, Any]:
        """The Offer task's input for a referral's first round, as the state machine passes it."""
        stored = wiring.adapters.referral_store().get(referral_id)
        assert stored is not None
        start = wiring.services.intake().workflow_start(stored, {"email": "sent"}, stored.created_at)
        return start.model_dump(mode="json")

    def pending_offer(serial: int) -> tuple[str, str]:
        referral_id = referral(serial)
        step = wiring.workflow.workflow_tasks().offer_round(offer_state(referral_id), f"seed-token-{serial}")
        offers = [o for o in wiring.adapters.workflow_store().offers(referral_id) if o.status is OfferStatus.PENDING]
        if step.next != "offer" or not offers:
            raise RuntimeError(f"no offer to seed: {step}")
        return referral_id, offers[0].agent_npn

    def accepted(serial: int) -> str:
        referral_id, npn = pending_offer(serial)
        wiring.workflow.answers().accept(referral_id, npn, via="link")
        return referral_id

    runs = []
    for r in range(repeats + 1):
        expire_referral, _ = pending_offer(4 * r + 1)
        match_referral = referral(4 * r + 2)
        runs.append(
            {
                "intake": _api_event(
                    "/referrals",
                    {
                        "first_name": "Rosa",
                        "last_name": "Díaz",
                        "phone": f"512555{7000 + r:04d}",
                        "zip": "78702",
                        "language": "es",
                    },
                ),
                "match": {
                    "task": "offer",
                    "task_token": f"probe-token-{r}",
                    "execution": "probe",
                    "state": offer_state(match_referral),
                },
                "notify": {"task": "reminder", "referral_id": accepted(4 * r + 3), "after_minutes": 15},
                "expire": {"task": "offer_lapsed", "referral_id": expire_referral},
            }
        )
    return {"env": env, "runs": runs}


# ----- measuring -------------------------------------------------------------------------------------------------


def _probe(kind: str, spec: dict[str, Any], env: dict[str, str], python_flags: tuple[str, ...] = ()) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as out:
        path = out.name
    try:
        completed = subprocess.run(
            [sys.executable, *python_flags, str(PROBE), kind, json.dumps(spec), path],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"probe {kind} {spec.get('module')} failed: {completed.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        result["stderr"] = completed.stderr
        return result
    finally:
        os.unlink(path)


def _lambda_env(base: dict[str, str], logical_id: str, code_dir: str) -> dict[str, str]:
    return {
        **base,
        "AWS_LAMBDA_FUNCTION_NAME": f"hod-{logical_id}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "LAMBDA_TASK_ROOT": str(PROJECT / code_dir),
        "_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "POWERTOOLS_METRICS_DISABLED": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _top_imports(stderr: str, count: int = 8) -> list[tuple[str, float]]:
    """The slowest top-level imports in `python -X importtime` output (cumulative seconds)."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(fields) != 3 or not fields[1].strip().isdigit():
            continue
        name = fields[2]
        if len(name) - len(name.lstrip()) != 1:  # nested imports are indented further
            continue
        totals[name.strip()] = totals.get(name.strip(), 0.0) + int(fields[1]) / 1e6
    return [(name, round(seconds, 3)) for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:count]]


def _directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _zipped_bytes(path: Path) -> int:
    with tempfile.TemporaryFile() as buffer:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for f in sorted(path.rglob("*")):
                if f.is_file():
                    archive.write(f, f.relative_to(path))
        buffer.seek(0, os.SEEK_END)
        return buffer.tell()


def sizes() -> dict[str, Any]:
    """Unzipped and zipped size of each built artifact in .aws-sam/build (from `make build`)."""
    if not BUILD.is_dir():
        return {"source": "no .aws-sam/build: run `make build` first", "layer": None}
    built_at = (BUILD.parent / "build.toml").stat().st_mtime if (BUILD.parent / "build.toml").exists() else None
    newest_source = max(f.stat().st_mtime for d in ("layers/hod/hod", "functions") for f in (PROJECT / d).rglob("*.py"))
    found: dict[str, Any] = {
        "source": ".aws-sam/build from `make build` (sam build, python3.13, arm64)",
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(built_at)) if built_at else None,
        "older_than_sources": bool(built_at and built_at < newest_source),
    }
    artifacts = {"layer": "HodLayer", **{name: spec[0] for name, spec in FUNCTIONS.items()}}
    for name, folder in artifacts.items():
        path = BUILD / folder
        found[name] = _directory_bytes(path) if path.is_dir() else None
        found[f"{name}_zipped"] = _zipped_bytes(path) if path.is_dir() else None
    found["pyc_files_in_build"] = sum(1 for _ in BUILD.rglob("*.pyc"))
    found["botocore_in_layer"] = (BUILD / "HodLayer" / "python" / "botocore").is_dir()
    found["botocore_in_intake"] = (BUILD / "IntakeFunction" / "botocore").is_dir()
    return found


def run(progress: Callable[[str], None], repeats: int = 5) -> dict[str, Any]:
    from benchmarks.motoproxy import serve

    with serve() as endpoint:
        base = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TZ": "UTC",
            "AWS_ACCESS_KEY_ID": "probe",
            "AWS_SECRET_ACCESS_KEY": "probe",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_SERVICE_NAME": "help-on-demand",
            "POWERTOOLS_METRICS_NAMESPACE": "HelpOnDemand",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONPATH": str(PROJECT),
        }
        seeded = subprocess.run(
            [sys.executable, "-m", "benchmarks.coldstart", "seed", str(repeats)],
            env=base,
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if seeded.returncode != 0:
            raise RuntimeError(f"seeding failed: {seeded.stderr[-3000:]}")
        data = json.loads(seeded.stdout.strip().splitlines()[-1])
        env = {**base, **data["env"]}
        del env["PYTHONPATH"]  # the function finds its own folder first, then the installed `hod` package
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in ("boto3", "floor", *FUNCTIONS)}
        order = ["boto3", "floor", *FUNCTIONS]
        for r in range(repeats + 1):  # the first round warms the OS file cache and is not kept
            for name in order[r % len(order) :] + order[: r % len(order)]:
                if name == "boto3":
                    result = _probe("boto3", {}, env)
                elif name == "floor":
                    result = _probe("floor", {"table": env["HOD_REFERRALS_TABLE"]}, env)
                else:
                    logical_id, code_dir, module, attribute = FUNCTIONS[name]
                    spec = {
                        "code_dir": str(PROJECT / code_dir),
                        "module": module,
                        "attribute": attribute,
                        "function_name": logical_id,
                        "event": data["runs"][r][name],
                        "compile": r == repeats,
                    }
                    result = _probe("function", spec, _lambda_env(env, logical_id, code_dir))
                if r:
                    samples[name].append(result)
            progress(f"cold start round {r + 1}/{repeats + 1}")
        found: dict[str, Any] = {"repeats": repeats, "python": sys.version.split()[0]}
        boto3_s = statistics.median(s["total_s"] for s in samples["boto3"])
        found["boto3_s"] = round(boto3_s, 3)
        # What the stack itself costs before any of the project's code (benchmarks/_probe.py, "floor")
        floor = samples["floor"]
        found["floor_s"] = round(statistics.median(s["total_s"] for s in floor), 3)
        found["floor_import_s"] = round(statistics.median(s["import_s"] for s in floor), 3)
        found["floor_first_call_s"] = round(statistics.median(s["invoke_s"] for s in floor), 3)
        found["floor_ratio_to_boto3"] = round(found["floor_s"] / boto3_s, 1)
        found["floor_modules"] = floor[-1]["modules"]
        for name in FUNCTIONS:
            runs = samples[name]
            found[f"{name}_s"] = round(statistics.median(s["total_s"] for s in runs), 3)
            found[f"{name}_import_s"] = round(statistics.median(s["import_s"] for s in runs), 3)
            found[f"{name}_first_invocation_s"] = round(statistics.median(s["invoke_s"] for s in runs), 3)
            found[f"{name}_ratio_to_boto3"] = round(found[f"{name}_s"] / boto3_s, 1)
            found[f"{name}_modules"] = runs[-1]["modules"]
            found[f"{name}_compile_s"] = round(float(runs[-1].get("compile_s", 0.0)), 3)
            found[f"{name}_response"] = runs[-1].get("response")
        found["boto3_modules"] = samples["boto3"][-1]["modules"]
        importtime: dict[str, Any] = {}
        for name, (logical_id, code_dir, module, attribute) in FUNCTIONS.items():
            spec = {
                "code_dir": str(PROJECT / code_dir),
                "module": module,
                "attribute": attribute,
                "function_name": logical_id,
                "event": data["runs"][0][name],  # already acted on in the warm-up round: a harmless repeat
            }
            traced = _probe("function", spec, _lambda_env(env, logical_id, code_dir), ("-X", "importtime"))
            importtime[name] = _top_imports(traced["stderr"])
        found["slowest_imports_s"] = importtime
        return found


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        print(json.dumps(seed(int(sys.argv[2]))))
