"""Signed links and signing in: the pages an agent opens from a notification (a GET only shows; the page's buttons
POST the answer), short links from text messages, and the e-mailed one-time sign-in link for the agent pages."""

from __future__ import annotations

from chalice.app import Response

from hod import wiring
from hod.api.models import AgentSession, LinkForm, LinkQuery, SessionRequest, SignInRequest, SignInSent
from hod.api.routing import FORM, Audience, html, public_base_url
from hod.errors import NotFound
from hod.web import page_language

links = Audience("links", tag="links")
# A signed link's token may be missing, forged or expired (401), another agent's (403), or its referral gone (404)
SIGNED_LINK_REFUSALS = (401, 403, 404)


@links.route(
    "/sign-in",
    "POST",
    summary="E-mail a one-time sign-in link for the agent pages (the same answer whether or not the address is an "
    "agent's)",
    tag="agents",
    body=SignInRequest,
    response=SignInSent,
    status=202,
    description="Accepted",
)
def sign_in(body: SignInRequest) -> SignInSent:
    """The answer is the same whether or not the address belongs to an agent."""
    return SignInSent(message=wiring.services.access().request_sign_in(body.email, public_base_url(links.request)))


@links.route(
    "/sign-in/session",
    "POST",
    summary="Exchange a sign-in or activation link's token, once, for an agent session token",
    tag="agents",
    body=SessionRequest,
    response=AgentSession,
    refusals=(401,),
)
def start_session(body: SessionRequest) -> AgentSession:
    session = wiring.services.access().start_session(body.token)
    return AgentSession(
        token=session.token, npn=session.npn, first_name=session.first_name, expires_at=session.expires_at
    )


@links.route(
    "/offers/view",
    "GET",
    summary="Signed-link page of one offer; never changes anything",
    query=LinkQuery,
    page=True,
    description="HTML page",
    refusals=SIGNED_LINK_REFUSALS,
)
def offer_view(query: LinkQuery) -> Response:
    from hod.api import pages  # (loaded by the link routes alone: no other request renders a page)

    shown = wiring.views.link_pages().page(query.t)
    return html(pages.link_page(shown, query.t or "", _browser_language()))


@links.route(
    "/l/{code}",
    "GET",
    summary="A short link from a text message: redirects (302) to the signed link it stands for",
    page=True,
    status=302,
    description="Redirect to the signed link",
)
def short_link(code: str) -> Response:
    target = wiring.services.short_links().resolve(code)
    if target is None:
        raise NotFound(
            "This link has expired or does not exist. Open the portal to see your referrals", "link_not_found"
        )
    return Response(body="", status_code=302, headers={"Location": target, "Cache-Control": "no-store"})


@links.route(
    "/offers/accept",
    "POST",
    summary="Accept from a signed link (form field t)",
    body=LinkForm,
    body_media=(FORM,),
    page=True,
    description="HTML page with the consumer's details (a replay after ten minutes: where to find them)",
    conflict=True,
    refusals=SIGNED_LINK_REFUSALS,
)
def offer_accept(body: LinkForm) -> Response:
    from hod.api import pages

    # (the answer's page is written as the page that posted it was: its language and the agent's zone came with it)
    shown = wiring.views.link_answers().accept(body.t)
    return html(pages.link_page(shown, body.t or "", _browser_language(body.lang), body.tz))


@links.route(
    "/offers/reject",
    "POST",
    summary="Reject from a signed link (form field t)",
    body=LinkForm,
    body_media=(FORM,),
    page=True,
    description="HTML page",
    conflict=True,
    refusals=SIGNED_LINK_REFUSALS,
)
def offer_reject(body: LinkForm) -> Response:
    from hod.api import pages

    wiring.views.link_answers().reject(body.t)
    return html(pages.rejected_page(_browser_language(body.lang)))


def _browser_language(posted: str | None = None) -> str:
    """The language of a link page whose agent's language the link does not carry: the one of the page that posted
    the answer, else the browser's."""
    return page_language(posted, links.request.headers.get("accept-language"))
