"""Tracing of the functions, paid for only when asked for.

Lambda's active tracing (`Tracing: Active` in template.yaml) records every invocation in X-Ray, with its
initialisation and its duration, and joins it to the API's and the state machine's traces, without any SDK in the
function. What the X-Ray SDK adds is a subsegment for each AWS call (which DynamoDB, SES or Step Functions call a
slow invocation waited on), and loading it with Powertools' Tracer costs every cold start about a tenth of a second
(docs/benchmarks.md). So the SDK is loaded only when the `TraceAwsCalls` template parameter turns
`HOD_TRACE_AWS_CALLS` on, and then on the first invocation rather than at import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from hod.settings import get_settings

Handler = TypeVar("Handler", bound=Callable[..., Any])


def traced(handler: Handler | None = None, *, capture_response: bool = True) -> Any:
    """A Lambda handler's decorator (bare, or with `capture_response=False` for handlers whose answers must not reach
    a trace): Powertools' Tracer around the handler, patching botocore, when AWS calls are traced; else the handler
    itself. Decided on the first invocation, when the settings are read."""

    def decorate(function: Handler) -> Handler:
        chosen: list[Callable[..., Any]] = []

        @functools.wraps(function)
        def run(event: Any, context: Any) -> Any:
            if not chosen:
                chosen.append(_with_tracer(function, capture_response) if get_settings().trace_aws_calls else function)
            return chosen[0](event, context)

        return run  # type: ignore[return-value]

    return decorate(handler) if handler is not None else decorate


def _with_tracer(function: Callable[..., Any], capture_response: bool) -> Callable[..., Any]:
    from aws_lambda_powertools import Tracer

    tracer = Tracer(patch_modules=("botocore",))  # AWS calls only: patching every library costs more
    wrapped: Callable[..., Any] = tracer.capture_lambda_handler(function, capture_response=capture_response)
    return wrapped
