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

Three parts, reported apart (`section`):
- **the referral's own** lines above, from one referral measured end to end (messages excluded);
- **the background** (`background`): what the service spends whether or not a referral arrives, amortised over the
  referrals of a national day — the availability sweep (every agent's availability changes of the day, from
  `scale.sweep`: the one-minute sweep's own calls and the refresh workers', priced per change as measured in the
  minute where the day's median change falls, the available-now index's summary upkeep included: it runs on the
  refresh path), and the safety net's fan-out (`scale.coverage`: the share of the day's referrals
  that find nobody available and the roster each of them calls; `scale.safety_net`: what calling one agent costs);
- **messaging** (`messaging`): the e-mails the referral sends (SES, per e-mail), its texts (per part at the US rate,
  carrier fee included) and its share of the safety net's e-mails.
`total` is the referral's own plus the background; `total_with_messaging` adds the messages.
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
MESSAGE_LINES = ("ses_emails",)
MINUTES_PER_DAY = 1440


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
    """USD per 1,000 referrals taking this path, by price line, messages excluded, and their sum `referral` (plus,
    apart from it, what X-Ray would cost if every trace were recorded)."""
    used = usage(path)
    lines = {name: round(1000 * _price(prices, name, q), 5) for name, q in used.items() if name not in MESSAGE_LINES}
    lines["referral"] = round(sum(lines.values()), 4)
    lines["xray_traces_if_all_sampled"] = round(1000 * _price(prices, "xray_traces_recorded", trace_roots(path)), 5)
    return lines


def _per_day(prices: Mapping[str, Any], quantities: Mapping[str, float]) -> dict[str, float]:
    return {name: _price(prices, name, q) for name, q in quantities.items() if q}


def _lambda_seconds(in_process_s: float, calls: float) -> float:
    return in_process_s + calls * NETWORK_MS / 1000


def _sweep(sweep: Mapping[str, Any]) -> dict[str, float]:
    """A day of availability changes: the refresh workers' and the one-minute sweep's billable quantities."""
    changes = float(sweep["changes_in_day"])
    worker = sweep["typical_minute"]["one_worker"]
    agents = max(1, int(worker["agents"]))
    per_change = changes / agents  # the measured worker's figures scaled to the day's changes
    refresh, dispatch = worker["refresh"], worker["dispatch"]
    calls = float(worker["calls_per_agent"]) * agents
    invocations = float(worker["invocations"])
    return {
        "lambda_requests": per_change * invocations + MINUTES_PER_DAY,
        "lambda_arm64_gb_seconds": MEMORY_GB
        * (
            per_change * _lambda_seconds(float(worker["apply_s"]), calls)
            + MINUTES_PER_DAY * _lambda_seconds(float(worker["dispatch_s"]), float(worker["dispatch_calls"]))
        ),
        "dynamodb_read_request_units": per_change * refresh["read_units"] + MINUTES_PER_DAY * dispatch["read_units"],
        "dynamodb_write_request_units": per_change * refresh["write_units"] + MINUTES_PER_DAY * dispatch["write_units"],
        "dynamodb_index_write_request_units": per_change * refresh["index_write_units"]
        + MINUTES_PER_DAY * dispatch["index_write_units"],
        # the sweep's SendMessageBatch requests, and Lambda's polling: a receive and a delete per invocation
        "sqs_standard_requests": per_change * (refresh["sqs_requests"] + 2 * invocations)
        + MINUTES_PER_DAY * dispatch["sqs_requests"],
        "scheduler_invocations": MINUTES_PER_DAY,
    }


def _upkeep(upkeep: Mapping[str, Any], refreshes: float) -> dict[str, float]:
    """The available-now summary's upkeep for a day of refreshes."""
    summary = upkeep["summary"]
    calls = refreshes * float(summary["calls_per_refresh"])
    return {
        "lambda_arm64_gb_seconds": MEMORY_GB * _lambda_seconds(0.0, calls),
        "dynamodb_read_request_units": refreshes * float(summary["read_units_per_refresh"]),
        "dynamodb_write_request_units": refreshes * float(summary["write_units_per_refresh"]),
    }


def _fan_out(net: Mapping[str, Any], recipients: float) -> dict[str, float]:
    """The safety net's calls to `recipients` agents, priced per agent as measured on one state's roster."""
    per = recipients / max(1, int(net["recipients"]))
    return {
        "lambda_requests": per * float(net["lambda_invocations"]),
        "lambda_arm64_gb_seconds": per * MEMORY_GB * float(net["lambda_seconds_billed"]),
        "dynamodb_read_request_units": per * float(net["read_units"]),
        "dynamodb_write_request_units": per * float(net["write_units"]),
        "dynamodb_index_write_request_units": per * float(net["index_write_units"]),
        "sqs_fifo_requests": per * float(net["sqs_requests"]),
    }


