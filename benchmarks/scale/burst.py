"""`scale.burst`: 30 referrals in one minute in Houston with 20 available agents, in three shapes.

- `consumers_30_zips`: consumers from 30 Houston ZIPs, agents at 20 ZIPs;
- `consumers_3_zips`: consumers from 3 ZIPs (10 each), agents at 20 ZIPs;
- `agents_at_4_offices`: consumers from 30 ZIPs, the 20 agents stacked 5 each at 4 offices.

The real code against moto: the intake stores each referral; the workflow's tasks (`WorkflowTasks`) and the agents'
answers (`Answers`) run with the template's defaults (offer capacity 1, 15-minute windows and wrap-ups, a 15-minute
queue wait) against the tables built from template.yaml. Only the state machine is not moto's: its transitions (those
of statemachine/referral.asl.json, which the tests run in moto in real time) are driven here in simulated time, so a
burst and the two hours after it take a minute, and every run is the same. Agents answer at random (seeded): 55%
accept after 1–10 minutes, 25% reject after 0.5–5 minutes, 20% never answer; an agent who accepted records progress
3–25 minutes later (after 15 minutes the first reminder has ended their wrap-up already). Nobody answers the safety
net's e-mails.

Figures per shape: `max_pending_per_agent` (the most pending offers one agent held at once), `idle_while_waiting`
(agents who sat with a free slot at a moment when a referral was waiting for an offer), `offers_per_agent` (direct
offers each agent received, most first), and what they describe. `uncapped` is the same burst with a capacity of 20
and no waiting: the design before capacity, for comparison.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from benchmarks.referrals import ALWAYS, SENDER, agent_record
from local.cfn import create_local_resources, load_template
from local.inproc import atomic_dynamodb

START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday, 9:00 in Houston
HORIZON = timedelta(hours=2)
REFERRALS = 30
AGENTS = 20
SEED = 11
# Houston ZIP centroids (hod.zipdir): consumers, agents' own ZIPs, and four offices
CONSUMER_ZIPS = tuple(f"770{n:02d}" for n in range(2, 62, 2))
AGENT_ZIPS = tuple(f"770{n:02d}" for n in range(3, 43, 2))
THREE_ZIPS = ("77002", "77036", "77022")
OFFICES = ("77002", "77056", "77030", "77060")
SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "consumers_30_zips": (CONSUMER_ZIPS, AGENT_ZIPS),
    "consumers_3_zips": (tuple(THREE_ZIPS[i % 3] for i in range(REFERRALS)), AGENT_ZIPS),
    "agents_at_4_offices": (CONSUMER_ZIPS, tuple(OFFICES[i % 4] for i in range(AGENTS))),
}
PARAMETERS = {"SenderEmail": SENDER, "PlanYear": "2026", "Stage": "bench", "PublicBaseUrl": "http://hod.bench"}


@dataclass
class FakeClock:
    current: datetime = START

    def now(self) -> datetime:
        return self.current


@dataclass
class _Task:
    referral_id: str
    kind: str  # "offer" or "safety_net"
    live: bool = True
    queued: bool = False


@dataclass
class Driver:
    """The referral state machine's transitions in simulated time, and the agents' behaviour. It is the workflow's
    task-token callbacks (`Callbacks`) and its reminders' scheduler (`Reminders`)."""

    clock: FakeClock
    rng: random.Random
    offer_window: int
    safety_net_window: int
    events: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    tasks: dict[str, _Task] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)  # referral -> its live task's token
    seq: Iterator[int] = field(default_factory=itertools.count)
    services: Any = None  # (WorkflowTasks, Answers, IntakeService), set once built

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when, next(self.seq), action))

    # ----- Callbacks ---------------------------------------------------------------------------------------------
    def success(self, token: str, output: dict[str, Any]) -> bool:
        return self._end(token) is not None

    def failure(self, token: str, error: str, cause: str = "") -> bool:
        task = self._end(token)
        if task is None:
            return False
        now = self.clock.now()
        if error in ("Rejected", "Recheck"):
            self.at(now, lambda: self.offer_round(task.referral_id, later=True))
        elif error == "SafetyNet":
            self.at(now, lambda: self.safety_net(task.referral_id))
        else:  # Closed: the safety net's lapse decides
            self.at(now, lambda: self.after(self.services[0].safety_net_lapsed(task.referral_id), task.referral_id))
        return True

    # ----- Reminders ---------------------------------------------------------------------------------------------
    def schedule(self, referral_id: str, after_minutes: int, at: datetime, agent_npn: str) -> None:
        self.at(at, lambda: self.services[0].remind(referral_id, after_minutes, agent_npn))

    # ----- the state machine -------------------------------------------------------------------------------------
    def _end(self, token: str) -> _Task | None:
        task = self.tasks.get(token)
        if task is None or not task.live:
            return None
        task.live = False
        return task

    def _start(self, referral_id: str, kind: str, timeout: int, on_timeout: Callable[[], None]) -> str:
        token = f"{referral_id}:{next(self.seq)}"
        self.tasks[token] = _Task(referral_id, kind)
        self.current[referral_id] = token

        def lapse() -> None:
            if self._end(token) is not None:
                on_timeout()

        self.at(self.clock.now() + timedelta(seconds=timeout), lapse)
        return token

    def offer_round(self, referral_id: str, later: bool = False) -> None:
        from hod import wiring
        from hod.errors import DependencyFailed

        tasks, _, intake = self.services
        token = self._start(referral_id, "offer", self.offer_window, lambda: self.lapsed(referral_id))
        referral = wiring.adapters.referral_store().get(referral_id)
        state = intake.workflow_start(referral, {}, referral.created_at).model_dump(mode="json")
        if later:
            state["answer"] = {"Error": "States.Timeout"}
        try:
            step = tasks.offer_round(state, token, f"run-{referral_id}")
        except DependencyFailed:  # the Offer state's Retry: again after a pause
            self._end(token)
            self.at(self.clock.now() + timedelta(seconds=2), lambda: self.offer_round(referral_id, later))
            return
        self.tasks[token].queued = step.next == "queued"
        if step.next == "offer" and step.agent_npn:
            self.agent_answers(referral_id, step.agent_npn)

    def lapsed(self, referral_id: str) -> None:
        self.after(self.services[0].offer_lapsed(referral_id), referral_id)

    def after(self, step: Any, referral_id: str) -> None:
        if step.next == "match":
            self.offer_round(referral_id, later=True)

    def safety_net(self, referral_id: str) -> None:
        def lapse() -> None:
            self.after(self.services[0].safety_net_lapsed(referral_id), referral_id)

        token = self._start(referral_id, "safety_net", self.safety_net_window, lapse)
        self.services[0].open_safety_net(referral_id, token)

    def waiting(self) -> list[str]:
        return [rid for rid, token in self.current.items() if self.tasks[token].live and self.tasks[token].queued]

    # ----- the agents --------------------------------------------------------------------------------------------
    def agent_answers(self, referral_id: str, npn: str) -> None:
        from hod.domain.referral import ReferralStatus
        from hod.errors import Conflict

        answers = self.services[1]
        roll = self.rng.random()
        now = self.clock.now()

        def attempt(action: Callable[[], Any]) -> None:
            with suppress(Conflict):  # too late, or already answered
                action()

        if roll < 0.55:
            accept_at = now + timedelta(minutes=self.rng.uniform(1, 10))
            progress_at = accept_at + timedelta(minutes=self.rng.uniform(3, 25))

            def accept() -> None:
                attempt(lambda: answers.accept(referral_id, npn, via="link"))
                self.at(progress_at, lambda: attempt(progress))

            def progress() -> None:
                answers.set_status(referral_id, npn, ReferralStatus.IN_PROGRESS)

            self.at(accept_at, accept)
        elif roll < 0.80:
            reject_at = now + timedelta(minutes=self.rng.uniform(0.5, 5))
            self.at(reject_at, lambda: attempt(lambda: answers.reject(referral_id, npn, via="link")))

    def run(self, until: datetime, measure: Callable[[datetime], None]) -> None:
        while self.events and self.events[0][0] <= until:
            when = self.events[0][0]
            self.clock.current = when
            while self.events and self.events[0][0] == when:
                heapq.heappop(self.events)[2]()
            measure(when)


