"""Tokens never reach a log: the local stack's output (its request log and the e-mails it prints) holds none of the
tokens that sign an agent in or open a referral, though they travelled in e-mails, query strings and bodies."""

from __future__ import annotations

import re
import time
import urllib.request

from tests.browser.conftest import WEEK_ALL_DAY, Stack, agent_record

SAM = agent_record("4810001", "Sam", "Rivera", "48226", "MI")


def test_the_local_stacks_output_holds_no_sign_in_session_or_link_token(stack: Stack) -> None:
    # Given an agent who signs in by e-mailed link (its token exchanged for a session) and takes referrals all day
    stack.import_agents([SAM])
    mark = stack.mark()
    session = stack.agent_session(SAM["email"])
    sign_in_link = stack.wait_for_email(SAM["email"], "sign-in link", mark)["links"][0]
    status, answer = stack.call("PUT", "/agent/availability", {"weekly": WEEK_ALL_DAY}, token=session)
    assert status == 200, answer

    # When a consumer nearby asks for help and the agent opens the offer's link (its token in the query string)
    mark = stack.mark()
    consumer = {"first_name": "Dana", "last_name": "Cole", "phone": "313-555-0142", "zip": "48226"}
    status, answer = stack.call("POST", "/referrals", consumer)
    assert status == 201, answer
    offer = stack.wait_for_email(SAM["email"], "referral in", mark)
    link = next(url for url in offer["links"] if "/offers/view?t=" in url)
    with urllib.request.urlopen(link, timeout=30) as page:
        assert page.status == 200

    # Then the stack's output shows the request, without the query string, and none of the three tokens
    tokens = {
        "sign-in link": sign_in_link.split("#t=", 1)[1],
        "session": session,
        "offer link": link.split("?t=", 1)[1],
    }

    def printed(output: str) -> bool:
        return "GET /offers/view?… HTTP/1.1" in output and re.search(r"/offers/view\?t=… ", output) is not None

    deadline = time.monotonic() + 30
    while not printed(stack.log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)  # (the output is read by a thread as it comes; e-mails are printed by a once-a-second poll)
    output = stack.log.read_text()
    assert "GET /offers/view?… HTTP/1.1" in output
    for what, token in tokens.items():
        assert token not in output, f"the {what} token is in the local stack's output"
    assert re.search(r"/offers/view\?t=… ", output), "the printed offer e-mail shows its link without the token"
