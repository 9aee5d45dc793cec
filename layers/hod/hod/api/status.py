"""The consumer's status link: the page (GET /status, never changing anything), its JSON twin that the page and
the confirmation screen poll (GET /status.json), and "Nobody has called me" (POST /status, the page's own button)."""

from __future__ import annotations

from datetime import datetime

from chalice.app import Response
from pydantic import Field

from hod import web, wiring
from hod.api.models import Answer, LinkForm, LinkQuery
from hod.api.routing import FORM, Audience, html
from hod.errors import Conflict, NotFound, Unauthorized
from hod.services.status import (
    ALREADY,
    CALL_CENTER_PHONE,
    CALL_CENTER_SITES,
    CALL_CENTER_TTY,
    NOT_YET,
    Stage,
    StatusView,
)

status = Audience("status", tag="consumers")
STATUS_REFUSALS = (401, 404)


class StatusAgent(Answer):
    """The accepting agent, as the consumer may see them: first name and business phone only."""

    first_name: str
    phone: str = Field(description="the agent's business phone, as (512) 555-0188")
    phone_tel: str = Field(description="the same number for a tel: link (E.164)")


class StatusSafetyNet(Answer):
    asked_at: datetime = Field(description="when every agent licensed in the state was last asked")
    next_search_at: datetime = Field(description="when matching runs again (agents whose hours start by then)")
    tries_until: datetime = Field(description="when the request is closed as unserved if nobody accepts")
    asked_at_local: str
    next_search_local: str
    tries_until_local: str


class CallCenter(Answer):
    phone: str = CALL_CENTER_PHONE
    tty: str = CALL_CENTER_TTY
    site: str


class ReferralStatusAnswer(Answer):
    """Where a consumer's request stands: nothing they did not enter but the accepting agent's business details."""

    stage: Stage
    language: str = Field(description="the page's language")
    version: str = Field(description="changes whenever what the page shows changes")
    updated_at: datetime
    matched: bool = Field(description="an agent available now was offered the request, or has it")
    agent: StatusAgent | None = None
    contact_by: datetime | None = Field(default=None, description="R12: the agent calls by then")
    contact_by_local: str | None = Field(default=None, description="the same, in the consumer's time zone")
    can_report_not_called: bool = False
    not_called_reported: bool = False
    safety_net: StatusSafetyNet | None = None
    call_center: CallCenter


def _language(view: StatusView | None) -> str:
    """The referral's language when the page has it, else the one the browser prefers."""
    if view is not None and view.language in web.PAGE_LANGUAGES:
        return view.language
    return web.page_language(None, status.request.headers.get("accept-language"))


def _refused(exc: Unauthorized | NotFound) -> Response:
    from hod.api import status_page  # (the page renderer: loaded by these routes alone)

    if isinstance(exc, NotFound):
        return html(status_page.refusal_page(_language(None), "not_found"), 404)
    kind = "expired" if "expired" in str(exc) else "invalid"
    return html(status_page.refusal_page(_language(None), kind), 401)


def status_answer(view: StatusView) -> ReferralStatusAnswer:
    from hod.api import status_page

    language = _language(view)
    agent = None
    if view.agent_first_name is not None and view.agent_phone is not None:
        agent = StatusAgent(
            first_name=view.agent_first_name,
            phone=status_page.display_phone(view.agent_phone),
            phone_tel=view.agent_phone,
        )
    net = view.safety_net
    return ReferralStatusAnswer(
        stage=view.stage,
        language=language,
        version=status_page.version(view),
        updated_at=view.updated_at,
        matched=view.matched,
        agent=agent,
        contact_by=view.contact_by,
        contact_by_local=status_page.at(view.contact_by, view) or None,
        can_report_not_called=view.can_report_not_called,
        not_called_reported=view.not_called_reported,
        safety_net=StatusSafetyNet(
            asked_at=net.asked_at,
            next_search_at=net.next_search_at,
            tries_until=net.tries_until,
            asked_at_local=status_page.at(net.asked_at, view),
            next_search_local=status_page.at(net.next_search_at, view),
            tries_until_local=status_page.at(net.tries_until, view),
        )
        if net is not None
        else None,
        call_center=CallCenter(site=CALL_CENTER_SITES.get(language, CALL_CENTER_SITES["en"])),
    )


@status.route(
    "/status",
    "GET",
    summary="The consumer's status page from the receipt's signed link: where the request stands; never changes "
    "anything",
    query=LinkQuery,
    page=True,
    description="HTML page, in the request's language (English or Spanish, else the browser's)",
    refusals=STATUS_REFUSALS,
)
def status_view(query: LinkQuery) -> Response:
    from hod.api import status_page

    try:
        view = wiring.services.consumer_status().view(query.t)
    except (Unauthorized, NotFound) as exc:
        return _refused(exc)
    return html(status_page.status_page(view, query.t or "", _language(view)))


@status.route(
    "/status.json",
    "GET",
    summary="The status page's JSON twin (the page and the confirmation screen poll it); never changes anything",
    query=LinkQuery,
    response=ReferralStatusAnswer,
    refusals=STATUS_REFUSALS,
)
def status_json(query: LinkQuery) -> ReferralStatusAnswer:
    return status_answer(wiring.services.consumer_status().view(query.t))


@status.route(
    "/status",
    "POST",
    summary='The status page\'s "Nobody has called me", after the contact-by time (form field t): recorded once per '
    "acceptance, the agent reminded and, under the reassign policy, the request sent on to the next agent (posted "
    "to the page's own address, so the answer, the same page, keeps its relative links)",
    body=LinkForm,
    body_media=(FORM,),
    page=True,
    description="HTML page: the status page with what was done",
    conflict=True,
    refusals=STATUS_REFUSALS,
)
def not_called(body: LinkForm) -> Response:
    from hod.api import status_page

    consumer_status = wiring.services.consumer_status()
    try:
        referral_id = wiring.services.status_links().referral_id(body.t)
        notice = "reassigned" if wiring.workflow.not_called().report(referral_id) else ""
        code = 200
    except (Unauthorized, NotFound) as exc:
        return _refused(exc)
    except Conflict as exc:
        notice = {NOT_YET: "not_yet", ALREADY: "already"}.get(exc.message, "moved_on")
        code = 409
    view = consumer_status.of(referral_id)
    return html(status_page.status_page(view, body.t or "", _language(view), notice), code)
