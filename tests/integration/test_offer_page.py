"""The page an offer's link opens, in the agent's language of pages and messages: the countdown and its deadline as
a clock time, the consumer's language in words, and after acceptance a tap-to-call link, the contact-by times and
the way on to the portal to record a status."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from hod import wiring
from hod.domain.agent import ProfileUpdate
from tests.integration.conftest import Workflow
from tests.integration.test_api import ALWAYS
from tests.integration.test_workflow import FORM, add_agents, link_of, offer_emails_to, submit


def posted(page: str, action: str) -> str:
    """The body the page's `action` button posts: its form's hidden fields (the token, the page's language, the
    agent's time zone), as a browser sends them."""
    form = re.search(rf'<form method="post" action="{action}">(.*?)</form>', page)
    assert form is not None, page
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(1))
    return urlencode([(name, html.unescape(value)) for name, value in fields])


@pytest.fixture
def client(workflow: Workflow) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def test_an_agent_who_chose_spanish_gets_the_offer_and_its_page_in_spanish(workflow: Workflow, client: Client) -> None:
    # Given an agent in Austin who speaks English first but chose Spanish for pages and messages
    add_agents(("101", "78701", ALWAYS))
    wiring.services.agents().update_profile("101", ProfileUpdate(page_language="es", languages=("en", "es")))
    # When a Spanish-speaking consumer nearby asks for help
    submit(client)
    link = link_of("101", workflow)
    # Then the offer e-mail is in Spanish
    assert offer_emails_to("101")[-1].subject.startswith("Referido de Help On Demand en Austin")
    # And the page its link opens is in Spanish: the consumer's language in words, the countdown and its deadline
    page = client.http.get(link, headers={"Accept-Language": "en"}).body.decode()
    assert '<html lang="es">' in page
    assert "Nuevo referido" in page
    assert "Austin, condado de Travis, TX" in page
    assert "Idioma del consumidor:</b> Español" in page
    assert 'role="timer"' in page
    assert "data-deadline=" in page
    assert "Acepte antes de <b data-clock=" in page
    assert "(hora del Centro)" in page
    assert "../assets/offer.js" in page
    assert ">Aceptar</button>" in page
    assert "Rosa" not in page
    # When they accept
    accepted = client.http.post("/offers/accept", body=posted(page, "accept"), headers=FORM).body.decode()
    # Then they see the consumer to call, in Spanish, with a tap-to-call link and the contact-by times
    assert "Referido aceptado" in accepted
    assert '<a class="big" href="tel:+15125550188">(512) 555-0188</a>' in accepted
    assert '<a href="mailto:rosa@example.org">rosa@example.org</a>' in accepted
    assert "Contacte al consumidor en 15 minutos, antes de <b data-clock=" in accepted
    assert "nunca después de 30" in accepted
    # And the way to record a status: the portal, at this referral, and why the link cannot do it
    assert ">En curso</a>" in accepted
    assert ">Referido completado</a>" in accepted
    assert "../portal#referral=" in accepted
    assert "Abrir en su portal de agente" in accepted
    assert "pudo haberse reenviado" in accepted


def test_an_agent_who_chose_nothing_gets_the_page_in_english_with_the_deadline_in_their_zone(
    workflow: Workflow, client: Client
) -> None:
    # Given an agent with no language of pages chosen, who speaks English first
    add_agents(("101", "78701", ALWAYS))
    submit(client)
    link = link_of("101", workflow)
    # When they open the offer link in a browser asking for Spanish
    page = client.http.get(link, headers={"Accept-Language": "es"}).body.decode()
    # Then the page follows the agent's messages (English), the consumer's language in words, the deadline in CST/CDT
    assert '<html lang="en">' in page
    assert "Consumer&#x27;s language:</b> Spanish" in page
    assert "Accept by <b data-clock=" in page
    assert " CST</b>" in page or " CDT</b>" in page
    # When they reject, the answer is in English and leads on to the portal
    rejected = client.http.post("/offers/reject", body=posted(page, "reject"), headers=FORM).body.decode()
    assert "Referral rejected" in rejected
    assert 'href="../portal#referrals"' in rejected
