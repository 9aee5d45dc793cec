"""The service on your machine: an embedded AWS (moto, in-process), the stack's resources created from
template.yaml, demo agents, and the API on http://127.0.0.1:8000.

    python -m local.stack [--port 8000] [--agents 300] [--host 127.0.0.1]

Everything lives in memory and is gone when you stop it (Ctrl-C).
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.inproc import LocalContext, load_function_module
from local.requestlog import hide_tokens, without_query_strings

LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TZ": "UTC",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "help-on-demand",
    "POWERTOOLS_METRICS_NAMESPACE": "HelpOnDemand",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
PARAMETERS = {
    "SenderEmail": "offers@help-on-demand.example",
    "Stage": "local",
    "LogLevel": "WARNING",
    "PinpointAppId": "local",  # pushes are recorded in the outbox (moto has no Pinpoint send_messages)
}
SWEEP_EVERY_SECONDS = 60


def parameters_from_environment(base_url: str) -> dict[str, str]:
    """Template parameters for the local stack; HOD_OFFER_WINDOW_SECONDS=20 (say) lets a person watch a cascade."""
    params = {**PARAMETERS, "PublicBaseUrl": base_url}
    for name, variable in (
        ("OfferWindowSeconds", "HOD_OFFER_WINDOW_SECONDS"),
        ("SafetyNetWindowSeconds", "HOD_SAFETY_NET_WINDOW_SECONDS"),
        ("SafetyNetRounds", "HOD_SAFETY_NET_ROUNDS"),
        ("SuspendAfterMissed", "HOD_SUSPEND_AFTER_MISSED"),
        ("FollowUpSeconds", "HOD_FOLLOW_UP_SECONDS"),
        ("NotCalledPolicy", "HOD_NOT_CALLED_POLICY"),
        ("OfferCapacity", "HOD_OFFER_CAPACITY"),
        ("WrapUpSeconds", "HOD_WRAP_UP_SECONDS"),
    ):
        if os.environ.get(variable):
            params[name] = os.environ[variable]
    return params


@contextmanager
def local_aws(parameters: dict[str, str]) -> Iterator[dict[str, str]]:
    """moto in-process with the template's resources, its state machine executing for real, its queues' event
    sources polled and the functions' handlers running in this process; the process environment points at it all."""
    for name, value in LOCAL_ENV.items():
        os.environ.setdefault(name, value)
    # Web Push to plain-http endpoints: a push service run beside the local stack (tests/push_endpoint.py)
    os.environ.setdefault("HOD_WEBPUSH_ALLOW_HTTP", "true")
    import boto3
    from moto import mock_aws

    from hod import wiring
    from local.cfn import create_local_resources, load_template
    from local.iam.recorder import stack_created
    from local.inproc import atomic_dynamodb, route_lambdas_in_process
    from local.outbox import record_push
    from local.queues import QueueWorkers
    from local.scheduler import run_schedules
    from local.ses import bulk_email

    # moto logs each caught task timeout at ERROR; here that is an unanswered offer moving on, not a failure.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        template = load_template()
        session = boto3.session.Session()
        env = create_local_resources(session, template, parameters=parameters)
        stack_created(session, template, parameters)  # (a no-op unless the IAM check records: docs/iam.md)
        session.client("sesv2").create_email_identity(EmailIdentity=parameters["SenderEmail"])
        os.environ.update(env)
        wiring.reset()
        with (
            atomic_dynamodb(),
            record_push(),
            bulk_email(),
            route_lambdas_in_process(template),
            run_schedules(),
            QueueWorkers(template, parameters=parameters).running(),
        ):
            yield env


class MailLog(threading.Thread):
    """Prints every e-mail the service sends (to moto's SES), with its link, so the flow can be followed by hand."""

    def __init__(self) -> None:
        super().__init__(name="mail-log", daemon=True)
        self._stop_event = threading.Event()

    def run(self) -> None:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        seen = 0
        while not self._stop_event.wait(1):
            messages = ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]].sent_messages
            for message in messages[seen:]:
                to = ", ".join(message.destinations.get("ToAddresses", []))
                link = re.search(r'href="([^"]+)"', message.body)
                print(f"e-mail to {to}: {message.subject}", flush=True)
                if link:
                    print(f"    {hide_tokens(html.unescape(link.group(1)))}  (whole in the outbox)", flush=True)
            seen = len(messages)

    def stop(self) -> None:
        self._stop_event.set()


