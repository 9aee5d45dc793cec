"""Run the functions' real handlers in this process when moto's Lambda is invoked (by Step Functions' lambda:invoke
tasks or by boto3), instead of in a container: no Docker needed, and tests run the same definition `sam deploy` ships.

The template decides what runs: a moto function named <prefix><LogicalId> calls that function's Handler, imported from
its CodeUri folder as the Lambda runtime would.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from local.cfn import DEFAULT_PREFIX, PROJECT_ROOT, functions, local_function_names

_imports = threading.Lock()
# How long an asynchronous invocation waits before it runs, as in Lambda's queue (tens of milliseconds or more), so
# that here too its work does not compete with the request that queued it
QUEUE_DELAY_SECONDS = 0.1


def load_function_module(code_uri: str, handler: str) -> ModuleType:
    """Import a function's handler module from its CodeUri folder (once per process), as the Lambda runtime would."""
    module_name = handler.rsplit(".", 1)[0]
    with _imports:
        if module_name in sys.modules:
            return sys.modules[module_name]
        path = PROJECT_ROOT / code_uri / f"{module_name}.py"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module


def resolve_handler(code_uri: str, handler: str) -> Callable[[Any, Any], Any]:
    module = load_function_module(code_uri, handler)
    return getattr(module, handler.rsplit(".", 1)[1])  # type: ignore[no-any-return]


class LocalContext:
    """The part of the Lambda context object the handlers use."""

    def __init__(self, function_name: str, timeout_seconds: int = 60) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Invocations:
    """What the routed functions were asked to do, and a way to wait until none is running."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._active = 0
        self._closed = False
        self._idle = threading.Condition()

    def begin(self, logical_id: str, payload: Any) -> bool:
        with self._idle:
            if self._closed:
                return False
            self._active += 1
            self.calls.append((logical_id, payload))
            return True

    def queue(self) -> bool:
        """An asynchronous invocation accepted, to run shortly (`end` when it has)."""
        with self._idle:
            if self._closed:
                return False
            self._active += 1
            return True

    def end(self) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no routed function is running (an asynchronous invocation included); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout=timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new invocations and wait for the running ones (before the embedded AWS goes away)."""
        with self._idle:
            self._closed = True
            self._idle.wait_for(lambda: self._active == 0, timeout=timeout)


@contextmanager
def route_lambdas_in_process(
    template: Mapping[str, Any], prefix: str = DEFAULT_PREFIX, root: Path = PROJECT_ROOT
) -> Iterator[Invocations]:
    """Patch moto so that invoking <prefix><LogicalId> calls that function's handler here: at once for a
    RequestResponse invocation, on a thread of its own for an asynchronous one (InvocationType Event: the caller
    gets its 202 without waiting, as from Lambda's queue). Yields the invocations as they happen, for tests to
    inspect; on exit, new invocations are refused and running ones are waited for."""
    from moto.awslambda.models import LambdaFunction

    invoke_now = LambdaFunction.invoke

    names = local_function_names(template, prefix)
    specs = {names[logical_id]: spec for logical_id, spec in functions(template).items()}
    invocations = Invocations()

    def invoke(self: Any, event: Any = None) -> tuple[str, bool, str]:
        spec = specs.get(self.function_name)
        if spec is None:
            return json.dumps({"errorType": "ResourceNotFound", "errorMessage": self.function_name}), True, ""
        payload = json.loads(event) if isinstance(event, str | bytes) else (event or {})
        if not invocations.begin(spec.logical_id, payload):
            return json.dumps({"errorType": "ShuttingDown", "errorMessage": "the local stack is stopping"}), True, ""
        try:
            result = resolve_handler(spec.code_uri, spec.handler)(payload, LocalContext(self.function_name))
            return json.dumps(result), False, ""
        except Exception as exc:  # the Lambda runtime's unhandled-error payload
            body = {"errorType": type(exc).__name__, "errorMessage": str(exc), "trace": traceback.format_exc()}
            return json.dumps(body), True, traceback.format_exc()
        finally:
            invocations.end()

    def invoke_as_asked(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        if request_headers.get("x-amz-invocation-type") != "Event":
            return invoke_now(self, body, request_headers, response_headers)
        if not invocations.queue():  # counted as running from now, so waiting until idle waits for it too
            return b""

        def later() -> None:
            try:
                time.sleep(QUEUE_DELAY_SECONDS)  # Lambda's queue: the caller has its answer before the event runs
                _, failed, trace = invoke(self, body or "{}")
                if failed:  # Lambda would retry it twice, then give it to the function's failure destination
                    print(f"asynchronous invocation of {self.function_name} failed:\n{trace}", file=sys.stderr)
            finally:
                invocations.end()

        threading.Thread(target=later, name=f"async-{self.function_name}", daemon=True).start()
        return b""

    with (
        mock.patch.object(LambdaFunction, "_invoke_lambda", invoke),
        mock.patch.object(LambdaFunction, "invoke", invoke_as_asked),
    ):
        try:
            yield invocations
        finally:
            invocations.close()


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """Make moto's DynamoDB answer one request at a time, as the real service applies each request atomically.
    moto's transactions copy tables for rollback and are not safe against concurrent writers; without this, a
    test of twenty simultaneous accepts would test moto's thread safety instead of the service's conditions."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    with mock.patch.object(DynamoHandler, "call_action", call_action):
        yield
