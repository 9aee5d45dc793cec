"""The consumer's confirmation code: made at intake, unique (claimed in the intake's one transaction, drawn again
when taken), in the answer and the receipt, and found by the administrator as the consumer reads it out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from hod import wiring
from hod.domain import confirmation
from hod.domain.referral import ConsumerRequest, Referral
from hod.errors import Conflict
from hod.services.intake import CODE_ATTEMPTS, IntakeService
from tests.integration.test_api import admin_headers, client, consumer, post_json  # noqa: F401

pytestmark = pytest.mark.usefixtures("stack")


def stored_items() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=os.environ["HOD_REFERRALS_TABLE"])["Items"]


def intake_drawing(codes: list[str]) -> IntakeService:
    """The stack's intake, drawing its codes from `codes` in turn."""
    draws: Iterator[str] = iter(codes)
    usual = wiring.services.intake()
    return IntakeService(
        wiring.adapters.referral_store(),
        wiring.adapters.workflow(),
        wiring.clock(),
        2026,
        new_code=lambda: next(draws),
        receipt=usual._receipt,
    )


def test_a_new_referral_gets_a_readable_code_that_the_receipt_repeats(client: Client) -> None:  # noqa: F811
    # Given a consumer's request
    # When it is sent
    answer = post_json(client, "/referrals", consumer(phone="512-555-0177")).json_body
    # Then the answer has the id and a code of two groups of four symbols with no look-alikes
    code = answer["confirmation_code"]
    assert len(answer["referral_id"]) == 32
    first, second = code.split("-")
    assert len(first) == len(second) == 4
    assert confirmation.is_code(first + second)
    assert not set(code) & set("01ILOU")
    # And the text the consumer receives quotes the same code, with a short link to the status page (stored with the
    # referral, in its one write)
    texts = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
    (text,) = [text for number, text, *_ in texts if number.endswith("5550177")]
    words, _, short = text.partition(" Estado: http://hod.test")
    assert words == f"Help On Demand: recibimos su solicitud (código {code}). Un agente con licencia le llamará pronto."
    redirect = client.http.get(short)
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith("http://hod.test/status?t=")


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "{bare}"])
def test_the_administrator_finds_the_referral_by_its_code_however_it_is_typed(client: Client, typed: str) -> None:  # noqa: F811
    # Given a referral and its code
    answer = post_json(client, "/referrals", consumer()).json_body
    code = answer["confirmation_code"]
    forms = {"code": code, "lower": code.lower(), "bare": code.replace("-", "")}
    # When the administrator looks the code up, as typed
    found = client.http.get(f"/admin/referrals/{typed.format(**forms)}", headers=admin_headers())
    # Then it is that referral, with its code and no consumer details
    assert found.status_code == 200, found.body
    assert found.json_body["referral_id"] == answer["referral_id"]
    assert found.json_body["confirmation_code"] == code
    assert "Rosa" not in found.body.decode()


def test_an_unknown_code_is_not_found_and_changes_nothing(client: Client) -> None:  # noqa: F811
    # Given one referral
    post_json(client, "/referrals", consumer())
    before = stored_items()
    # When the administrator looks up a well-formed code nobody holds, and text that is neither id nor code
    unknown = client.http.get("/admin/referrals/ZZZZ-ZZZZ", headers=admin_headers())
    other = client.http.get("/admin/referrals/HK7-0O1", headers=admin_headers())
    # Then both are not found, and nothing was written
    assert (unknown.status_code, other.status_code) == (404, 404)
    assert stored_items() == before


def test_a_code_already_taken_is_drawn_again_in_a_new_transaction_and_both_referrals_keep_their_own() -> None:
    # Given a stored referral holding a code
    taken = "HK7M4QXZ"
    first = intake_drawing([taken]).submit(ConsumerRequest.model_validate(consumer(phone="512-555-0160")))
    assert isinstance(first, Referral)
    assert first.confirmation_code == taken
    # When the next intake draws the same code first, then another
    second = intake_drawing([taken, "MN3P-8RST".replace("-", "")]).submit(
        ConsumerRequest.model_validate(consumer(phone="512-555-0161"))
    )
    # Then the second referral is stored once, with the other code, and each code names its own referral
    assert isinstance(second, Referral)
    assert second.confirmation_code == "MN3P8RST"
    views = wiring.views.referral_views()
    assert views.with_audit_trail("HK7M-4QXZ")[0].referral_id == first.referral_id
    assert views.with_audit_trail(" mn3p 8rst ")[0].referral_id == second.referral_id
    heads = [item for item in stored_items() if item["sk"]["S"] == "REFERRAL"]
    assert len(heads) == 2


def test_an_intake_that_only_ever_draws_taken_codes_stores_nothing_and_says_so() -> None:
    # Given a code already held
    intake_drawing(["HK7M4QXZ"]).submit(ConsumerRequest.model_validate(consumer(phone="512-555-0162")))
    before = stored_items()
    # When an intake draws only that code, every time
    with pytest.raises(Conflict):
        intake_drawing(["HK7M4QXZ"] * CODE_ATTEMPTS).submit(
            ConsumerRequest.model_validate(consumer(phone="512-555-0163"))
        )
    # Then nothing more was stored
    assert stored_items() == before


def test_a_status_link_code_already_taken_is_drawn_again_and_the_other_link_still_leads_where_it_did(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hod.ports.links import ShortLink
    from hod.services.links import ShortLinks

    # Given a short link already holding a code
    links = wiring.services.short_links()
    taken = links.shorten("http://hod.test/elsewhere", datetime.now(UTC) + timedelta(days=1)).rsplit("/", 1)[1]
    # When the next intake draws that code for its status link first, then another
    draws = iter([taken, "freshcode42"])
    real_draw = ShortLinks.draw

    def drawing(target: str, expires: datetime) -> ShortLink:
        drawn = real_draw(target, expires)
        return ShortLink(next(draws), drawn.target, drawn.expires_at)

    monkeypatch.setattr(ShortLinks, "draw", staticmethod(drawing))
    referral = intake_drawing(["MN3P8RST", "QW4E7RTY"]).submit(
        ConsumerRequest.model_validate(consumer(phone="512-555-0164"))
    )
    # Then the referral is stored once (with the second draw's code and link), and each link leads where it did
    assert isinstance(referral, Referral)
    assert referral.confirmation_code == "QW4E7RTY"
    heads = [item for item in stored_items() if item["sk"]["S"] == "REFERRAL"]
    assert len(heads) == 1
    assert links.resolve(taken) == "http://hod.test/elsewhere"
    status = links.resolve("freshcode42")
    assert status is not None
    assert status.startswith("http://hod.test/status?t=")
