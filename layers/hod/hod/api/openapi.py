"""The OpenAPI 3.1 description of the HTTP API, generated from the routes' declarations (`hod.api.routing`) and the
contract's models (`hod.api.models`): query parameters with their types, request and response bodies, the errors.

`docs/openapi.json` is this document written out (`python -m hod.api.openapi > docs/openapi.json`); a test keeps
the two, the Chalice routes and template.yaml's events in step.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hod.api.audiences import AUDIENCES
from hod.api.models import Error, InvalidInput
from hod.api.routing import JSON, Operation
from hod.services.auth import ADMIN_SCOPES

OPERATIONS: tuple[Operation, ...] = tuple(operation for audience in AUDIENCES for operation in audience.operations)

_REF = "#/components/schemas/{model}"
_TEXT = {"type": "string"}
_RAW_BODIES: dict[str, Any] = {
    JSON: {"description": 'a JSON array of agent records, or {"agents": [...]}', "type": ["array", "object"]},
    "text/csv": {"type": "string", "description": "CSV with a header row of agent record fields"},
}
# status: (component name, description, the model of its JSON body)
_ERRORS: dict[int, tuple[str, str, type[BaseModel]]] = {
    400: ("Invalid", "Invalid input; `fields` names each problem. Nothing was changed.", InvalidInput),
    401: ("Unauthorized", "Missing, invalid or expired token.", Error),
    403: ("Forbidden", "The token does not allow this (another agent's referral, an administrator scope).", Error),
    404: ("NotFound", "Not found.", Error),
    409: ("Conflict", "The referral or offer has moved on (taken, expired, answered); nothing changed.", Error),
    415: ("UnsupportedMediaType", "The body's Content-Type is not one this operation takes.", Error),
    422: (
        "Unprocessable",
        "Well-formed but not acceptable as sent (an Idempotency-Key reused with another body).",
        Error,
    ),
    503: ("Unavailable", "A dependency is unavailable; retry after the Retry-After seconds.", Error),
}
_JSON_ONLY = frozenset({415})  # refused before any view runs: JSON even on a page's route


def _schemas() -> tuple[dict[str, Any], dict[Any, Any]]:
    """Every model's JSON schema: request bodies and query strings as validated, responses as serialized."""
    wanted: set[tuple[type[BaseModel], JsonSchemaMode]] = {(model, "serialization") for _, _, model in _ERRORS.values()}
    for op in OPERATIONS:
        wanted |= {(model, "validation") for model in (op.body, op.query) if model is not None}
        if op.response is not None:
            wanted.add((op.response, "serialization"))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1]))
    refs, defs = models_json_schema(ordered, ref_template=_REF)
    return defs.get("$defs", {}), refs


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = _present(prop)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append({**parameter, "schema": prop})
    return parameters


def _present(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: a parameter left out is absent, never null."""
    prop = {key: value for key, value in prop.items() if key != "title" and (key, value) != ("default", None)}
    options = [option for option in prop.get("anyOf", ()) if option != {"type": "null"}]
    if len(options) == 1:
        del prop["anyOf"]
        prop.update(options[0])
    return prop


def _success(op: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    content = {}
    for media in op.media:
        if media != JSON and not media.endswith("+json"):  # (a "+json" type, the web app manifest, is a JSON object)
            content[media] = {"schema": _TEXT}
        elif op.response is not None:
            content[media] = {"schema": refs[(op.response, "serialization")]}
        else:
            content[media] = {"schema": {"type": "object"}}
    return {"description": op.description, "content": content}


def _errors(op: Operation) -> dict[str, Any]:
    """Every refusal the operation may answer: derived from its declaration, plus those it names itself."""
    if op.method == "OPTIONS":
        return {}  # a CORS preflight is always answered
    statuses = {400, 503, *op.refusals}
    if op.auth:
        statuses |= {401, 403}
    if op.path_parameters or op.auth == "agent":  # a named resource, or the signed-in agent, may not exist
        statuses.add(404)
    if op.conflict:
        statuses.add(409)
    if op.body is not None or op.body_media != (JSON,):
        statuses.add(415)
    answers: dict[str, Any] = {}
    for status in sorted(statuses):
        name, description, _ = _ERRORS[status]
        page = {"description": description, "content": {"text/html": {"schema": _TEXT}}}
        as_page = op.page and status not in _JSON_ONLY
        answers[str(status)] = page if as_page else {"$ref": f"#/components/responses/{name}"}
    return answers


def _name(ref: dict[str, str]) -> str:
    return ref["$ref"].rsplit("/", 1)[1]


def _operation(op: Operation, schemas: dict[str, Any], refs: dict[Any, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in op.path_parameters
    ]
    if op.query is not None:
        parameters += _query_parameters(schemas[_name(refs[(op.query, "validation")])])
    parameters += [{"name": name, "in": "header", "required": False, "schema": _TEXT} for name in op.headers]
    operation: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": op.method.lower() + "_" + re.sub(r"[^a-z0-9]+", "_", op.path.lower()).strip("_"),
        "responses": {str(op.status): _success(op, refs), **_errors(op)},
    }
    if parameters:
        operation["parameters"] = parameters
    if op.auth:  # (OpenAPI 3.1: a bearer scheme's requirement may name roles: an administrator token's scope)
        operation["security"] = [{"agentToken": []} if op.auth == "agent" else {"adminToken": [op.scope]}]
    if op.body is not None or op.body_media != (JSON,):
        operation["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": refs[(op.body, "validation")] if op.body else _RAW_BODIES[media]}
                for media in op.body_media
            },
        }
    return operation


@functools.cache
def openapi_document() -> dict[str, Any]:
    schemas, refs = _schemas()
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas, refs)
    for op in OPERATIONS:  # a query string is described by its parameters, not as a schema of its own
        if op.query is not None:
            schemas.pop(_name(refs[(op.query, "validation")]), None)
    errors = {
        name: {"description": description, "content": {JSON: {"schema": refs[(model, "serialization")]}}}
        for name, description, model in _ERRORS.values()
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
            "schemas": dict(sorted(schemas.items())),
            "responses": errors,
            "securitySchemes": {
                "agentToken": {"type": "http", "scheme": "bearer", "description": "Signed agent session token"},
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Signed administrator token (`hod-admin token`), at most 12 hours, allowing "
                    "the scopes it names: " + ", ".join(ADMIN_SCOPES),
                },
            },
        },
    }


if __name__ == "__main__":
    print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))