@contextmanager
def _stack() -> Iterator[None]:
    from hod import wiring

    with mock_aws():
        env = create_local_resources(boto3.session.Session(), load_template(), parameters=PARAMETERS)
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        os.environ.pop("HOD_STATE_MACHINE_ARN", None)
        boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        wiring.reset()
        try:
            with atomic_dynamodb():
                yield
        finally:
            wiring.reset()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _services(driver: Driver, capacity: int, queue_wait: int) -> tuple[Any, Any, Any]:
    from hod import wiring
    from hod.services.workflow.answers import Answers
    from hod.services.workflow.common import TaskTokens, WorkflowPolicy, WorkflowPorts
    from hod.services.workflow.missed import MissedOffers
    from hod.services.workflow.queue import WaitingReferrals
    from hod.services.workflow.tasks import WorkflowTasks

    wiring.use_clock(driver.clock)
    policy = WorkflowPolicy(offer_capacity=capacity, queue_wait_seconds=queue_wait)
    ports = WorkflowPorts(wiring.adapters.workflow_store(), driver.clock, policy, TaskTokens(driver), driver)
    agents, notices = wiring.services.agents(), wiring.workflow.notices()
    waiting = WaitingReferrals(ports, wiring.adapters.agent_loads())
    missed = MissedOffers(ports, agents, notices)
    tasks = WorkflowTasks(ports, agents, wiring.services.matching(), notices, missed, waiting)
    return tasks, Answers(ports, agents, notices, waiting), wiring.services.intake()


