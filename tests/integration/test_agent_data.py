"""An agent's data out (R11): Manage Referrals filtered on the server by status, the consumer's name and the days
assigned (in a time zone), a page at a time; the same rows as CSV with the totals, privacy kept; the agent's
metrics. Bad parameters are refused with 400 and change nothing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from hod import wiring
from hod.domain.availability import WeeklySchedule
from hod.domain.referral import ConsumerRequest
from tests.conftest import FakeClock
from tests.integration.test_admin_reports import (  # noqa: F401
    DAY,
    clock,
    import_agents,
    item_counts,
    offer_round,
)
from tests.integration.test_api import ALWAYS, agent, agent_headers, client  # noqa: F401

pytestmark = pytest.mark.usefixtures("stack")
NPN = "7140"


def submit(first: str, last: str, phone: str) -> str:
    request = ConsumerRequest(first_name=first, last_name=last, phone=phone, zip="78702", language="es")
    return wiring.services.intake().submit(request).referral_id


def post(test_client: Client, path: str, body: str = "{}") -> None:
    response = test_client.http.post(path, body=body, headers=agent_headers(NPN))
    assert response.status_code == 200, response.body


@pytest.fixture
def history(client: Client, clock: FakeClock) -> dict[str, str]:  # noqa: F811
    """One agent's four offers: on 23 November, accepted after 60 s and completed (Rosa Díaz); on 24 November,
    rejected after 30 s, missed, and accepted after 120 s (Ramón Núñez)."""
    import_agents(agent(NPN))
    wiring.services.agents().set_weekly_schedule(NPN, WeeklySchedule.model_validate(ALWAYS))
    made: dict[str, str] = {}
    clock.current = DAY - timedelta(days=1)
    made["completed"] = submit("Rosa", "Díaz", "5125550101")
    assert offer_round(made["completed"]).agent_npn == NPN
    clock.advance(seconds=60)
    post(client, f"/agent/referrals/{made['completed']}/accept")
    post(client, f"/agent/referrals/{made['completed']}/status", '{"status": "in_progress"}')
    post(
        client,
        f"/agent/referrals/{made['completed']}/status",
        '{"status": "completed", "outcome": "selected_marketplace_qhp"}',
    )
    clock.current = DAY
    made["rejected"] = submit("Teo", "Ortiz", "5125550102")
    assert offer_round(made["rejected"]).agent_npn == NPN
    clock.advance(seconds=30)
    post(client, f"/agent/referrals/{made['rejected']}/reject")
    clock.advance(seconds=60)
    made["missed"] = submit("Iris", "Nava", "5125550103")
    assert offer_round(made["missed"]).agent_npn == NPN
    clock.advance(seconds=901)
    assert wiring.workflow.workflow_tasks().offer_lapsed(made["missed"]).next == "match"
    clock.advance(seconds=60)
    made["accepted"] = submit("Ramón", "Núñez", "5125550104")
    assert offer_round(made["accepted"]).agent_npn == NPN
    clock.advance(seconds=120)
    post(client, f"/agent/referrals/{made['accepted']}/accept")
    return made


def rows(test_client: Client, query: str) -> Any:
    response = test_client.http.get(f"/agent/referrals?{query}", headers=agent_headers(NPN))
    assert response.status_code == 200, response.body
    return response.json_body


def ids(test_client: Client, query: str) -> list[str]:
    return [row["referral_id"] for row in rows(test_client, query)["referrals"]]


def test_rows_are_filtered_by_status_on_the_server(client: Client, history: dict[str, str]) -> None:  # noqa: F811
    # Given the agent's four offers
    # When the agent asks for one status, then several
    # Then only those rows come back, newest first
    assert ids(client, "status=missed") == [history["missed"]]
    assert ids(client, "status=accepted,completed") == [history["accepted"], history["completed"]]
    assert ids(client, "") == [history[k] for k in ("accepted", "missed", "rejected", "completed")]
    missed = rows(client, "status=missed")["referrals"][0]
    assert (missed["label"], missed["consumer"]) == ("Missed Referral", None)


def test_rows_are_found_by_the_start_of_the_consumers_name_only_where_the_agent_sees_it(
    client: Client,  # noqa: F811
    history: dict[str, str],
) -> None:
    # Given accepted referrals from Rosa Díaz and Ramón Núñez, and a rejected one and a missed one from others
    # When the agent searches by the start of a name, in any case and without accents
    # Then the accepted referral of that name comes back; names on rows the agent cannot see never match
    assert ids(client, "last_name=nun") == [history["accepted"]]
    assert ids(client, "first_name=ROS") == [history["completed"]]
    assert ids(client, "first_name=ram%C3%B3n&last_name=N%C3%9A%C3%91EZ") == [history["accepted"]]
    assert ids(client, "last_name=ortiz") == []
    assert ids(client, "first_name=iris") == []


def test_rows_are_found_by_the_days_assigned_in_the_agents_time_zone(
    client: Client,  # noqa: F811
    history: dict[str, str],
) -> None:
    # Given offers on 23 November (15:00 UTC) and on 24 November (from 15:00 UTC)
    # When the agent asks for 23 November in Chicago, then 24 November, then both
    # Then each day holds its offers
    assert ids(client, "from=2026-11-23&to=2026-11-23&tz=America/Chicago") == [history["completed"]]
    assert len(ids(client, "from=2026-11-24&to=2026-11-24&tz=America/Chicago")) == 3
    assert len(ids(client, "from=2026-11-23&to=2026-11-24&tz=America/Chicago&status=accepted,completed")) == 2
    # And in Tokyo, 15:00 UTC on the 23rd is already the 24th
    assert ids(client, "from=2026-11-23&to=2026-11-23&tz=Asia/Tokyo") == []


def test_pages_follow_one_another_and_together_are_the_whole_list(
    client: Client,  # noqa: F811
    history: dict[str, str],
) -> None:
    # Given the agent's four offers
    whole = ids(client, "")
    # When the agent reads them two at a time, each page continuing before the previous one's last
    seen: list[str] = []
    query = "limit=2"
    for _ in range(4):
        page = rows(client, query)
        seen += [row["referral_id"] for row in page["referrals"]]
        assert len(page["referrals"]) <= 2
        if page["next_before"] is None:
            break
        query = "limit=2&before=" + page["next_before"].replace("+", "%2B")
    # Then the pages together are the whole list, once each
    assert seen == whole


def test_the_csv_lists_the_rows_the_table_shows_with_the_totals_and_keeps_privacy(
    client: Client,  # noqa: F811
    history: dict[str, str],
) -> None:
    # Given the agent's four offers
    # When the agent exports them
    response = client.http.get("/agent/referrals?format=csv&days=30", headers=agent_headers(NPN))
    # Then the file has one line per row, newest first, then the totals
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.body.decode())))
    header, body = lines[0], lines[1:5]
    assert header[:2] == ["Referral assigned", "Status"]
    assert [line[1] for line in body] == ["accepted", "Missed Referral", "rejected", "completed"]
    by_status = {line[1]: dict(zip(header, line, strict=True)) for line in body}
    # the consumer only on referrals this agent accepted; a missed row shows nothing but its time and label
    assert (by_status["accepted"]["First name"], by_status["accepted"]["Phone"]) == ("Ramón", "+15125550104")
    assert by_status["completed"]["Outcome"] == "selected_marketplace_qhp"
    assert by_status["rejected"]["First name"] == by_status["rejected"]["Phone"] == ""
    assert by_status["rejected"]["City"] == "Austin"
    assert set(body[1][2:]) == {""}
    text = response.body.decode()
    for hidden in ("Teo", "Ortiz", "Iris", "Nava", "5125550102", "5125550103"):
        assert hidden not in text
    totals = {line[0]: line[1] for line in lines[6:]}
    assert lines[5] == []
    assert totals["Total: referrals offered"] == "4"
    assert totals["Total: missed"] == "1"
    assert totals["Acceptance rate (%)"] == "50.0"
    # And the same filters as the table apply
    filtered = client.http.get("/agent/referrals?format=csv&status=missed", headers=agent_headers(NPN))
    filtered_lines = list(csv.reader(io.StringIO(filtered.body.decode())))
    assert [filtered_lines[1][1], filtered_lines[2]] == ["Missed Referral", []]


def test_the_agents_metrics_count_statuses_outcomes_acceptance_and_response_times(
    client: Client,  # noqa: F811
    history: dict[str, str],
) -> None:
    # Given offers answered after 60 s (accepted), 30 s (rejected), 120 s (accepted), and one missed
    # When the agent asks for the last 30 days' metrics
    response = client.http.get("/agent/metrics?days=30", headers=agent_headers(NPN))
    # Then they are counted on the server
    assert response.status_code == 200, response.body
    body = response.json_body
    assert body["offers"] == 4
    assert body["by_status"] == {"accepted": 1, "completed": 1, "missed": 1, "rejected": 1}
    assert body["by_outcome"] == {"selected_marketplace_qhp": 1}
    assert (body["accepted"], body["missed"], body["acceptance_rate_pct"]) == (2, 1, 50.0)
    assert (body["response_p50_s"], body["response_p90_s"]) == (60, 120)
    # And a day back holds only the day's three
    assert client.http.get("/agent/metrics?days=1", headers=agent_headers(NPN)).json_body["offers"] == 3


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/agent/referrals?status=lost", "status"),
        ("/agent/referrals?status=missed,", "status"),
        ("/agent/referrals?days=0", "days"),
        ("/agent/referrals?days=ten", "days"),
        ("/agent/referrals?days=7&from=2026-11-01&to=2026-11-02", "days"),
        ("/agent/referrals?from=2026-11-01", "to"),
        ("/agent/referrals?to=2026-11-01", "from"),
        ("/agent/referrals?from=2026-11-02&to=2026-11-01", "to"),
        ("/agent/referrals?from=2026-1-1&to=2026-11-01", "from"),
        ("/agent/referrals?from=2025-01-01&to=2026-11-01", "to"),
        ("/agent/referrals?from=2026-11-01&to=2026-11-02&tz=Mars/Olympus", "tz"),
        ("/agent/referrals?limit=0", "limit"),
        ("/agent/referrals?limit=1001", "limit"),
        ("/agent/referrals?before=yesterday", "before"),
        ("/agent/referrals?before=2026-11-24T15:00:00", "before"),  # (no offset: which moment?)
        ("/agent/referrals?from=1900-01-01&to=1900-01-02", "from"),
        ("/agent/referrals?from=2026-11-01&to=2026-11-02&tz=America", "tz"),
        ("/agent/referrals?format=xml", "format"),
        ("/agent/referrals?first_name=" + "a" * 51, "first_name"),
        ("/agent/referrals?colour=blue", "colour"),
        ("/agent/metrics?days=0", "days"),
        ("/agent/metrics?days=367", "days"),
        ("/agent/metrics?days=7&status=missed", "status"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field_and_change_nothing(
    client: Client,  # noqa: F811
    history: dict[str, str],
    stack: dict[str, str],
    path: str,
    field: str,
) -> None:
    # Given the agent's offers
    before = item_counts(stack)
    # When the agent sends a bad parameter
    response = client.http.get(path, headers=agent_headers(NPN))
    # Then it is refused with 400 naming it, and nothing changed
    assert response.status_code == 400, response.body
    assert field in response.json_body["fields"], response.json_body
    assert item_counts(stack) == before
