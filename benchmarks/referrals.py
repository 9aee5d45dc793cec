"""AWS API calls per referral, on the three paths that end with an acceptance.

The harness of tests/integration/conftest.py (`workflow`): template.yaml's state machine executing in moto, the
four functions' real handlers in-process (local/inproc.py), the reminders' one-off schedules fired when due
(local/scheduler.py), offer windows of three seconds. Agents answer through
the signed link in the e-mail they were sent (GET shows the offer, POST acts), as in production.

Every call the service's code makes is counted from botocore's events, attributed to the function (and task) or
HTTP route that made it; the harness's own look-ups (waiting for an e-mail, polling the execution) are made outside
those scopes and not counted. Step Functions' own work (invoking the functions, its state transitions) is not an
API call of ours; it is read from the execution history for the cost.
"""

from __future__ import annotations

import io
import json
import logging
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from benchmarks.counting import Call, CallLog
from benchmarks.tables import global_indexes, table_shapes
from local.cfn import create_local_resources, functions, load_template
from local.inproc import atomic_dynamodb, load_function_module, route_lambdas_in_process
from local.queues import QueueWorkers
from local.scheduler import run_schedules
from local.ses import bulk_email

SENDER = "offers@help-on-demand.example"
BASE_URL = "http://hod.bench"
PARAMETERS = {
    "SenderEmail": SENDER,
    "PlanYear": "2026",
    "Stage": "bench",
    "PublicBaseUrl": BASE_URL,
    "OfferWindowSeconds": "3",
    "SafetyNetWindowSeconds": "3",
    "SafetyNetRounds": "2",
    "FollowUpSeconds": "2",
}
ALWAYS = {
    "days": {
        d: {"enabled": True, "start": "00:00", "end": "24:00", "breaks": []}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
}
PATHS = ("accept", "reject_then_accept", "timeout_then_accept")

# The calls this design needs besides the messages (which the spec asks for and `message_calls` counts), step by
# step (docs/benchmarks.md explains each): the floor the measured `calls` are compared with.
_INTAKE = (
    "POST /referrals",
    2,
    "TransactWriteItems (the referral, flagged until its workflow starts, its audit event and the submission's "
    "name, which makes the request idempotent), which also claims the receipt; StartExecution, whose input carries "
    "the receipt's outcomes and where the consumer is (the receipt itself: SendEmail, SNS Publish)",
)
_FIRST_ROUND = (
    "Offer task, first round",
    4,
    "at least one Query of the available-now index (the median at 100,000 agents is 2 by day), whose pages also "
    "show everyone at the chosen agent's point; one BatchGetItem of their loads and their records (capacity, and "
    "the contact details kept on the offer); TransactWriteItems (offer with the task token, referral, the claim on "
    "the agent's slot, audit events: workflow started, receipt outcomes, offer made); the offer's outcomes on the "
    "audit trail (the offer itself: SendEmail)",
)
_LATER_ROUND = (
    "Offer task, later round",
    5,
    "Query of the referral's item collection (the referral and the offers so far), then as the first round",
)
_VIEW = ("GET /offers/view", 1, "BatchGetItem of the referral and the offer: the signed link names both")
_ACCEPT = (
    "POST /offers/accept",
    5,
    "BatchGetItem (referral, offer with task token and contact details); TransactWriteItems (conditional accept, "
    "referral, audit event); SendTaskSuccess; CreateSchedule (the first reminder); the messages' outcomes on the "
    "audit trail (the messages: SendEmail to the agent, SendEmail and SNS Publish to the consumer)",
)
_REJECT = (
    "POST /offers/reject",
    4,
    "BatchGetItem, TransactWriteItems (which frees the agent's slot), SendTaskFailure, GetItem of the agent's load "
    "(a referral waiting for them is woken)",
)
_LAPSE = (
    "offer lapsed",
    7,
    "Query of the referral's collection (which offer is pending); TransactWriteItems (missed, referral, the agent's "
    "slot freed, event); the missed notice: Query of the agent's offers of 7 days (the suspension rule), GetItem of "
    "the agent, a send-ledger claim, its outcome on the audit trail (the notice: SendEmail); GetItem of the agent's "
    "load (a referral waiting for them is woken)",
)
MINIMUM: dict[str, list[tuple[str, int, str]]] = {
    "accept": [_INTAKE, _FIRST_ROUND, _VIEW, _ACCEPT],
    "reject_then_accept": [_INTAKE, _FIRST_ROUND, _VIEW, _REJECT, _LATER_ROUND, _VIEW, _ACCEPT],
    "timeout_then_accept": [_INTAKE, _FIRST_ROUND, _VIEW, _LAPSE, _LATER_ROUND, _VIEW, _ACCEPT],
}
CONSUMER_ZIP = "78702"
# A consumer in Oklahoma City, where the agents who take Oklahoma referrals are not available: the safety net.
SAFETY_NET_ZIP = "73102"
# Agents around Austin, each at their own ZIP (the first at the consumer's), so a cascade finds the next one near.
AUSTIN_ZIPS = ("78702", "78701", "78703", "78704", "78705", "78721", "78722", "78723", "78741", "78751", "78752")
_LINK = re.compile(r"/offers/view\?t=([A-Za-z0-9._~%-]+)")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def agent_record(
    npn: str, zip_code: str, city: str, state: str = "TX", contact_method: str = "email_only"
) -> dict[str, Any]:
    """An agent to import: licensed for health in `state`, with a business address there."""
    return {
        "npn": npn,
        "first_name": "Ana",
        "last_name": "García",
        "email": f"agent{npn}@example.com",
        "phone": "(512) 555-0142",
        "business_address": {"street": "100 Main St", "city": city, "state": state, "zip": zip_code},
        "home_state": state,
        "licences": [{"state": state, "status": "active", "lines_of_authority": ["health"], "expires": "2030-01-01"}],
        "ffm_registration_plan_year": 2026,
        "ffm_registration_listed": True,
        "hod_training_complete": True,
        "display_option": 1,
        "languages": ["en", "es"],
        "contact_method": contact_method,
    }


def _token_payload(token: str) -> str:
    """The claims part of a signed token, decoded (to tell which referral a link is for; not verified)."""
    import base64

    parts = token.split(".")
    if len(parts) != 3:
        return ""
    try:
        return base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
    except ValueError:
        return ""


@dataclass
class Invocation:
    scope: str
    seconds: float


@dataclass
class Harness:
    log: CallLog
    env: dict[str, str]
    client: Any
    invocations: list[Invocation] = field(default_factory=list)
    log_bytes: int = 0
    parameters: dict[str, str] = field(default_factory=dict)

    def http(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> Any:
        """One API Gateway request to the intake function, counted under its route."""
        route = re.sub(r"/agent/referrals/[^/]+/", "/agent/referrals/{id}/", path.split("?", 1)[0])
        started = time.perf_counter()
        with self.log.scope(f"IntakeFunction {method} {route}"):
            if method == "GET":
                response = self.client.http.get(path, headers=headers or {})
            else:
                response = self.client.http.post(path, body=body, headers=headers or {})
        self.invocations.append(Invocation(f"IntakeFunction {method} {route}", time.perf_counter() - started))
        return response

    def wait(self, condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {what}")

    def links_to(self, npn: str, referral_id: str) -> list[str]:
        """Signed links for `referral_id` in the e-mails agent `npn` received (read from moto, not through AWS)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        found = []
        for message in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages:
            if f"agent{npn}@example.com" in str(getattr(message, "destinations", "")):
                for token in _LINK.findall(str(getattr(message, "body", "")).replace("&amp;", "&")):
                    if referral_id in _token_payload(token):
                        found.append(token)
        return found

    def execution(self, referral_id: str) -> dict[str, Any]:
        arn = self.env["HOD_STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:") + f":{referral_id}"
        return dict(boto3.client("stepfunctions").describe_execution(executionArn=arn))

    def schedules(self) -> list[Any]:
        group = self.env["HOD_REMINDER_GROUP"]
        return list(boto3.client("scheduler").list_schedules(GroupName=group)["Schedules"])

    def transitions(self, referral_id: str) -> int:
        arn = self.env["HOD_STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:") + f":{referral_id}"
        events = boto3.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return sum(1 for event in events if str(event["type"]).endswith("StateEntered"))


@contextmanager
def _scoped_handlers(log: CallLog, template: dict[str, Any], invocations: list[Invocation]) -> Iterator[None]:
    """Wrap each Step Functions-invoked handler so its calls count under '<Function> <task>'."""
    originals: list[tuple[Any, str, Any]] = []
    for logical_id, spec in functions(template).items():
        if spec.handler_module == "app":
            continue
        module = load_function_module(spec.code_uri, spec.handler)
        original = getattr(module, spec.handler_attribute)

        def wrapped(event: Any, context: Any, _original: Any = original, _id: str = logical_id) -> Any:
            scope = f"{_id} {event.get('task', 'sweep') if isinstance(event, dict) else '?'}"
            started = time.perf_counter()
            try:
                with log.scope(scope):
                    return _original(event, context)
            finally:
                invocations.append(Invocation(scope, time.perf_counter() - started))

        setattr(module, spec.handler_attribute, wrapped)
        originals.append((module, spec.handler_attribute, original))
    try:
        yield
    finally:
        for module, attribute, original in originals:
            setattr(module, attribute, original)


class CountingSink(io.TextIOBase):
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


@contextmanager
def count_log_output(sink: CountingSink) -> Iterator[None]:
    """What the functions write to stdout (Powertools logs and EMF metrics) goes to `sink` instead."""
    swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
    for logger in [logging.getLogger(), *(logging.getLogger(n) for n in logging.Logger.manager.loggerDict)]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
                swapped.append((handler, handler.setStream(sink)))
    try:
        with redirect_stdout(sink):
            yield
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)


def one_referral(h: Harness, path: str, serial: int, safety_net_agents: Sequence[str] = ()) -> dict[str, Any]:
    """One referral from the consumer's request to the agent's progress report and the reminder that finds it, on
    `path` (PATHS, or "safety_net": a consumer in SAFETY_NET_ZIP, where nobody is available, so every agent of the
    state's roster is e-mailed and the first of `safety_net_agents` to get the e-mail takes it)."""
    from hod import wiring
    from hod.domain.offer import OfferStatus

    mark, invoked = h.log.mark(), len(h.invocations)
    body = {
        "first_name": "Rosa",
        "last_name": "Martínez",
        "phone": f"512-555-01{serial % 100:02d}",
        "email": f"rosa{serial}@example.org",
        "zip": SAFETY_NET_ZIP if path == "safety_net" else CONSUMER_ZIP,
        "language": "es",
    }
    created = h.http("POST", "/referrals", json.dumps(body), {"Content-Type": "application/json"})
    if created.status_code != 201:
        raise RuntimeError(f"POST /referrals answered {created.status_code}: {created.body!r}")
    referral_id = str(created.json_body["referral_id"])
    offered: list[str] = []

    def next_offer() -> str:
        """The agent the workflow offered the referral to next, and the link in the e-mail they received."""

        def pending() -> str | None:
            for offer in wiring.adapters.workflow_store().offers(referral_id):
                if offer.status is OfferStatus.PENDING and offer.agent_npn not in offered:
                    return offer.agent_npn
            return None

        npn = str(h.wait(pending, "an offer"))
        offered.append(npn)
        return str(h.wait(lambda: h.links_to(npn, referral_id), f"the offer e-mail to {npn}")[-1])

    def safety_net_call() -> tuple[str, str] | None:
        for npn in safety_net_agents:
            links = h.links_to(npn, referral_id)
            if links:
                return npn, links[-1]
        return None

    if path == "safety_net":
        npn, link = h.wait(safety_net_call, "a safety-net e-mail")
        offered.append(npn)
    else:
        link = next_offer()
    h.http("GET", f"/offers/view?t={link}")
    if path == "reject_then_accept":
        h.http("POST", "/offers/reject", f"t={link}", FORM)
    if path in ("reject_then_accept", "timeout_then_accept"):
        link = next_offer()
        h.http("GET", f"/offers/view?t={link}")
    accepted = h.http("POST", "/offers/accept", f"t={link}", FORM)
    if accepted.status_code != 200:
        raise RuntimeError(f"POST /offers/accept answered {accepted.status_code}")
    # The agent reports contact with the consumer (R8) before the first reminder is due, as agents should (R12)
    session = wiring.services.auth().agent_session(offered[-1])
    reported = h.http(
        "POST",
        f"/agent/referrals/{referral_id}/status",
        json.dumps({"status": "in_progress"}),
        {"Authorization": f"Bearer {session}", "Content-Type": "application/json"},
    )
    if reported.status_code != 200:
        raise RuntimeError(f"POST /agent/referrals/{{id}}/status answered {reported.status_code}")
    h.wait(lambda: h.execution(referral_id)["status"] != "RUNNING", "the execution to finish", timeout=30)
    # The first reminder's schedule fires (FollowUpSeconds later), finds the progress and schedules no second one
    h.wait(lambda: not h.schedules(), "the reminder schedule to fire", timeout=30)
    time.sleep(0.3)
    return {
        "referral_id": referral_id,
        "calls": h.log.since(mark),
        "invocations": h.invocations[invoked:],
        "transitions": h.transitions(referral_id),
        "status": h.execution(referral_id)["status"],
        "offered": offered,
    }


def _is_follow_up(scope: str | None) -> bool:
    """After the acceptance: the agent's progress report and the reminder tasks (which then find it and stop)."""
    return bool(scope) and ("reminder" in str(scope) or "/status" in str(scope))


# The calls that are the messages themselves (e-mails, texts, push notifications): the spec asks for each of them, so
# `calls` is counted besides them and `all_calls` with them.
MESSAGES = frozenset(
    {"sesv2.SendEmail", "ses.SendEmail", "sesv2.SendBulkEmail", "sns.Publish", "pinpoint.SendMessages"}
)
INTAKE_SCOPE = "IntakeFunction POST /referrals"
START = "sfn.StartExecution"
OFFER_SCOPE = "MatchFunction offer"


def is_message(call: Call) -> bool:
    return call.name in MESSAGES


def _path_calls(run: dict[str, Any]) -> list[Call]:
    """A run's calls from the consumer's request to the acceptance (the follow-up apart), in the order made."""
    return [c for c in run["calls"] if not _is_follow_up(c.scope)]


def sequential_calls_to_offer(calls: Sequence[Call]) -> int | None:
    """The AWS calls made one after another from `POST /referrals` arriving until the offer reaches the agent, read
    from the order the calls were recorded in: the intake's calls up to and including StartExecution (what the
    intake does after starting the workflow is not on the way), then the first Offer round's calls up to and
    including its first message (the offer itself). None when the calls hold no start or no offer."""
    intake = [c for c in calls if c.scope == INTAKE_SCOPE]
    offer_round = [c for c in calls if c.scope == OFFER_SCOPE]
    started = next((i for i, c in enumerate(intake) if c.name == START), None)
    sent = next((i for i, c in enumerate(offer_round) if is_message(c)), None)
    if started is None or sent is None:
        return None
    return (started + 1) + (sent + 1)


def _by_scope(calls: Sequence[Call]) -> dict[str, dict[str, int]]:
    by_scope: dict[str, Counter[str]] = {}
    for c in calls:
        by_scope.setdefault(str(c.scope), Counter())[c.name] += 1
    return {scope: dict(sorted(names.items())) for scope, names in by_scope.items()}


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs of one path; the call list of the median run. `calls` counts the calls besides the
    messages (the figure the target is about), `message_calls` the messages, `all_calls` both; `calls_each_run`,
    `by_scope` and `by_operation` are of `calls`, `messages_by_scope` of `message_calls`."""
    totals = [len([c for c in _path_calls(r) if not is_message(c)]) for r in runs]
    median_run = sorted(runs, key=lambda r: len([c for c in _path_calls(r) if not is_message(c)]))[len(runs) // 2]
    calls: list[Call] = median_run["calls"]
    main = _path_calls(median_run)
    besides = [c for c in main if not is_message(c)]
    messages = [c for c in main if is_message(c)]
    follow_up = [c for c in calls if _is_follow_up(c.scope)]
    invocations = Counter(i.scope for i in median_run["invocations"])
    index_by_name: Counter[str] = Counter()
    index_by_scope: Counter[str] = Counter()
    for c in calls:
        index_by_name.update(c.index_writes)
        if c.index_writes:
            index_by_scope[str(c.scope)] += int(c.index_write_units)
    sequential = [sequential_calls_to_offer(_path_calls(r)) for r in runs]
    return {
        "calls": int(statistics.median(totals)),
        "message_calls": len(messages),
        "all_calls": len(main),
        "calls_each_run": totals,
        "by_scope": _by_scope(besides),
        "by_operation": CallLog.by_name(besides),
        "messages_by_scope": _by_scope(messages),
        "sequential_calls_to_offer": int(statistics.median(s for s in sequential if s is not None))
        if any(s is not None for s in sequential)
        else None,
        "sequential_calls_to_offer_each_run": sequential,
        "follow_up_calls": len(follow_up),
        "follow_up_by_operation": CallLog.by_name(follow_up),
        "dynamodb_read_units": round(sum(c.read_units for c in calls), 1),
        "dynamodb_write_units": round(sum(c.write_units for c in calls), 1),
        "dynamodb_index_write_units": round(sum(c.index_write_units for c in calls), 1),
        "dynamodb_index_write_units_by_index": dict(sorted(index_by_name.items())),
        "dynamodb_index_write_units_by_scope": dict(sorted(index_by_scope.items())),
        "api_requests": sum(n for s, n in invocations.items() if s.startswith("IntakeFunction")),
        "lambda_invocations": dict(sorted(invocations.items())),
        "scheduler_invocations": sum(n for s, n in invocations.items() if s.endswith(" reminder")),
        "lambda_seconds": round(sum(i.seconds for i in median_run["invocations"]), 3),
        "state_transitions": median_run["transitions"],
        "emails": sum(1 for c in calls if c.name in ("sesv2.SendEmail", "ses.SendEmail")),
        "secrets_calls": sum(1 for c in calls if c.service == "secretsmanager"),
        "texts": sum(1 for c in calls if c.name == "sns.Publish"),
        "text_parts": sum(c.text_parts for c in calls),
        # calls DynamoDB or another service refused, by where they were made (a condition that said no is one:
        # e.g. the reminder's claim once the agent has recorded progress)
        "errors": [f"{c.scope}: {c.name} ({c.error})" for c in calls if c.error],
        "execution_status": median_run["status"],
    }


@contextmanager
def stack(log: CallLog, *, every_table: bool = False) -> Iterator[Harness]:
    """The harness of this module: template.yaml's resources and state machine in moto, the functions' handlers
    in-process (their calls counted by function and task), reminders fired when due, the intake's HTTP API through
    Chalice's test client. `log` follows writes to the tables with indexes (every table: `every_table`)."""
    from chalice.test import Client

    from hod import wiring

    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        template = load_template()
        declared = template.get("Parameters") or {}
        parameters = {name: value for name, value in PARAMETERS.items() if name in declared}
        session = boto3.session.Session()
        env = create_local_resources(session, template, parameters=parameters)
        # the tables just created, named as create_local_resources does
        log.indexes.update(table_shapes(template) if every_table else global_indexes(template))
        import os

        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        session.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        wiring.reset()
        invocations: list[Invocation] = []
        try:
            with (
                atomic_dynamodb(),
                bulk_email(),
                route_lambdas_in_process(template),
                _scoped_handlers(log, template, invocations),
                run_schedules(),
                QueueWorkers(template, parameters=parameters).running(),
            ):
                intake = load_function_module("functions/intake", "app.app")
                with Client(intake.app) as client:
                    try:
                        yield Harness(log, env, client, invocations, parameters=parameters)
                    finally:
                        sfn = boto3.client("stepfunctions")
                        for execution in sfn.list_executions(stateMachineArn=env["HOD_STATE_MACHINE_ARN"])[
                            "executions"
                        ]:
                            if execution["status"] == "RUNNING":
                                sfn.stop_execution(executionArn=execution["executionArn"])
        finally:
            wiring.reset()
            log.indexes.clear()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def import_austin_agents() -> list[str]:
    """The harness's agents (AUSTIN_ZIPS), available around the clock; their NPNs."""
    from hod import wiring
    from hod.domain.availability import WeeklySchedule

    service = wiring.services.agents()
    agents = [agent_record(str(101 + i), zip_code, "Austin") for i, zip_code in enumerate(AUSTIN_ZIPS)]
    report = service.import_agents(agents)
    if report.summary["refused"]:
        raise RuntimeError(f"agents refused: {report.results}")
    for record in agents:
        service.set_weekly_schedule(record["npn"], WeeklySchedule.model_validate(ALWAYS))
    return [record["npn"] for record in agents]


def run(log: CallLog, progress: Callable[[str], None], repeats: int = 3) -> dict[str, Any]:
    """Calls per referral on each path (medians of `repeats` referrals, after one warm-up referral)."""
    results: dict[str, Any] = {}
    sink = CountingSink()
    with stack(log) as h:
        import_austin_agents()
        with count_log_output(sink):
            warm_up = one_referral(h, "accept", 0)
            serial = 1
            for path in PATHS:
                runs = []
                log_before = sink.bytes
                for _ in range(repeats):
                    runs.append(one_referral(h, path, serial))
                    serial += 1
                results[path] = _summarise(runs)
                results[path]["log_bytes"] = (sink.bytes - log_before) // repeats
                progress(f"calls per referral, {path}: {results[path]['calls']}")
        first = [c for c in _path_calls(warm_up) if not is_message(c)]
        results["first_referral_calls"] = len(first)
        results["first_referral_by_operation"] = CallLog.by_name(first)
    results["parameters"] = h.parameters
    results["minimum"] = {
        path: {"calls": sum(n for _, n, _ in steps), "steps": [list(step) for step in steps]}
        for path, steps in MINIMUM.items()
    }
    return results
