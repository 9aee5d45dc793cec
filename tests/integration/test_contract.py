"""The API's three descriptions agree: Chalice's routes, template.yaml's events and the OpenAPI document generated
from the routes' declarations. (Every answer the integration tests receive is checked against those declarations:
tests/integration/api_contract.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from hod.api.openapi import OPERATIONS, openapi_document
from local.cfn import api_routes, load_template

ROOT = Path(__file__).resolve().parents[2]


def chalice_routes() -> set[tuple[str, str]]:
    import app as intake_app

    return {(method, path) for path, methods in intake_app.app.routes.items() for method in methods}


def test_every_chalice_route_has_exactly_one_template_event() -> None:
    # Chalice routes on requestContext.resourcePath: a route without its own API event is unreachable once deployed
    assert chalice_routes() == api_routes(load_template())


def test_openapi_describes_exactly_the_chalice_routes() -> None:
    assert {(op.method, op.path) for op in OPERATIONS} == chalice_routes()


def test_every_json_answer_is_described_by_a_model() -> None:
    # Given the routes' declarations
    # Then every route answering JSON names the model of its answer; only the OpenAPI document itself is free-form
    undescribed = [(op.method, op.path) for op in OPERATIONS if "application/json" in op.media and not op.response]
    assert undescribed == [("GET", "/openapi.json")]


def test_committed_openapi_document_is_current() -> None:
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == openapi_document(), "regenerate: python -m hod.api.openapi > docs/openapi.json"


def test_the_deployed_api_has_no_local_outbox() -> None:
    # The outbox route exists only when the local stack registers it on the app
    routes = chalice_routes()
    assert not any(path.startswith("/dev") for _, path in routes)
    assert not any(path.startswith("/dev") for _, path in api_routes(load_template()))
