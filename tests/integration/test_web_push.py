"""Web Push, the "app" channel for browsers, end to end against a local push service (tests/push_endpoint.py) that
checks each request's VAPID signature and decrypts its payload with the subscription's own keys: registration through
the API, the offer pushed with its signed link, a gone subscription forgotten, a throttled push held and sent later."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from chalice.test import Client

from hod import wiring
from hod.adapters.aws import client
from hod.domain.availability import WeeklySchedule
from hod.domain.referral import ConsumerRequest
from local.cfn import load_template
from local.queues import QueueWorkers
from tests.integration.conftest import SENDER
from tests.integration.test_api import ALWAYS, agent, agent_headers
from tests.integration.test_notifications import offer
from tests.push_endpoint import PushService, Subscription

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]


@pytest.fixture
def push(stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[PushService]:
    """The local push service, and the stack allowed to send to its plain-http endpoints."""
    monkeypatch.setenv("HOD_WEBPUSH_ALLOW_HTTP", "true")
    client("sesv2").create_email_identity(EmailIdentity=SENDER)
    wiring.reset()
    with PushService().running() as service:
        yield service


@pytest.fixture
def api(push: PushService) -> Iterator[Client]:
    import app as intake_app

    with Client(intake_app.app) as test_client:
        yield test_client


def put_subscription(api: Client, npn: str, body: Any) -> Any:
    return api.http.put("/agent/devices/webpush", body=json.dumps(body), headers=agent_headers(npn))


def agent_with_browser(api: Client, push: PushService, npn: str, method: str = "email_app") -> Subscription:
    """An agent in Austin, always available, who turned notifications on in one browser."""
    service = wiring.services.agents()
    assert service.import_agents([agent(npn, contact_method=method)]).summary["created"] == 1
    service.set_weekly_schedule(npn, WeeklySchedule.model_validate(ALWAYS))
    subscription = push.subscribe(f"agent-{npn}")
    answer = put_subscription(api, npn, subscription.to_json())
    assert answer.status_code == 200, answer.body
    assert json.loads(answer.body) == {"devices": ["webpush"]}
    return subscription


def referral_nearby() -> str:
    request = ConsumerRequest(first_name="Rosa", last_name="Díaz", phone="5125550188", zip="78702", language="en")
    return wiring.services.intake().submit(request).referral_id


def offered_while_the_push_service_answers(
    api: Client, push: PushService, npn: str, status: int
) -> tuple[Subscription, str, dict[str, Any]]:
    """An agent with a browser subscription, offered a referral while its push service answers `status` once:
    (the subscription, the referral, the Offer task's result)."""
    subscription = agent_with_browser(api, push, npn)
    push.answer(subscription, status)
    rid = referral_nearby()
    return subscription, rid, offer(rid)


def devices_of(npn: str) -> list[str]:
    return [device.platform for device in wiring.services.agents().view(npn).agent.devices]


def trail(rid: str, action: str) -> list[dict[str, Any]]:
    return [dict(e.detail) for e in wiring.adapters.referral_store().audit_trail(rid) if e.action == action]


def test_an_agent_who_turned_on_browser_notifications_gets_the_offer_pushed_encrypted_with_its_signed_link(
    api: Client, push: PushService
) -> None:
    # Given an agent whose contact method is e-mail and app, with a browser subscribed to push
    subscription = agent_with_browser(api, push, "301")
    # When a consumer nearby asks for help and the offer is made
    rid = referral_nearby()
    result = offer(rid)
    # Then the offer went by e-mail and by the browser's push service
    assert result["agent_npn"] == "301"
    assert result["outcomes"] == {"email": "sent", "app": "sent"}
    [received] = push.to(subscription)
    # signed with the key the API serves to browsers, for the push service's origin (checked by the push service)
    key = json.loads(api.http.get("/push/key").body)["public_key"]
    assert received.vapid_key == key
    assert received.claims["aud"] == push.origin
    # kept no longer than the offer's window, and delivered at once
    assert 0 < int(received.headers["ttl"]) <= 900
    assert received.headers["urgency"] == "high"
    # And the payload, decrypted with the subscription's own keys, names the place and links to the offer page
    payload = received.payload
    assert payload is not None
    assert payload["title"] == "New referral in Austin, TX"
    assert payload["body"].startswith("Accept or reject by ")
    link = urlsplit(payload["url"])
    assert link.path == "/offers/view"
    assert link.query.startswith("t=")
    assert "Rosa" not in json.dumps(payload)
    assert "5550188" not in json.dumps(payload)
    # And its token opens the offer, with the buttons to answer it
    page = api.http.get(f"{link.path}?{link.query}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert ">Accept</button>" in page.body.decode()


def test_a_subscription_the_push_service_says_is_gone_is_removed_and_the_email_still_goes(
    api: Client, push: PushService
) -> None:
    # Given an agent with a browser subscription that the push service no longer knows, when an offer is made
    subscription, rid, result = offered_while_the_push_service_answers(api, push, "302", 410)
    # Then the e-mail went, the push failed, and the subscription is taken off the agent
    assert result["outcomes"] == {"email": "sent", "app": "failed"}
    assert [r.status for r in push.to(subscription)] == [410]
    assert devices_of("302") == []
    assert trail(rid, "offer.notified") == [{"agent_npn": "302", "email": "sent", "app": "failed"}]


def test_a_push_the_push_service_throttles_is_held_and_sent_later_by_the_send_function(
    api: Client, push: PushService
) -> None:
    # Given an agent's browser subscription whose push service throttles the first push, when the offer is made
    subscription, rid, result = offered_while_the_push_service_answers(api, push, "303", 429)
    # Then the push is held on the send queue, the subscription kept
    assert result["outcomes"] == {"email": "sent", "app": "held"}
    assert devices_of("303") == ["webpush"]
    # When the send function takes the held message
    QueueWorkers(load_template()).drain()
    # Then the push service got it again, and this time took it: the same offer link, decrypted
    received = push.to(subscription)
    assert [r.status for r in received] == [429, 201]
    assert received[0].payload == received[1].payload
    assert received[1].payload is not None
    assert "/offers/view?t=" in received[1].payload["url"]
    assert 0 < int(received[1].headers["ttl"]) <= 900
    assert [d["outcome"] for d in trail(rid, "notification.resent")] == ["sent"]


def test_a_subscription_that_is_not_https_or_has_malformed_keys_is_refused_and_changes_nothing(
    stack: dict[str, str],
) -> None:
    import app as intake_app

    # Given an agent, on a stack that (as deployed) takes https push endpoints only
    wiring.services.agents().import_agents([agent("304")])
    good = Subscription("https://push.example.net/send/abc").to_json()
    with Client(intake_app.app) as api:
        for bad in (
            {**good, "endpoint": "http://push.example.net/send/abc"},
            {**good, "endpoint": "https://push.example.net"},
            {**good, "keys": {**good["keys"], "p256dh": good["keys"]["p256dh"][:-1]}},
            {**good, "keys": {**good["keys"], "auth": good["keys"]["auth"] + "A"}},
            {**good, "keys": {"auth": good["keys"]["auth"]}},
            {**good, "extra": 1},
        ):
            # When such a subscription is registered
            answer = put_subscription(api, "304", bad)
            # Then it is refused with the reason, and the agent has no device
            assert answer.status_code == 400, bad
            assert devices_of("304") == []
        # And a good one is taken; registering the same endpoint again with new keys replaces it
        assert put_subscription(api, "304", good).status_code == 200
        again = Subscription("https://push.example.net/send/abc").to_json()
        assert json.loads(put_subscription(api, "304", again).body) == {"devices": ["webpush"]}
        # And an agent keeps at most five devices: the newest
        for n in range(6):
            put_subscription(api, "304", Subscription(f"https://push.example.net/send/{n}").to_json())
        kept = wiring.services.agents().view("304").agent.devices
        assert [d.identity for d in kept] == [f"https://push.example.net/send/{n}" for n in range(1, 6)]
