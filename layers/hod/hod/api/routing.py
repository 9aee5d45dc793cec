"""How every route answers: its declaration, the one error map and the security headers of every answer.

A route declares what it takes and gives (`Audience.route`: who may call it, its query, body and response models,
its success status); the declaration is what the OpenAPI document is generated from (`hod.api.openapi`). The
decorator authenticates, parses and validates before the view runs, so a view receives valid input only, and every
HodError becomes its HTTP answer here (JSON, or a page for the pages an agent opens from a link). Nothing is changed
when a request is refused. `secure_answers`, the app's HTTP middleware, gives every answer (Chalice's own refusals
included, in the project's error shape) the security headers.
"""

from __future__ import annotations

import functools
import inspect
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Blueprint, CORSConfig, Request, Response
from pydantic import BaseModel, ValidationError

from hod import wiring
from hod.api.models import Error, ErrorCode, InvalidInput
from hod.errors import (
    Conflict,
    DependencyFailed,
    Forbidden,
    HodError,
    NotFound,
    Unauthorized,
    Unprocessable,
    ValidationFailed,
)
from hod.services.agents import invalid
from hod.services.auth import ADMIN, ADMIN_SCOPES, AGENT_SESSION
from hod.settings import get_settings


@functools.cache
def logger() -> Logger:
    """The service's Powertools logger, made on first use: Powertools reads its settings from the environment then
    (importing this module, e.g. to generate the OpenAPI document, needs no Lambda environment)."""
    return Logger()


@functools.cache
def metrics() -> Metrics:
    return Metrics()


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
HTML = "text/html"
ANY_MEDIA = "*/*"
CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}
# What another site's page may send (the embedded Get Contacted form): JSON, with its Idempotency-Key header
CORS = CORSConfig(allow_origin="*", allow_headers=["Idempotency-Key"], max_age=600)
Auth = Literal["agent", "admin"]
_CALLER_ARGUMENT: dict[Auth, str] = {"agent": "npn", "admin": "admin"}  # the view argument that receives the caller
_PURPOSE: dict[Auth, str] = {"agent": AGENT_SESSION, "admin": ADMIN}

