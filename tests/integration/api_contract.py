"""The API's answers keep its contract: every answer the in-process client (chalice.test) receives in the integration
tests is checked against its route's declaration: a JSON success body against the route's response model, an error
body against the error shape (`hod.api.models`, from which the OpenAPI document is generated)."""

from __future__ import annotations

import re
from typing import Any

from chalice.test import HTTPResponse

from hod.api.models import Error, InvalidInput
from hod.api.openapi import OPERATIONS
from hod.api.routing import Operation

_ROUTES = [(op, re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", op.path) + "$")) for op in OPERATIONS]
_OUR_ERRORS = frozenset({400, 401, 403, 404, 405, 409, 415, 422, 500, 503})  # the error map's and Chalice's, reshaped


def operation_for(method: str, path: str) -> Operation | None:
    path = path.split("?", 1)[0]
    return next((op for op, pattern in _ROUTES if op.method == method and pattern.match(path)), None)


def check_answer(method: str, path: str, response: HTTPResponse) -> None:
    """Raise (pydantic's ValidationError) when the answer is not what its route declares."""
    op = operation_for(method, path)
    content_type = {name.lower(): value for name, value in response.headers.items()}.get("content-type", "")
    if op is None or op.page or (content_type and not content_type.startswith("application/json")):
        return  # not a route of the API (the local outbox), a page, or a file (CSV)
    model: Any = None
    if response.status_code == op.status:
        model = op.response
    elif response.status_code in _OUR_ERRORS:
        model = InvalidInput if response.status_code == 400 else Error
    if model is not None:
        model.model_validate_json(response.body)
