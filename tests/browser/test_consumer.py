"""The consumer's Get Contacted page, in English and Spanish, in a real browser."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Stack, screenshot


def test_a_consumer_sees_field_errors_then_submits_and_is_told_what_happens_next(stack: Stack, page: Any) -> None:
    page.goto(f"{stack.base}/get-contacted?lang=en")
    assert page.title().startswith("Get help with health insurance")

    # Nothing filled in: every required field says what is wrong, and the summary takes the focus
    page.get_by_role("button", name="Get contacted").click()
    assert page.locator("#problems").is_visible()
    assert page.get_by_label("First name").get_attribute("aria-invalid") == "true"
    assert "10-digit" in page.locator("#phone-error").inner_text()
    screenshot(page, "consumer-errors")

    # A ZIP in a state that does not use HealthCare.gov is refused by the service, next to the field
    page.get_by_label("First name").fill("Rosa")
    page.get_by_label("Last name").fill("Martínez")
    page.get_by_label("Phone number").fill("512-555-0188")
    page.get_by_label("ZIP code").fill("90210")
    page.get_by_role("button", name="Get contacted").click()
    page.locator("#zip-error").wait_for(state="visible")
    # in the service's own words, with the state's own Marketplace as a link
    assert page.locator("#zip-error").inner_text().startswith("California does not use HealthCare.gov")
    marketplace = page.locator("#zip-error a")
    assert marketplace.get_attribute("href") == "https://www.coveredca.com/"
    assert page.locator("#done").is_hidden()

    page.get_by_label("ZIP code").fill("78702")
    page.get_by_role("button", name="Get contacted").click()
    page.locator("#done").wait_for(state="visible")
    assert "We received your request" in page.locator("#done").inner_text()
    # the number the agent will call, read back so that a typo shows
    assert "The agent will call you at (512) 555-0188." in page.locator("#done-phone").inner_text()
    reference = page.locator("#done-reference").inner_text()
    assert reference
    screenshot(page, "consumer-received")

    status, referral = stack.call("GET", f"/admin/referrals/{reference}", token=stack.admin_token)
    assert status == 200
    assert referral["place"]["city"] == "Austin"


def test_the_page_in_spanish_asks_and_answers_in_spanish(stack: Stack, page: Any) -> None:
    page.goto(f"{stack.base}/get-contacted?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_label("Idioma que prefiere").input_value() == "es"
    page.get_by_role("textbox", name="Nombre", exact=True).fill("Luis")
    page.get_by_label("Apellido").fill("Pérez")
    page.get_by_label("Número de teléfono").fill("5125550123")
    # A New York ZIP: the service says so in Spanish, and links to New York's own Marketplace
    page.get_by_label("Código postal (ZIP)").fill("10001")
    page.get_by_role("button", name="Quiero que me contacten").click()
    page.locator("#zip-error").wait_for(state="visible")
    assert page.locator("#zip-error").inner_text().startswith("Nueva York no usa CuidadoDeSalud.gov")
    assert page.locator("#zip-error a").get_attribute("href") == "https://nystateofhealth.ny.gov/"
    screenshot(page, "consumer-out-of-area-es")
    page.get_by_label("Código postal (ZIP)").fill("33125")
    screenshot(page, "consumer-form-es")
    page.get_by_role("button", name="Quiero que me contacten").click()
    page.locator("#done").wait_for(state="visible")
    assert "Recibimos su solicitud" in page.locator("#done").inner_text()
    assert "Un agente o corredor con licencia" in page.locator("#done-message").inner_text()
    assert "El agente le llamará al (512) 555-0123." in page.locator("#done-phone").inner_text()
