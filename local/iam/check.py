"""Checks recorded calls against the template's IAM: every call each principal made must be allowed by its role's
policies as `sam deploy` creates them, resolved to the names of the local copy of the stack it was made against.

    python -m local.iam.check RECORD.jsonl...      (files written by `HOD_IAM_RECORD=... python -m local.stack`)
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.cfn import TemplateError, load_template
from local.iam.evaluate import UnsupportedPolicy, decide, statements
from local.iam.policies import Principal, Resolver, expand, principals
from local.iam.recorder import Call, Run, load


@dataclass
class Finding:
    principal: str
    action: str
    resource: str
    operation: str
    where: str
    reason: str  # "implicitly denied", "denied by <Sid>", or why the call could not be checked
    runs: int = 1

    def line(self) -> str:
        shown = (
            f"{self.principal}: {self.action} on {self.resource}"
            if self.action
            else f"{self.principal}: {self.operation}"
        )
        return f"{shown} — {self.reason} ({self.operation}, first in {self.where}; {self.runs} run(s))"


@dataclass
class Report:
    calls: int = 0
    runs: int = 0
    principals: set[str] = field(default_factory=set)
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, key_resource: str, finding: Finding) -> None:
        key = (finding.principal, finding.action or finding.operation, key_resource, finding.reason)
        if key in self.findings:
            self.findings[key].runs += 1
        else:
            self.findings[key] = finding

    def text(self) -> str:
        head = (
            f"IAM check: {self.calls} distinct calls by {len(self.principals)} principals "
            f"({', '.join(sorted(self.principals)) or 'none'}) in {self.runs} local stacks"
        )
        if self.ok:
            return head + ": every call is allowed."
        lines = [f"{head}: {len(self.findings)} not allowed:"]
        lines += [f"  {finding.line()}" for finding in sorted(self.findings.values(), key=lambda f: f.line())]
        return "\n".join(lines)


def _generic(resource: str, run: Run) -> str:
    """`resource` with the names this run gave the stack's resources replaced by their logical ids, so the same
    finding in many runs (a secret's ARN differs in each) is reported once."""
    names = [(str(v), k) for k, v in run.resources.refs.items()]
    names += [(str(v), f"{k[0]}.{k[1]}") for k, v in run.resources.attributes.items()]
    for value, logical in sorted(names, key=lambda item: -len(item[0])):
        if value and value in resource:
            resource = resource.replace(value, "{" + logical + "}")
    return re.sub(r":\d{12}:", ":{account}:", resource)


class _Policies:
    """Each principal's statements, resolved once per (run's resources, parameters)."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self._expanded = expand(template)
        self._principals = principals(self._expanded)
        self._cache: dict[str, dict[str, list[tuple[str, Mapping[str, Any]]]]] = {}

    def principal(self, name: str) -> Principal | None:
        return self._principals.get(name)

    def statements(self, run: Run) -> dict[str, list[tuple[str, Mapping[str, Any]]]]:
        key = repr(
            (
                sorted(run.resources.refs.items()),
                sorted(run.resources.attributes.items()),
                sorted(run.parameters.items()),
            )
        )
        if key not in self._cache:
            resolver = Resolver(self._expanded, run.resources, run.parameters)
            self._cache[key] = {
                name: statements(resolver.resolve(list(p.documents))) for name, p in self._principals.items()
            }
        return self._cache[key]


def check(runs: Iterable[Run], template: Mapping[str, Any] | None = None, unplaced: Iterable[Call] = ()) -> Report:
    """Judge every recorded call of `runs` against `template` (template.yaml when not given). `unplaced` calls,
    made while no local copy of the stack was registered, cannot be judged and are reported as such."""
    policies = _Policies(template if template is not None else load_template())
    report = Report()
    for call in unplaced:
        reason = "not checked: made while no local stack was registered with the recorder"
        report.add("", Finding(call.principal, "", "", call.operation, call.where, reason))
    for run in runs:
        report.runs += 1
        try:
            resolved = policies.statements(run)
        except TemplateError as exc:
            report.add("", Finding("(template)", "", "", "", run.where, f"policies cannot be resolved: {exc}"))
            continue
        for call in list(run.calls.values()):  # (a stack's background workers may still be recording calls)
            report.calls += 1
            report.principals.add(call.principal)
            _judge(report, run, call, policies.principal(call.principal), resolved.get(call.principal, []))
    return report


def _judge(report: Report, run: Run, call: Call, principal: Principal | None, labelled: list[Any]) -> None:
    if call.error:
        report.add("", Finding(call.principal, "", "", call.operation, call.where, f"not checked: {call.error}"))
        return
    if principal is None or not principal.role:
        why = "has no role in the template" if principal is not None else "is not in the template"
        report.add("", Finding(call.principal, "", "", call.operation, call.where, f"not checked: the principal {why}"))
        return
    location = run.location
    for request in call.requests:
        try:
            decision = decide(labelled, request, location.region, location.account)
        except UnsupportedPolicy as exc:
            reason = f"not checked: {exc}"
        else:
            if decision.allowed:
                continue
            reason = f"denied by {decision.statement}" if decision.statement else "not allowed by any statement"
            if principal.managed:
                reason += " (AWS managed policies not evaluated)"
        finding = Finding(call.principal, request.action, request.resource, call.operation, call.where, reason)
        report.add(_generic(request.resource, run), finding)


def used(runs: Iterable[Run]) -> dict[str, set[tuple[str, str]]]:
    """Principal → the (action, resource) pairs its calls needed, resources named by logical id: what a
    least-privilege policy for it has to allow."""
    found: dict[str, set[tuple[str, str]]] = {}
    for run in runs:
        for call in run.calls.values():
            for request in call.requests:
                found.setdefault(call.principal, set()).add((request.action, _generic(request.resource, run)))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.iam.check", description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", type=Path, help="JSON-lines files written by the recorder")
    parser.add_argument("--template", type=Path, help="template to check against (default: template.yaml)")
    parser.add_argument("--used", action="store_true", help="also list what each principal's calls needed")
    args = parser.parse_args(argv)
    template = load_template(args.template) if args.template else None
    runs = [run for path in args.records for run in load(path)]
    if args.used:
        for principal, pairs in sorted(used(runs).items()):
            print(principal)
            print("".join(f"  {action} {resource}\n" for action, resource in sorted(pairs)), end="")
    report = check(runs, template)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
