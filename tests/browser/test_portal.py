"""The agent portal and the offer links, in a real browser, against the local stack.

Two agents in Oklahoma City: Olivia's office is at the consumer's ZIP, Ben's a few kilometres away, so Olivia is
offered first whenever she is available.
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import WEEK_ALL_DAY, Stack, agent_record, screenshot

CONSUMER_ZIP = "73102"
OLIVIA = agent_record("7310001", "Olivia", "Tran", "73102", "OK", languages=["en", "vi"])
BEN = agent_record("7310002", "Ben", "Okafor", "73111", "OK")
PAT = agent_record("7310003", "Pat", "Rivera", "73102", "OK")
# How long to wait for the workflow to e-mail an offer: a bound for a stuck workflow, not a speed check (a loaded
# machine runs the local stack's state machine slowly).
OFFER_WAIT_S = 90


@pytest.fixture(scope="module")
def agents(stack: Stack) -> dict[str, str]:
    """Both agents imported and taking referrals around the clock; their session tokens."""
    stack.import_agents([OLIVIA, BEN])
    sessions = {}
    for record in (OLIVIA, BEN):
        token = stack.agent_session(record["email"])
        status, answer = stack.call("PUT", "/agent/availability", {"weekly": WEEK_ALL_DAY}, token=token)
        assert status == 200, answer
        assert answer["available_now"] is True
        sessions[record["npn"]] = token
    return sessions


def offers_to(stack: Stack, email: str, mark: set[str]) -> list[dict[str, Any]]:
    return stack.emails_since(mark, email, "Help On Demand referral in")


def submit_consumer(page: Any, stack: Stack, first: str, last: str, phone: str, zip_code: str = CONSUMER_ZIP) -> str:
    page.goto(f"{stack.base}/get-contacted")
    page.get_by_role("textbox", name="First name").fill(first)
    page.get_by_role("textbox", name="Last name").fill(last)
    page.get_by_role("textbox", name="Phone number").fill(phone)
    page.get_by_role("textbox", name="ZIP code").fill(zip_code)
    page.get_by_role("button", name="Get contacted").click()
    page.locator("#done").wait_for(state="visible")
    # the consumer sees a confirmation code; the referral it names, as the administrator finds it
    code = page.locator("#done-reference").inner_text()
    status, referral = stack.call("GET", f"/admin/referrals/{code}", token=stack.admin_token)
    assert status == 200, referral
    return str(referral["referral_id"])


# The portal's saved session per agent, once signed in through the portal here: (stack, e-mail) -> the saved entry
_REMEMBERED: dict[tuple[str, str], str] = {}
_SESSION_KEY = "hod.agent.session"


def sign_in_in_browser(page: Any, stack: Stack, email: str) -> None:
    """The portal's own sign-in: ask for a link, take it from the outbox, open it. An agent who has signed in once
    before comes back as the portal remembers her on her device (its saved session), since the service sends one
    agent at most one sign-in link a minute and the tests may come back sooner."""
    remembered = _REMEMBERED.get((stack.base, email))
    if remembered is not None:
        page.goto(f"{stack.base}/portal")
        page.evaluate("([key, value]) => localStorage.setItem(key, value)", [_SESSION_KEY, remembered])
        page.reload()
        page.get_by_role("heading", name="Manage Referrals").wait_for()
        return
    mark = stack.mark()
    page.goto(f"{stack.base}/portal")
    page.get_by_label("E-mail address the program has for you").fill(email)
    page.get_by_role("button", name="E-mail me a sign-in link").click()
    page.get_by_text("a sign-in link is on its way").wait_for()
    mail = stack.wait_for_email(email, "sign-in link", mark)
    page.goto(mail["links"][0])
    page.get_by_role("heading", name="Manage Referrals").wait_for()
    _REMEMBERED[(stack.base, email)] = page.evaluate("(key) => localStorage.getItem(key)", _SESSION_KEY)


def test_consumer_to_offer_to_accept_and_nobody_else_sees_the_consumer(
    stack: Stack, agents: dict[str, str], browser: Any, page: Any
) -> None:
    mark = stack.mark()
    # A consumer submits the form
    referral_id = submit_consumer(page, stack, "Hoa", "Nguyen", "405-555-0147")

    # The nearest agent's offer appears in the outbox: where, never who
    deadline = time.monotonic() + OFFER_WAIT_S
    while not offers_to(stack, OLIVIA["email"], mark) and time.monotonic() < deadline:
        time.sleep(0.3)
    offer = offers_to(stack, OLIVIA["email"], mark)[0]
    assert "Oklahoma City" in offer["subject"]
    assert "Nguyen" not in offer["body"]
    assert not re.search(r"405\D?555\D?0147", offer["body"])  # the phone in any format (the port may hold "405")
    link = next(url for url in offer["links"] if "/offers/view" in url)

    # The agent opens the link: location and time left, no consumer details yet
    page.goto(link)
    page.get_by_role("heading", name="New referral").wait_for()
    assert "Oklahoma City" in page.content()
    assert "Nguyen" not in page.content()
    screenshot(page, "offer-link")

    # ...accepts, and sees the consumer's details
    page.get_by_role("button", name="Accept").click()
    page.get_by_text("Nguyen").first.wait_for()
    assert re.search(r"405\D{0,2}555\D?0147", page.content())
    screenshot(page, "offer-accepted")

    # A second agent, signed in to the portal, sees nothing of them; asking the API directly changes nothing
    sign_in_in_browser(page, stack, BEN["email"])
    assert "Nguyen" not in page.locator("#ref-table").inner_text()
    status, answer = stack.call("POST", f"/agent/referrals/{referral_id}/accept", token=agents[BEN["npn"]])
    assert status in (403, 409)
    assert "Nguyen" not in str(answer)
    status, rows = stack.call("GET", "/agent/referrals", token=agents[BEN["npn"]])
    assert status == 200
    assert "Nguyen" not in str(rows)

    # The accepting agent's portal shows the referral with the consumer's contact details
    page.get_by_role("button", name="Sign out").click()
    sign_in_in_browser(page, stack, OLIVIA["email"])
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    row.wait_for()
    assert "Hoa Nguyen" in row.inner_text()
    assert "(405) 555-0147" in row.inner_text()
    assert "Accepted" in row.inner_text()
    # with the consumer's language in words and R12's contact-by time instead of the offer's expiry
    assert "· English" in row.inner_text()
    assert re.search(r"Call by .*\d:\d\d", row.inner_text())
    screenshot(page, "portal-referrals")

    # ...and takes it through the statuses of R8: In Progress, then Completed with its outcome
    row.get_by_label("New status").select_option("in_progress")
    row.get_by_role("button", name="Save status").click()
    page.get_by_text("Status saved: In Progress.").wait_for()
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    row.get_by_label("New status").select_option("completed")
    row.get_by_label("Reason or outcome").select_option("selected_marketplace_qhp")
    row.get_by_role("button", name="Save status").click()
    page.get_by_text("Status saved: Completed.").wait_for()
    assert "Selected a Marketplace QHP" in page.locator(f'tr[data-referral="{referral_id}"]').inner_text()

    # Search: by status and by last name (on a phone the search is folded under one line)
    page.get_by_text("Search and filter").click()
    page.get_by_label("Status").select_option("missed")
    assert "Hoa Nguyen" not in page.locator("#ref-table").inner_text()
    page.get_by_label("Status").select_option("")
    page.get_by_label("Last name").fill("nguy")
    assert "Hoa Nguyen" in page.locator("#ref-table").inner_text()


def test_switching_todays_availability_off_stops_offers(stack: Stack, agents: dict[str, str], page: Any) -> None:
    sign_in_in_browser(page, stack, OLIVIA["email"])
    page.get_by_role("link", name="Availability").click()
    page.get_by_role("heading", name="Availability Settings").wait_for()
    page.get_by_text("You are receiving referrals now.").wait_for()
    screenshot(page, "portal-availability")
    page.get_by_label("Take referrals today").uncheck()
    page.get_by_role("button", name="Save today").click()
    page.get_by_text("Today's Availability is Off").wait_for()
    assert "You are not receiving referrals now." in page.locator("#av-now").inner_text()

    mark = stack.mark()
    referral_id = submit_consumer(page, stack, "Minh", "Pham", "405-555-0160")
    deadline = time.monotonic() + OFFER_WAIT_S
    while not offers_to(stack, BEN["email"], mark) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert offers_to(stack, BEN["email"], mark), "the next nearest agent is offered the referral"
    assert not offers_to(stack, OLIVIA["email"], mark), "an agent who switched today off gets no offer"
    # Ben passes on it: holding one pending offer (capacity 1), he would be passed over by the next tests' referrals
    status, _ = stack.call("POST", f"/agent/referrals/{referral_id}/reject", token=agents[BEN["npn"]])
    assert status == 200

    # Back to standard hours: she is offered referrals again
    page.goto(f"{stack.base}/portal#availability")
    page.get_by_text("You are not receiving referrals now.").wait_for()
    page.get_by_role("button", name="Back to standard hours").click()
    page.get_by_text("Today follows your standard hours again.").wait_for()
    assert "You are receiving referrals now." in page.locator("#av-now").inner_text()


def test_the_profile_narrows_states_and_languages(stack: Stack, agents: dict[str, str], page: Any) -> None:
    sign_in_in_browser(page, stack, BEN["email"])
    page.get_by_role("link", name="Profile").click()
    page.get_by_role("heading", name="Profile").wait_for()
    # App notifications with no phone registered: the page says at once that they would reach no one
    page.get_by_label("E-mail and app", exact=True).check()
    assert "No phone or browser is registered for app notifications" in page.locator("#p-reach").inner_text()
    page.get_by_label("E-mail and text", exact=True).check()
    assert "Texts go to your listed phone" in page.locator("#p-reach").inner_text()
    page.get_by_label("E-mail only", exact=True).check()
    assert page.locator("#p-reach").is_hidden()
    page.get_by_label("E-mail and text", exact=True).check()
    page.get_by_label("Español (Spanish)").check()
    page.get_by_role("button", name="Save profile").click()
    page.get_by_text("Profile saved.").wait_for()
    status, profile = stack.call("GET", "/agent/profile", token=agents[BEN["npn"]])
    assert status == 200
    assert profile["contact_method"] == "email_text"
    assert profile["languages"] == ["en", "es"]
    screenshot(page, "portal-profile")

    # A mobile number that is not one: the service's refusal in plain words, next to the field
    page.get_by_label("Mobile phone for text messages").fill("12")
    page.get_by_role("button", name="Save profile").click()
    page.locator("#p-mobile-problem").wait_for()
    assert page.locator("#p-mobile-problem").inner_text() == "Enter a 10-digit US phone number, like 512-555-0188."
    assert "mobile_phone" not in page.locator("#notice").inner_text()
    page.get_by_label("Mobile phone for text messages").fill("")

    # Bad input: no language at all is refused in the page and nothing changes
    checked = page.locator('input[name="language"]:checked')
    while checked.count():
        checked.first.uncheck()
    page.get_by_role("button", name="Save profile").click()
    assert "at least one language" in page.locator("#profile-error").inner_text()
    assert stack.call("GET", "/agent/profile", token=agents[BEN["npn"]])[1]["languages"] == ["en", "es"]


def test_the_metrics_export_lists_the_periods_referrals_and_totals_that_agree_with_the_table(
    stack: Stack, agents: dict[str, str], page: Any
) -> None:
    sign_in_in_browser(page, stack, OLIVIA["email"])
    page.get_by_role("link", name="Metrics").click()
    page.get_by_role("heading", name="Metrics").wait_for()
    page.locator("#m-table tbody tr").first.wait_for()
    table = [[cell.inner_text() for cell in row.locator("td").all()] for row in page.locator("#m-table tbody tr").all()]
    assert ["Referrals offered", "1"] in table or any(r[0] == "Referrals offered" and int(r[1]) >= 1 for r in table)
    screenshot(page, "portal-metrics")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export to CSV").click()
    download = download_info.value
    assert re.match(r"help-on-demand-referrals-\d+-days\.csv", download.suggested_filename)
    # the server's file: one line per referral of the period, a blank line, then the totals, which agree with the table
    exported = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert exported[0][:2] == ["Referral assigned", "Status"]
    blank = exported.index([])
    totals = dict(line[:2] for line in exported[blank + 1 :])
    offered = dict(row[:2] for row in table)["Referrals offered"]
    assert totals["Total: referrals offered"] == offered
    assert len(exported[1:blank]) == int(offered)


def test_weekly_hours_breaks_and_out_of_office_are_saved(stack: Stack, agents: dict[str, str], page: Any) -> None:
    token = agents[BEN["npn"]]
    page.goto(f"{stack.base}/portal")
    page.get_by_role("heading", name="Sign in").wait_for()
    screenshot(page, "portal-sign-in")
    sign_in_in_browser(page, stack, BEN["email"])
    page.get_by_role("link", name="Availability").click()
    page.get_by_role("heading", name="Standard weekly hours").wait_for()
    page.locator("#av-now", has_text="receiving referrals now").wait_for()  # loaded: edits are not overwritten

    # Sunday off, a lunch break on Monday; the time zone detected from the browser is saved with them
    page.get_by_label("Sunday", exact=True).uncheck()
    page.get_by_role("button", name="Add a break on Monday").click()
    page.get_by_label("Monday break start").fill("12:30")
    page.get_by_label("Monday break end").fill("13:15")
    page.get_by_role("button", name="Save weekly hours").click()
    page.get_by_text("Weekly hours saved.").wait_for()
    saved = stack.call("GET", "/agent/availability", token=token)[1]["availability"]
    assert saved["time_zone"] == "America/Chicago"
    assert saved["weekly"]["days"]["sun"]["enabled"] is False
    assert saved["weekly"]["days"]["mon"]["breaks"] == [{"start": "12:30", "end": "13:15"}]

    # A break outside the day's hours is refused with the service's reason, and nothing changes
    page.get_by_label("Monday break end").fill("23:59")
    page.get_by_label("Monday break start").fill("23:00")
    page.locator("#start-mon").fill("09:00")
    page.locator("#end-mon").fill("17:00")
    page.get_by_role("button", name="Save weekly hours").click()
    page.locator("#notice.error").wait_for()
    assert stack.call("GET", "/agent/availability", token=token)[1]["availability"]["weekly"] == saved["weekly"]

    # Out of Office ending before it starts: refused in plain words next to its end, and nothing changes
    page.get_by_label("Out of Office from").fill("2026-01-05T09:00")
    page.locator("#ooo-end").fill("2026-01-04T09:00")
    page.get_by_role("button", name="Set Out of Office").click()
    page.locator("#ooo-end-problem").wait_for()
    assert page.locator("#ooo-end-problem").inner_text() == "The end must be after the start."
    assert page.locator("#ooo-end").get_attribute("aria-invalid") == "true"
    assert "Please check the field marked below." in page.locator("#notice").inner_text()
    assert stack.call("GET", "/agent/availability", token=token)[1]["availability"]["out_of_office"] is None
    page.locator("#ooo-end").fill("")

    # Out of Office with no end date, then off again
    page.get_by_label("Out of Office from").fill("2026-01-05T09:00")
    page.get_by_role("button", name="Set Out of Office").click()
    page.get_by_text("Out of Office is set.").wait_for()
    away = stack.call("GET", "/agent/availability", token=token)[1]
    assert away["availability"]["out_of_office"]["end"] is None
    assert away["available_now"] is False
    page.get_by_role("button", name="Switch off Out of Office").click()
    page.get_by_text("Out of Office is off.").wait_for()
    assert stack.call("GET", "/agent/availability", token=token)[1]["availability"]["out_of_office"] is None

    # Back to around the clock, as the module's other tests expect whatever the day and hour they run (Sunday off
    # or Monday's break would otherwise send Ben's offers to the safety net)
    status, answer = stack.call("PUT", "/agent/availability", {"weekly": WEEK_ALL_DAY}, token=token)
    assert status == 200, answer
    assert answer["available_now"] is True


def test_pending_offers_are_answered_from_the_portal_with_the_time_left(
    stack: Stack, agents: dict[str, str], page: Any
) -> None:
    sign_in_in_browser(page, stack, OLIVIA["email"])
    consumer_page = page.context.new_page()

    def offered(first: str, last: str, phone: str) -> str:
        mark = stack.mark()
        referral_id = submit_consumer(consumer_page, stack, first, last, phone)
        deadline = time.monotonic() + OFFER_WAIT_S
        while not offers_to(stack, OLIVIA["email"], mark) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert offers_to(stack, OLIVIA["email"], mark)
        page.reload()
        return referral_id

    # Accept: the row counts down, and accepting shows whom to call
    accepted = offered("Lan", "Do", "405-555-0171")
    row = page.locator(f'tr[data-referral="{accepted}"]')
    row.wait_for()
    assert "Pending" in row.inner_text()
    assert re.search(r"1[0-5] min \d\d s left", row.inner_text())
    assert "Lan" not in row.inner_text()
    row.get_by_role("button", name="Accept").click()
    page.get_by_text("Accepted. Please call Lan Do now").wait_for()
    assert "Lan Do" in page.locator(f'tr[data-referral="{accepted}"]').inner_text()
    # She calls and records it: her wrap-up ends, so she can take the next referral (one at a time)
    row = page.locator(f'tr[data-referral="{accepted}"]')
    row.get_by_label("New status").select_option("in_progress")
    row.get_by_role("button", name="Save status").click()
    page.get_by_text("Status saved: In Progress.").wait_for()

    # Reject: the referral goes at once to the next agent
    mark = stack.mark()
    rejected = offered("Tuan", "Vo", "405-555-0172")
    page.locator(f'tr[data-referral="{rejected}"]').get_by_role("button", name="Reject").click()
    page.get_by_text("Rejected. The consumer goes at once to the next available agent.").wait_for()
    assert "Rejected" in page.locator(f'tr[data-referral="{rejected}"]').inner_text()
    deadline = time.monotonic() + OFFER_WAIT_S
    while not offers_to(stack, BEN["email"], mark) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert offers_to(stack, BEN["email"], mark), "the rejected referral went to the next agent"


def test_a_new_offer_appears_in_manage_referrals_without_a_reload(
    stack: Stack, agents: dict[str, str], page: Any
) -> None:
    # Given Olivia signed in to the portal, on Manage Referrals, and a sound chosen for new offers
    sign_in_in_browser(page, stack, OLIVIA["email"])
    page.get_by_label("Play a sound when a new offer arrives").check()
    consumer_page = page.context.new_page()
    # When a consumer near her asks for help (in another page: hers is not reloaded)
    referral_id = submit_consumer(consumer_page, stack, "Mai", "Ho", "405-555-0181")
    # Then the offer shows by itself (the portal looks every 15 seconds while it is on screen), on top, with the
    # count of pending offers in the page's title and a notice that names where the consumer is
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    row.wait_for(timeout=(OFFER_WAIT_S + 30) * 1000)
    assert "Pending" in row.inner_text()
    assert page.locator("#ref-table tbody tr").first.get_attribute("data-referral") == referral_id
    assert page.title().startswith("(1) ")
    assert "New referral offer in Oklahoma City, OK" in page.locator("#new-offer").inner_text()
    screenshot(page, "portal-new-offer")
    # And once she accepts and records the outcome, the title's count is gone (and her slot is free again)
    row.get_by_role("button", name="Accept").click()
    page.get_by_text("Accepted. Please call Mai Ho now").wait_for()
    assert not page.title().startswith("(")
    status, answer = stack.call(
        "POST",
        f"/agent/referrals/{referral_id}/status",
        {"status": "completed", "outcome": "other"},
        token=agents[OLIVIA["npn"]],
    )
    assert status == 200, answer


def test_on_a_phone_the_filters_are_folded_and_the_referrals_come_first(
    stack: Stack, agents: dict[str, str], browser: Any
) -> None:
    # Given an agent on a phone-sized screen (one of their own: a sign-in link is sent at most once a minute per
    # agent, and the other tests' agents may have asked for one within that minute)
    stack.import_agents([PAT])
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        sign_in_in_browser(phone, stack, PAT["email"])
        # Then the search and filters are folded under one line, and open on a tap
        assert phone.locator("#filter-box").get_attribute("open") is None
        assert not phone.get_by_label("First name").is_visible()
        phone.get_by_text("Search and filter").click()
        assert phone.get_by_label("First name").is_visible()
    finally:
        phone.close()
