"""Agent capacity, fair bursts and long referrals: the workflow's tasks against moto's DynamoDB (real threads where
matches race), and the state machine from template.yaml where the execution's path is what is tested."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import wiring
from hod.adapters.aws import StepFunctionsCallbacks
from hod.domain.availability import WeeklySchedule
from hod.domain.offer import OfferStatus
from hod.domain.referral import ConsumerRequest, ReferralStatus
from hod.errors import DependencyFailed
from hod.services.workflow.tasks import Step
from local.inproc import LocalContext, atomic_dynamodb
from tests.conftest import FakeClock
from tests.integration.conftest import Workflow
from tests.integration.test_api import ALWAYS, agent

NEVER = {"days": {d: {**v, "enabled": False} for d, v in ALWAYS["days"].items()}}
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday, 9:00 in Austin


def add_agents(*specs: tuple[str, str], weekly: dict[str, Any] = ALWAYS) -> None:
    """(npn, zip): Texas agents speaking English and Spanish, on the given weekly hours."""
    report = wiring.services.agents().import_agents([agent(npn, zip_code=zip_code) for npn, zip_code in specs])
    assert report.summary["refused"] == 0, report.results
    for npn, _ in specs:
        wiring.services.agents().set_weekly_schedule(npn, WeeklySchedule.model_validate(weekly))


_phones = iter(range(1000, 9999))


def new_referral(zip_code: str = "78701") -> str:
    request = ConsumerRequest(
        first_name="Rosa", last_name="Díaz", phone=f"512555{next(_phones):04d}", zip=zip_code, language="es"
    )
    return wiring.services.intake().submit(request).referral_id


def offer_round(referral_id: str, token: str | None = None, later: bool = False) -> Step:
    """The Offer task as the state machine runs it; a round that fails as retryable is retried, as its Retry does."""
    referral = wiring.adapters.referral_store().get(referral_id)
    assert referral is not None
    state = wiring.services.intake().workflow_start(referral, {}, referral.created_at).model_dump(mode="json")
    if later:
        state["answer"] = {"Error": "States.Timeout"}
    for _ in range(6):
        try:
            return wiring.workflow.workflow_tasks().offer_round(
                state, token or f"token-{referral_id}", f"run-{referral_id}"
            )
        except DependencyFailed:
            continue
    raise AssertionError("the round kept failing")


def pending_offers() -> Counter[str]:
    """How many pending offers each agent holds, read from the offers themselves."""
    store = wiring.adapters.workflow_store()
    held: Counter[str] = Counter()
    for rid in submitted:
        for offer in store.offers(rid):
            if offer.status is OfferStatus.PENDING:
                held[offer.agent_npn] += 1
    return held


def actions(referral_id: str) -> list[str]:
    return [event.action for event in wiring.adapters.referral_store().audit_trail(referral_id)]


submitted: list[str] = []


@pytest.fixture
def clock(stack: dict[str, str]) -> Iterator[FakeClock]:
    submitted.clear()
    fake = FakeClock(START)
    wiring.use_clock(fake)
    yield fake
    submitted.clear()


def configure(monkeypatch: pytest.MonkeyPatch, clock: FakeClock, **settings: str) -> None:
    """Settings other than the template's defaults (the services are built again, with the same clock)."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    wiring.use_clock(clock)


