"""One cold start, in a fresh interpreter: run as a script so that nothing but the standard library is imported
before the clock starts.

    python benchmarks/_probe.py boto3 '{}' OUT.json
    python benchmarks/_probe.py floor '{"table": ...}' OUT.json
    python benchmarks/_probe.py function '{"code_dir": ..., "module": ..., "attribute": ..., "event": ...}' OUT.json

Measures the handler module's import (what the Lambda runtime does in INIT) and its first invocation, as the
function's own directory first on sys.path (Lambda's /var/task) and the shared package where the layer puts it.
With "compile": true it then times compiling, from source, every non-standard-library module that was loaded: what
a package shipped without bytecode (as `sam build` ships) adds to every cold start.

"floor" is what any function built on this stack does before any of the project's own code runs: botocore's session
and one DynamoDB client (as the functions make them: botocore's, not boto3's), one GetItem, pydantic with one model
validated, Powertools' Logger and Metrics, and pynamodb's models. No function's cold start can be below it.
"""

from __future__ import annotations

import importlib
import json
import sys
import sysconfig
import time
import uuid


class _Context:
    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "probe"
        self._deadline = time.monotonic() + 15

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _compile_seconds() -> tuple[float, int]:
    stdlib = sysconfig.get_paths()["stdlib"]
    total, count = 0.0, 0
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if not path.endswith(".py") or (path.startswith(stdlib) and "site-packages" not in path):
            continue
        try:
            with open(path, "rb") as source:
                text = source.read()
        except OSError:
            continue
        started = time.perf_counter()
        compile(text, path, "exec", dont_inherit=True)
        total += time.perf_counter() - started
        count += 1
    return total, count


def _floor(table: str) -> tuple[float, float]:
    """The stack's own share of a cold start (see the module's docstring): its imports, then a client and a call."""
    started = time.perf_counter()
    import botocore.session
    import pydantic
    import pynamodb.models  # noqa: F401
    from aws_lambda_powertools import Logger, Metrics

    class Probe(pydantic.BaseModel):
        referral_id: str
        attempts: int = 0

    Probe.model_validate({"referral_id": "r1"})
    Logger()
    Metrics()
    imported = time.perf_counter()
    client = botocore.session.get_session().create_client("dynamodb")
    client.get_item(TableName=table, Key={"pk": {"S": "REF#probe"}, "sk": {"S": "REFERRAL"}})
    return imported - started, time.perf_counter() - imported


def main() -> None:
    kind, raw, out = sys.argv[1], sys.argv[2], sys.argv[3]
    del sys.path[0]  # this script's folder: the function sees only its own code, the layer and the runtime
    spec = json.loads(raw)
    started = time.perf_counter()
    result: dict[str, object] = {}
    if kind == "boto3":
        import boto3  # noqa: F401

        result["import_s"] = time.perf_counter() - started
        result["invoke_s"] = 0.0
    elif kind == "floor":
        result["import_s"], result["invoke_s"] = _floor(spec["table"])
    else:
        sys.path.insert(0, spec["code_dir"])
        module = importlib.import_module(spec["module"])
        handler = getattr(module, spec["attribute"])
        imported = time.perf_counter()
        response = handler(spec["event"], _Context(spec["function_name"]))
        finished = time.perf_counter()
        result["import_s"] = imported - started
        result["invoke_s"] = finished - imported
        result["response"] = response if isinstance(response, dict) else str(response)
    result["total_s"] = time.perf_counter() - started
    result["modules"] = len(sys.modules)
    if spec.get("compile"):
        result["compile_s"], result["compiled_modules"] = _compile_seconds()
    with open(out, "w", encoding="utf-8") as stream:
        json.dump(result, stream, default=str)


if __name__ == "__main__":
    main()
