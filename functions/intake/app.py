"""The HTTP API: one Chalice app serving every audience's routes (`hod.api`: public pages, consumers, agents,
administrators, signed links and sign-in), each invocation wrapped in Powertools' logger and metrics, and traced
(`hod.tracing`).

Handler: app.app. Routes, their error answers and the API's contract live in `hod.api`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from chalice.app import Chalice, ConvertToMiddleware

from hod.api.audiences import AUDIENCES
from hod.api.routing import logger, metrics, secure_answers
from hod.tracing import traced

app = Chalice(app_name="hod-intake", configure_logs=False)
app.api.cors = False


@lambda_handler_decorator
def _flush_metrics(handler: Callable[..., Any], event: Any, context: Any) -> Any:
    return metrics().log_metrics(handler)(event, context)


app.register_middleware(ConvertToMiddleware(logger().inject_lambda_context(clear_state=True)))
# Traces keep no answers: they carry consumers' details, signed links and session tokens
app.register_middleware(ConvertToMiddleware(traced(capture_response=False)))
app.register_middleware(ConvertToMiddleware(_flush_metrics))
app.register_middleware(secure_answers, "http")
for audience in AUDIENCES:
    app.register_blueprint(audience.blueprint)
