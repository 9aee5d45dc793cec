"""The consumer's status page in a real browser: the receipt's link through each stage in English and Spanish,
"Nobody has called me" after the contact-by time, and the after-hours message when nobody can take the request now.

The module runs its own local stack with a contact-by time of 20 seconds after acceptance (FollowUpSeconds), so
the button's moment comes within the test instead of after R12's 15 minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import WEEK_ALL_DAY, Stack, agent_record, running_stack, screenshot

CONTACT_BY_S = 20
# Bounds for a stuck stack, not speed checks: a loaded machine runs the local stack slowly
WAIT_S = 90
GRACE = agent_record("7870101", "Grace", "Lee", "78701", "TX", languages=["en"])
LUCIA = agent_record(
    "3312501", "Lucía", "Reyes", "33125", "FL", languages=["en", "es"], email="lucia.reyes.3312501@example.com"
)


@pytest.fixture(scope="module")
def status_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log = tmp_path_factory.mktemp("status-stack") / "local-stack.log"
    with running_stack(log, HOD_OFFER_WINDOW_SECONDS="900", HOD_FOLLOW_UP_SECONDS=str(CONTACT_BY_S)) as made:
        yield made


@pytest.fixture(scope="module")
def sessions(status_stack: Stack) -> dict[str, str]:
    """Grace (Austin, English) and Lucía (Miami, Spanish and English), both available around the clock."""
    status_stack.import_agents([GRACE, LUCIA])
    found = {}
    for record in (GRACE, LUCIA):
        token = status_stack.agent_session(record["email"])
        status, answer = status_stack.call("PUT", "/agent/availability", {"weekly": WEEK_ALL_DAY}, token=token)
        assert status == 200, answer
        found[record["npn"]] = token
    return found


def ask_for_help(page: Any, stack: Stack, language: str, zip_code: str, email: str) -> None:
    """Fill in Get Contacted in `language` (its labels are the page's) and wait for the confirmation."""
    labels = {
        "en": ("First name", "Last name", "Phone number", "E-mail (optional)", "ZIP code", "Get contacted"),
        "es": (
            "Nombre",
            "Apellido",
            "Número de teléfono",
            "Correo electrónico (opcional)",
            "Código postal (ZIP)",
            "Quiero que me contacten",
        ),
    }[language]
    page.goto(f"{stack.base}/get-contacted?lang={language}")
    page.get_by_role("textbox", name=labels[0], exact=True).fill("Rosa")
    page.get_by_label(labels[1]).fill("Martínez")
    page.get_by_label(labels[2]).fill("512-555-0188")
    page.get_by_label(labels[3]).fill(email)
    page.get_by_label(labels[4]).fill(zip_code)
    page.get_by_role("button", name=labels[5]).click()
    page.locator("#done").wait_for(state="visible")


def receipt_link(stack: Stack, email: str, mark: set[str]) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for item in stack.new_since(mark):
            if item["channel"] == "email" and item["to"] == email:
                links = [link for link in item["links"] if "/status?t=" in link]
                if links:
                    return str(links[0])
        time.sleep(0.3)
    raise AssertionError(f"no receipt with a status link to {email}")


def follow_receipt(page: Any, stack: Stack, language: str, zip_code: str, email: str, promise: str) -> set[str]:
    """Ask for help, see the confirmation make its `promise` (an available agent has the request), then open the
    receipt e-mail's status link; what the outbox held before the request."""
    mark = stack.mark()
    ask_for_help(page, stack, language, zip_code, email)
    page.get_by_text(promise).wait_for()
    assert page.locator("#after-hours").is_hidden()
    page.goto(receipt_link(stack, email, mark))
    return mark


def accept_offer(stack: Stack, agent_email: str, mark: set[str]) -> None:
    offer = stack.wait_for_email(agent_email, "Help On Demand referral in", mark, timeout=WAIT_S)
    link = next(link for link in offer["links"] if "/offers/view?t=" in link)
    token = link.split("t=", 1)[1]
    status, answer = stack.call(
        "POST", "/offers/accept", f"t={token}", content_type="application/x-www-form-urlencoded"
    )
    assert status == 200, answer


def record_progress(stack: Stack, session: str, referral_id: str) -> None:
    status, answer = stack.call(
        "POST", f"/agent/referrals/{referral_id}/status", {"status": "in_progress"}, token=session
    )
    assert status == 200, answer


def accepted_referral(stack: Stack, session: str) -> str:
    """The id of the referral the agent has accepted and not yet moved on (from their Manage Referrals)."""
    status, answer = stack.call("GET", "/agent/referrals", token=session)
    assert status == 200, answer
    return str(next(row["referral_id"] for row in answer["referrals"] if row["status"] == "accepted"))


def test_a_consumer_follows_the_receipts_link_through_each_stage_and_says_nobody_called(
    status_stack: Stack, sessions: dict[str, str], page: Any
) -> None:
    stack = status_stack
    # Given Grace available in Austin, a consumer there asks for help in English: the confirmation promises a call
    # within minutes once an available agent has the request
    # When the consumer opens the link in the receipt e-mail: the request is being offered
    mark = follow_receipt(page, stack, "en", "78702", "rosa.status@example.org", "usually within minutes")
    assert page.get_by_role("heading", name="We are finding an agent for you").is_visible()
    screenshot(page, "status-searching")
    # When Grace accepts, the page updates itself: her first name, business phone and the contact-by time
    accept_offer(stack, GRACE["email"], mark)
    page.get_by_role("heading", name="An agent has accepted your request").wait_for(timeout=WAIT_S * 1000)
    assert "Grace, a licensed agent, will call you by" in page.locator("#agent").inner_text()
    assert page.locator("#agent-phone").inner_text() == "(512) 555-0142"
    assert page.locator("#agent-phone").get_attribute("href") == "tel:+15125550142"
    assert re.search(r"\d{1,2}:\d{2} [AP]M CST", page.locator("#contact-by").inner_text())  # Austin: Central time
    assert "Lee" not in page.locator("main").inner_text()
    assert page.locator("#not-called").count() == 0
    screenshot(page, "status-accepted")
    # When the contact-by time has passed with no call recorded, the page offers "Nobody has called me"
    page.get_by_role("button", name="Nobody has called me").wait_for(timeout=(CONTACT_BY_S + WAIT_S) * 1000)
    mark = stack.mark()
    page.get_by_role("button", name="Nobody has called me").click()
    # Then it is recorded, Grace is reminded, and the button does not come back
    assert "We reminded Grace to call you now." in page.locator("#not-called-done").inner_text()
    assert page.locator("#not-called").count() == 0
    # (the answer is the page at its own address: its stylesheet and script still load)
    assert page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") == "544px"
    stack.wait_for_email(GRACE["email"], "says nobody has called", mark)
    screenshot(page, "status-not-called")
    reference = accepted_referral(stack, sessions[GRACE["npn"]])
    status, referral = stack.call("GET", f"/admin/referrals/{reference}", token=stack.admin_token)
    assert status == 200, referral
    assert [event["action"] for event in referral["audit_trail"]].count("consumer.not_called") == 1
    # When Grace records that she reached the consumer, the page says so
    record_progress(stack, sessions[GRACE["npn"]], reference)
    page.reload()
    assert page.get_by_role("heading", name="Your agent is helping you").is_visible()
    screenshot(page, "status-in-progress")


def test_a_spanish_speaking_consumer_sees_each_stage_in_spanish(
    status_stack: Stack, sessions: dict[str, str], page: Any
) -> None:
    stack = status_stack
    # Given Lucía available in Miami, a consumer there asks for help in Spanish
    # When they open the receipt's link: the page is in Spanish
    mark = follow_receipt(page, stack, "es", "33125", "rosa.estado@example.org", "normalmente en pocos minutos")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", name="Estamos buscando un agente para usted").is_visible()
    screenshot(page, "status-searching-es")
    # When Lucía accepts
    accept_offer(stack, LUCIA["email"], mark)
    page.reload()
    assert page.get_by_role("heading", name="Un agente aceptó su solicitud").is_visible()
    agent = page.locator("#agent").inner_text()
    assert "Lucía, agente con licencia, le llamará antes de las" in agent
    assert re.search(r"\d{1,2}:\d{2} [ap]\. m\. \(hora del Este\)", page.locator("#contact-by").inner_text())
    assert page.locator("#agent-phone").inner_text() == "(512) 555-0142"
    screenshot(page, "status-accepted-es")
    # When she records that she reached the consumer
    record_progress(stack, sessions[LUCIA["npn"]], accepted_referral(stack, sessions[LUCIA["npn"]]))
    page.reload()
    assert page.get_by_role("heading", name="Su agente le está ayudando").is_visible()
    screenshot(page, "status-in-progress-es")


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_request_nobody_can_take_now_is_told_so_with_when_to_expect_a_call_and_the_call_center(
    status_stack: Stack, sessions: dict[str, str], page: Any, language: str
) -> None:
    stack = status_stack
    # Given no agent at all in Ohio, a consumer there asks for help
    mark = stack.mark()
    ask_for_help(page, stack, language, "43215", f"rosa.noche.{language}@example.org")
    # Then the confirmation says nobody is available now, when matching runs again, and the Call Center
    after_hours = page.locator("#after-hours")
    after_hours.wait_for(state="visible", timeout=WAIT_S * 1000)
    words = after_hours.inner_text()
    assert "1-800-318-2596" in words
    assert "1-855-889-4325" in words
    assert page.locator("#after-hours a[href='tel:1-800-318-2596']").count() == 1
    assert "minutes" not in page.locator("#done-step-2").inner_text()
    assert "minutos" not in page.locator("#done-step-2").inner_text()
    screenshot(page, f"consumer-after-hours-{language}")
    # And the status page says the same
    page.goto(receipt_link(stack, f"rosa.noche.{language}@example.org", mark))
    heading = {"en": "No agent is available right now", "es": "No hay ningún agente disponible en este momento"}
    assert page.get_by_role("heading", name=heading[language]).is_visible()
    assert "1-800-318-2596" in page.locator("#call-center").inner_text()
    screenshot(page, f"status-after-hours-{language}")


def test_a_forged_status_link_shows_a_clear_page(status_stack: Stack, page: Any) -> None:
    # When someone opens a status link whose token is not one the service signed
    response = page.goto(f"{status_stack.base}/status?t=v1.forged.token")
    # Then they get a page saying so, and nothing else
    assert response.status == 401
    assert page.get_by_role("heading", name="This link is not valid").is_visible()
    screenshot(page, "status-invalid-link")
