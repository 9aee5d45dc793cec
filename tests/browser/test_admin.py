"""The administrator's console in a real browser: sign-in with a token, agent import, agent search with suspension,
referral look-up (by the consumer's confirmation code too), suspended agents, program metrics with CSV export.

These tests run their own local stack with a 3-second offer window and suspension after 2 missed offers, so an agent
can be suspended through the real workflow within the test; the shared stack (900-second window) is left as it is.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hod.api.agent_import import CSV_COLUMNS, to_csv_row
from tests.browser.conftest import WEEK_ALL_DAY, Stack, agent_record, running_stack, screenshot

WICHITA = agent_record("7800001", "Alma", "Reyes", "67202", "KS", languages=["en", "es"])
OMAHA = agent_record("7800002", "Boris", "Novak", "68102", "NE")
CONSUMER = {"first_name": "Marisol", "last_name": "Quintero", "phone": "402-555-0147", "email": "mq@example.org"}


@pytest.fixture(scope="module")
def admin_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Like the shared `stack`, started with a 3-second offer window and suspension after 2 missed offers."""
    log = tmp_path_factory.mktemp("admin-stack") / "local-stack.log"
    with running_stack(log, HOD_OFFER_WINDOW_SECONDS="3", HOD_SUSPEND_AFTER_MISSED="2") as made:
        yield made


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 45) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def import_csv() -> bytes:
    """Two good agents and three bad rows: a bad phone, an unknown ZIP, a repeated NPN."""
    rows = [
        to_csv_row(WICHITA),
        to_csv_row(OMAHA),
        to_csv_row(agent_record("7800003", "Cora", "Bad", "67202", "KS", phone="12")),
        to_csv_row(agent_record("7800004", "Dov", "Nowhere", "00000", "KS")),
        to_csv_row(WICHITA),
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[c for c in CSV_COLUMNS if any(c in row for row in rows)])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def sign_in(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.base}/admin")
    page.get_by_label("Administrator token").fill(stack.admin_token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Console sections").wait_for()


def referral(stack: Stack, zip_code: str, language: str = "en", phone_end: int = 147) -> str:
    """A consumer's request (a different phone each time: the same submission twice is one referral)."""
    body = {**CONSUMER, "phone": f"402-555-0{phone_end}", "zip": zip_code, "language": language}
    status, answer = stack.call("POST", "/referrals", body)
    assert status == 201, answer
    return str(answer["referral_id"])


def test_an_administrator_signs_in_imports_looks_up_reactivates_and_reads_metrics(
    admin_stack: Stack, page: Any, tmp_path: Path
) -> None:
    stack = admin_stack
    # ----- sign-in: a bad token is refused clearly, the real one opens the console
    page.goto(f"{stack.base}/admin")
    assert "hod-admin token" in page.locator("#signin").inner_text()
    page.get_by_label("Administrator token").fill("not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#signin-error")
    error.wait_for(state="visible")
    assert "not accepted" in error.inner_text()
    assert page.evaluate("document.activeElement.id") == "signin-error"
    page.get_by_label("Administrator token").fill(stack.admin_token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Import agents").wait_for()
    assert page.get_by_role("link", name="Import agents").get_attribute("aria-current") == "page"

    # ----- import: per-record results for a CSV with good and bad rows
    page.get_by_label("Agent file (.csv or .json)").set_input_files(
        {"name": "agents.csv", "mimeType": "text/csv", "buffer": import_csv()}
    )
    page.get_by_role("button", name="Import", exact=True).click()
    page.locator("#import-results").wait_for(state="visible")
    summary = page.locator("#import-summary").inner_text()
    for number, word in (("5", "received"), ("2", "created"), ("3", "refused")):
        assert f"{number}\n{word}" in summary
    rows = page.locator("#import-table tbody tr")
    assert rows.count() == 5
    outcomes = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(5)]
    assert outcomes == ["created", "created", "refused", "refused", "refused"]
    assert rows.nth(0).locator("td").nth(3).inner_text() == "KS"
    assert "phone" in rows.nth(2).locator("td").nth(4).inner_text()
    assert "business_address.zip" in rows.nth(3).locator("td").nth(4).inner_text()
    assert "duplicate of row 1" in rows.nth(4).locator("td").nth(4).inner_text()
    assert "Done: 5 records in 1 of 1 parts." in page.locator("#import-progress-text").inner_text()
    page.get_by_label("Show").select_option("refused")
    assert page.locator("#import-table tbody tr").count() == 3
    screenshot(page, "admin-import")

    # ----- the workflow runs for real: Alma (Kansas) accepts, Boris (Nebraska) misses twice and is suspended
    sessions = {record["npn"]: stack.agent_session(record["email"]) for record in (WICHITA, OMAHA)}
    for token in sessions.values():
        status, answer = stack.call("PUT", "/agent/availability", {"weekly": WEEK_ALL_DAY}, token=token)
        assert status == 200, answer
        assert answer["available_now"], answer
    alma = sessions[WICHITA["npn"]]
    accepted_id = referral(stack, "67202", "es")
    wait_until(
        lambda: any(
            r["referral_id"] == accepted_id for r in stack.call("GET", "/agent/referrals", token=alma)[1]["referrals"]
        ),
        "the offer to Alma",
    )
    status, answer = stack.call("POST", f"/agent/referrals/{accepted_id}/accept", token=alma)
    assert status == 200, answer
    missed_ids = [referral(stack, "68102", phone_end=148), referral(stack, "68102", phone_end=149)]
    wait_until(
        lambda: stack.call("GET", "/admin/agents/7800002", token=stack.admin_token)[1]["profile"]["suspended"],
        "Boris's suspension",
    )
    for rid in missed_ids:
        wait_until(
            lambda rid=rid: (
                stack.call("GET", f"/admin/referrals/{rid}", token=stack.admin_token)[1]["status"] == "safety_net"
            ),
            "the safety net",
        )

    # ----- referral look-up: status, place and a readable trail, never the consumer's name or phone
    page.get_by_role("link", name="Referral look-up").click()
    page.get_by_label("Referral ID").fill(missed_ids[0])
    page.get_by_role("button", name="Look up").click()
    page.locator("#referral-result").wait_for(state="visible")
    facts = page.locator("#referral-facts").inner_text()
    assert "In the safety net" in facts
    assert "Omaha, Douglas County, NE 68102" in facts
    assert "English (en)" in facts
    trail = page.locator("#referral-trail").inner_text()
    for step in ("Request received (Omaha, NE)", "Offered to agent 7800002", "Missed by agent 7800002"):
        assert step in trail
    assert "Safety net opened (round 1)" in trail
    console_text = page.locator("main").inner_text()
    for detail in ("Marisol", "Quintero", "555-0148", "5550148", "mq@example.org"):
        assert detail not in console_text
    screenshot(page, "admin-referral")
    page.get_by_label("Referral ID").fill("no-such-referral")
    page.get_by_role("button", name="Look up").click()
    page.locator("#referral-error").wait_for(state="visible")
    assert (
        "No referral has the confirmation code or ID no-such-referral" in page.locator("#referral-error").inner_text()
    )

    # ----- suspended agents: Boris, with the reason and his missed count; reactivate him
    page.get_by_role("link", name="Suspended agents").click()
    page.get_by_role("button", name="Refresh list").click()
    row = page.locator("#suspended-table tr[data-npn='7800002']")
    row.wait_for()
    assert "Boris Novak" in row.inner_text()
    assert "missed 2 referrals in the last 7 days" in row.inner_text()
    assert row.locator("td[data-label='Missed, last 7 days']").inner_text() == "2"
    assert page.locator("#suspended-table tbody tr").count() == 1
    screenshot(page, "admin-suspended")
    page.get_by_role("button", name="Reactivate Boris Novak (NPN 7800002)").click()
    message = page.locator("#suspended-message")
    message.wait_for(state="visible")
    assert "Boris Novak (NPN 7800002) is reactivated" in message.inner_text()
    assert page.locator("#suspended-empty").is_visible()
    status, boris = stack.call("GET", "/admin/agents/7800002", token=stack.admin_token)
    assert status == 200
    assert boris["profile"]["suspended"] is False

    # ----- metrics: totals, charts with text values, a table; the CSV download has exactly the table's rows
    page.get_by_role("link", name="Program metrics").click()
    today = datetime.now(UTC).date()
    page.get_by_label("From (day)").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("To (day, included)").fill(today.isoformat())
    page.get_by_role("button", name="Show metrics").click()
    page.locator("#metrics-result").wait_for(state="visible")
    stats = page.locator("#metrics-stats").inner_text()
    assert "3\nReferrals" in stats
    assert "1\nAccepted" in stats
    assert "66.7%\nMissed-offer rate" in stats  # Alma's accepted offer, Boris's two missed ones
    assert "66.7%\nSafety-net rate" in stats
    state_chart = page.locator("#chart-state .bar-row")
    assert [state_chart.nth(i).inner_text().split("\n") for i in range(state_chart.count())] == [
        ["KS", "1"],
        ["NE", "2"],
    ]
    assert page.locator("#chart-language .bar-row").count() == 2
    screenshot(page, "admin-metrics")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("hod-metrics-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    exported = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    header = page.locator("#metrics-table thead th").all_inner_texts()
    table = [
        ["" if text == "—" else text for text in row.locator("td").all_inner_texts()]
        for row in page.locator("#metrics-table tbody tr").all()
    ]
    assert exported[0] == header
    assert exported[1:] == table
    assert [row[:2] for row in table] == [
        ["all", "all"],
        ["state", "KS"],
        ["state", "NE"],
        ["language", "en"],
        ["language", "es"],
    ]

    # ----- signing out forgets the token
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Administrator sign-in").wait_for()
    assert page.evaluate("sessionStorage.length") == 0


def test_bad_metrics_dates_are_shown_next_to_the_field(admin_stack: Stack, page: Any) -> None:
    sign_in(page, admin_stack)
    page.get_by_role("link", name="Program metrics").click()
    page.get_by_label("From (day)").fill("2026-01-01")
    page.get_by_label("To (day, included)").fill("2026-03-01")
    page.get_by_role("button", name="Show metrics").click()
    page.locator("#metrics-to-error").wait_for(state="visible")
    assert "at most 31 days" in page.locator("#metrics-to-error").inner_text()
    assert page.get_by_label("To (day, included)").get_attribute("aria-invalid") == "true"
    assert page.locator("#metrics-result").is_hidden()


def test_the_confirmation_code_a_consumer_sees_is_found_by_the_administrator(admin_stack: Stack, page: Any) -> None:
    stack = admin_stack
    # Given a consumer who sent a request and was shown a confirmation code
    page.goto(f"{stack.base}/get-contacted?lang=en")
    page.get_by_label("First name").fill("Marisol")
    page.get_by_label("Last name").fill("Quintero")
    page.get_by_label("Phone number").fill("402-555-0150")
    page.get_by_label("ZIP code").fill("68102")
    page.get_by_role("button", name="Get contacted").click()
    page.locator("#done").wait_for(state="visible")
    code = page.locator("#done-reference").inner_text()
    assert len(code) == 9
    assert code[4] == "-"
    # When the administrator types it as read out over the phone (lower case, a space for the hyphen)
    sign_in(page, stack)
    page.get_by_role("link", name="Referral look-up").click()
    page.get_by_label("Confirmation code or referral ID").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Look up").click()
    # Then the referral is shown, with its code and where the consumer is, and never who they are
    page.locator("#referral-result").wait_for(state="visible")
    assert page.locator("#referral-heading").inner_text() == f"Referral {code}"
    facts = page.locator("#referral-facts").inner_text()
    assert f"Confirmation code\n{code}" in facts
    assert "Omaha, Douglas County, NE 68102" in facts
    assert "Request received (Omaha, NE)" in page.locator("#referral-trail").inner_text()
    assert "arn:" not in page.locator("#referral-trail").inner_text()
    for detail in ("Marisol", "Quintero", "555-0150"):
        assert detail not in page.locator("main").inner_text()
    screenshot(page, "admin-code-lookup")


def test_the_administrator_finds_agents_by_npn_name_and_email_and_suspends_one(admin_stack: Stack, page: Any) -> None:
    stack = admin_stack
    # Given two agents named Fernández (one with the accent, one without)
    lucia = agent_record("7800010", "Lucía", "Fernández", "67202", "KS", email="Lucia.F@example.com")
    luis = agent_record("7800011", "Luis", "Fernandez-Ortiz", "68102", "NE")
    status, answer = stack.call("POST", "/admin/agents/import", [lucia, luis], token=stack.admin_token)
    assert status == 200, answer
    sign_in(page, stack)
    page.get_by_role("link", name="Find agents").click()
    search = page.get_by_label("NPN, e-mail or name")
    rows = page.locator("#agents-table tbody tr")

    def find(text: str) -> list[str]:
        search.fill(text)
        page.get_by_role("button", name="Search").click()
        page.locator("#agents-heading").wait_for(state="visible")
        wait_until(lambda: page.evaluate("document.activeElement.id") == "agents-heading", "the search's answer")
        return [rows.nth(i).get_attribute("data-npn") for i in range(rows.count())]

    # When the administrator searches by name without the accent, by NPN, and by e-mail in capitals
    # Then each finds who it names, with where they may take referrals and their status
    assert find("fernan") == ["7800010", "7800011"]
    assert page.locator("#agents-heading").inner_text() == "2 agents found"
    first = page.locator("#agents-table tr[data-npn='7800010']")
    assert "Lucía Fernández" in first.inner_text()
    assert first.locator("td[data-label='Eligible states']").inner_text() == "KS"
    assert "Active" in first.locator("td[data-label='Status']").inner_text()
    screenshot(page, "admin-find-agents")
    assert find("7800011") == ["7800011"]
    assert find("LUCIA.F@EXAMPLE.COM") == ["7800010"]

    # When the administrator suspends Lucía from the result, with a reason
    page.get_by_role("button", name="Suspend Lucía Fernández (NPN 7800010)").click()
    page.get_by_label("Why suspend Lucía Fernández (NPN 7800010)?").fill("Complaint under review")
    page.get_by_role("button", name="Confirm suspension").click()
    # Then the console says so, the row shows it with the reason, and the service no longer offers her referrals
    message = page.locator("#agents-message")
    message.wait_for(state="visible")
    assert "Lucía Fernández (NPN 7800010) is suspended" in message.inner_text()
    status_cell = page.locator("#agents-table tr[data-npn='7800010'] td[data-label='Status']")
    assert "Suspended" in status_cell.inner_text()
    assert "Complaint under review" in status_cell.inner_text()
    screenshot(page, "admin-agent-suspended")
    status, agent = stack.call("GET", "/admin/agents/7800010", token=stack.admin_token)
    assert status == 200
    assert agent["profile"]["suspended"] is True
    # And a reactivation from the same row lifts it
    page.get_by_role("button", name="Reactivate Lucía Fernández (NPN 7800010)").click()
    wait_until(lambda: "reactivated" in page.locator("#agents-message").inner_text(), "the reactivation")
    assert stack.call("GET", "/admin/agents/7800010", token=stack.admin_token)[1]["profile"]["suspended"] is False


def test_the_administrator_lists_the_days_open_safety_net_and_unserved_referrals(admin_stack: Stack, page: Any) -> None:
    stack = admin_stack
    # Given a referral received today
    rid = referral(stack, "67202", phone_end=151)
    status, answer = stack.call("GET", f"/admin/referrals/{rid}", token=stack.admin_token)
    assert status == 200, answer
    # When the administrator lists today's referrals of each kind, in the browser's time zone
    sign_in(page, stack)
    page.get_by_role("link", name="Today's referrals").click()
    # (the console fills the field from the browser's zone as it starts: wait for it, rather than read it at once)
    zone_field = page.get_by_label("Time zone")
    deadline = time.monotonic() + 30
    while not zone_field.input_value() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    zone = zone_field.input_value()
    assert zone
    found_in: list[str] = []
    for value, name in (
        ("open", "Open referrals"),
        ("safety_net", "Referrals in the safety net"),
        ("unserved", "Unserved referrals"),
    ):
        page.get_by_label("List", exact=True).select_option(value)
        page.get_by_role("button", name="Show referrals").click()
        wait_until(lambda name=name: page.locator("#today-heading").inner_text().startswith(name), name)
        assert f"({zone})" in page.locator("#today-heading").inner_text()
        if page.locator(f"#today-table tr[data-referral='{rid}']").count():
            found_in.append(value)
            screenshot(page, "admin-today")
    # Then the referral is in the list of where it stands (or was accepted meanwhile), and opens its trail
    latest = stack.call("GET", f"/admin/referrals/{rid}", token=stack.admin_token)[1]["status"]
    assert found_in or latest in ("accepted", "in_progress", "completed", "not_a_good_referral")
    if found_in:
        page.get_by_label("List", exact=True).select_option(found_in[0])
        page.get_by_role("button", name="Show referrals").click()
        page.locator(f"#today-table tr[data-referral='{rid}'] button").click()
        page.locator("#referral-result").wait_for(state="visible")
        assert rid in page.locator("#referral-facts").inner_text()
