"""The installable portal and Web Push, in Debian's Chromium against the local stack: the manifest and its icons load,
the service worker registers and activates and shows a pushed offer with its link (handed to it through the
browser's DevTools protocol, as the browser does with a push it decrypted), Profile offers to turn notifications on,
and an offer pushed to a subscription reaches a push service that decrypts it, its link opening the offer page.

Chromium cannot make a real push subscription here: that needs its vendor's push service, which is not reachable
from a test machine (and is not faked in the browser). The test makes the subscription's keys itself, as a browser
would, registers it through the API (what the portal does with the subscription the browser gives it), and a local
push service (tests/push_endpoint.py) receives, checks and decrypts the push."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import WEEK_ALL_DAY, Stack, agent_record, screenshot
from tests.browser.test_portal import sign_in_in_browser, submit_consumer
from tests.push_endpoint import PushService

WENDY = agent_record("6720001", "Wendy", "Park", "67202", "KS")
# A bound for a stuck workflow, not a speed check (a loaded machine runs the local stack slowly)
PUSH_WAIT_S = 90


@pytest.fixture(scope="module")
def wendy(stack: Stack) -> str:
    """An agent in Wichita taking referrals around the clock, by e-mail and app notification; her session token."""
    stack.import_agents([WENDY])
    token = stack.agent_session(WENDY["email"])
    status, answer = stack.call("PUT", "/agent/availability", {"weekly": WEEK_ALL_DAY}, token=token)
    assert status == 200, answer
    status, answer = stack.call("PUT", "/agent/profile", {"contact_method": "email_app"}, token=token)
    assert status == 200, answer
    return token


@pytest.fixture
def push() -> Iterator[PushService]:
    with PushService().running() as service:
        yield service


def test_the_portal_is_installable_its_manifest_and_icons_load_and_its_service_worker_activates(
    stack: Stack, page: Any
) -> None:
    # Given the portal opened in the browser
    page.goto(f"{stack.base}/portal")
    # Then it links to its manifest, which parses and names the portal as a standalone app
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = page.evaluate("async (href) => (await fetch(href)).json()", href)
    assert manifest["name"] == "Help On Demand for agents"
    assert manifest["display"] == "standalone"
    assert urlsplit(manifest["start_url"]).path == "portal"
    # And every icon it names resolves, as an image
    for icon in manifest["icons"]:
        answer = page.evaluate(
            "async (src) => { const r = await fetch(new URL(src, new URL('manifest.webmanifest', location.href)));"
            " return [r.status, r.headers.get('content-type'), (await r.text()).slice(0, 4)]; }",
            icon["src"],
        )
        assert answer[0] == 200, icon
        assert answer[1].startswith("image/svg+xml"), icon
        assert answer[2] == "<svg", icon
    # And its service worker registers and becomes active, its scope covering the portal and the offer page
    worker = page.evaluate(
        "async () => { const r = await navigator.serviceWorker.ready;"
        " return [r.active && r.active.state, r.scope, r.active && r.active.scriptURL]; }"
    )
    assert worker == ["activated", f"{stack.base}/", f"{stack.base}/sw.js"]


def test_the_service_worker_shows_a_pushed_offer_with_the_link_it_opens(stack: Stack, page: Any) -> None:
    # Given the portal's worker active, and notifications allowed for the portal
    page.context.grant_permissions(["notifications"], origin=stack.base)
    page.goto(f"{stack.base}/portal")
    page.evaluate("navigator.serviceWorker.ready")
    # (the worker's live registration at the portal's scope: an earlier one may be reported as deleted; the waits
    # below are bounds for a loaded machine, not speed checks)
    registrations: list[str] = []
    devtools = page.context.new_cdp_session(page)
    devtools.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(
            r["registrationId"]
            for r in event["registrations"]
            if not r.get("isDeleted") and r.get("scopeURL", "").startswith(stack.base)
        ),
    )
    devtools.send("ServiceWorker.enable")
    deadline = time.monotonic() + 30
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert registrations, "the portal's worker registration was not reported"
    # When a push arrives with an offer's payload as the service sends it (handed to the worker by the browser's
    # DevTools, as the browser does once it has decrypted a push), and one pointing outside the service
    shown = (
        "async () => (await (await navigator.serviceWorker.ready).getNotifications())"
        ".map((n) => [n.title, n.body, n.data.url])"
    )
    offer = f"{stack.base}/offers/view?t=abc"
    for count, url in enumerate((offer, "https://elsewhere.example/phish"), start=1):
        payload = {"title": "New referral in Wichita, KS", "body": "Accept or reject by 3:45 PM.", "url": url}
        # (one push at a time, each until it is shown: DevTools may hand a push to a worker that is still waking
        # and drop it, where a push service would deliver it again; the same push again replaces its own)
        for _attempt in range(3):
            devtools.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": stack.base, "registrationId": registrations[-1], "data": json.dumps(payload)},
            )
            deadline = time.monotonic() + 10
            while len(page.evaluate(shown)) < count and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            if len(page.evaluate(shown)) >= count:
                break
    # Then the worker shows it, with the offer's link to open on a tap; a link elsewhere is not kept
    notifications = page.evaluate(shown)
    assert ["New referral in Wichita, KS", "Accept or reject by 3:45 PM.", offer] in notifications
    assert ["New referral in Wichita, KS", "Accept or reject by 3:45 PM.", None] in notifications


def test_an_offer_pushed_to_an_agents_subscription_is_decrypted_by_the_push_service_and_opens_the_offer_page(
    stack: Stack, wendy: str, page: Any, push: PushService
) -> None:
    # Given the agent signed in, on Profile: this browser can take pushes, so the switch is offered
    sign_in_in_browser(page, stack, WENDY["email"])
    page.get_by_role("link", name="Profile").click()
    switch = page.get_by_role("button", name="Turn on notifications on this device")
    switch.wait_for()
    assert "Notifications are off for this device." in page.locator("#push-state").inner_text()
    screenshot(page, "portal-notifications")
    # And a push subscription of hers registered through the API (as the switch does with the browser's own)
    subscription = push.subscribe("wendy")
    status, answer = stack.call("PUT", "/agent/devices/webpush", subscription.to_json(), token=wendy)
    assert (status, answer) == (200, {"devices": ["webpush"]})
    # When a consumer in Wichita asks for help
    submit_consumer(page, stack, "Lena", "Ortiz", "316-555-0163", zip_code="67202")
    # Then the push service receives the offer, signed with the service's key, and decrypts it with her keys
    deadline = time.monotonic() + PUSH_WAIT_S
    while not push.to(subscription) and time.monotonic() < deadline:
        time.sleep(0.3)
    [received] = push.to(subscription)
    assert received.status == 201
    assert received.vapid_key == stack.call("GET", "/push/key")[1]["public_key"]
    payload = received.payload
    assert payload is not None
    assert payload["title"] == "New referral in Wichita, KS"
    assert "Ortiz" not in str(payload)
    assert "/offers/view?t=" in payload["url"]
    # And its link opens the offer page
    page.goto(payload["url"])
    page.get_by_role("heading", name="New referral").wait_for()
    assert "Wichita" in page.content()
    assert "Ortiz" not in page.content()
