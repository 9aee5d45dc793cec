"""Cost per 1,000 referrals at list prices (benchmarks/prices.json), from what one referral was measured to do.

Counted, not assumed: API Gateway requests, Lambda invocations, Step Functions state transitions (execution
history), DynamoDB read and write units (per call, `counting.py`), e-mails sent, Secrets Manager calls, bytes the
functions logged. Assumed, and said so: Lambda bills the measured in-process time plus `NETWORK_MS` for each AWS
call the function made (moto answers in-process; AWS answers over the network), at the template's 512 MB;
each invocation adds `PLATFORM_LOG_BYTES` of START/END/REPORT lines; every API request and every execution is one
X-Ray trace (tracing is on for the API, the functions and the state machine). Text messages are excluded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().parent / "prices.json"
MEMORY_GB = 0.5
NETWORK_MS = 10.0
PLATFORM_LOG_BYTES = 350


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _price(prices: Mapping[str, Any], name: str, quantity: float) -> float:
    entry = prices["prices"][name]
    return float(quantity) * float(entry["usd"]) / float(entry["per"])


def usage(path: Mapping[str, Any]) -> dict[str, float]:
    """One referral's billable quantities, from one path's summary in `referrals.run`."""
    invocations = sum(path["lambda_invocations"].values())
    aws_calls = path["calls"] + path["follow_up_calls"]
    lambda_seconds = path["lambda_seconds"] + aws_calls * NETWORK_MS / 1000
    return {
        "lambda_requests": invocations,
        "lambda_arm64_gb_seconds": lambda_seconds * MEMORY_GB,
        "api_gateway_rest_requests": path["api_requests"],
        "step_functions_standard_transitions": path["state_transitions"],
        "dynamodb_read_request_units": path["dynamodb_read_units"],
        "dynamodb_write_request_units": path["dynamodb_write_units"],
        "ses_emails": path["emails"],
        "secrets_manager_api_calls": path.get("secrets_calls", 0),
        "cloudwatch_logs_ingested_gb": (path["log_bytes"] + invocations * PLATFORM_LOG_BYTES) / 1e9,
        "xray_traces_recorded": path["api_requests"] + 1,
    }


def per_thousand(path: Mapping[str, Any], prices: Mapping[str, Any]) -> dict[str, float]:
    """USD per 1,000 referrals taking this path, by price line, and the total."""
    lines = {name: round(1000 * _price(prices, name, q), 5) for name, q in usage(path).items()}
    lines["total"] = round(sum(lines.values()), 4)
    return lines