def background(results: Mapping[str, Any], prices: Mapping[str, Any]) -> dict[str, Any]:
    """The day's background cost and what it comes to per 1,000 referrals; `missing` names the figures not yet
    measured (their part is then left out and `complete` is false)."""
    scale = results.get("scale") or {}
    needed = {"scale.sweep": "sweep", "scale.coverage": "coverage", "scale.safety_net": "safety_net"}
    missing = [name for name, key in needed.items() if key not in scale]
    if "sweep" in scale and "typical_minute" not in scale["sweep"]:
        missing.append("scale.sweep.typical_minute")
    parts: dict[str, dict[str, float]] = {}
    assumed: dict[str, Any] = {"referrals_per_day": REFERRALS_PER_DAY}
    if "scale.sweep" not in missing and "scale.sweep.typical_minute" not in missing:
        sweep = scale["sweep"]
        assumed |= {"agents": sweep["agents"], "availability_changes_per_day": sweep["changes_in_day"]}
        # The worker's calls include the available-now summary's upkeep (it runs on the refresh path); the upkeep
        # replay's own figure (`index_upkeep`) is the same cost measured on one state, shown apart, not added.
        parts["availability_sweep"] = _per_day(prices, _sweep(sweep))
        if "index_upkeep" in results:
            upkeep = sum(_per_day(prices, _upkeep(results["index_upkeep"], sweep["changes_in_day"])).values())
            assumed["summary_upkeep_per_day_usd_included"] = round(upkeep, 3)
    if "coverage" in scale and "safety_net" in scale:
        coverage = scale["coverage"]
        share = float(coverage["safety_net_share"])
        recipients = share * REFERRALS_PER_DAY * float(coverage["roster_mean"])
        assumed |= {
            "safety_net_share": share,
            "safety_net_referrals_per_day": round(share * REFERRALS_PER_DAY),
            "safety_net_roster_mean": coverage["roster_mean"],
            "safety_net_calls_per_day": round(recipients),
        }
        parts["safety_net_fan_out"] = _per_day(prices, _fan_out(scale["safety_net"], recipients))
        roster = float(coverage["roster_mean"])
        net = scale["safety_net"]
        assumed["safety_net_per_referral_usd"] = round(sum(_per_day(prices, _fan_out(net, roster)).values()), 4)
        assumed["safety_net_emails_per_referral_usd"] = round(
            _price(prices, "ses_emails", roster * float(net["ses_accepted"]) / max(1, int(net["recipients"]))), 4
        )
    per_day = {part: round(sum(lines.values()), 3) for part, lines in parts.items()}
    thousands = REFERRALS_PER_DAY / 1000
    return {
        "per_1000_referrals": round(sum(per_day.values()) / thousands, 4),
        "per_1000_by_part": {part: round(usd / thousands, 4) for part, usd in per_day.items()},
        "per_day_usd": per_day,
        "per_day_by_line_usd": {part: {k: round(v, 4) for k, v in lines.items()} for part, lines in parts.items()},
        "assumed": assumed,
        "missing": missing,
        "complete": not missing,
    }


def messaging(path: Mapping[str, Any], results: Mapping[str, Any], prices: Mapping[str, Any]) -> dict[str, float]:
    """USD per 1,000 referrals for the messages: the path's e-mails and text parts, and each referral's share of the
    safety net's e-mails."""
    lines = {
        "ses_emails": _price(prices, "ses_emails", path["emails"]),
        "sms_parts": _price(prices, "sms_us_parts", path.get("text_parts", path["texts"])),
        "sms_carrier_fees": _price(prices, "sms_us_carrier_fee_parts", path.get("text_parts", path["texts"])),
    }
    scale = results.get("scale") or {}
    if "coverage" in scale and "safety_net" in scale:
        net = scale["safety_net"]
        per_recipient = float(net["ses_accepted"]) / max(1, int(net["recipients"]))  # SES bills what it accepted
        share = float(scale["coverage"]["safety_net_share"])
        lines["safety_net_emails"] = _price(
            prices, "ses_emails", share * float(scale["coverage"]["roster_mean"]) * per_recipient
        )
    return {name: round(1000 * usd, 4) for name, usd in lines.items()}


def section(results: Mapping[str, Any], prices: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON's `cost`: per path, the referral's own lines, `background`, `total` (the two together, messages
    excluded), `messaging` and `total_with_messaging`; and the background's own account under `background`."""
    found = results["referrals"]
    shared = background(results, prices)
    out: dict[str, Any] = {"background": shared}
    for path_name, path in found.items():
        if not isinstance(path, Mapping) or "lambda_invocations" not in path:
            continue
        lines = per_thousand(path, prices)
        messages = messaging(path, results, prices)
        total = round(lines["referral"] + shared["per_1000_referrals"], 4)
        out[path_name] = {
            **lines,
            "background": shared["per_1000_referrals"],
            "total": total,
            "messaging": round(sum(messages.values()), 4),
            "messaging_lines": messages,
            "total_with_messaging": round(total + sum(messages.values()), 4),
        }
    return out