def _max_overlap(spans: list[tuple[datetime, datetime]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    most = held = 0
    for _, step in edges:
        held += step
        most = max(most, held)
    return most


def one_shape(
    consumer_zips: tuple[str, ...], agent_zips: tuple[str, ...], capacity: int, queue_wait: int
) -> dict[str, Any]:
    """The burst in one shape, measured: a referral from each of `consumer_zips` (one every two seconds), an
    available agent at each of `agent_zips`."""
    from hod import wiring
    from hod.domain.availability import WeeklySchedule
    from hod.domain.referral import ConsumerRequest

    with _stack():
        clock = FakeClock(START)
        driver = Driver(clock, random.Random(SEED), offer_window=900, safety_net_window=1800)
        driver.services = _services(driver, capacity, queue_wait)
        npns = [str(7000 + i) for i in range(len(agent_zips))]
        report = wiring.services.agents().import_agents(
            [agent_record(n, z, "Houston") for n, z in zip(npns, agent_zips, strict=True)]
        )
        assert report.summary["refused"] == 0, report.results
        for npn in npns:
            wiring.services.agents().set_weekly_schedule(npn, WeeklySchedule.model_validate(ALWAYS))
        referrals: list[str] = []

        def arrive(i: int) -> Callable[[], None]:
            def submit() -> None:
                request = ConsumerRequest(
                    first_name="Rosa", last_name="Díaz", phone=f"71355{i:05d}", zip=consumer_zips[i], language="es"
                )
                referrals.append(driver.services[2].submit(request).referral_id)
                driver.offer_round(referrals[-1])

            return submit

        for i in range(len(consumer_zips)):
            driver.at(START + timedelta(seconds=2 * i), arrive(i))
        idle: set[str] = set()
        idle_seconds = 0.0
        last: list[Any] = [START, 0]  # when the last measure was, and how many agents sat idle then

        def measure(now: datetime) -> None:
            nonlocal idle_seconds
            idle_seconds += (now - last[0]).total_seconds() * last[1]
            count = 0
            if driver.waiting():
                epoch = int(now.timestamp())
                loads = wiring.adapters.agent_loads().loads(npns)
                for npn in npns:
                    if loads[npn].has_room(capacity, epoch) and not wiring.services.agents().view(npn).agent.suspended:
                        idle.add(npn)
                        count += 1
            last[:] = [now, count]

        driver.run(START + HORIZON, measure)
        return _figures(referrals, npns, idle, idle_seconds, capacity)


def _figures(
    referrals: list[str], npns: list[str], idle: set[str], idle_seconds: float, capacity: int
) -> dict[str, Any]:
    from hod import wiring
    from hod.domain.offer import OfferKind, OfferStatus

    store = wiring.adapters.workflow_store()
    spans: dict[str, list[tuple[datetime, datetime]]] = {npn: [] for npn in npns}
    offers: Counter[str] = Counter()
    after_minute: Counter[str] = Counter()
    minute = START + timedelta(minutes=1)
    waited: list[float] = []
    for rid in referrals:
        for offer in store.offers(rid):
            if offer.kind is not OfferKind.DIRECT:
                continue
            end = offer.decided_at or offer.deadline
            if offer.status is OfferStatus.PENDING:
                end = max(offer.deadline, START + HORIZON)
            spans[offer.agent_npn].append((offer.offered_at, end))
            offers[offer.agent_npn] += 1
            if offer.offered_at <= minute < end:
                after_minute[offer.agent_npn] += 1
        trail = store.audit_trail(rid)
        queued = [e.at for e in trail if e.action == "referral.queued"]
        if queued:
            made = [e.at for e in trail if e.action in ("offer.made", "safety_net.opened") and e.at > queued[0]]
            waited.append(((made[0] if made else START + HORIZON) - queued[0]).total_seconds())
    statuses = Counter(str(ref.status.value) for ref in store.referrals(referrals).values())
    return {
        "capacity": capacity,
        "max_pending_per_agent": max(_max_overlap(s) for s in spans.values()),
        "idle_while_waiting": len(idle),
        "idle_agent_seconds_while_waiting": round(idle_seconds),
        "offers_per_agent": sorted((offers[n] for n in npns), reverse=True),
        "pending_per_agent_after_1_min": sorted((after_minute[n] for n in npns), reverse=True),
        "referrals_that_waited": len(waited),
        "longest_wait_s": round(max(waited, default=0)),
        "statuses_after_2_h": dict(sorted(statuses.items())),
    }


def run(say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """The scale.burst section: each shape with the template's defaults, and uncapped for comparison."""
    found: dict[str, Any] = {
        "referrals": REFERRALS,
        "agents": AGENTS,
        "arrivals_s": 2 * (REFERRALS - 1),
        "horizon_h": HORIZON.total_seconds() / 3600,
    }
    for name, (consumer_zips, agent_zips) in SHAPES.items():
        say(f"scale.burst: {name}")
        shape = one_shape(consumer_zips, agent_zips, capacity=1, queue_wait=900)
        uncapped = one_shape(consumer_zips, agent_zips, capacity=20, queue_wait=0)
        shape["uncapped"] = {
            key: uncapped[key]
            for key in (
                "max_pending_per_agent",
                "offers_per_agent",
                "pending_per_agent_after_1_min",
                "statuses_after_2_h",
            )
        }
        found[name] = shape
    return found
