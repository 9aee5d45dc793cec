"""The HTTP API (one Chalice app): consumer intake, agents' profile and availability, administration.

Thin by design: parse and validate, call one service, answer. Errors become HTTP answers in one place
(`_answer_errors`); nothing is changed when a request is refused.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from chalice import Chalice, ConvertToMiddleware, Response
from pydantic import BaseModel, ValidationError

from hod import wiring
from hod.api import views
from hod.api.agent_import import parse_import
from hod.api.openapi import openapi_document
from hod.domain import availability as av
from hod.domain.referral import ConsumerRequest
from hod.errors import (
    Conflict,
    DependencyFailed,
    Forbidden,
    HodError,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from hod.services.agents import ProfileUpdate, field_errors
from hod.services.auth import ADMIN, AGENT_SESSION

app = Chalice(app_name="hod-intake", configure_logs=False)
app.api.cors = False
logger = Logger()
tracer = Tracer()
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


def route(path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`app.route` with the project's error answers: every HodError becomes its HTTP status in one place."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def answered(**kwargs: Any) -> Any:
            try:
                return view(**kwargs)
            except HodError as exc:
                return _error_response(exc)

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


@route("/admin/agents/{npn}", methods=["GET"])
def admin_agent(npn: str) -> dict[str, Any]:
    _require_admin()
    return views.agent_for_admin(wiring.agents().view(npn))


@route("/admin/referrals/{referral_id}", methods=["GET"])
def admin_referral(referral_id: str) -> dict[str, Any]:
    _require_admin()
    store = wiring.referral_store()
    referral = store.get(referral_id)
    if referral is None:
        raise NotFound(f"Referral {referral_id}")
    return views.referral_for_admin(referral, store.audit_trail(referral_id))


# ----- agents ----------------------------------------------------------------------------------------------------
@route("/agent/profile", methods=["GET"])
def get_profile() -> dict[str, Any]:
    return views.profile(wiring.agents().view(_agent_npn()))


@route("/agent/profile", methods=["PUT"])
def put_profile() -> dict[str, Any]:
    npn = _agent_npn()
    return views.profile(wiring.agents().update_profile(npn, _parse(ProfileUpdate, _json_body())))


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
