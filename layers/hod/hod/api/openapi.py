"""The OpenAPI 3.1 description of the HTTP API, built from the same pydantic models the handlers validate with.

`docs/openapi.json` is this document written out (`python -m hod.api.openapi > docs/openapi.json`);
a test keeps the two,
and the Chalice routes, in step.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hod.api.views import SessionRequest, SignInRequest, StatusChange, TodayChange, WeeklyChange
from hod.domain.agent import PushDevice
from hod.domain.availability import OutOfOffice
from hod.domain.referral import ConsumerRequest
from hod.services.agents import ProfileUpdate


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    auth: str | None = None  # "agent" or "admin"
    body: type[BaseModel] | None = None
    body_media: tuple[str, ...] = ("application/json",)
    ok_status: int = 200
    ok_description: str = "OK"
    query: tuple[str, ...] = ()
    ok_media: str = "application/json"


OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/health", "Liveness check", "service"),
    Operation(
        "GET",
        "/get-contacted",
        "The consumer's Get Contacted page, in English or Spanish (lang=es, else the browser's language); "
        "may be embedded in a marketplace's site",
        "pages",
        query=("lang",),
        ok_description="HTML page",
        ok_media="text/html",
    ),
    Operation(
        "GET",
        "/portal",
        "The agent portal: Manage Referrals, Availability, Profile, Metrics",
        "pages",
        ok_description="HTML page",
        ok_media="text/html",
    ),
    Operation(
        "GET",
        "/admin",
        "The administrator's console",
        "pages",
        ok_description="HTML page",
        ok_media="text/html",
    ),
    Operation(
        "GET",
        "/assets/{name}",
        "A stylesheet or script of the pages",
        "pages",
        ok_description="CSS or JavaScript",
        ok_media="text/plain",
    ),
    Operation(
        "POST",
        "/sign-in",
        "E-mail a one-time sign-in link for the agent pages (the same answer whether or not the address is an agent's)",
        "agents",
        body=SignInRequest,
        ok_status=202,
        ok_description="Accepted",
    ),
    Operation(
        "POST",
        "/sign-in/session",
        "Exchange a sign-in or activation link's token, once, for an agent session token",
        "agents",
        body=SessionRequest,
    ),
    Operation("GET", "/openapi.json", "This document", "service"),
    Operation(
        "POST",
        "/referrals",
        "Get Contacted: ask to be contacted by a licensed agent or broker",
        "consumers",
        body=ConsumerRequest,
        ok_status=201,
        ok_description="Referral received; an agent will be matched. A repeated identical submission (or the same "
        "Idempotency-Key header) returns the same referral.",
    ),
    Operation(
        "POST",
        "/admin/agents/import",
        "Load agents in bulk (JSON array or CSV); per-record results",
        "administrators",
        auth="admin",
        body_media=("application/json", "text/csv"),
    ),
    Operation(
        "GET",
        "/admin/agents/{npn}",
        "An agent's record, eligibility and availability",
        "administrators",
        "admin",
    ),
    Operation(
        "GET",
        "/admin/referrals/{referral_id}",
        "A referral and its audit trail (no consumer contact details)",
        "administrators",
        "admin",
    ),
    Operation(
        "GET",
        "/admin/agents",
        "Suspended agents (status=suspended, required), by NPN: reason, when, missed referrals in the last 7 days; "
        "`limit` (1-200, default 50) per page, `after` = the previous page's next_after",
        "administrators",
        "admin",
        query=("status", "limit", "after"),
    ),
    Operation(
        "GET",
        "/admin/metrics",
        "Program metrics for UTC days `from`-`to` (YYYY-MM-DD, both included, at most 31 days): volumes by state "
        "and language, time to accept (p50/p90/p95), missed-offer and safety-net rates, unserved; format=csv for "
        "the same table as CSV",
        "administrators",
        "admin",
        query=("from", "to", "format"),
        ok_description="Metrics as JSON, or text/csv with format=csv",
    ),
    Operation("GET", "/agent/profile", "Your profile and eligibility", "agents", "agent"),
    Operation(
        "PUT",
        "/agent/profile",
        "Change languages, contact method, state preferences",
        "agents",
        "agent",
        ProfileUpdate,
    ),
    Operation(
        "GET",
        "/agent/availability",
        "Your availability settings and whether you are available now",
        "agents",
        "agent",
    ),
    Operation("PUT", "/agent/availability", "Set your standard weekly hours", "agents", "agent", WeeklyChange),
    Operation(
        "PUT",
        "/agent/availability/today",
        "Today's Availability On (until a stop time) or Off",
        "agents",
        "agent",
        TodayChange,
    ),
    Operation("DELETE", "/agent/availability/today", "Back to your weekly hours for today", "agents", "agent"),
    Operation(
        "PUT",
        "/agent/availability/out-of-office",
        "Set Out of Office (with or without an end)",
        "agents",
        "agent",
        OutOfOffice,
    ),
    Operation("DELETE", "/agent/availability/out-of-office", "Switch Out of Office off", "agents", "agent"),
    Operation("PUT", "/agent/devices", "Register your phone for app push notifications", "agents", "agent", PushDevice),
    Operation(
        "GET",
        "/agent/referrals",
        "Manage Referrals: your offers of the last `days` days (query, default 30); consumer details only on "
        "referrals you accepted",
        "agents",
        "agent",
        query=("days",),
    ),
    Operation("POST", "/agent/referrals/{referral_id}/accept", "Accept a referral offered to you", "agents", "agent"),
    Operation("POST", "/agent/referrals/{referral_id}/reject", "Reject a referral offered to you", "agents", "agent"),
    Operation(
        "POST",
        "/agent/referrals/{referral_id}/status",
        "Report progress on a referral you accepted",
        "agents",
        "agent",
        StatusChange,
    ),
    Operation("POST", "/admin/agents/{npn}/reactivate", "Lift an agent's suspension", "administrators", "admin"),
    Operation(
        "GET",
        "/offers/view",
        "Signed-link page of one offer (query t = the link's token); never changes anything",
        "links",
        ok_description="HTML page",
        query=("t",),
        ok_media="text/html",
    ),
    Operation(
        "GET",
        "/l/{code}",
        "A short link from a text message: redirects (302) to the signed link it stands for",
        "links",
        ok_status=302,
        ok_description="Redirect to the signed link",
        ok_media="text/html",
    ),
    Operation(
        "POST",
        "/offers/accept",
        "Accept from a signed link (form field t)",
        "links",
        body_media=("application/x-www-form-urlencoded",),
        ok_description="HTML page with the consumer's details",
        ok_media="text/html",
    ),
    Operation(
        "POST",
        "/offers/reject",
        "Reject from a signed link (form field t)",
        "links",
        body_media=("application/x-www-form-urlencoded",),
        ok_description="HTML page",
        ok_media="text/html",
    ),
)

_MEDIA_SCHEMAS: dict[str, Any] = {
    "text/csv": {"type": "string", "description": "CSV with a header row of agent record fields"},
    "application/x-www-form-urlencoded": {
        "type": "object",
        "required": ["t"],
        "properties": {"t": {"type": "string", "description": "the signed link's token"}},
    },
}

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


@functools.cache
def openapi_document() -> dict[str, Any]:
    models = sorted({op.body for op in OPERATIONS if op.body is not None}, key=lambda m: m.__name__)
    _, defs = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "Error": _ERROR}
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        params = [
            {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for part in op.path.split("/")
            if part.startswith("{")
        ]
        params += [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in op.query]
        if op.path == "/referrals":
            params.append({"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}})
        responses: dict[str, Any] = {
            str(op.ok_status): {
                "description": op.ok_description,
                "content": {op.ok_media: {"schema": {"type": "string"} if op.ok_media.startswith("text/") else {}}},
            },
            "400": {"$ref": "#/components/responses/Invalid"},
            "503": {"$ref": "#/components/responses/Unavailable"},
        }
        if op.auth:
            responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
        if "{" in op.path or op.auth == "agent":
            responses["404"] = {"$ref": "#/components/responses/NotFound"}
        if op.method == "POST" and ("referral" in op.path or op.path.startswith("/offers")):
            responses["409"] = {"$ref": "#/components/responses/Conflict"}
        operation: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": op.method.lower() + "_" + re.sub(r"[^a-z0-9]+", "_", op.path.lower()).strip("_"),
            "responses": responses,
        }
        if params:
            operation["parameters"] = params
        if op.auth:
            operation["security"] = [{"agentToken" if op.auth == "agent" else "adminToken": []}]
        if op.body is not None or op.body_media != ("application/json",):
            schema: dict[str, Any] = (
                {"$ref": f"#/components/schemas/{op.body.__name__}"} if op.body else {"type": "object"}
            )
            operation["requestBody"] = {
                "required": True,
                "content": {
                    media: {"schema": schema if media == "application/json" else _MEDIA_SCHEMAS[media]}
                    for media in op.body_media
                },
            }
        paths.setdefault(op.path, {})[op.method.lower()] = operation

    def error(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Help On Demand",
            "version": "0.1.0",
            "description": "Connects consumers who ask for help with health-insurance enrolment to a licensed, "
            "available agent or broker who speaks their language and is closest to them.",
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Invalid": error("Invalid input; `fields` names each problem. Nothing was changed."),
                "Unauthorized": error("Missing, invalid or expired token."),
                "NotFound": error("Not found."),
                "Conflict": error("The referral or offer has moved on (taken, expired, answered); nothing changed."),
                "Unavailable": error("A dependency is unavailable; retry after the Retry-After seconds."),
            },
            "securitySchemes": {
                "agentToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Signed agent session token",
                },
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Signed administrator token",
                },
            },
        },
    }


if __name__ == "__main__":
    print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))
