"""A Spanish-speaking agent, end to end in Spanish, in a real browser against the local stack: the sign-in link
e-mail, the portal, the offer e-mail and its page (the countdown ticking), accepting, the tap-to-call link, and a
status recorded and seen in Manage Referrals.

Lucía's office is in Miami, where no other test's agent works, so every Miami referral is offered to her first.
"""

from __future__ import annotations

import time
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
    page.goto(mail["links"][0])
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
    assert "Acepte antes de las " in page.locator("main").inner_text() or "Acepte antes de la " in page.content()
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

    # When she switches the language of pages and messages to English, the portal comes back in English at once
    page.set_viewport_size({"width": 412, "height": 915})
    page.get_by_role("link", name="Perfil").click()
    page.get_by_label("Idioma de las páginas y los mensajes").select_option("en")
    page.get_by_role("button", name="Guardar el perfil").click()
    page.get_by_text("Profile saved.").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("heading", name="Profile").wait_for()
    assert page.get_by_label("Language of pages and messages").input_value() == "en"
