"""The console's coverage map in a real browser, for a stack whose agents leave known gaps.

Texas, in the consumers' local time (America/Chicago):
- Spanish: one agent, weekdays 8-17 and Saturdays 13-17, so nobody on Saturday mornings (8-12) or Sundays;
- English: that agent and an English-only one, weekdays 8-17;
- Vietnamese: nobody at any hour, so a Vietnamese request goes to the safety net at once, in the hour it arrives.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser.conftest import DESKTOP, Stack, agent_record, screenshot
from tests.browser.test_admin import sign_in, wait_until

TEXAS = ZoneInfo("America/Chicago")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFF = {"enabled": False, "start": "08:00", "end": "17:00", "breaks": []}
WORKDAY = {"enabled": True, "start": "08:00", "end": "17:00", "breaks": []}
SPANISH_WEEK = {
    "days": {
        **{day: WORKDAY for day in WEEKDAYS},
        "sat": {"enabled": True, "start": "13:00", "end": "17:00", "breaks": []},
        "sun": OFF,
    }
}
ENGLISH_WEEK = {"days": {**{day: WORKDAY for day in WEEKDAYS}, "sat": OFF, "sun": OFF}}
SPANISH = agent_record("7900001", "Luz", "Ortega", "78702", "TX", languages=["en", "es"])
ENGLISH = agent_record("7900002", "Ward", "Hale", "77002", "TX")
SAT = 5


def texas_with_gaps(stack: Stack) -> tuple[str, set[int]]:
    """The agents above with their weekly hours, a Vietnamese request that goes to the safety net, and the job run;
    the request's id and the hours of the week (Texas time) it may have arrived in."""
    stack.import_agents([SPANISH, ENGLISH])
    for record, week in ((SPANISH, SPANISH_WEEK), (ENGLISH, ENGLISH_WEEK)):
        status, answer = stack.call(
            "PUT", "/agent/availability", {"weekly": week}, token=stack.agent_session(record["email"])
        )
        assert status == 200, answer
    before = datetime.now(UTC)
    body = {"first_name": "Thu", "last_name": "Tran", "phone": "512-555-0199", "email": "tt@example.org"}
    status, answer = stack.call("POST", "/referrals", {**body, "zip": "78702", "language": "vi"})
    assert status == 201, answer
    referral_id = str(answer["referral_id"])
    wait_until(
        lambda: (
            stack.call("GET", f"/admin/referrals/{referral_id}", token=stack.admin_token)[1]["status"]
            in ("safety_net", "unserved")
        ),
        "the Vietnamese request to reach the safety net",
    )
    after = datetime.now(UTC)
    hours = {(m.astimezone(TEXAS).weekday() * 24 + m.astimezone(TEXAS).hour) for m in (before, after)}
    status, run = stack.call("POST", "/dev/coverage")
    assert status == 200, run
    return referral_id, hours


def cell(page: Any, hour_of_week: int) -> Any:
    return page.locator(f'#coverage-table td[data-hour-of-week="{hour_of_week}"]')


def show(page: Any, state: str, language: str) -> None:
    page.get_by_label("State").fill(state)
    page.get_by_label("Language").select_option(language)
    page.get_by_role("button", name="Show coverage").click()
    page.locator("#coverage-heading").filter(has_text=f"({language})").wait_for()


def test_the_coverage_map_shows_where_texas_lacks_agents_and_where_referrals_went_to_the_safety_net(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    # Given Texas's agents and a Vietnamese request in the safety net, and the map computed
    referral_id, arrival_hours = texas_with_gaps(stack)

    # When the administrator opens Coverage and asks for Texas in Spanish
    sign_in(page, stack)
    page.get_by_role("link", name="Coverage").click()
    page.get_by_role("heading", name="Coverage", exact=True).wait_for()
    show(page, "TX", "es")

    # Then the grid is a table of 7 days by 24 hours with headers, in Texas time
    table = page.get_by_role("table", name="Agents available in TX speaking Spanish (es)")
    table.wait_for()
    assert table.locator("tbody tr").count() == 7
    assert table.locator("thead th").count() == 25
    assert "America/Chicago" in page.locator("#coverage-about").inner_text()

    # And nobody speaks Spanish on Saturday mornings (8-12) or Sundays, one agent on weekdays 8-17 and Saturday 13-17
    for hour in range(8, 13):
        assert cell(page, SAT * 24 + hour).locator(".count").inner_text() == "0"
        assert "c0" in (cell(page, SAT * 24 + hour).get_attribute("class") or "")
    for hour in range(13, 17):
        assert cell(page, SAT * 24 + hour).locator(".count").inner_text() == "1"
    for day in range(5):
        assert [cell(page, day * 24 + hour).locator(".count").inner_text() for hour in range(8, 17)] == ["1"] * 9
    assert {cell(page, 6 * 24 + hour).locator(".count").inner_text() for hour in range(24)} == {"0"}
    screenshot(page, "admin-coverage")
    phone = page.viewport_size
    page.set_viewport_size(DESKTOP)
    screenshot(page, "admin-coverage-desktop")
    page.set_viewport_size(phone)

    # When they switch to English
    show(page, "TX", "en")

    # Then both agents cover weekdays 8-17, and the early hours are empty
    assert cell(page, 10).locator(".count").inner_text() == "2"
    assert cell(page, 7).locator(".count").inner_text() == "0"

    # When they switch to Vietnamese
    show(page, "TX", "vi")

    # Then no hour has an agent, and the hour the request arrived is marked: it went to the safety net
    assert {text for text in page.locator("#coverage-table td .count").all_inner_texts()} == {"0"}
    marked = [h for h in arrival_hours if cell(page, h).locator(".mark").count()]
    assert len(marked) == 1
    assert cell(page, marked[0]).locator(".mark").first.inner_text() == "SN"
    assert "to the safety net" in (cell(page, marked[0]).get_attribute("title") or "")
    gaps = page.locator("#coverage-gaps li")
    assert gaps.count() == 1
    assert "1 referral, 1 to the safety net (100%)" in gaps.first.inner_text()
    screenshot(page, "admin-coverage-safety-net")

    # And the CSV holds the same cells as the API
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "coverage.csv"
    download_info.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    status, answer = stack.call("GET", "/admin/coverage?state=TX&language=vi", token=stack.admin_token)
    assert status == 200
    assert len(rows) == len(answer["cells"]) == 168
    assert [int(row["safety_net"]) for row in rows] == [c["safety_net"] for c in answer["cells"]]
    assert referral_id


def test_a_state_that_is_not_one_is_refused_beside_its_field(stack: Stack, page: Any) -> None:
    # Given the console's Coverage section
    sign_in(page, stack)
    page.get_by_role("link", name="Coverage").click()

    # When the administrator asks for a state code that does not exist
    page.get_by_label("State").fill("ZZ")
    page.get_by_role("button", name="Show coverage").click()

    # Then the service's refusal is shown next to the state, and no map
    page.locator("#coverage-state-error").wait_for()
    assert "ZZ" in page.locator("#coverage-state-error").inner_text()
    assert page.get_by_label("State").get_attribute("aria-invalid") == "true"
    assert not page.locator("#coverage-result").is_visible()
