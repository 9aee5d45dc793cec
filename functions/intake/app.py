"""The HTTP API (one Chalice app): consumer intake, agents' profile and availability, administration.

Thin by design: parse and validate, call one service, answer. Errors become HTTP answers in one place
(`_answer_errors`); nothing is changed when a request is refused.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from chalice import Chalice, ConvertToMiddleware, Response
from pydantic import BaseModel, ValidationError

from hod import web, wiring
from hod.api import pages, views
from hod.api.agent_import import parse_import
from hod.api.openapi import openapi_document
from hod.domain import availability as av
from hod.domain.agent import PushDevice
from hod.domain.referral import ConsumerRequest, ReferralStatus
from hod.errors import (
    Conflict,
    DependencyFailed,
    Forbidden,
    HodError,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from hod.services import reports
from hod.services.agents import AgentView, ProfileUpdate, field_errors
from hod.services.auth import ADMIN, AGENT_SESSION
from hod.services.offer_links import LinkAnswers, LinkPages
from hod.services.referral_views import ReferralViews
from hod.services.workflow import missed_alert

app = Chalice(app_name="hod-intake", configure_logs=False)
app.api.cors = False
logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # AWS calls only: patching every library costs ~30 ms per cold start
metrics = Metrics()

M = TypeVar("M", bound=BaseModel)
_CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}


@lambda_handler_decorator
def _flush_metrics(handler: Callable[..., Any], event: Any, context: Any) -> Any:
    return metrics.log_metrics(handler)(event, context)


app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))
app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler))
app.register_middleware(ConvertToMiddleware(_flush_metrics))

_STATUS: dict[type[HodError], tuple[int, str]] = {
    ValidationFailed: (400, "validation_failed"),
    Unauthorized: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
}


def _error_response(exc: HodError) -> Response:
    for kind, (status, code) in _STATUS.items():
        if isinstance(exc, kind):
            body: dict[str, Any] = {"error": code, "message": getattr(exc, "message", str(exc))}
            if isinstance(exc, ValidationFailed):
                body["fields"] = exc.fields
            return Response(body=body, status_code=status, headers=_CORS_HEADERS)
    if isinstance(exc, DependencyFailed):
        logger.exception("dependency failed", extra={"service": exc.service, "operation": exc.operation})
        metrics.add_metric(name="DependencyFailures", unit=MetricUnit.Count, value=1)
        return Response(
            body={"error": "unavailable", "message": "The service is busy; please try again shortly."},
            status_code=503,
            headers={"Retry-After": "5", **_CORS_HEADERS},
        )
    logger.exception("unexpected service error")
    return Response(body={"error": "internal", "message": "Something went wrong."}, status_code=500)


def _error_page(exc: HodError) -> Response:
    answer = _error_response(exc)
    title = {401: "This link is not valid", 403: "Not yours to answer", 404: "Not found", 409: "No longer open"}.get(
        answer.status_code, "Something went wrong"
    )
    message = answer.body["message"] if isinstance(answer.body, dict) else "Something went wrong."
    return _html(pages.closed_page(title, message), answer.status_code)


_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "
)


def _html(body: str, status: int = 200, embeddable: bool = False) -> Response:
    """A page. Only the consumer's form may be framed (a marketplace embeds it); the others never are."""
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _PAGE_CSP + ("*" if embeddable else "'none'"),
    }
    if not embeddable:
        headers["X-Frame-Options"] = "DENY"
    return Response(body=body, status_code=status, headers=headers)