class _InTurn:
    """A lock taken in the order it was asked for (threading.Lock is not fair: under a burst, one request could
    wait while later ones are served)."""

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._issued = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._turns:
            ticket = self._issued
            self._issued += 1
            self._turns.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc: object) -> None:
        with self._turns:
            self._serving += 1
            self._turns.notify_all()


_APP_TURN = _InTurn()


def _one_at_a_time_handler() -> type:
    from chalice.local import ChaliceRequestHandler

    class Handler(ChaliceRequestHandler):
        """Connections are served by threads (a browser keeps several open, some idle), but requests reach the app
        one at a time, in the order they arrived, as a Lambda instance serves one event at a time: Chalice keeps
        the current request on the app object, and Powertools keeps the invocation's log keys and metrics in
        module state.

        Chalice binds every do_<METHOD> to its own `_generic_handle` when its class is created, so overriding
        `_generic_handle` alone would never be called: the methods themselves are rebound here."""

        def _handle_alone(self) -> None:
            with _APP_TURN:
                ChaliceRequestHandler._generic_handle(self)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle_alone

    return Handler


class LocalHttpServer(ThreadingHTTPServer):
    """A thread per connection, and a listen backlog that holds a burst of new connections: the default (5) has
    the kernel reset the sixth connection that arrives while the server is busy."""

    request_queue_size = socket.SOMAXCONN


def load_demo_agents(count: int) -> dict[str, int]:
    from hod import wiring
    from hod.domain.availability import WeeklySchedule
    from hod.services.agents import AgentService
    from local.demo import demo_agents

    # Demo agents are treated as already active: built without the hook that queues account invitations.
    service = AgentService(
        wiring.adapters.agent_store(),
        wiring.adapters.available_index(),
        wiring.clock(),
        int(os.environ["HOD_PLAN_YEAR"]),
    )
    people = list(demo_agents(count, plan_year=int(os.environ["HOD_PLAN_YEAR"])))
    totals: dict[str, int] = {}
    for start in range(0, len(people), 500):
        batch = people[start : start + 500]
        report = service.import_agents([p.record for p in batch])
        for key, value in report.summary.items():
            totals[key] = totals.get(key, 0) + value
        for person in batch:
            if person.weekly is not None:
                service.set_weekly_schedule(person.record["npn"], WeeklySchedule.model_validate(person.weekly))
    return totals


def register_coverage_run(app: Any, expire_handler: Any) -> dict[str, Any]:
    """Run the expire function's coverage job now, and let `POST /dev/coverage` run it again (what the hourly
    schedule and `hod-admin coverage` do on a deployment; the route exists on the local stack only)."""

    def run() -> dict[str, Any]:
        return dict(expire_handler({"task": "coverage"}, LocalContext("ExpireFunction")))

    app.route("/dev/coverage", methods=["POST"])(run)
    return run()


class Sweeper(threading.Thread):
    """Runs the expire function's availability sweep every minute, as the deployed schedule does (the changes it
    queues are applied by the refresh function as they fall due, through the local queue workers)."""

    def __init__(self, handler: Any) -> None:
        super().__init__(name="availability-sweep", daemon=True)
        self._handler = handler
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(SWEEP_EVERY_SECONDS):
            try:
                self._handler({}, LocalContext("ExpireFunction"))
            except Exception as exc:  # a failed sweep is retried next minute, as the schedule would
                print(f"availability sweep failed: {exc}", file=sys.stderr)

    def stop(self) -> None:
        self._stop.set()


def agent_to_try(count: int) -> str | None:
    """The first demo agent who takes referrals and is available now: the one the banner offers to sign in as."""
    from hod import wiring

    for i in range(min(count, 200)):
        view = wiring.services.agents().view(str(17_000_000 + i))
        address = view.agent.record.business_address
        if view.available_now and address.state in view.offer_states:  # a consumer next door reaches them
            return view.agent.npn
    return None


def _consumer_near(demo_npn: str | None) -> tuple[str, str]:
    """(ZIP, language) of a consumer the demo agent would be offered: their office's ZIP, their first language."""
    from hod import wiring

    if demo_npn is None:
        return "78702", "es"
    agent = wiring.services.agents().view(demo_npn).agent
    return agent.record.business_address.zip, agent.languages[0]