M = TypeVar("M", bound=BaseModel)
View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    """One route as declared: what the OpenAPI document says of it."""

    method: str
    path: str
    summary: str
    tag: str
    auth: Auth | None = None
    scope: str | None = None  # what an administrator token must allow (hod.services.auth.ADMIN_SCOPES)
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_media: tuple[str, ...] = (JSON,)
    response: type[BaseModel] | None = None
    status: int = 200
    description: str = "OK"
    media: tuple[str, ...] = (JSON,)
    page: bool = False  # errors are answered as pages
    conflict: bool = False  # may answer 409 when the referral or offer has moved on
    headers: tuple[str, ...] = ()  # request headers the route reads
    cors: bool = False  # callable from other sites' pages
    refusals: tuple[int, ...] = ()  # statuses it may answer besides those its declaration implies (hod.api.openapi)

    @property
    def path_parameters(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


class Audience:
    """The routes of one audience: a Chalice blueprint, and the declaration of each of its operations."""

    def __init__(self, name: str, tag: str) -> None:
        self.blueprint = Blueprint(f"hod.api.{name}")
        self.tag = tag
        self.operations: list[Operation] = []

    @property
    def request(self) -> Request:
        return self.blueprint.current_request

    @property
    def lambda_context(self) -> Any:
        return self.blueprint.lambda_context

    def route(
        self,
        path: str,
        method: str,
        *,
        summary: str,
        tag: str | None = None,
        auth: Auth | None = None,
        scope: str | None = None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        body_media: tuple[str, ...] = (JSON,),
        response: type[BaseModel] | None = None,
        status: int = 200,
        description: str = "OK",
        media: tuple[str, ...] | None = None,
        page: bool = False,
        conflict: bool = False,
        headers: tuple[str, ...] = (),
        cors: bool = False,
        refusals: tuple[int, ...] = (),
        context: Callable[[], dict[str, Any]] | None = None,
    ) -> Callable[[View], View]:
        """Register `path` and `method`. Before the view runs, the caller is authenticated (`auth`: the view's
        `npn` or `admin` argument receives who it is, if the view takes it), and the query string and body are
        validated with their models (the view's `query` and `body` arguments). A view returns a `response` model
        (sent as JSON with `status`), or a Chalice Response of its own (pages, files, redirects). `context` gives
        the body's validation what it needs to judge fields on the service's terms (pydantic's validation context),
        so every field's problem comes in one answer."""
        operation = Operation(
            method=method,
            path=path,
            summary=summary,
            tag=tag or self.tag,
            auth=auth,
            scope=scope,
            query=query,
            body=body,
            body_media=body_media,
            response=response,
            status=status,
            description=description,
            media=media or ((HTML,) if page else (JSON,)),
            page=page,
            conflict=conflict,
            headers=headers,
            cors=cors,
            refusals=refusals,
        )

        def register(view: View) -> View:
            if (auth == "admin") != (scope in ADMIN_SCOPES):
                raise TypeError(f"{view.__name__}: an administrators' route names one of {ADMIN_SCOPES}, no other")
            takes = inspect.signature(view).parameters
            missing = [name for name, model in (("query", query), ("body", body)) if model and name not in takes]
            if missing:
                raise TypeError(f"{view.__name__} declares {missing} but does not take them")
            caller = _CALLER_ARGUMENT[auth] if auth and _CALLER_ARGUMENT[auth] in takes else None

            @functools.wraps(view)
            def answered(**arguments: Any) -> Any:
                try:
                    request = self.request
                    if auth:
                        who = wiring.services.auth().authenticate(
                            request.headers.get("authorization"), _PURPOSE[auth], scope
                        )
                        if caller:
                            arguments[caller] = who.subject
                    if query:
                        arguments["query"] = parse(query, request.query_params or {})
                    if body:
                        data = _form(request) if body_media == (FORM,) else _json(request)
                        arguments["body"] = parse(body, data, context() if context else None)
                    return _answer(view(**arguments), operation)
                except HodError as exc:
                    return error_page(exc) if page else error_response(exc)

            # Routes without a body take any Content-Type (they read none); the others are refused with 415
            media_types = list(body_media) if body or body_media != (JSON,) else [ANY_MEDIA]
            self.blueprint.route(path, methods=[method], content_types=media_types, cors=CORS if cors else None)(
                answered
            )
            self.operations.append(operation)
            if cors:
                self._preflight(path, method)
            return view

        return register

    def _preflight(self, path: str, method: str) -> None:
        """Answer the browser's CORS preflight of `path` (an OPTIONS request, before it lets another site's page send
        the request): which method and headers it may send. The app answers it, so API Gateway and the local stack
        answer alike."""
        allowed = {**CORS.get_access_control_headers(), "Access-Control-Allow-Methods": f"OPTIONS,{method}"}

        def preflight() -> Response:
            return Response(body="", status_code=204, headers=dict(allowed))

        preflight.__name__ = f"preflight_{method.lower()}_{path.strip('/').replace('/', '_')}"
        self.blueprint.route(path, methods=["OPTIONS"], content_types=[ANY_MEDIA])(preflight)
        self.operations.append(
            Operation(
                method="OPTIONS",
                path=path,
                summary=f"CORS preflight of {method} {path}: the methods and headers other sites' pages may send",
                tag=self.tag,
                status=204,
                description="Allowed: Access-Control-Allow-Methods and Access-Control-Allow-Headers",
                media=(),
            )
        )


def parse(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise invalid(exc) from None


def _json(request: Request) -> Any:
    raw = request.raw_body
    if not raw:
        raise ValidationFailed({"body": "a JSON body is required"})
    return decode_json(raw)


def decode_json(raw: str | bytes) -> Any:
    """A JSON body, or a 400: not JSON, not UTF-8, or nested deeper than the parser goes (a RecursionError)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed({"body": f"not valid JSON: {exc.msg} at line {exc.lineno}"}) from None
    except UnicodeDecodeError:
        raise ValidationFailed({"body": "must be UTF-8 text"}) from None
    except RecursionError:
        raise ValidationFailed({"body": "nested too deeply"}) from None


def raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


def _form(request: Request) -> dict[str, str]:
    """A posted form's fields (the first value of each)."""
    values = urllib.parse.parse_qs(raw_body(request).decode("utf-8", errors="replace"))
    return {name: found[0] for name, found in values.items()}


def _answer(result: Any, operation: Operation) -> Any:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        if operation.response is None or not isinstance(result, operation.response):
            raise TypeError(f"{operation.method} {operation.path} answered {type(result).__name__}, not its response")
        result = result.model_dump(mode="json", by_alias=True)
    return Response(body=result, status_code=operation.status, headers=dict(CORS_HEADERS) if operation.cors else {})


# ----- the error map ---------------------------------------------------------------------------------------------
_STATUS: dict[type[HodError], tuple[int, ErrorCode]] = {
    ValidationFailed: (400, "validation_failed"),
    Unauthorized: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    Unprocessable: (422, "unprocessable"),
}


def error_response(exc: HodError) -> Response:
    for kind, (status, code) in _STATUS.items():
        if isinstance(exc, kind):
            message = getattr(exc, "message", str(exc))
            body = (
                InvalidInput(error=code, message=message, reason=exc.reason, fields=exc.fields, problems=exc.problems)
                if isinstance(exc, ValidationFailed)
                else Error(error=code, message=message, reason=exc.reason)
            )
            return Response(body=body.model_dump(mode="json"), status_code=status, headers=dict(CORS_HEADERS))
    if isinstance(exc, DependencyFailed):
        logger().exception("dependency failed", extra={"service": exc.service, "operation": exc.operation})
        metrics().add_metric(name="DependencyFailures", unit=MetricUnit.Count, value=1)
        return Response(
            body=Error(
                error="unavailable", message="The service is busy; please try again shortly.", reason=exc.reason
            ).model_dump(),
            status_code=503,
            headers={"Retry-After": "5", **CORS_HEADERS},
        )
    logger().exception("unexpected service error")
    return Response(body=Error(error="internal", message="Something went wrong.").model_dump(), status_code=500)


# ----- every answer -----------------------------------------------------------------------------------------
# Chalice's own refusals, made before any view runs ({"Code": ..., "Message": ...}), in the project's error shape
_CHALICE_REFUSALS: dict[int, ErrorCode] = {405: "method_not_allowed", 415: "unsupported_media_type"}
# On every answer (HSTS is ignored over plain HTTP, so the local stack may send it too)
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # answers carry personal data; a route that may be cached says so (the assets)
}
# On every answer that is not a page (pages set their own, the consumer's form being embeddable)
_NOT_A_PAGE = {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", "X-Frame-Options": "DENY"}


def secure_answers(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """The app's HTTP middleware: Chalice's own refusals (unsupported media type, method, its unhandled-error
    answer) in the project's error shape, and the security headers on every answer."""
    response = _own_shape(get_response(request))
    present = {name.lower() for name in response.headers}
    page = str(response.headers.get("Content-Type", "")).startswith(HTML)
    for name, value in (SECURITY_HEADERS | ({} if page else _NOT_A_PAGE)).items():
        if name.lower() not in present:
            response.headers[name] = value
    return response


def _own_shape(response: Response) -> Response:
    body = response.body
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return response
    code = _CHALICE_REFUSALS.get(response.status_code, "internal")
    message = str(body["Message"]) if code != "internal" else "Something went wrong."
    headers = {name: value for name, value in response.headers.items() if name.lower() != "content-type"}
    return Response(
        body=Error(error=code, message=message).model_dump(mode="json"),
        status_code=response.status_code,
        headers=headers,
    )


_PAGE_TITLES = {401: "This link is not valid", 403: "Not yours to answer", 404: "Not found", 409: "No longer open"}


def error_page(exc: HodError) -> Response:
    from hod.api import pages  # on first use: the JSON routes never render a page

    answer = error_response(exc)
    title = _PAGE_TITLES.get(answer.status_code, "Something went wrong")
    message = answer.body["message"] if isinstance(answer.body, dict) else "Something went wrong."
    return html(pages.closed_page(title, message), answer.status_code)


# ----- pages -----------------------------------------------------------------------------------------------------
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors "
)


def html(body: str, status: int = 200, embeddable: bool = False) -> Response:
    """A page. Only the consumer's form may be framed (a marketplace embeds it); the others never are."""
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _PAGE_CSP + ("*" if embeddable else "'none'"),
    }
    if not embeddable:
        headers["X-Frame-Options"] = "DENY"
    return Response(body=body, status_code=status, headers=headers)


def public_base_url(request: Request) -> str:
    """Where this API is reached from outside: the configured public URL, else the request's own host and stage."""
    configured = get_settings().public_base_url
    if configured:
        return configured
    context = request.context or {}
    host = context.get("domainName") or request.headers.get("host", "")
    stage = context.get("stage")
    return f"https://{host}/{stage}" if stage and ".execute-api." in host else f"https://{host}"
