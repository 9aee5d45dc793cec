"""The administrator's coverage map against moto tables built from template.yaml: the expire function's hourly job
computes it from the agents' weekly hours and the referrals of the last weeks, the API and its CSV read it back,
`hod-admin coverage` computes it on demand, and bad input is refused without changing anything."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from chalice.test import Client

from hod import cli, wiring
from hod.adapters.aws import client as aws_client
from hod.domain.availability import WeeklySchedule
from hod.domain.marketplace import healthcare_gov_states
from hod.domain.referral import ConsumerRequest
from local.inproc import LocalContext
from tests.conftest import FakeClock
from tests.integration.conftest import SENDER
from tests.integration.test_api import admin_headers, agent, client  # noqa: F401

pytestmark = pytest.mark.usefixtures("stack")

# The job runs on Wednesday 2 December 2026, 18:00 UTC; the reference week starts on Monday 30 November
NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
# Saturday 28 November 2026, 15:30 UTC: 9:30 in Texas
SATURDAY_MORNING = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
SAT = 5
CONSUMER = {"first_name": "Rosa", "last_name": "Díaz", "phone": "5125550100", "email": "rosa.diaz@example.org"}


def hours(start: str, end: str, days: tuple[str, ...]) -> WeeklySchedule:
    every = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return WeeklySchedule.model_validate(
        {"days": {d: {"enabled": d in days, "start": start, "end": end, "breaks": []} for d in every}}
    )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@pytest.fixture
def clock(stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    monkeypatch.setenv("HOD_SAFETY_NET_ROUNDS", "1")  # a referral nobody takes is unserved after one round
    aws_client("sesv2").create_email_identity(EmailIdentity=SENDER)
    wiring.reset()
    fake = FakeClock(SATURDAY_MORNING)
    wiring.use_clock(fake)
    return fake


def gaps_stack(clock: FakeClock) -> str:
    """Texas: an English-only agent on weekdays 8-17; a Spanish (and English) speaker on weekdays 8-17 and
    Saturdays 13-17 — so nobody speaks Spanish on Saturday mornings. A Spanish referral arrives on Saturday at 9:30,
    goes to the safety net and ends unserved."""
    report = wiring.services.agents().import_agents(
        [agent("7201", languages=["en"]), agent("7202", languages=["es", "en"])]
    )
    assert report.summary["refused"] == 0, report.results
    wiring.services.agents().set_weekly_schedule("7201", hours("08:00", "17:00", WEEKDAYS))
    wiring.services.agents().set_weekly_schedule(
        "7202",
        WeeklySchedule.model_validate(
            {
                "days": {
                    **hours("08:00", "17:00", WEEKDAYS).model_dump(mode="json")["days"],
                    "sat": {"enabled": True, "start": "13:00", "end": "17:00", "breaks": []},
                }
            }
        ),
    )
    request = ConsumerRequest(zip="78702", language="es", **CONSUMER)  # type: ignore[arg-type]
    referral_id = wiring.services.intake().submit(request).referral_id
    referral = wiring.adapters.referral_store().get(referral_id)
    assert referral is not None
    state = wiring.services.intake().workflow_start(referral, {}, referral.created_at).model_dump(mode="json")
    tasks = wiring.workflow.workflow_tasks()
    assert tasks.offer_round(state, "token", "run").next == "safety_net"
    assert tasks.safety_net_lapsed(referral_id).next == "match"
    assert tasks.offer_round({**state, "answer": {"Error": "States.Timeout"}}, "token", "run").next == "done"
    clock.current = NOW
    return referral_id


def run_job() -> dict[str, Any]:
    import expire_handler

    return dict(expire_handler.handler({"task": "coverage"}, LocalContext("ExpireFunction")))


def get(test_client: Client, path: str) -> Any:
    return test_client.http.get(path, headers=admin_headers())


def cell_at(cells: list[dict[str, Any]], weekday: int, hour: int) -> dict[str, Any]:
    found = cells[weekday * 24 + hour]
    assert (found["hour_of_week"], found["hour"]) == (weekday * 24 + hour, hour)
    return found


def test_the_job_computes_the_map_and_the_api_shows_the_gaps_where_referrals_went_to_the_safety_net(
    client: Client,  # noqa: F811
    clock: FakeClock,
) -> None:
    # Given Texas agents who leave Spanish uncovered on Saturday mornings, and a Spanish referral then, unserved
    gaps_stack(clock)

    # When the hourly job runs
    run = run_job()

    # Then it counted both agents and the referral, for this week
    assert (run["agents"], run["referrals"], run["week_of"]) == (2, 1, "2026-11-30")

    # And Texas Spanish has nobody on Saturday 8-12, one agent on weekdays 8-16 and Saturday 13-16
    response = get(client, "/admin/coverage?state=TX&language=es")
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert (body["state"], body["language"], body["time_zone"], body["weeks"]) == ("TX", "es", "America/Chicago", 4)
    assert datetime.fromisoformat(body["computed_at"]) == NOW
    cells = body["cells"]
    assert len(cells) == 168
    assert [cell_at(cells, SAT, hour)["agents"] for hour in range(8, 13)] == [0, 0, 0, 0, 0]
    assert [cell_at(cells, SAT, hour)["agents"] for hour in range(13, 17)] == [1, 1, 1, 1]
    assert all(cell_at(cells, day, hour)["agents"] == 1 for day in range(5) for hour in range(8, 17))
    assert sum(cell["agents"] for cell in cells) == 5 * 9 + 4

    # And the Saturday 9:00 cell holds the referral, which went to the safety net and ended unserved
    saturday_9 = cell_at(cells, SAT, 9)
    assert saturday_9 == {
        "state": "TX",
        "language": "es",
        "hour_of_week": 129,
        "weekday": "sat",
        "hour": 9,
        "agents": 0,
        "referrals": 1,
        "safety_net": 1,
        "unserved": 1,
        "safety_net_share": 1.0,
        "unserved_share": 1.0,
    }
    assert sum(cell["referrals"] for cell in cells) == 1

    # And Texas English is covered on weekdays 8-17 by both agents
    english = json.loads(get(client, "/admin/coverage?state=TX&language=en").body)["cells"]
    assert all(cell_at(english, day, hour)["agents"] == 2 for day in range(5) for hour in range(8, 17))
    assert cell_at(english, 0, 7)["agents"] == 0
    assert cell_at(english, 0, 17)["agents"] == 0

    # And without a language, every language Texas has
    every = json.loads(get(client, "/admin/coverage?state=TX").body)
    assert sorted({cell["language"] for cell in every["cells"]}) == ["en", "es"]


def test_the_csv_holds_the_same_cells_as_the_json(
    client: Client,  # noqa: F811
    clock: FakeClock,
) -> None:
    # Given the computed map of the stack with gaps
    gaps_stack(clock)
    run_job()

    # When the administrator downloads Texas Spanish as CSV
    response = get(client, "/admin/coverage.csv?state=TX&language=es")

    # Then it is a CSV file whose rows are the JSON's cells, field for field
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="hod-coverage-TX-es.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    cells = json.loads(get(client, "/admin/coverage?state=TX&language=es").body)["cells"]
    assert len(rows) == len(cells) == 168
    for row, cell in zip(rows, cells, strict=True):
        assert row == {name: "" if value is None else str(value) for name, value in cell.items()}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=ZZ&language=es", "state"),
        ("state=TX&language=xx", "language"),
        ("language=es", "state"),
        ("state=TX&language=es&hour=9", "hour"),
    ],
)
def test_a_bad_state_or_language_is_refused_with_400_and_changes_nothing(
    client: Client,  # noqa: F811
    clock: FakeClock,
    stack: dict[str, str],
    query: str,
    field: str,
) -> None:
    # Given the computed map
    gaps_stack(clock)
    run_job()
    before = boto3.client("dynamodb").scan(TableName=stack["HOD_AGENTS_TABLE"])["Items"]

    # When the map or its CSV is asked for with a bad parameter
    for path in ("/admin/coverage", "/admin/coverage.csv"):
        response = get(client, f"{path}?{query}")

        # Then 400 names the parameter, and nothing changed
        assert response.status_code == 400, response.body
        assert field in json.loads(response.body)["fields"]
    after = boto3.client("dynamodb").scan(TableName=stack["HOD_AGENTS_TABLE"])["Items"]
    assert after == before


def test_a_state_before_the_first_run_has_no_cells_and_no_computed_at(
    client: Client,  # noqa: F811
    clock: FakeClock,
) -> None:
    # Given no run of the job yet
    # When Texas is asked for
    body = json.loads(get(client, "/admin/coverage?state=TX&language=es").body)

    # Then the cells are empty and it says it was never computed
    assert body["computed_at"] is None
    assert all(cell["agents"] == 0 and cell["referrals"] == 0 for cell in body["cells"])


def test_hod_admin_computes_the_map_on_demand(
    client: Client,  # noqa: F811
    clock: FakeClock,
    stack: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the stack with gaps, never computed
    gaps_stack(clock)

    # When the administrator runs `hod-admin coverage` against its tables
    code = cli.main(
        [
            "coverage",
            "--agents-table",
            stack["HOD_AGENTS_TABLE"],
            "--referrals-table",
            stack["HOD_REFERRALS_TABLE"],
            "--plan-year",
            "2026",
        ]
    )

    # Then it stored every HealthCare.gov state's summary and counted both agents
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["agents"] == 2
    assert printed["states"] == len(healthcare_gov_states(2026))
    body = json.loads(get(client, "/admin/coverage?state=TX&language=en").body)
    assert datetime.fromisoformat(body["computed_at"]) == datetime.fromisoformat(printed["computed_at"])
    assert sum(cell["agents"] for cell in body["cells"]) > 0
