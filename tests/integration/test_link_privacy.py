"""A signed link may be forwarded: after its agent accepts, it shows the consumer's details for minutes, not a day;
the accepting agent's portal session keeps them (R7)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice.test import Client

from hod import wiring
from tests.conftest import FakeClock
from tests.integration.conftest import Workflow
from tests.integration.test_api import ALWAYS, agent_headers
from tests.integration.test_workflow import FORM, add_agents, client, link_of, submit, token_of

__all__ = ["client"]  # the fixture, shared with the workflow's tests

PRIVATE = ("Rosa Martínez", "+15125550188", "rosa@example.org")


def test_after_ten_minutes_the_link_no_longer_shows_the_consumer_but_the_agents_portal_does(
    workflow: Workflow, client: Client
) -> None:
    # Given an offer to the nearest agent, on a clock the test moves
    clock = FakeClock(datetime.now(UTC))
    wiring.use_clock(clock)
    add_agents(("101", "78701", ALWAYS))
    referral_id = submit(client)
    link = link_of("101", workflow)

    # When the agent accepts through the link, and opens it again a few minutes later
    accepted = client.http.post("/offers/accept", body=f"t={token_of(link)}", headers=FORM).body.decode()
    clock.advance(minutes=9)
    reopened = client.http.get(link).body.decode()

    # Then both show the consumer's name and contact details
    for page in (accepted, reopened):
        assert all(detail in page for detail in PRIVATE), page

    # When whoever holds the link opens it, or replays the accept, eleven minutes after the acceptance
    clock.advance(minutes=2)
    later = client.http.get(link)
    replayed = client.http.post("/offers/accept", body=f"t={token_of(link)}", headers=FORM)

    # Then the pages say the referral was accepted and where to find the details, and show none of them
    for page in (later, replayed):
        assert page.status_code == 200
        text = page.body.decode()
        assert "Referral accepted" in text
        assert "Manage Referrals" in text
        assert not any(detail in text for detail in PRIVATE), text

    # And the accepting agent, signed in, still has them in Manage Referrals
    rows = client.http.get("/agent/referrals", headers=agent_headers("101")).json_body["referrals"]
    mine = next(row for row in rows if row["referral_id"] == referral_id)
    assert mine["consumer"]["first_name"] == "Rosa"
    assert mine["consumer"]["phone"] == "+15125550188"