def route(path: str, *, html: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`app.route` with the project's error answers: every HodError becomes its HTTP status in one place
    (as JSON, or as a page for the signed-link pages)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def answered(**kwargs: Any) -> Any:
            try:
                return view(**kwargs)
            except HodError as exc:
                return _error_page(exc) if html else _error_response(exc)

        app.route(path, **options)(answered)
        return view

    return register


def _json_body() -> Any:
    raw = app.current_request.raw_body
    if not raw:
        raise ValidationFailed({"body": "a JSON body is required"})
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed({"body": f"not valid JSON: {exc}"}) from None


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def _agent_npn() -> str:
    return wiring.auth().authenticate(app.current_request.headers.get("authorization"), AGENT_SESSION).subject


def _require_admin() -> str:
    return wiring.auth().authenticate(app.current_request.headers.get("authorization"), ADMIN).subject


# ----- public ----------------------------------------------------------------------------------------------------
@route("/health", methods=["GET"])
def health() -> dict[str, Any]:
    return {"status": "ok", "time": datetime.now(UTC).isoformat()}


@route("/get-contacted", methods=["GET"], html=True)
def get_contacted_page() -> Response:
    """The consumer's Get Contacted form (R1), in English or Spanish (?lang=es, or the browser's language)."""
    request = app.current_request
    language = web.page_language((request.query_params or {}).get("lang"), request.headers.get("accept-language"))
    return _html(web.consumer_page(language), embeddable=True)


@route("/portal", methods=["GET"], html=True)
def portal_page() -> Response:
    """The agent portal: Manage Referrals, Availability, Profile, Metrics (signed in by an e-mailed link)."""
    return _html(web.portal_page())


@route("/admin", methods=["GET"], html=True)
def admin_page() -> Response:
    """The administrator's console: agent import, referral look-up, suspended agents, program metrics."""
    return _html(web.admin_page())


@route("/assets/{name}", methods=["GET"], html=True)
def asset(name: str) -> Response:
    found = web.asset(name)
    if found is None:
        raise NotFound(f"The file {name}")
    body, content_type = found
    return Response(
        body=body,
        status_code=200,
        headers={"Content-Type": content_type, "Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@route("/openapi.json", methods=["GET"])
def openapi() -> dict[str, Any]:
    return openapi_document()


@route("/referrals", methods=["POST"], cors=True)
def create_referral() -> Response:
    """Get Contacted: a consumer asks to be contacted by an agent (R1)."""
    request = _parse(ConsumerRequest, _json_body())
    key = (app.current_request.headers.get("idempotency-key") or "").strip()[:128]
    referral = wiring.submit_referral()(request, key, app.lambda_context)
    metrics.add_metric(name="ReferralsReceived", unit=MetricUnit.Count, value=1)
    logger.info("referral received", extra={"referral_id": referral.referral_id, "state": referral.place.state})
    return Response(body=views.referral_receipt(referral), status_code=201, headers=_CORS_HEADERS)


# ----- administrators --------------------------------------------------------------------------------------------
@route("/admin/agents/import", methods=["POST"], content_types=["application/json", "text/csv"])
def import_agents() -> dict[str, Any]:
    who = _require_admin()
    request = app.current_request
    rows = parse_import(request.raw_body or b"", request.headers.get("content-type", "application/json"))
    report = wiring.agents().import_agents(rows)
    logger.info("agents imported", extra={"by": who, "import_summary": report.summary})
    return views.import_report(report)


def _agent_for_admin(view: AgentView) -> dict[str, Any]:
    missed = wiring.referral_workflow().missed_recently(view.agent.npn)
    return views.agent_for_admin(view, missed, missed_alert(missed))


@route("/admin/agents/{npn}", methods=["GET"])
def admin_agent(npn: str) -> dict[str, Any]:
    _require_admin()
    return _agent_for_admin(wiring.agents().view(npn))


@route("/admin/agents/{npn}/reactivate", methods=["POST"])
def admin_reactivate(npn: str) -> dict[str, Any]:
    who = _require_admin()
    view = wiring.agents().reactivate(npn)
    logger.info("agent reactivated", extra={"by": who, "agent_npn": npn})
    return _agent_for_admin(view)


@route("/admin/referrals/{referral_id}", methods=["GET"])
def admin_referral(referral_id: str) -> dict[str, Any]:
    _require_admin()
    referral, trail = ReferralViews(wiring.workflow_store(), wiring.clock()).with_audit_trail(referral_id)
    return views.referral_for_admin(referral, trail)


@route("/admin/agents", methods=["GET"])
def admin_agents() -> dict[str, Any]:
    """Suspended agents (R9), a page at a time, with why and how many referrals they missed in the last 7 days."""
    _require_admin()
    query = _parse(reports.SuspendedQuery, app.current_request.query_params or {})
    found, after = wiring.reports().suspended_agents(query)
    return reports.suspended_document(found, after)


@route("/admin/metrics", methods=["GET"])
def admin_metrics() -> Any:
    """Program metrics (R11) for UTC days from–to: JSON, or the same table as CSV (format=csv)."""
    who = _require_admin()
    query = _parse(reports.MetricsQuery, app.current_request.query_params or {})
    program = wiring.reports().metrics(query)
    logger.info("metrics read", extra={"by": who, "from": query.from_.isoformat(), "to": query.to.isoformat()})
    if query.format == "csv":
        name = f"hod-metrics-{query.from_.isoformat()}-to-{query.to.isoformat()}.csv"
        return Response(
            body=reports.metrics_csv(program),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )
    return reports.metrics_document(query, program, wiring.clock().now())


# ----- signing in (no passwords: a one-time link by e-mail) ------------------------------------------------------
def _public_base_url() -> str:
    """Where this API is reached from outside: the configured public URL, else the request's own host and stage."""
    configured = wiring.get_settings().public_base_url
    if configured:
        return configured
    request = app.current_request
    context = request.context or {}
    host = context.get("domainName") or request.headers.get("host", "")
    stage = context.get("stage")
    return f"https://{host}/{stage}" if stage and ".execute-api." in host else f"https://{host}"


@route("/sign-in", methods=["POST"])
def sign_in() -> Response:
    """E-mail a one-time sign-in link for the agent pages. The answer is the same whether or not the address
    belongs to an agent."""
    request = _parse(views.SignInRequest, _json_body())
    message = wiring.access().request_sign_in(request.email, _public_base_url())
    return Response(body={"message": message}, status_code=202)


@route("/sign-in/session", methods=["POST"])
def start_session() -> dict[str, Any]:
    """Exchange a sign-in (or account activation) link's token, once, for an agent session token."""
    session = wiring.access().start_session(_parse(views.SessionRequest, _json_body()).token)
    return {
        "token": session.token,
        "npn": session.npn,
        "first_name": session.first_name,
        "expires_at": session.expires_at.isoformat(),
    }


# ----- agents ----------------------------------------------------------------------------------------------------
def _profile(view: AgentView) -> dict[str, Any]:
    missed = wiring.referral_workflow().missed_recently(view.agent.npn)
    return views.profile(view, missed, missed_alert(missed))


@route("/agent/profile", methods=["GET"])
def get_profile() -> dict[str, Any]:
    return _profile(wiring.agents().view(_agent_npn()))


@route("/agent/profile", methods=["PUT"])
def put_profile() -> dict[str, Any]:
    npn = _agent_npn()
    return _profile(wiring.agents().update_profile(npn, _parse(ProfileUpdate, _json_body())))


@route("/agent/referrals", methods=["GET"])
def agent_referrals() -> dict[str, Any]:
    """Manage Referrals (R11): the agent's offers of the last `days` days (default 30), newest first."""
    npn = _agent_npn()
    params = app.current_request.query_params or {}
    try:
        days = int(params.get("days", "30"))
    except ValueError:
        raise ValidationFailed({"days": "must be a whole number of days"}) from None
    if not 1 <= days <= 366:
        raise ValidationFailed({"days": "must be between 1 and 366"})
    rows = ReferralViews(wiring.workflow_store(), wiring.clock()).agent_referrals(npn, days)
    return {"referrals": [views.agent_row(row) for row in rows]}


@route("/agent/referrals/{referral_id}/accept", methods=["POST"])
def agent_accept(referral_id: str) -> dict[str, Any]:
    npn = _agent_npn()
    return views.accepted_referral(wiring.referral_workflow().accept(referral_id, npn, via="portal"))


@route("/agent/referrals/{referral_id}/reject", methods=["POST"])
def agent_reject(referral_id: str) -> dict[str, Any]:
    npn = _agent_npn()
    wiring.referral_workflow().reject(referral_id, npn, via="portal")
    return {"referral_id": referral_id, "status": "rejected"}


@route("/agent/referrals/{referral_id}/status", methods=["POST"])
def agent_status(referral_id: str) -> dict[str, Any]:
    npn = _agent_npn()
    change = _parse(views.StatusChange, _json_body())
    referral = wiring.referral_workflow().set_status(
        referral_id, npn, ReferralStatus(change.status), change.reason, change.outcome
    )
    return views.accepted_referral(referral)


# ----- signed links (from notifications): GET shows, POST answers ------------------------------------------------
def _form_token() -> str | None:
    raw = app.current_request.raw_body or b""
    values = urllib.parse.parse_qs(raw.decode("utf-8", errors="replace"))
    return (values.get("t") or [None])[0]


@route("/offers/view", methods=["GET"], html=True)
def offer_view() -> Response:
    token = (app.current_request.query_params or {}).get("t")
    shown = LinkPages(wiring.auth(), wiring.workflow_store(), wiring.clock()).page(token)
    return _html(pages.link_page(shown, token or ""))


@route("/l/{code}", methods=["GET"], html=True)
def short_link(code: str) -> Response:
    """A short link from a text message: redirects to the signed link it stands for."""
    target = wiring.short_links().resolve(code)
    if target is None:
        raise NotFound("This link has expired or does not exist. Open the portal to see your referrals")
    return Response(body="", status_code=302, headers={"Location": target, "Cache-Control": "no-store"})


@route("/offers/accept", methods=["POST"], html=True, content_types=["application/x-www-form-urlencoded"])
def offer_accept() -> Response:
    referral = LinkAnswers(wiring.auth(), wiring.referral_workflow()).accept(_form_token())
    return _html(pages.accepted_page(referral))


@route("/offers/reject", methods=["POST"], html=True, content_types=["application/x-www-form-urlencoded"])
def offer_reject() -> Response:
    LinkAnswers(wiring.auth(), wiring.referral_workflow()).reject(_form_token())
    return _html(pages.closed_page("Referral rejected", "Thank you. The consumer goes at once to the next agent."))


@route("/agent/devices", methods=["PUT"])
def put_device() -> dict[str, Any]:
    """Register the agent's phone for app push (the Help On Demand app calls this after sign-in)."""
    npn = _agent_npn()
    view = wiring.agents().register_device(npn, _parse(PushDevice, _json_body()))
    return {"devices": [device.platform for device in view.agent.devices]}


@route("/agent/availability", methods=["GET"])
def get_availability() -> dict[str, Any]:
    return views.availability(wiring.agents().view(_agent_npn()))


@route("/agent/availability", methods=["PUT"])
def put_availability() -> dict[str, Any]:
    npn = _agent_npn()
    change = _parse(views.WeeklyChange, _json_body())
    return views.availability(wiring.agents().set_weekly_schedule(npn, change.weekly, change.time_zone))


@route("/agent/availability/today", methods=["PUT"])
def put_today() -> dict[str, Any]:
    npn = _agent_npn()
    change = _parse(views.TodayChange, _json_body())
    return views.availability(wiring.agents().set_today(npn, change.available, change.stop_at))


@route("/agent/availability/today", methods=["DELETE"])
def delete_today() -> dict[str, Any]:
    return views.availability(wiring.agents().set_today(_agent_npn(), None))


@route("/agent/availability/out-of-office", methods=["PUT"])
def put_out_of_office() -> dict[str, Any]:
    npn = _agent_npn()
    return views.availability(wiring.agents().set_out_of_office(npn, _parse(av.OutOfOffice, _json_body())))


@route("/agent/availability/out-of-office", methods=["DELETE"])
def delete_out_of_office() -> dict[str, Any]:
    return views.availability(wiring.agents().set_out_of_office(_agent_npn(), None))
