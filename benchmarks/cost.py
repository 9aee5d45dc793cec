"""Cost per 1,000 referrals at list prices (benchmarks/prices.json), from what one referral was measured to do.

Counted, not assumed: API Gateway requests, Lambda invocations, Step Functions state transitions (execution
history), EventBridge Scheduler invocations (the reminders that fired), DynamoDB read and write units (per call,
`counting.py`; global secondary index writes as their own line, at the write unit's price), e-mails sent,
Secrets Manager calls, bytes the functions logged.

Assumed, and said so:
- Lambda bills the measured in-process time plus `NETWORK_MS` for each AWS call the function made (moto answers
  in-process; AWS answers over the network), at the template's 512 MB; each invocation adds `PLATFORM_LOG_BYTES` of
  START/END/REPORT lines.
- X-Ray records a sampled share of traces. Every API request, every execution and every scheduled reminder starts a
  trace (tracing is on for the API, the functions and the state machine), and X-Ray's default sampling rule keeps
  the first trace each second and 5% of the rest (`sampled_share`). At `REFERRALS_PER_DAY` (the benchmark
  population's national day, 40,000 requests) spread evenly over the day, that share is what is billed. Spreading
  evenly over-counts: real traffic peaks by day, and at higher rates the reservoir's one trace a second is a smaller
  share. Other traffic (the agent portal, the one-minute sweep) also draws on the reservoir and is ignored, which
  over-counts again. At 100% sampling the line would be `xray_traces_if_all_sampled`.
Text messages are excluded.
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
REFERRALS_PER_DAY = 40_000
XRAY_RESERVOIR_PER_SECOND = 1.0
XRAY_FIXED_RATE = 0.05
# Lines priced as another line of prices.json: index writes are DynamoDB write request units like the table's.
PRICED_AS = {"dynamodb_index_write_request_units": "dynamodb_write_request_units"}


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _price(prices: Mapping[str, Any], name: str, quantity: float) -> float:
    entry = prices["prices"][PRICED_AS.get(name, name)]
    return float(quantity) * float(entry["usd"]) / float(entry["per"])


def sampled_share(traces_per_second: float) -> float:
    """The share of traces X-Ray's default rule records at a steady rate: 1 a second, then 5% of the rest."""
    if traces_per_second <= XRAY_RESERVOIR_PER_SECOND:
        return 1.0
    kept = XRAY_RESERVOIR_PER_SECOND + XRAY_FIXED_RATE * (traces_per_second - XRAY_RESERVOIR_PER_SECOND)
    return kept / traces_per_second


def trace_roots(path: Mapping[str, Any]) -> int:
    """Traces one referral starts: its API requests, its execution, its scheduled reminders."""
    return int(path["api_requests"]) + 1 + int(path.get("scheduler_invocations", 0))


def usage(path: Mapping[str, Any]) -> dict[str, float]:
    """One referral's billable quantities, from one path's summary in `referrals.run`."""
    invocations = sum(path["lambda_invocations"].values())
    aws_calls = path.get("all_calls", path["calls"]) + path["follow_up_calls"]  # the messages' calls included
    lambda_seconds = path["lambda_seconds"] + aws_calls * NETWORK_MS / 1000
    roots = trace_roots(path)
    share = sampled_share(REFERRALS_PER_DAY * roots / 86_400)
    return {
        "lambda_requests": invocations,
        "lambda_arm64_gb_seconds": lambda_seconds * MEMORY_GB,
        "api_gateway_rest_requests": path["api_requests"],
        "step_functions_standard_transitions": path["state_transitions"],
        "scheduler_invocations": path.get("scheduler_invocations", 0),
        "dynamodb_read_request_units": path["dynamodb_read_units"],
        "dynamodb_write_request_units": path["dynamodb_write_units"],
        "dynamodb_index_write_request_units": path.get("dynamodb_index_write_units", 0),
        "ses_emails": path["emails"],
        "secrets_manager_api_calls": path.get("secrets_calls", 0),
        "cloudwatch_logs_ingested_gb": (path["log_bytes"] + invocations * PLATFORM_LOG_BYTES) / 1e9,
        "xray_traces_recorded": roots * share,
    }


def per_thousand(path: Mapping[str, Any], prices: Mapping[str, Any]) -> dict[str, float]:
    """USD per 1,000 referrals taking this path, by price line, and the total (plus, apart from the total, what
    X-Ray would cost if every trace were recorded)."""
    lines = {name: round(1000 * _price(prices, name, q), 5) for name, q in usage(path).items()}
    lines["total"] = round(sum(lines.values()), 4)
    lines["xray_traces_if_all_sampled"] = round(1000 * _price(prices, "xray_traces_recorded", trace_roots(path)), 5)
    return lines
