"""`scale.safety_net`: the safety net's call to Texas' whole roster, at the account's SES rate, with SES refusing
whatever goes beyond that rate.

1. **The stack**: template.yaml's tables, send queue and functions in moto (local.cfn), the functions' real handlers
   in-process, SES v2 bulk sending emulated (local/ses.py: moto 5.2.5 does not implement it), the send queue's event
   source run as Lambda runs it (local/queues.py: one message an invocation, at most SafetyNetSenders at once), and
   SES's maximum send rate enforced at SesSendRate by the fault adapter (`local.ses.throttle`: a token bucket one
   second deep; a call finding no token gets TooManyRequestsException, destinations beyond the tokens get
   ACCOUNT_THROTTLED).
2. **The roster**: 15,444 agents taking Texas referrals (the population model's count at 83,000 agents), at Texas ZIP
   centroids weighted as the population model weights them, with its Texas language mix (about a third also speak
   Spanish, a few only Spanish or another language: each language is a bulk call of its own). A consumer in Houston
   whose referral waits in the safety net, nobody having qualified.
3. **The run**: the SafetyNet task (the notify function, invoked as Step Functions invokes it) queues the calls; the
   send function e-mails them. Completion is the moment SES accepted the last call, counted from the task's start.
4. **Time** is simulated (benchmarks/scale/simulated_time.py): the run would take recipients ÷ rate seconds (18
   minutes at 14 a second). One `SimulatedClock` drives the senders' pacing and back-offs, the ledger, the fault
   adapter's token bucket, and SQS's visibility timeouts (moto's SQS clock is patched to it); the event source's
   pollers and the SafetyNet task's invocation take part in it. The clock stands still while code runs and jumps to
   the next wake-up when every participant waits; each AWS call a function makes costs a fixed latency on it
   (`LATENCY_S`: DynamoDB 10 ms, SQS 20 ms, SES 150 ms — assumed). The figure is therefore what the design's pacing,
   back-off and queueing give with those latencies, not how fast moto runs on this machine.

Figures: `recipients`, `emailed_once` (agents who received exactly one call), `dropped` (agents on the roster who
received none), `duplicates` (calls beyond the first to one agent), `time_ratio` (completion ÷ recipients/rate;
target ≤ 1.2), and what happened on the way (SES refusals, calls per recipient).
"""

from __future__ import annotations

import bisect
import io
import itertools
import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

import boto3
from moto import mock_aws

from benchmarks import population
from benchmarks.counting import CallLog
from benchmarks.scale.simulated_time import LATENCY_S, SimulatedClock, charging_latency
from local.cfn import create_local_resources, functions, load_template, local_function_names
from local.inproc import atomic_dynamodb, load_function_module, route_lambdas_in_process
from local.queues import QueueWorkers, sqs_follows
from local.ses import bulk_email, throttle
from local.ses import received as calls_received

TEXAS_ROSTER = 15_444
CONSUMER_ZIP = "77002"  # Houston
SENDER = "offers@help-on-demand.example"
PARAMETERS = {
    "SenderEmail": SENDER,
    "Stage": "bench",
    "PublicBaseUrl": "https://hod.example",
    "LogLevel": "WARNING",
}
_WRITE_CHUNK = 500
POLL_S = 0.25  # simulated seconds an idle poller of the send queue rests before it polls again
WALL_LIMIT_S = 3600  # the run is abandoned (as a failure) if the queue has not emptied after an hour of wall time


def texas_agents(count: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """`count` agents taking Texas referrals, as stored documents: the population model's first agent made a Texan
    at a Texas site (weighted as the model weights them) with the model's Texas languages."""
    from benchmarks.matching import DAY

    base = next(iter(population.agents(1, today=DAY.date()))).model_dump(mode="json")
    sites = [site for site in population.sites() if site.state == "TX"]
    cumulative = list(itertools.accumulate(site.weight for site in sites))
    rng = random.Random(seed)
    for i in range(count):
        site = sites[min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(sites) - 1)]
        npn = str(30_000_000 + i)
        languages = population._languages(rng, "TX")
        record = {
            **base["record"],
            "npn": npn,
            "email": f"agent{npn}@example.com",
            "business_address": {
                **base["record"]["business_address"],
                "city": site.city,
                "state": "TX",
                "zip": site.zip,
            },
            "home_state": "TX",
            "licences": [
                {"state": "TX", "status": "active", "lines_of_authority": ["health"], "expires": "2028-06-30"}
            ],
            "languages": languages,
        }
        yield {
            **base,
            "record": record,
            "location": {"lat": site.lat, "lon": site.lon},
            "city": site.city,
            "county": site.county,
            "languages": languages,
        }


