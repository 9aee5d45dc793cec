"""A Spanish-speaking agent, end to end in Spanish, in a real browser against the local stack: the sign-in link
e-mail, the portal, the offer e-mail and its page (the countdown ticking), accepting, the tap-to-call link, and a
status recorded and seen in Manage Referrals.

Lucía's office is in Miami, where no other test's agent works, so every Miami referral is offered to her first.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, WEEK_ALL_DAY, Stack, agent_record, screenshot

LUCIA = agent_record(
    "3310001", "Lucía", "Gómez", "33130", "FL", languages=["en", "es"], email="lucia.gomez.3310001@example.com"
)
OFFER_WAIT_S = 90  # a bound for a stuck workflow, not a speed check


@pytest.fixture
def spanish_page(browser: Any) -> Any:
    """A phone-sized browser whose language is Spanish, in Eastern time."""
    context = browser.new_context(
        viewport={"width": 412, "height": 915}, timezone_id="America/New_York", locale="es-US"
    )
    context.set_default_timeout(30_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"the page reported errors: {errors}"


def test_a_spanish_speaking_agent_works_a_referral_end_to_end_in_spanish(stack: Stack, spanish_page: Any) -> None:
    page = spanish_page
    # Given an agent in Miami who speaks English and Spanish, taking referrals around the clock
    stack.import_agents([LUCIA])
    status, answer = stack.call(
        "PUT", "/agent/availability", {"weekly": WEEK_ALL_DAY}, token=stack.agent_session(LUCIA["email"])
    )
    assert status == 200, answer

    # When she opens the portal in a Spanish browser, it is in Spanish before she signs in
    page.goto(f"{stack.base}/portal")
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_role("heading", name="Iniciar sesión").wait_for()
    screenshot(page, "portal-es-sign-in")

    # When she asks for a sign-in link: it comes in her messages' language (nothing chosen yet: English, spoken first)
    mark = stack.mark()
    page.get_by_label("Correo electrónico que el programa tiene registrado").fill(LUCIA["email"])
    page.get_by_role("button", name="Enviarme un enlace para iniciar sesión").click()
    page.get_by_text("le enviamos un enlace para iniciar sesión").wait_for()
    mail = stack.wait_for_email(LUCIA["email"], "sign-in link", mark)
    first_link = mail["links"][0]
    page.goto(first_link)
    page.get_by_role("heading", name="Gestionar referidos").wait_for()

    # When she chooses Spanish for pages and messages in Profile
    page.get_by_role("link", name="Perfil").click()
    language = page.get_by_label("Idioma de las páginas y los mensajes")
    language.select_option("es")
    page.get_by_role("button", name="Guardar el perfil").click()
    page.get_by_text("Perfil guardado.").wait_for()
    # Then the languages she speaks are named in Spanish, capitalised, with no English gloss
    assert "English (Inglés)" in page.locator("#p-languages").inner_text()
    assert "(Spanish)" not in page.locator("#p-languages").inner_text()
    screenshot(page, "portal-es-profile")
    # And her next sign-in link is in Spanish
    mark = stack.mark()
    status, _ = stack.call("POST", "/sign-in", {"email": LUCIA["email"]})
    assert status == 202
    assert stack.wait_for_email(LUCIA["email"], "Su enlace para iniciar sesión", mark)["links"]

    # When a Spanish-speaking consumer in Miami asks for help
    mark = stack.mark()
    consumer = page.context.new_page()
    consumer.goto(f"{stack.base}/get-contacted?lang=es")
    consumer.get_by_role("textbox", name="Nombre").fill("Rosa")
    consumer.get_by_role("textbox", name="Apellido").fill("Martínez")
    consumer.get_by_role("textbox", name="Número de teléfono").fill("512-555-0188")
    consumer.get_by_role("textbox", name="Código postal (ZIP)").fill("33130")
    consumer.get_by_role("button", name="Quiero que me contacten").click()
    consumer.locator("#done").wait_for(state="visible")
    consumer.close()

    # Then Lucía's offer e-mail is in Spanish, and its link opens the offer page in Spanish
    deadline = time.monotonic() + OFFER_WAIT_S
    while not stack.emails_since(mark, LUCIA["email"], "Referido de Help On Demand en") and time.monotonic() < deadline:
        time.sleep(0.3)
    offer = stack.emails_since(mark, LUCIA["email"], "Referido de Help On Demand en")[0]
    link = next(url for url in offer["links"] if "/offers/view" in url)
    page.goto(link)
    page.get_by_role("heading", name="Nuevo referido").wait_for()
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Miami, condado de Miami-Dade, FL" in page.locator("main").inner_text()
    assert "Idioma del consumidor: Español" in page.locator("main").inner_text()
    # ("las 3:45 p. m.", but "la 1:05 a. m." in the one o'clock hour)
    assert re.search(r"Acepte antes de las? \d", page.locator("main").inner_text())
    # And the countdown ticks
    timer = page.get_by_role("timer")
    first = timer.inner_text()
    page.wait_for_function(
        "(first) => document.querySelector('[role=timer]').textContent !== first", arg=first, timeout=5_000
    )
    assert timer.inner_text() != first
    screenshot(page, "offer-es")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "offer-es-desktop")
    page.set_viewport_size({"width": 412, "height": 915})

    # When she accepts: the consumer to call, with a tap-to-call link and R12's contact-by times, in Spanish
    page.get_by_role("button", name="Aceptar").click()
    page.get_by_role("heading", name="Referido aceptado").wait_for()
    call = page.locator('a[href^="tel:+1512"]')
    assert call.inner_text() == "(512) 555-0188"
    assert "Contacte al consumidor en 15 minutos" in page.locator("main").inner_text()
    screenshot(page, "offer-es-accepted")

    # When she records In Progress from the offer page: the portal opens at the referral, in Spanish
    page.get_by_role("link", name="En curso").click()
    page.get_by_role("heading", name="Gestionar referidos").wait_for()
    page.get_by_role("button", name="Guardar el estatus").first.wait_for()
    page.get_by_role("button", name="Guardar el estatus").first.click()
    page.get_by_text("Estatus guardado: En curso.").wait_for()
    # Then Manage Referrals shows it in Spanish, with the consumer's language in words
    row = page.locator("tr", has_text="Rosa Martínez")
    assert "En curso" in row.inner_text()
    assert "Miami, condado de Miami-Dade, FL · Español" in row.inner_text()
    assert row.locator('[data-label="Contactar antes de"]').count() == 1
    screenshot(page, "portal-es-referrals")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "portal-es-referrals-desktop")
    page.set_viewport_size({"width": 412, "height": 915})

    # When the referral moves on while her page still offers its statuses, and a field is wrong: told in Spanish
    referral_moved_on_in_spanish(page, stack, row.get_attribute("data-referral") or "")
    field_problems_in_spanish(page)

    # When she switches the language of pages and messages to English, the portal comes back in English at once
    page.get_by_role("link", name="Perfil").click()
    page.get_by_label("Idioma de las páginas y los mensajes").select_option("en")
    page.get_by_role("button", name="Guardar el perfil").click()
    page.get_by_text("Profile saved.").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("heading", name="Profile").wait_for()
    assert page.get_by_label("Language of pages and messages").input_value() == "en"

    # When her session is no longer valid, or she opens a sign-in link already used: told in Spanish what to do
    sessions_ended_in_spanish(page, stack, first_link)


def session_token(page: Any) -> str:
    return str(page.evaluate("JSON.parse(localStorage.getItem('hod.agent.session')).token"))


def referral_moved_on_in_spanish(page: Any, stack: Stack, referral_id: str) -> None:
    """Another request completes the referral while the portal, its timers stopped (no live refresh), still offers
    its In Progress choices; saving one is refused (409) and said in Spanish, and the list shows the referral as it
    is now."""
    # Given the portal showing the referral In Progress, its clock stopped so nothing refreshes the list
    page.clock.install()
    page.reload()
    save = page.locator(f'tr[data-referral="{referral_id}"]').get_by_role("button", name="Guardar el estatus")
    save.wait_for()
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    # When another request completes it, and she then records Not a Good Referral from the page
    status, answer = stack.call(
        "POST",
        f"/agent/referrals/{referral_id}/status",
        {"status": "completed", "outcome": "selected_marketplace_qhp"},
        token=session_token(page),
    )
    assert status == 200, answer
    page.locator(f"#s-{referral_id}").select_option("not_a_good_referral")
    page.locator(f"#d-{referral_id}").select_option("already_has_broker")
    save.click()
    # Then she is told in Spanish that it changed, and the list shows it completed
    page.get_by_text("Este estatus no se puede registrar para el referido tal como está ahora").wait_for()
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    assert "Completado" in row.inner_text()
    assert "cannot" not in page.locator("#notice").inner_text()
    page.clock.resume()  # (the accessibility check runs on the page's timers)
    screenshot(page, "portal-es-moved-on")


def field_problems_in_spanish(page: Any) -> None:
    """A wrong mobile number in Profile and a Monday that ends before it starts in Availability: each problem in
    Spanish beside its field, nothing saved."""
    # When she saves a mobile number with too few digits
    page.get_by_role("link", name="Perfil").click()
    page.locator("#p-mobile").fill("305-555")
    page.get_by_role("button", name="Guardar el perfil").click()
    # Then the field says in Spanish what to enter, and the top sums up
    said_beside(page, "p-mobile", "Escriba un número de teléfono de EE. UU. de 10 dígitos, como 512-555-0188.")
    screenshot(page, "portal-es-profile-problem")
    page.locator("#p-mobile").fill("")

    # When she saves weekly hours whose Monday ends before it starts
    page.get_by_role("link", name="Disponibilidad").click()
    # the week is shown (a locator's wait: a string evaluated in the page would need the eval its policy forbids)
    page.locator("#av-now").filter(has_text=re.compile(r"\S")).wait_for()
    page.locator("#start-mon").fill("18:00")
    page.locator("#end-mon").fill("09:00")
    page.get_by_role("button", name="Guardar el horario semanal").click()
    # Then Monday's end says so in Spanish
    said_beside(page, "end-mon", "El fin debe ser posterior al inicio.")
    screenshot(page, "portal-es-availability-problem")

    # When the service answers with a reason this page does not know yet, or is busy with no answer it can read
    refusals = iter(
        [
            {"status": 409, "json": {"error": "conflict", "message": "Moved on.", "reason": "a_reason_from_later"}},
            {"status": 503, "body": "Service Unavailable", "content_type": "text/plain"},
        ]
    )
    page.route("**/agent/availability/today", lambda route: route.fulfill(**next(refusals)))
    page.get_by_role("button", name="Guardar hoy").click()
    # Then each reads as its status's sentence in Spanish, never the service's English nor a blank
    page.get_by_text("Esto cambió mientras usted lo miraba, así que no se guardó nada.").wait_for()
    page.get_by_role("button", name="Guardar hoy").click()
    page.get_by_text("El servicio está ocupado en este momento.").wait_for()
    page.unroute("**/agent/availability/today")


def said_beside(page: Any, field: str, words: str) -> None:
    """`words` shown beside the input `field`, which is marked invalid, and the top of the page says to check it."""
    note = page.locator(f"#{field}-problem")
    note.wait_for()
    assert note.inner_text() == words
    assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
    assert page.locator("#notice").inner_text() == "Revise el campo marcado abajo."


def sessions_ended_in_spanish(page: Any, stack: Stack, used_link: str) -> None:
    """A session whose token no longer verifies (revoked by a change of key, or damaged), then a used sign-in link."""
    # Given her saved session, its signature no longer the service's
    page.evaluate(
        """() => {
          const saved = JSON.parse(localStorage.getItem('hod.agent.session'));
          const [version, claims, mac] = saved.token.split('.');
          saved.token = [version, claims, mac.split('').reverse().join('')].join('.');
          localStorage.setItem('hod.agent.session', JSON.stringify(saved));
        }"""
    )
    # When she opens the portal in her Spanish browser
    page.goto(f"{stack.base}/portal")
    # Then she is signed out and told in Spanish to ask for a new link
    page.get_by_text("Su sesión ya no es válida. Pida un nuevo enlace para iniciar sesión.").wait_for()
    page.get_by_role("heading", name="Iniciar sesión").wait_for()
    screenshot(page, "portal-es-session-ended")

    # When she opens the sign-in link she already used
    page.goto(used_link)
    # Then she is told in Spanish that it was used, and how to get a new one
    page.get_by_text("Este enlace para iniciar sesión ya se usó o se envió uno más reciente.").wait_for()
    assert "already" not in page.locator("#notice").inner_text()
    screenshot(page, "portal-es-link-used")
