"""Public routes: the consumer's form, the agent portal and the administrator's console (the portal and the console
sign their users in themselves), the pages' stylesheets and scripts, the liveness check and the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import Response

from hod import web, wiring
from hod.api.models import Health, PageLanguageQuery, PushKey
from hod.api.routing import Audience, html
from hod.errors import NotFound

public = Audience("public", tag="pages")


@public.route("/health", "GET", summary="Liveness check", tag="service", response=Health)
def health() -> Health:
    return Health(status="ok", time=datetime.now(UTC))


@public.route(
    "/get-contacted",
    "GET",
    summary="The consumer's Get Contacted page, in English or Spanish (lang=es, else the browser's language); "
    "may be embedded in a marketplace's site",
    query=PageLanguageQuery,
    page=True,
    description="HTML page",
)
def get_contacted_page(query: PageLanguageQuery) -> Response:
    """The consumer's Get Contacted form (R1), in English or Spanish (?lang=es, or the browser's language)."""
    language = web.page_language(query.lang, public.request.headers.get("accept-language"))
    return html(web.consumer_page(language), embeddable=True)


@public.route(
    "/portal",
    "GET",
    summary="The agent portal: Manage Referrals, Availability, Profile, Metrics, in English or Spanish (lang=es, "
    "else the browser's language; once signed in, the agent's choice)",
    query=PageLanguageQuery,
    page=True,
    description="HTML page",
)
def portal_page(query: PageLanguageQuery) -> Response:
    """The agent portal: Manage Referrals, Availability, Profile, Metrics (signed in by an e-mailed link)."""
    return html(web.portal_page(web.page_language(query.lang, public.request.headers.get("accept-language"))))


@public.route("/admin", "GET", summary="The administrator's console", page=True, description="HTML page")
def admin_page() -> Response:
    """The administrator's console: agent import, referral look-up, suspended agents, program metrics."""
    return html(web.admin_page())


@public.route(
    "/assets/{name}",
    "GET",
    summary="A stylesheet or script of the pages",
    page=True,
    description="CSS or JavaScript",
    media=tuple(dict.fromkeys(kind.split(";")[0] for kind in web.CONTENT_TYPES.values())),
)
def asset(name: str) -> Response:
    found = web.asset(name)
    if found is None:
        raise NotFound(f"The file {name}")
    body, content_type = found
    return _file(body, content_type, "max-age=300")


@public.route(
    "/sw.js",
    "GET",
    summary="The portal's service worker (app notifications); served beside the portal so its scope covers it",
    page=True,
    description="JavaScript",
    media=("text/javascript",),
)
def service_worker() -> Response:
    # Browsers check a worker for updates at least daily whatever it says; no-cache makes them check on each visit
    return _file(web.service_worker(), web.CONTENT_TYPES[".js"], "no-cache")


@public.route(
    "/manifest.webmanifest",
    "GET",
    summary="The portal's web app manifest (installing the portal on a phone), in English or Spanish (lang=es)",
    query=PageLanguageQuery,
    page=True,
    description="Web app manifest",
    media=("application/manifest+json",),
)
def web_manifest(query: PageLanguageQuery) -> Response:
    language = web.page_language(query.lang, public.request.headers.get("accept-language"))
    return _file(web.manifest(language), "application/manifest+json; charset=utf-8", "max-age=300")


@public.route(
    "/push/key",
    "GET",
    summary="The Web Push (VAPID) public key browsers subscribe with (applicationServerKey)",
    tag="agents",
    response=PushKey,
)
def push_key() -> PushKey:
    return PushKey(public_key=wiring.sending.vapid_key().public_key())


def _file(body: str, content_type: str, cache: str) -> Response:
    headers: dict[str, str | list[str]] = {
        "Content-Type": content_type,
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=body, status_code=200, headers=headers)


@public.route("/openapi.json", "GET", summary="This document", tag="service", description="OpenAPI 3.1")
def openapi() -> dict[str, Any]:
    from hod.api.openapi import openapi_document  # built when first asked for, not on every cold start

    return openapi_document()
