"""Records, while tests or the local stack run, which AWS calls each function (and the state machine, and EventBridge
Scheduler) makes, as the IAM authorisations they need.

Every botocore client created after `install()` reports each call (botocore's `before-parameter-build` event, which
pynamodb's calls go through too). A call belongs to the principal whose code is running it, found on the calling
thread's stack, innermost first:

- a function's code (its CodeUri folder in template.yaml), however it was invoked: by the local Step Functions,
  a Chalice request, the local scheduler, the local stack's sweep, or a test calling the handler;
- moto's Step Functions interpreter: the template's state machine (its lambda:invoke tasks);
- local/scheduler.py: the role the template lets EventBridge Scheduler assume (the reminders' invocations).

Calls made by none of these (test set-up, seeding, the local stack's own start-up) are not checked.

Each local copy of the stack is a run (`stack_created`): its names and ARNs, to resolve the policies with. A run and
its distinct calls can be written as JSON lines to a file as they happen (the local stack in a subprocess), and read
back by `load`.

In Lambda each function has its own containers, so a value one function fetched is never another's: while recording,
the signing key is fetched by each principal on first use, as its own cold container would.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from local.cfn import DEFAULT_PREFIX, PROJECT_ROOT, LocalResources, functions, provision
from local.iam.actions import Request, UnmappedCall, Where, requests_for

SCHEDULER_SERVICE = "scheduler.amazonaws.com"


@dataclass
class Call:
    principal: str
    operation: str  # botocore service and operation, e.g. "dynamodb.PutItem"
    requests: tuple[Request, ...]
    where: str  # the test (or "local stack") that first made it
    error: str = ""  # why its requests are unknown (an unmapped operation)

    def key(self) -> str:
        return json.dumps([self.principal, self.operation, [r.as_json() for r in self.requests], self.error])


@dataclass
class Run:
    """One local copy of the stack and the distinct calls made against it."""

    number: int
    resources: LocalResources
    parameters: dict[str, str]
    where: str
    calls: dict[str, Call] = field(default_factory=dict)

    @property
    def location(self) -> Where:
        return Where(self.resources.region, self.resources.account_id)


def _resources_json(resources: LocalResources) -> dict[str, Any]:
    return {
        "refs": dict(resources.refs),
        "attributes": [[logical, attribute, value] for (logical, attribute), value in resources.attributes.items()],
        "region": resources.region,
        "account_id": resources.account_id,
        "stack_name": resources.stack_name,
    }


def _resources_from_json(data: Mapping[str, Any]) -> LocalResources:
    return LocalResources(
        refs=dict(data["refs"]),
        attributes={(logical, attribute): value for logical, attribute, value in data["attributes"]},
        region=data["region"],
        account_id=data["account_id"],
        stack_name=data["stack_name"],
    )


def _trusts(role: Mapping[str, Any], service: str) -> bool:
    trust = (role.get("Properties") or {}).get("AssumeRolePolicyDocument") or {}
    for statement in trust.get("Statement") or []:
        services = (statement.get("Principal") or {}).get("Service") or []
        if service in ([services] if isinstance(services, str) else services):
            return True
    return False


def code_principals(template: Mapping[str, Any]) -> dict[str, str]:
    """Folder or file (absolute, as Python reports code locations) → the principal whose code it is."""
    import moto.stepfunctions

    owners = {str((PROJECT_ROOT / spec.code_uri).resolve()): logical for logical, spec in functions(template).items()}
    resources = template["Resources"]
    machines = [name for name, r in resources.items() if r.get("Type") == "AWS::Serverless::StateMachine"]
    # With several candidates a call cannot be attributed: it is given a name no template resource has, so the
    # check reports it instead of passing it.
    owners[str(Path(moto.stepfunctions.__file__).resolve().parent)] = _one(machines, "state machine")
    schedulers = [
        name for name, r in resources.items() if r.get("Type") == "AWS::IAM::Role" and _trusts(r, SCHEDULER_SERVICE)
    ]
    owners[str(PROJECT_ROOT / "local" / "scheduler.py")] = _one(schedulers, "role trusting scheduler.amazonaws.com")
    return owners


def _one(names: list[str], what: str) -> str:
    return names[0] if len(names) == 1 else f"(no single {what}: {', '.join(names) or 'none'})"


class Recorder:
    def __init__(self, template: Mapping[str, Any], sink: Path | None = None) -> None:
        self._owners = sorted(code_principals(template).items(), key=lambda item: -len(item[0]))
        self._by_file: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._sink = sink
        self.runs: list[Run] = []
        self.where = "local stack"
        self.outside_runs: list[Call] = []  # calls by a principal while no local stack was registered

    # --- attribution ----------------------------------------------------------------------------------------
    def _owner(self, filename: str) -> str | None:
        found = self._by_file.get(filename, "")
        if found == "":
            found = next((p for root, p in self._owners if filename == root or filename.startswith(root + "/")), None)
            self._by_file[filename] = found
        return found

    def principal(self, frame: FrameType | None = None) -> str | None:
        """The principal whose code is running on this thread (innermost first), if any."""
        frame = frame or sys._getframe(1)
        while frame is not None:
            owner = self._owner(frame.f_code.co_filename)
            if owner:
                return owner
            frame = frame.f_back
        return None

    # --- recording ------------------------------------------------------------------------------------------
    def start_run(self, resources: LocalResources, parameters: Mapping[str, Any]) -> Run:
        with self._lock:
            run = Run(len(self.runs), resources, {k: str(v) for k, v in parameters.items()}, self.where)
            self.runs.append(run)
            self._write({"run": run.number, "resources": _resources_json(resources), "parameters": run.parameters})
        return run

    def on_call(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        principal = self.principal(sys._getframe(1))
        if principal is None:
            return
        service, operation = model.service_model.service_name, model.name
        run = self.runs[-1] if self.runs else None
        where = run.location if run else Where("us-east-1", "000000000000")
        try:
            call = Call(
                principal, f"{service}.{operation}", tuple(requests_for(service, operation, params, where)), self.where
            )
        except UnmappedCall as exc:
            call = Call(principal, f"{service}.{operation}", (), self.where, error=str(exc))
        with self._lock:
            if run is None:
                self.outside_runs.append(call)
                return
            key = call.key()
            if key not in run.calls:
                run.calls[key] = call
                self._write({"run": run.number, "call": _call_json(call)})

    def _write(self, line: Mapping[str, Any]) -> None:
        if self._sink is not None:
            with self._sink.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")


def _call_json(call: Call) -> dict[str, Any]:
    return {
        "principal": call.principal,
        "operation": call.operation,
        "requests": [r.as_json() for r in call.requests],
        "where": call.where,
        "error": call.error,
    }


def dump(runs: list[Run], path: Path) -> None:
    """Write runs and their calls as JSON lines, in the format `load` reads."""
    with path.open("w", encoding="utf-8") as out:
        for number, run in enumerate(runs):
            header = {"run": number, "resources": _resources_json(run.resources), "parameters": run.parameters}
            out.write(json.dumps(header) + "\n")
            for call in run.calls.values():
                out.write(json.dumps({"run": number, "call": _call_json(call)}) + "\n")


def load(path: Path) -> list[Run]:
    """The runs a recorder wrote to `path` (JSON lines)."""
    runs: dict[int, Run] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        if "resources" in data:
            runs[data["run"]] = Run(data["run"], _resources_from_json(data["resources"]), data["parameters"], str(path))
        else:
            raw = data["call"]
            call = Call(
                raw["principal"],
                raw["operation"],
                tuple(Request.from_json(r) for r in raw["requests"]),
                raw["where"],
                raw.get("error", ""),
            )
            runs[data["run"]].calls[call.key()] = call
    return list(runs.values())


# --- The process's recorder -----------------------------------------------------------------------------------

_installed: list[Recorder] = []


def active() -> Recorder | None:
    return _installed[0] if _installed else None


def install(template: Mapping[str, Any], sink: Path | None = None) -> Recorder:
    """Record the calls of every botocore client created from now on (once per process)."""
    if _installed:
        return _installed[0]
    import botocore.handlers

    recorder = Recorder(template, sink)
    botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", recorder.on_call))
    _per_principal_keys(recorder)
    _installed.append(recorder)
    return recorder


def _per_principal_keys(recorder: Recorder) -> None:
    """The signing key is fetched once per principal (its own container) instead of once per process."""
    from hod.adapters.aws import SecretsManagerKeys

    original = SecretsManagerKeys._key
    lock = threading.Lock()

    def key(self: SecretsManagerKeys, stage: str) -> Any:
        principal = recorder.principal(sys._getframe(1))
        with lock:
            seen: set[tuple[str | None, str]] = self.__dict__.setdefault("_fetched_by", set())
            first = (principal, stage) not in seen
            seen.add((principal, stage))
        if first and principal is not None:
            self._fetch(stage)
        return original(self, stage)

    SecretsManagerKeys._key = key  # type: ignore[method-assign]


def stack_created(
    session: Any, template: Mapping[str, Any], parameters: Mapping[str, Any], prefix: str = DEFAULT_PREFIX
) -> None:
    """A local copy of the stack now exists (made by local.cfn.create_local_resources with these arguments): calls
    from now on are checked against the policies resolved to its names. Nothing happens when nothing records."""
    recorder = active()
    if recorder is None:
        return
    # provision() reuses what exists: here it only reads back the names and ARNs the copy was given
    recorder.start_run(provision(session, template, prefix, parameters), parameters)


def runs_in(paths: Iterator[Path]) -> list[Run]:
    return [run for path in paths for run in load(path)]


def record_into(directory: Path) -> Recorder:
    """Install the recorder, writing this process's runs and calls to a JSON-lines file in `directory`."""
    from local.cfn import load_template

    directory.mkdir(parents=True, exist_ok=True)
    return install(load_template(), directory / f"local-stack-{os.getpid()}.jsonl")