def _store_roster(agents: list[dict[str, Any]], env: dict[str, str]) -> None:
    """The agents' items and the Texas roster's entries, as the agents service stores them."""
    from hod.adapters.agent_items import AgentItem
    from hod.adapters.available import DynamoAvailableIndex
    from hod.adapters.dynamo import bind
    from hod.domain.agent import Agent
    from hod.ports.agents import Placement
    from hod.services.agents import roster_area

    for sample in agents[:: max(1, len(agents) // 25)]:
        Agent.model_validate(sample)  # what the send function will read back is a valid agent
    bind(AgentItem, env["HOD_AGENTS_TABLE"])
    index = DynamoAvailableIndex(env["HOD_AVAILABLE_TABLE"])
    for start in range(0, len(agents), _WRITE_CHUNK):
        chunk = agents[start : start + _WRITE_CHUNK]
        with AgentItem.batch_write() as batch:
            for agent in chunk:
                npn = agent["record"]["npn"]
                batch.save(AgentItem(npn=npn, doc=json.dumps(agent), email_key=agent["record"]["email"].lower()))
        index.replace(
            remove=(),
            add=[
                Placement(
                    roster_area("TX", a["record"]["npn"]),
                    a["record"]["npn"],
                    a["record"]["npn"],
                    a["location"]["lat"],
                    a["location"]["lon"],
                    0,
                )
                for a in chunk
            ],
        )


def _waiting_referral(clock: SimulatedClock) -> str:
    """A consumer in Houston whose referral waits in the safety net (its first round), nobody having qualified."""
    from hod import wiring
    from hod.domain.referral import AuditEvent, ConsumerRequest, ReferralStatus

    request = ConsumerRequest(first_name="Rosa", last_name="Martínez", phone="713-555-0188", zip=CONSUMER_ZIP)
    referral = wiring.services.intake().submit(request)
    opened = AuditEvent(at=clock.now(), actor="system", action="safety_net.opened", detail={"round": 1})
    wiring.adapters.workflow_store().move_referral(
        referral.referral_id,
        expected=[ReferralStatus.SEARCHING],
        to=ReferralStatus.SAFETY_NET,
        at=clock.now(),
        extra={"safety_net_round": 1, "needs_start": None},
        event=opened,
    )
    return referral.referral_id


@contextmanager
def _scoped(log: CallLog, template: dict[str, Any], names: tuple[str, ...]) -> Iterator[None]:
    """Calls made by these functions' handlers count under their logical id."""
    specs = functions(template)
    patched = []
    for name in names:
        module = load_function_module(specs[name].code_uri, specs[name].handler)
        original = getattr(module, specs[name].handler_attribute)

        def scoped(event: Any, context: Any, _original: Any = original, _name: str = name) -> Any:
            with log.scope(_name):
                return _original(event, context)

        setattr(module, specs[name].handler_attribute, scoped)
        patched.append((module, specs[name].handler_attribute, original))
    try:
        yield
    finally:
        for module, attribute, original in patched:
            setattr(module, attribute, original)


def _wait_until_idle(consumers: QueueWorkers, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not consumers.idle(("SendFunction",)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the send queue did not empty within {limit_s:.0f} s")
        time.sleep(0.25)


def run(log: CallLog, progress: Callable[[str], None], roster: int = TEXAS_ROSTER) -> dict[str, Any]:
    from hod import wiring
    from hod.domain.sending import calls_per_send

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    saved = dict(os.environ)
    started = time.perf_counter()
    try:
        with mock_aws():
            template = load_template()
            session = boto3.session.Session()
            env = create_local_resources(session, template, parameters=PARAMETERS)
            os.environ.update(env)
            os.environ.pop("HOD_STATE_MACHINE_ARN", None)  # the referral is put in the safety net directly
            os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
            session.client("sesv2").create_email_identity(EmailIdentity=SENDER)
            wiring.reset()
            clock = SimulatedClock()
            wiring.use_clock(clock)
            settings = wiring.get_settings()
            rate, senders = settings.ses_send_rate, settings.safety_net_senders
            agents = list(texas_agents(roster))
            _store_roster(agents, env)
            progress(f"safety net: {len(agents):,} Texas agents stored; calling them at {rate:g}/s, {senders} senders")
            notify = local_function_names(template)["NotifyFunction"]
            with (
                atomic_dynamodb(),
                bulk_email(),
                sqs_follows(clock),  # delays, visibility timeouts and retention on the simulated clock
                throttle(rate, clock) as quota,
                route_lambdas_in_process(template),
                _scoped(log, template, ("NotifyFunction", "SendFunction")),
                charging_latency(clock, log),
                QueueWorkers(template, parameters=PARAMETERS, only={"SendFunction"}).running(
                    wait_seconds=POLL_S, pause=clock.sleep, thread_context=clock.member
                ) as consumers,
                redirect_stdout(io.StringIO()),  # the functions' metric lines (CloudWatch's embedded format)
            ):
                referral_id = _waiting_referral(clock)
                mark = log.mark()
                opened_at = clock.now()
                wall = time.perf_counter()
                with clock.member():  # the SafetyNet task, invoked as Step Functions would
                    answer = boto3.client("lambda").invoke(
                        FunctionName=notify,
                        Payload=json.dumps(
                            {"task": "safety_net", "referral_id": referral_id, "task_token": "benchmark"}
                        ).encode(),
                    )
                queued = json.loads(answer["Payload"].read())
                ideal = len(agents) / rate
                _wait_until_idle(consumers, limit_s=WALL_LIMIT_S)
                wall_s = time.perf_counter() - wall
                calls = log.since(mark, {"NotifyFunction", "SendFunction"})
                last = quota.last_accepted or clock.epoch()
            received = calls_received("/offers/view?t=")
    finally:
        os.environ.clear()
        os.environ.update(saved)
        wiring.reset()
    recipients = len(agents)
    roster_addresses = {agent["record"]["email"] for agent in agents}
    completion = last - opened_at.timestamp()
    by_operation = Counter(call.name for call in calls)
    result = {
        "recipients": recipients,
        "queued": queued.get("queued"),
        "emailed_once": sum(1 for address in roster_addresses if received.get(address) == 1),
        "dropped": sum(1 for address in roster_addresses if not received.get(address)),
        "duplicates": sum(count - 1 for count in received.values() if count > 1),
        "strangers": sum(1 for address in received if address not in roster_addresses),
        "time_ratio": round(completion / ideal, 3),
        "completion_s": round(completion, 1),
        "ideal_s": round(ideal, 1),
        "ses_send_rate": rate,
        "senders": senders,
        "calls_per_send": calls_per_send(rate, senders),
        "simulated_latency_s": LATENCY_S,
        "wall_s": round(wall_s, 1),
        "setup_and_run_wall_s": round(time.perf_counter() - started, 1),
        "ses_accepted": quota.accepted,
        "ses_refused_calls": quota.refused_calls,
        "ses_throttled_destinations": quota.throttled_entries,
        "send_invocations": consumers.invocations,
        "aws_calls": dict(sorted(by_operation.items())),
        "aws_calls_per_recipient": round(len(calls) / max(1, recipients), 2),
        # What the fan-out is billed for (benchmarks/cost.py prices it per safety-net referral): DynamoDB units as
        # counted per call; e-mails SES accepted; the senders' Lambda time, each busy until the last send (their
        # duration is the SES rate's, on the simulated clock); Lambda's own queue polling, a receive and a delete
        # per invocation, beside the functions' SQS calls.
        "read_units": round(sum(c.read_units for c in calls), 1),
        "write_units": round(sum(c.write_units for c in calls), 1),
        "index_write_units": round(sum(c.index_write_units for c in calls), 1),
        "emails_sent": sum(c.emails for c in calls),
        "lambda_invocations": consumers.invocations + 1,
        "lambda_seconds_billed": round(completion * senders, 1),
        "sqs_requests": sum(1 for c in calls if c.service == "sqs") + 2 * consumers.invocations,
    }
    progress(
        f"safety net: {result['emailed_once']:,}/{recipients:,} e-mailed once, {result['dropped']} dropped, "
        f"{result['duplicates']} duplicates, time ratio {result['time_ratio']}"
    )
    return result