@pytest.fixture
def rechecks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The task tokens of waiting referrals woken with Recheck (the Offer task was waiting: True)."""
    woken: list[str] = []
    original = StepFunctionsCallbacks.failure

    def failure(self: StepFunctionsCallbacks, token: str, error: str, cause: str = "") -> bool:
        if error == "Recheck":
            woken.append(token)
            return True
        return original(self, token, error, cause)

    monkeypatch.setattr(StepFunctionsCallbacks, "failure", failure)
    return woken


@pytest.mark.parametrize("capacity", [1, 2])
def test_concurrent_matches_never_put_an_agent_over_capacity(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, capacity: int
) -> None:
    # Given an offer capacity, five agents at one office and three more around Austin, and twenty referrals
    configure(monkeypatch, clock, HOD_OFFER_CAPACITY=str(capacity))
    add_agents(*[(f"50{i}", "78701") for i in range(5)], ("601", "78702"), ("602", "78703"), ("603", "78704"))
    submitted.extend(new_referral() for _ in range(20))

    # When their first rounds run at the same moment, as twenty concurrent Lambda invocations would
    with atomic_dynamodb(), ThreadPoolExecutor(max_workers=20) as pool:
        steps = list(pool.map(offer_round, submitted))

    # Then no agent holds more pending offers than the capacity, and every slot there is was filled
    held = pending_offers()
    assert max(held.values()) == capacity
    assert sum(held.values()) == 8 * capacity
    assert Counter(step.next for step in steps) == {"offer": 8 * capacity, "queued": 20 - 8 * capacity}
    # And each agent's stored load names exactly the referrals they hold
    loads = wiring.adapters.agent_loads().loads([f"50{i}" for i in range(5)] + ["601", "602", "603"])
    now = int(clock.now().timestamp())
    assert {npn: len(load.held(now)) for npn, load in loads.items()} == dict(held)
    # And every referral's opening events were written once, by the write of the round that landed
    for rid in submitted:
        started = [e for e in wiring.adapters.referral_store().audit_trail(rid) if e.detail.get("run") == f"run-{rid}"]
        assert len(started) == 1, rid


def test_equal_distances_go_to_the_agent_who_has_waited_longest_not_the_lowest_npn(clock: FakeClock) -> None:
    # Given three agents at one office, none offered anything yet
    add_agents(("301", "78701"), ("302", "78701"), ("303", "78701"))
    first = new_referral()
    submitted.append(first)
    # When the first referral comes, it goes to the lowest NPN (all have waited equally), who passes on it
    assert offer_round(first).agent_npn == "301"
    wiring.workflow.answers().reject(first, "301", via="portal")
    clock.advance(minutes=1)
    # Then the next referrals go to the agents never offered one, then back to 301, though 301 is free throughout
    for expected in ("302", "303", "301"):
        rid = new_referral()
        submitted.append(rid)
        assert offer_round(rid).agent_npn == expected
        clock.advance(minutes=1)


def test_a_referral_waits_for_a_busy_agent_and_their_answer_wakes_it(clock: FakeClock, rechecks: list[str]) -> None:
    # Given one agent, holding an offer
    add_agents(("101", "78701"))
    first, second = new_referral(), new_referral()
    submitted.extend([first, second])
    assert offer_round(first).agent_npn == "101"
    # When a second referral comes, it waits for them instead of going to the safety net
    assert offer_round(second, token="second-token").next == "queued"
    assert "referral.queued" in actions(second)
    assert "safety_net.opened" not in actions(second)
    # When the agent passes on the first, the second is woken at once, and its next round offers it to them
    wiring.workflow.answers().reject(first, "101", via="portal")
    assert rechecks == ["second-token"]
    assert offer_round(second, later=True).agent_npn == "101"
    # And it was listed on the agent only while it waited
    assert wiring.adapters.agent_loads().load("101").waiters == ()


def test_a_freed_slot_goes_only_to_referrals_still_waiting_that_were_never_offered_to_the_agent(
    clock: FakeClock,
) -> None:
    from hod.domain.capacity import AgentLoad, Waiter
    from hod.domain.offer import AgentContact, Offer, OfferKind

    # Given four referrals: one waiting; one waiting again after agent 101 passed on it; one whose wait was claimed
    # by a wake; one that never waited
    add_agents(("101", "78701"))
    store = wiring.adapters.workflow_store()
    waiting, passed_on, woken, never = (new_referral() for _ in range(4))
    busy = [AgentLoad("999")]
    for rid in (waiting, passed_on, woken):
        store.queue(rid, f"token-{rid}", Waiter(int(START.timestamp()), rid), busy, [])
    offer = Offer(
        referral_id=passed_on,
        agent_npn="101",
        kind=OfferKind.DIRECT,
        status=OfferStatus.PENDING,
        offered_at=START,
        deadline=START + timedelta(minutes=15),
        city="Austin",
        county="Travis",
        state="TX",
        language="es",
    )
    contact = AgentContact.of(wiring.services.agents().view("101").agent)
    store.record_offer(offer, "offer-token", contact, [])
    event = wiring.workflow.workflow_ports().event("agent:101", "offer.rejected")
    store.decide_offer(
        passed_on,
        "101",
        to=OfferStatus.REJECTED,
        at=START,
        before_deadline=True,
        referral_to=ReferralStatus.SEARCHING,
        event=event,
    )
    store.queue(passed_on, "token-again", Waiter(int(START.timestamp()), passed_on), busy, [])
    assert store.take_queue_token(woken) == f"token-{woken}"
    # When agent 101 frees a slot, the referrals listed on them are looked up
    found = store.still_waiting([waiting, passed_on, woken, never], "101")
    # Then only the one that still waits and was never offered to 101 can be woken for them
    assert found == {waiting}
    # And a token is claimed once
    assert store.take_queue_token(woken) is None


@pytest.mark.parametrize("ends", ["progress", "reminder"])
def test_an_accepted_referral_holds_the_slot_until_progress_or_the_first_reminder(
    clock: FakeClock, rechecks: list[str], ends: str
) -> None:
    # Given an agent who accepted a referral, and a second referral waiting for them during the wrap-up
    add_agents(("101", "78701"))
    first, second = new_referral(), new_referral()
    submitted.extend([first, second])
    offer_round(first)
    wiring.workflow.answers().accept(first, "101", via="portal")
    assert offer_round(second, token="second-token").next == "queued"
    # When the agent records progress on the first (or, without progress, its first reminder comes)
    clock.advance(minutes=5)
    if ends == "progress":
        wiring.workflow.answers().set_status(first, "101", ReferralStatus.IN_PROGRESS)
    else:
        wiring.workflow.workflow_tasks().remind(first, 15)
    # Then the wrap-up ends and the waiting referral is woken, and offered to them
    assert rechecks == ["second-token"]
    assert offer_round(second, later=True).agent_npn == "101"


def test_a_referral_waits_no_longer_than_the_queue_wait_then_goes_to_the_safety_net(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queue wait of 5 minutes, one available agent who accepted a referral (a wrap-up of 15 minutes), and
    # another agent who is off now
    configure(monkeypatch, clock, HOD_QUEUE_WAIT_SECONDS="300")
    add_agents(("101", "78701"))
    add_agents(("104", "79901"), weekly=NEVER)
    first, second = new_referral(), new_referral()
    submitted.extend([first, second])
    offer_round(first)
    wiring.workflow.answers().accept(first, "101", via="portal")
    assert offer_round(second).next == "queued"
    # When its next round comes before the wait is over, while the agent still wraps up, it waits again
    clock.advance(seconds=299)
    assert offer_round(second, later=True).next == "queued"
    # Then once the wait is over, its next round opens the safety net
    clock.advance(seconds=1)
    assert offer_round(second, later=True).next == "safety_net"
    assert actions(second).count("referral.queued") == 2


def test_the_cascade_stops_at_its_cap_and_the_safety_net_takes_over(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a cap of two rounds per referral and three available agents
    configure(monkeypatch, clock, HOD_MAX_OFFER_ROUNDS="2")
    add_agents(("101", "78701"), ("102", "78702"), ("103", "78703"))
    rid = new_referral()
    submitted.append(rid)
    # When the first two agents pass on it
    for npn in ("101", "102"):
        assert offer_round(rid, later=npn != "101").agent_npn == npn
        wiring.workflow.answers().reject(rid, npn, via="portal")
    # Then the third round opens the safety net instead of offering it to the third agent
    assert offer_round(rid, later=True).next == "safety_net"
    assert wiring.adapters.workflow_store().offer(rid, "103") is None
    opened = [e for e in wiring.adapters.referral_store().audit_trail(rid) if e.action == "safety_net.opened"]
    assert opened[0].detail["cascade_capped"] is True


# ----- through the state machine ---------------------------------------------------------------------------------
@pytest.fixture
def client(workflow: Workflow) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def submit(client: Client, phone: str) -> str:
    body = {"first_name": "Rosa", "last_name": "Díaz", "phone": phone, "zip": "78701", "language": "es"}
    response = client.http.post("/referrals", body=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    return str(response.json_body["referral_id"])


def offer_status(referral_id: str, npn: str) -> OfferStatus | None:
    found = wiring.adapters.workflow_store().offer(referral_id, npn)
    return found[0].status if found else None


def states_entered(flow: Workflow, referral_id: str, execution: str | None = None) -> list[str]:
    arn = flow.env["HOD_STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:") + f":{execution or referral_id}"
    events = boto3.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


# A window long enough that the wait is surely ended by the answer, not by its timeout, on a busy machine
@pytest.mark.windows(OfferWindowSeconds="60")
def test_a_waiting_referral_is_offered_the_moment_the_busy_agent_passes(workflow: Workflow, client: Client) -> None:
    # Given one available agent holding an offer, and a second referral waiting for them
    add_agents(("101", "78701"))
    first = submit(client, "512-555-0101")
    workflow.wait_for(lambda: offer_status(first, "101") is OfferStatus.PENDING, what="the first offer")
    second = submit(client, "512-555-0102")
    workflow.wait_for(lambda: "referral.queued" in actions(second), what="the second referral to wait")
    # When the agent passes on the first
    wiring.workflow.answers().reject(first, "101", via="portal")
    # Then the second's execution goes straight to its next round (Recheck), which offers it to the agent
    workflow.wait_for(lambda: offer_status(second, "101") is OfferStatus.PENDING, what="the offer of the second")
    entered = states_entered(workflow, second)
    assert entered[:3] == ["Offer", "Recheck", "Offer"]
    assert "OfferLapsed" not in entered


def test_a_lapse_task_that_keeps_failing_flags_the_referral_for_the_sweep(
    workflow: Workflow, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import expire_handler
    from hod.services.workflow.tasks import WorkflowTasks

    add_agents(("101", "78701"), ("102", "78702"))

    # Given a lapse task that fails on every attempt (a bug in a release of the expire function, say)
    def broken(self: WorkflowTasks, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the offer cannot be read")

    with monkeypatch.context() as release:
        release.setattr(WorkflowTasks, "offer_lapsed", broken)
        rid = submit(client, "512-555-0103")
        # When 101's offer window closes, the execution ends failed (the alarm's metric), the referral flagged
        workflow.wait_for(lambda: workflow.execution(rid)["status"] == "FAILED", what="the execution to fail")
        assert wiring.adapters.referral_store().round_failed(10) == [rid]
        assert states_entered(workflow, rid)[-3:] == ["LapseFailed", "FlagForSweep", "RoundFailed"]
        lapse = [e for e in wiring.adapters.referral_store().audit_trail(rid) if e.action == "workflow.lapse_failed"]
        assert lapse[0].detail["error"] == "RuntimeError"
    # When the one-minute sweep runs after the fix
    assert expire_handler.handler({"source": "aws.events"}, LocalContext("Expire"))["workflows_started"] == 1
    # Then the new execution lapses the offer whose window closed, and the referral goes on to the next agent
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, what="the offer to 102")
    assert offer_status(rid, "101") is OfferStatus.MISSED
    trail = actions(rid)
    assert trail.index("workflow.lapse_failed") < trail.index("workflow.restarted") < trail.index("offer.missed")