def _agent_line(demo_npn: str | None) -> str:
    from hod import wiring

    if demo_npn is None:
        return "(no demo agent is available now)"
    view = wiring.services.agents().view(demo_npn)
    record = view.agent.record
    until = f"until {view.next_change:%H:%M} UTC" if view.next_change else "around the clock"
    return (
        f"{record.first_name} {record.last_name} (NPN {demo_npn}), available now {until}, takes referrals in "
        f"{', '.join(sorted(view.offer_states))}, speaks {', '.join(view.agent.languages)}; sign in at /portal "
        f"with {record.email} (the sign-in e-mail is printed here)"
    )


def banner(host: str, port: int, totals: dict[str, int], demo_npn: str | None) -> str:
    from hod import wiring

    base = f"http://{host}:{port}"
    admin = wiring.services.auth().admin_token("local-admin")
    agent = wiring.services.auth().agent_session(demo_npn) if demo_npn else "(no demo agent)"
    zip_, lang = _consumer_near(demo_npn)
    return f"""
Help On Demand is running locally on an embedded AWS (moto).
  API:           {base}
  Pages:         {base}/get-contacted (consumers, ?lang=es)   {base}/portal (agents)   {base}/admin
  OpenAPI:       {base}/openapi.json
  Demo agents:   {totals.get("created", 0)} created, {totals.get("refused", 0)} refused by validation
  Admin token:   {admin}
  Demo agent:    {_agent_line(demo_npn)}
  Agent token:   {agent}   (valid 1 hour, for the API)

A referral runs the real workflow (Step Functions in moto): offer window {os.environ["HOD_OFFER_WINDOW_SECONDS"]} s
(set HOD_OFFER_WINDOW_SECONDS=20 to watch a cascade). Every message sent is in the outbox,
{base}/dev/outbox?format=html (JSON without ?format), and e-mails are printed below with their links.

Try (a consumer near the demo agent, in their language: the offer goes to them):
  curl -s -X POST {base}/referrals -H 'Content-Type: application/json' \\
       -d '{{"first_name":"Rosa","last_name":"Martínez","phone":"512-555-0188","zip":"{zip_}","language":"{lang}"}}'
  curl -s {base}/agent/profile -H 'Authorization: Bearer {agent}'
  HOD_API_URL={base} HOD_ADMIN_TOKEN={admin} .venv/bin/hod-admin import examples/agents.csv

Stop with Ctrl-C.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HOD_PORT", "8000")))
    parser.add_argument("--agents", type=int, default=300, help="how many demo agents to load (0 for none)")
    args = parser.parse_args(argv)
    if args.agents < 0:
        parser.error("--agents must be 0 or more")

    from chalice.config import Config
    from chalice.local import LocalDevServer

    OneAtATimeHandler = without_query_strings(_one_at_a_time_handler())  # signed links' tokens never logged

    from local.outbox import register_outbox

    base_url = f"http://{args.host}:{args.port}"
    if os.environ.get("HOD_IAM_RECORD"):  # record each function's AWS calls for the IAM check (docs/iam.md)
        from local.iam.recorder import record_into

        record_into(Path(os.environ["HOD_IAM_RECORD"]))
    with local_aws(parameters_from_environment(base_url)):
        from local.cfn import functions, load_template

        specs = functions(load_template())
        intake = load_function_module(specs["IntakeFunction"].code_uri, specs["IntakeFunction"].handler)
        register_outbox(intake.app)
        expire = load_function_module(specs["ExpireFunction"].code_uri, specs["ExpireFunction"].handler)
        started = time.monotonic()
        totals = load_demo_agents(args.agents) if args.agents else {}
        print(f"loaded demo agents in {time.monotonic() - started:.1f}s: {totals}")
        # The coverage map's summaries, as the hourly schedule computes them, so the console shows data at once
        coverage = register_coverage_run(intake.app, expire.handler)
        print(f"coverage map computed: {coverage['states']} states, {coverage['agents']} agents counted")
        demo_npn = agent_to_try(args.agents)
        server = LocalDevServer(
            intake.app,
            Config.create(chalice_stage="local"),
            args.host,
            args.port,
            handler_cls=OneAtATimeHandler,
            server_cls=LocalHttpServer,
        )
        sweeper = Sweeper(expire.handler)
        sweeper.start()
        mail_log = MailLog()
        mail_log.start()
        print(banner(args.host, args.port, totals, demo_npn), flush=True)

        def stop(signum: int, frame: Any) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            server.serve_forever()
        finally:
            sweeper.stop()
            mail_log.stop()
            server.server.server_close()
        print("stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
