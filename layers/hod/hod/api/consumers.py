"""The consumers' route: Get Contacted (R1)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit

from hod import wiring
from hod.api import views
from hod.api.models import ConsumerRequest, ReferralReceipt
from hod.api.routing import Audience, logger, metrics, public_base_url
from hod.domain.languages import preferred_language
from hod.errors import ValidationFailed
from hod.services.intake import ANSWER_LANGUAGES

consumers = Audience("consumers", tag="consumers")
MAX_IDEMPOTENCY_KEY = 128


def _zip_problem_in(accept_language: str | None) -> Callable[[str], str | None]:
    """The intake's ZIP check, answering in the language the caller prefers (Accept-Language), English by default."""
    language = preferred_language(accept_language, ANSWER_LANGUAGES) or "en"
    return functools.partial(wiring.services.intake().zip_problem, language=language)


@consumers.route(
    "/referrals",
    "POST",
    summary="Get Contacted: ask to be contacted by a licensed agent or broker",
    body=ConsumerRequest,
    response=ReferralReceipt,
    status=201,
    description="Referral received; an agent will be matched. A repeated identical submission (or the same "
    "Idempotency-Key header) returns the same referral. A ZIP code's refusal is in the language Accept-Language "
    "prefers (English or Spanish) and, for a state with its own Marketplace, names it with its site.",
    headers=("Idempotency-Key", "Accept-Language"),
    conflict=True,
    cors=True,
    refusals=(422,),
    context=lambda: {"zip_problem": _zip_problem_in(consumers.request.headers.get("accept-language"))},
)
def create_referral(body: ConsumerRequest) -> ReferralReceipt:
    """Get Contacted: a consumer asks to be contacted by an agent (R1)."""
    key = (consumers.request.headers.get("idempotency-key") or "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed({"Idempotency-Key": f"at most {MAX_IDEMPOTENCY_KEY} characters"})
    referral = wiring.services.submissions().submit(body, key)
    metrics().add_metric(name="ReferralsReceived", unit=MetricUnit.Count, value=1)
    logger().info("referral received", extra={"referral_id": referral.referral_id, "state": referral.place.state})
    links = wiring.services.status_links()
    token = links.token(referral.referral_id)
    return views.referral_receipt(referral, f"{public_base_url(consumers.request)}/status?t={token}", token)
