"""The referral workflow end to end: the state machine from template.yaml executing in moto, the real handlers
in-process, agents answering through the signed links in the e-mails they were actually sent."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from hod import wiring
from hod.domain.availability import WeeklySchedule
from hod.domain.offer import OfferStatus
from hod.domain.referral import ReferralStatus
from hod.errors import Conflict
from hod.services.workflow.notices import OFFER_LINK
from tests.integration.conftest import Workflow
from tests.integration.test_api import ALWAYS, admin_headers, agent, agent_headers, consumer

NEVER = {"days": {d: {**v, "enabled": False} for d, v in ALWAYS["days"].items()}}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(workflow: Workflow) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def add_agents(*specs: tuple[str, str, dict[str, Any]]) -> None:
    """(npn, zip, weekly schedule) — all Texas agents speaking Spanish."""
    service = wiring.services.agents()
    report = service.import_agents([agent(npn, zip_code=zip_code) for npn, zip_code, _ in specs])
    assert report.summary["refused"] == 0, report.results
    for npn, _, weekly in specs:
        service.set_weekly_schedule(npn, WeeklySchedule.model_validate(weekly))


def submit(client: Client) -> str:
    response = client.http.post("/referrals", body=json.dumps(consumer()), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    return str(response.json_body["referral_id"])


def emails_to(npn: str) -> list[Any]:
    messages = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return [m for m in messages if f"agent{npn}@example.com" in m.destinations.get("ToAddresses", [])]


def offer_emails_to(npn: str) -> list[Any]:
    """The e-mails carrying a link to a referral (offers and safety-net calls), oldest first."""
    return [m for m in emails_to(npn) if "/offers/view?t=" in m.body]


def link_of(npn: str, flow: Workflow) -> str:
    """The path and query of the link in the latest offer or safety-net e-mail the agent received."""
    message = flow.wait_for(lambda: offer_emails_to(npn), what=f"an offer e-mail to agent {npn}")[-1]
    url = re.search(r'href="([^"]+)"', message.body)
    assert url is not None, message.body
    return url.group(1).replace("&amp;", "&").removeprefix("http://hod.test")


def token_of(path: str) -> str:
    return path.split("t=", 1)[1]


def offer_status(referral_id: str, npn: str) -> OfferStatus | None:
    found = wiring.adapters.workflow_store().offer(referral_id, npn)
    return found[0].status if found else None


def actions(client: Client, referral_id: str) -> list[str]:
    response = client.http.get(f"/admin/referrals/{referral_id}", headers=admin_headers())
    assert response.status_code == 200
    return [event["action"] for event in response.json_body["audit_trail"]]


def succeeded(flow: Workflow, referral_id: str) -> bool:
    return flow.execution(referral_id)["status"] == "SUCCEEDED"


def test_the_nearest_agent_accepts_through_the_link(workflow: Workflow, client: Client) -> None:
    # Given agents in Austin and San Antonio, both available, and a consumer in Austin
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit(client)
    # When the Austin agent opens the link in the offer e-mail
    link = link_of("101", workflow)
    page = client.http.get(link)
    # Then the page shows where the consumer is, not who, and changes nothing
    assert page.status_code == 200
    assert "Austin, Travis County, TX" in page.body.decode()
    assert "Rosa" not in page.body.decode()
    assert offer_status(rid, "101") is OfferStatus.PENDING
    # When they accept
    accepted = client.http.post("/offers/accept", body=f"t={token_of(link)}", headers=FORM)
    # Then they see the consumer's details and the workflow ends
    assert accepted.status_code == 200
    assert "Rosa Martínez" in accepted.body.decode()
    assert "+15125550188" in accepted.body.decode()
    workflow.wait_for(lambda: succeeded(workflow, rid), what="the execution to succeed")
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.status is ReferralStatus.ACCEPTED
    assert referral.accepted_by == "101"
    assert offer_emails_to("102") == []
    trail = actions(client, rid)
    assert trail[0] == "referral.created"
    assert trail.index("offer.made") < trail.index("offer.accepted")
    assert trail.count("offer.accepted") == 1
    # And the offer's and the acceptance's records name the channels their messages went by; every channel took its
    # message, so no outcome needed a record of its own
    events = client.http.get(f"/admin/referrals/{rid}", headers=admin_headers()).json_body["audit_trail"]
    detail = {event["action"]: event["detail"] for event in events}
    assert detail["offer.made"]["channels"] == ["email"]
    assert (detail["offer.accepted"]["agent_channels"], detail["offer.accepted"]["consumer_channels"]) == (
        ["email"],
        ["email", "text"],
    )
    assert not {"offer.notified", "accepted.notified"} & set(trail)


def test_a_rejection_moves_the_referral_at_once_to_the_next_nearest(workflow: Workflow, client: Client) -> None:
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS), ("103", "75201", ALWAYS))
    rid = submit(client)
    rejected = client.http.post("/offers/reject", body=f"t={token_of(link_of('101', workflow))}", headers=FORM)
    assert rejected.status_code == 200
    # The next nearest (San Antonio, not Dallas) gets it well inside the 3-second window of the first offer
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, timeout=2.5, what="offer to 102")
    assert offer_status(rid, "101") is OfferStatus.REJECTED
    assert offer_status(rid, "103") is None
    accepted = client.http.post("/offers/accept", body=f"t={token_of(link_of('102', workflow))}", headers=FORM)
    assert accepted.status_code == 200
    workflow.wait_for(lambda: succeeded(workflow, rid), what="the execution to succeed")
    trail = actions(client, rid)
    assert trail.count("offer.made") == 2
    assert trail.index("offer.rejected") < trail.index("offer.accepted")
    # Rejecting is never counted against the agent
    profile = client.http.get("/agent/profile", headers=agent_headers("101")).json_body
    assert profile["missed_in_last_7_days"] == 0


def test_an_unanswered_offer_is_missed_and_moves_on(workflow: Workflow, client: Client) -> None:
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit(client)
    link_of("101", workflow)
    # When 101 does not answer within the window, the offer is missed and 102 gets the referral
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, timeout=10, what="offer to 102")
    assert offer_status(rid, "101") is OfferStatus.MISSED
    # 101 sees a Missed Referral without any consumer information, and the sign-in alert
    rows = client.http.get("/agent/referrals", headers=agent_headers("101")).json_body["referrals"]
    assert [(r["status"], r["label"], r["consumer"]) for r in rows] == [("missed", "Missed Referral", None)]
    profile = client.http.get("/agent/profile", headers=agent_headers("101")).json_body
    assert profile["missed_in_last_7_days"] == 1
    assert profile["alert"].startswith("Alert! You have missed 1 referral(s) in the last seven days.")
    # ...as the administrator's view of the agent does
    seen_by_admin = client.http.get("/admin/agents/101", headers=admin_headers()).json_body["profile"]
    assert seen_by_admin["missed_in_last_7_days"] == 1
    # And the missed link now shows the Missed Referral page
    page = client.http.get(link_of("101", workflow))
    assert "Missed Referral" in page.body.decode()
    assert "Rosa" not in page.body.decode()
    trail = actions(client, rid)
    assert trail.index("offer.missed") < trail.index("offer.made", trail.index("offer.missed"))


def test_accepting_after_the_window_is_refused_and_changes_nothing(workflow: Workflow, client: Client) -> None:
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit(client)
    late_link = link_of("101", workflow)
    workflow.wait_for(lambda: offer_emails_to("102"), timeout=10, what="the offer to 102 to be sent")
    before = actions(client, rid)
    answer = client.http.post("/offers/accept", body=f"t={token_of(late_link)}", headers=FORM)
    assert answer.status_code == 409
    assert "expired" in answer.body.decode()
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.status is ReferralStatus.OFFERED
    assert referral.accepted_by is None
    assert offer_status(rid, "101") is OfferStatus.MISSED
    assert actions(client, rid) == before


def test_when_everyone_misses_the_safety_net_emails_the_states_agents(workflow: Workflow, client: Client) -> None:
    # Given one available agent and one who takes Texas referrals but is off now
    add_agents(("101", "78701", ALWAYS), ("104", "79901", NEVER))
    rid = submit(client)
    link_of("101", workflow)
    # When 101 misses the offer, the safety net e-mails 104 (not 101, who already had their chance)
    safety_link = link_of("104", workflow)
    assert len(offer_emails_to("101")) == 1
    page = client.http.get(safety_link)
    assert "A consumer needs help now" in page.body.decode()
    accepted = client.http.post("/offers/accept", body=f"t={token_of(safety_link)}", headers=FORM)
    assert accepted.status_code == 200
    assert "Rosa Martínez" in accepted.body.decode()
    workflow.wait_for(lambda: succeeded(workflow, rid), what="the execution to succeed")
    trail = actions(client, rid)
    assert trail.index("offer.missed") < trail.index("safety_net.opened") < trail.index("safety_net.accepted")


def test_a_safety_net_nobody_answers_ends_unserved_not_lost(workflow: Workflow, client: Client) -> None:
    add_agents(("104", "79901", NEVER))
    rid = submit(client)
    link_of("104", workflow)
    # Two rounds of 3 seconds, matching retried between them, then the referral is closed as unserved
    workflow.wait_for(lambda: succeeded(workflow, rid), timeout=20, what="the execution to end")
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.status is ReferralStatus.UNSERVED
    trail = actions(client, rid)
    assert trail.count("safety_net.opened") == 2
    assert trail.count("safety_net.lapsed") == 2
    assert trail[-1] == "referral.unserved"
    assert len(offer_emails_to("104")) == 1  # the call goes out once, not every round


@pytest.mark.windows(SafetyNetWindowSeconds="60")  # the twenty calls all go out before the round could lapse
def test_twenty_simultaneous_safety_net_accepts_have_one_winner(workflow: Workflow, client: Client) -> None:
    npns = [str(500 + i) for i in range(20)]
    add_agents(*[(npn, "78701", NEVER) for npn in npns])
    rid = submit(client)
    tokens = {npn: token_of(link_of(npn, workflow)) for npn in npns}
    service = wiring.workflow.answers()

    # Twenty agents answer at the same instant, as twenty concurrent Lambda invocations would
    # (the in-process HTTP client serialises nothing, but Chalice keeps one current request per app object)
    def accept(npn: str) -> tuple[str, str]:
        try:
            service.accept(rid, npn, via="link", safety_net_call=True)
        except Conflict as lost:
            return npn, lost.message
        return npn, "won"

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(accept, npns))
    winners = [npn for npn, answer in answers if answer == "won"]
    assert len(winners) == 1
    losers = [answer for npn, answer in answers if answer != "won"]
    assert losers == ["Another agent has already taken this referral."] * 19
    workflow.wait_for(lambda: succeeded(workflow, rid), what="the execution to succeed")
    referral = wiring.adapters.workflow_store().get(rid)
    assert referral is not None
    assert referral.accepted_by == winners[0]
    assert actions(client, rid).count("safety_net.accepted") == 1
    # A loser's link now says the referral is taken, without the consumer's details; the winner's shows them
    loser = next(npn for npn in npns if npn != winners[0])
    page = client.http.get(f"/offers/view?t={tokens[loser]}").body.decode()
    assert "Referral taken" in page
    assert "Rosa" not in page
    late = client.http.post("/offers/accept", body=f"t={tokens[loser]}", headers=FORM)
    assert late.status_code == 409
    assert "already taken" in late.body.decode()
    assert "Rosa Martínez" in client.http.get(f"/offers/view?t={tokens[winners[0]]}").body.decode()


def test_forged_expired_foreign_and_replayed_links_change_nothing(workflow: Workflow, client: Client) -> None:
    add_agents(("101", "78701", ALWAYS), ("103", "75201", NEVER))
    rid = submit(client)
    link = link_of("101", workflow)
    token = token_of(link)
    snapshot = actions(client, rid)

    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    expired = wiring.services.auth().issue(OFFER_LINK, "101", timedelta(seconds=-1), resource=rid)
    foreign = wiring.services.auth().issue(OFFER_LINK, "103", timedelta(minutes=5), resource=rid)
    for bad, status, words in [(forged, 401, "not valid"), (expired, 401, "expired"), (foreign, 403, "not offered")]:
        for path in ("/offers/accept", "/offers/reject"):
            answer = client.http.post(path, body=f"t={bad}", headers=FORM)
            assert answer.status_code == status, (path, answer.body)
            assert words in answer.body.decode()
        assert client.http.get(f"/offers/view?t={bad}").status_code == status
    assert offer_status(rid, "101") is OfferStatus.PENDING
    assert actions(client, rid) == snapshot

    # A replayed accept has no second effect; a reject after the accept is refused
    first = client.http.post("/offers/accept", body=f"t={token}", headers=FORM)
    again = client.http.post("/offers/accept", body=f"t={token}", headers=FORM)
    assert first.status_code == again.status_code == 200
    refused = client.http.post("/offers/reject", body=f"t={token}", headers=FORM)
    assert refused.status_code == 409
    assert "already accepted" in refused.body.decode()
    workflow.wait_for(lambda: succeeded(workflow, rid), what="the execution to succeed")
    assert actions(client, rid).count("offer.accepted") == 1


def test_only_the_accepting_agent_moves_the_status_and_only_legally(workflow: Workflow, client: Client) -> None:
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    rid = submit(client)
    client.http.post("/offers/accept", body=f"t={token_of(link_of('101', workflow))}", headers=FORM)

    def move(npn: str, body: dict[str, Any]) -> Any:
        return client.http.post(f"/agent/referrals/{rid}/status", body=json.dumps(body), headers=agent_headers(npn))

    assert move("102", {"status": "in_progress"}).status_code == 403
    assert move("101", {"status": "completed"}).status_code == 400  # an outcome is required: invalid input
    assert move("101", {"status": "in_progress"}).json_body["status"] == "in_progress"
    done = move("101", {"status": "completed", "outcome": "selected_marketplace_qhp"})
    assert done.json_body["status"] == "completed"
    assert move("101", {"status": "in_progress"}).status_code == 409  # completed is final
    rows = client.http.get("/agent/referrals", headers=agent_headers("101")).json_body["referrals"]
    assert rows[0]["status"] == "completed"
    assert rows[0]["outcome"] == "selected_marketplace_qhp"
    assert rows[0]["consumer"]["last_name"] == "Martínez"
    assert actions(client, rid)[-2:] == ["referral.status", "referral.status"]


def test_chronic_misses_suspend_and_an_administrator_reactivates(
    workflow: Workflow, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a policy of suspension after 2 missed offers in 7 days, and two available agents
    monkeypatch.setenv("HOD_SUSPEND_AFTER_MISSED", "2")
    wiring.reset()
    add_agents(("101", "78701", ALWAYS), ("102", "78205", ALWAYS))
    # When 101 misses two referrals (each then goes to 102, who passes on it: an agent holds one offer at a time)
    for _ in range(2):
        rid = submit_new(client)
        workflow.wait_for(lambda rid=rid: offer_status(rid, "102") is OfferStatus.PENDING, timeout=30, what="cascade")
        assert offer_status(rid, "101") is OfferStatus.MISSED
        wiring.workflow.answers().reject(rid, "102", via="portal")
    # Then 101 is suspended and the next referral goes straight to 102
    admin_view = client.http.get("/admin/agents/101", headers=admin_headers()).json_body
    assert admin_view["profile"]["suspended"] is True
    assert admin_view["profile"]["offer_states"] == []
    rid = submit_new(client)
    # (the bounds here are for a loaded machine; that 101 was passed over is the assertion after the wait)
    workflow.wait_for(lambda: offer_status(rid, "102") is OfferStatus.PENDING, timeout=30, what="offer to 102")
    assert offer_status(rid, "101") is None
    # When an administrator reactivates 101, the next referral reaches them again
    reactivated = client.http.post("/admin/agents/101/reactivate", headers=admin_headers())
    assert reactivated.json_body["profile"]["suspended"] is False
    rid = submit_new(client)
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, timeout=30, what="offer to 101")


_phones = itertools.count(110)


def submit_new(client: Client) -> str:
    """A new consumer each time (the same details again would be the same referral)."""
    body = consumer(phone=f"512-555-0{next(_phones)}")
    response = client.http.post("/referrals", body=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    return str(response.json_body["referral_id"])


def test_a_referral_whose_workflow_failed_to_start_is_started_by_the_sweep(
    workflow: Workflow, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import expire_handler
    from hod.adapters.aws import StepFunctionsWorkflow
    from hod.errors import DependencyFailed
    from local.inproc import LocalContext

    add_agents(("101", "78701", ALWAYS))

    # Given Step Functions refusing to start executions when the consumer submits
    def unavailable(self: StepFunctionsWorkflow, referral: Any) -> str:
        raise DependencyFailed("stepfunctions", "StartExecution", "ServiceUnavailable")

    with monkeypatch.context() as outage:
        outage.setattr(StepFunctionsWorkflow, "start", unavailable)
        rid = submit(client)
    # Then the consumer was still told their request is received, and the referral is kept and flagged
    assert workflow.executions() == []
    assert wiring.adapters.referral_store().unstarted(10) == [rid]
    # When the one-minute sweep runs after the outage
    assert expire_handler.handler({"source": "aws.events"}, LocalContext("Expire"))["workflows_started"] == 1
    # Then the referral's workflow runs and the flag is gone
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert wiring.adapters.referral_store().unstarted(10) == []
    trail = actions(client, rid)
    assert trail.index("workflow.start_failed") < trail.index("workflow.started") < trail.index("offer.made")


def test_the_accepting_agent_is_reminded_only_while_no_progress_is_recorded(workflow: Workflow, client: Client) -> None:
    # Given two accepted referrals (follow-ups every 2 seconds in this test instead of 15 minutes)
    add_agents(("101", "78701", ALWAYS))
    quiet = submit_new(client)
    client.http.post("/offers/accept", body=f"t={token_of(link_of('101', workflow))}", headers=FORM)
    busy = submit_new(client)
    workflow.wait_for(lambda: len(offer_emails_to("101")) == 2, what="the second offer e-mail")
    client.http.post("/offers/accept", body=f"t={token_of(link_of('101', workflow))}", headers=FORM)
    # When the agent records progress on the second at once, and nothing on the first
    moved = client.http.post(
        f"/agent/referrals/{busy}/status", body=json.dumps({"status": "in_progress"}), headers=agent_headers("101")
    )
    assert moved.status_code == 200
    # The workflows end at acceptance: the reminders are one-off schedules (EventBridge Scheduler), not wait states
    workflow.wait_for(lambda: succeeded(workflow, quiet) and succeeded(workflow, busy), what="both to finish")

    def reminders() -> list[Any]:
        return [m for m in emails_to("101") if m.subject.startswith("Reminder")]

    # Then the first brings reminders at 15 and 30 minutes (here 2 and 4 seconds after acceptance), the second none
    workflow.wait_for(lambda: len(reminders()) == 2, timeout=15, what="two reminders")
    workflow.wait_for(lambda: actions(client, quiet).count("agent.reminded") == 2, what="both on the audit trail")
    scheduler = boto3.client("scheduler")
    group = workflow.env["HOD_REMINDER_GROUP"]
    workflow.wait_for(
        lambda: scheduler.list_schedules(GroupName=group)["Schedules"] == [], what="the schedules to delete themselves"
    )
    assert len(reminders()) == 2
    assert "agent.reminded" not in actions(client, busy)


def test_a_reminder_delivered_twice_is_sent_once(workflow: Workflow, client: Client) -> None:
    import notify_handler
    from local.inproc import LocalContext

    # Given an accepted referral without progress
    add_agents(("101", "78701", ALWAYS))
    rid = submit_new(client)
    client.http.post("/offers/accept", body=f"t={token_of(link_of('101', workflow))}", headers=FORM)
    # When the scheduler delivers the 15-minute reminder twice (its delivery is at least once)
    event = {"task": "reminder", "referral_id": rid, "after_minutes": 15, "agent_npn": "101"}
    first = notify_handler.handler(event, LocalContext("Notify"))
    again = notify_handler.handler(event, LocalContext("Notify"))
    # Then one reminder goes out and one is recorded
    assert first["reminded"] is True
    assert again == {"reminded": False}
    assert len([m for m in emails_to("101") if m.subject.startswith("Reminder")]) == 1
    assert actions(client, rid).count("agent.reminded") == 1


def test_a_referral_whose_start_was_interrupted_is_started_by_the_sweep(
    workflow: Workflow, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import expire_handler
    from hod.adapters.aws import StepFunctionsWorkflow
    from hod.domain.referral import ConsumerRequest
    from local.inproc import LocalContext

    add_agents(("101", "78701", ALWAYS))

    # Given an intake that stopped between storing the referral and starting its workflow (a Lambda timeout, say)
    def interrupted(self: StepFunctionsWorkflow, start: Any) -> str:
        raise TimeoutError("Task timed out")

    with monkeypatch.context() as crash:
        crash.setattr(StepFunctionsWorkflow, "start", interrupted)
        request = ConsumerRequest(first_name="Rosa", last_name="Díaz", phone="5125550166", zip="78702", language="es")
        with pytest.raises(TimeoutError):
            wiring.services.intake().submit(request)
    (rid,) = wiring.adapters.referral_store().never_started(10)
    assert workflow.executions() == []

    def sweep() -> int:
        return int(expire_handler.handler({"source": "aws.events"}, LocalContext("Expire"))["workflows_started"])

    # When the sweep runs at once, it leaves it alone (the intake could still be starting it)
    assert sweep() == 0
    # When it runs once the grace period (two minutes) has passed, it starts it
    monkeypatch.setattr("hod.services.intake.START_GRACE", timedelta(0))
    assert sweep() == 1
    # Then the referral's workflow runs, and its first round clears the flag
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert wiring.adapters.referral_store().never_started(10) == []
    assert actions(client, rid)[:3] == ["referral.created", "workflow.started", "offer.made"]


def test_a_referral_whose_rounds_keep_failing_is_restarted_by_the_sweep_not_lost(
    workflow: Workflow, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import expire_handler
    from hod.services.matching import MatchingService
    from local.inproc import LocalContext

    add_agents(("101", "78701", ALWAYS))

    # Given a match function that fails on every attempt (a bug in a release, say), not with a retried error
    def broken(self: MatchingService, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the index cannot be read")

    with monkeypatch.context() as release:
        release.setattr(MatchingService, "nearest", broken)
        rid = submit_new(client)
        # Then its execution ends as failed (the alarm's metric), and the referral is flagged, still searching
        workflow.wait_for(lambda: workflow.execution(rid)["status"] == "FAILED", what="the execution to fail")
        assert wiring.adapters.referral_store().round_failed(10) == [rid]
        assert "workflow.round_failed" in actions(client, rid)
    # When the one-minute sweep runs after the fix
    assert expire_handler.handler({"source": "aws.events"}, LocalContext("Expire"))["workflows_started"] == 1
    # Then a new execution makes the offer; the flag is gone; a second sweep starts nothing more
    workflow.wait_for(lambda: offer_status(rid, "101") is OfferStatus.PENDING, what="the offer to 101")
    assert wiring.adapters.referral_store().round_failed(10) == []
    assert expire_handler.handler({"source": "aws.events"}, LocalContext("Expire"))["workflows_started"] == 0
    names = sorted(execution["name"] for execution in workflow.executions())
    assert names == [rid, f"{rid}-run1"]
    trail = actions(client, rid)
    assert trail.index("workflow.round_failed") < trail.index("workflow.restarted") < trail.index("offer.made")
