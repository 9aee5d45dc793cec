"""`make bench`: every national-scale figure in one process, printed as a table and written as JSON.

    python -m benchmarks [--sizes 1000,10000,100000] [--matches 300] [--repeats 3] [--cold-repeats 5]
                         [--only matching,referrals,coldstart,upkeep] [--upkeep-state OK]
                         [--out benchmarks/results/latest.json]

`upkeep` (a day of the availability sweep replayed for one state's agents) is not run unless asked for: it takes
longer than the rest together. The results are merged into the --out file, part by part.

docs/benchmarks.md explains what each figure measures and how.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.stack import LOCAL_ENV

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT / "benchmarks" / "results" / "latest.json"
RUN_KEYS = ("command", "generated_at", "machine", "targets", "verdicts", "seconds", "section_runs")
"""Keys that describe a run rather than a part of it."""
TARGETS = {
    "items_read_p95": 50,
    "items_read_max": 200,
    "scan_ratio": 1000,
    "happy_path_calls": 15,
    "cold_start_ratio": 1.5,
    "cost_per_1000_usd": 0.50,
}


def _progress(started: float) -> Any:
    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    return say


def _match_section(found: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.matching import percentile

    section: dict[str, Any] = {}
    for key, value in found.items():
        if not key.startswith("agents_"):
            section[key] = value
            continue
        day, night = value["day"], value["night"]
        items = day["raw"]["items_read"] + night["raw"]["items_read"]
        latency = day["raw"]["latency_ms"] + night["raw"]["latency_ms"]
        scans = day["raw"]["scan_items_read"] + night["raw"]["scan_items_read"]
        units = day["raw"]["read_units"] + night["raw"]["read_units"]
        scan_units = day["raw"]["scan_read_units"] + night["raw"]["scan_read_units"]
        for scenario in (day, night):
            del scenario["raw"]
        section[key] = {
            "matches": len(items),
            "items_read_p50": percentile(items, 0.5),
            "items_read_p95": percentile(items, 0.95),
            "items_read_max": max(items, default=0),
            "read_units_p50": percentile(units, 0.5),
            "read_units_p95": percentile(units, 0.95),
            "scan_items_read_p50": percentile(scans, 0.5),
            "scan_ratio_p50": round(percentile(scans, 0.5) / max(1.0, percentile(items, 0.5))),
            "scan_read_units_p50": percentile(scan_units, 0.5),
            "scan_ratio_read_units_p50": round(percentile(scan_units, 0.5) / max(0.5, percentile(units, 0.5)), 1),
            "latency_ms_p50": round(percentile(latency, 0.5), 1),
            "latency_ms_p95": round(percentile(latency, 0.95), 1),
            "wrong": day["wrong"] + night["wrong"],
            **{k: v for k, v in value.items() if k not in ("day", "night")},
            "day": day,
            "night": night,
        }
    return section


def _merged(previous: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """The previous results with this run's parts in place of theirs: a partial run (--only) keeps the rest, and
    `section_runs` says which run each part comes from."""
    run = {key: results[key] for key in ("command", "generated_at", "seconds")}
    parts = [key for key in results if key not in RUN_KEYS]
    earlier = previous.get("section_runs") or {
        key: {k: previous.get(k) for k in run} for key in previous if key not in RUN_KEYS
    }
    merged = {**previous, **results, "section_runs": {**earlier, **dict.fromkeys(parts, run)}}
    merged["verdicts"] = _verdicts(merged)
    return merged


def _table(results: dict[str, Any]) -> str:
    rows: list[str] = []

    def row(*cells: Any) -> None:
        rows.append(" | ".join(str(c) for c in cells))

    match = results.get("match", {})
    if match:
        rows.append("Match cost (day and night together; items = DynamoDB items read per match)")
        row(
            "agents",
            "matches",
            "items p50",
            "p95",
            "max",
            "RRU p50",
            "scan p50",
            "scan/p50",
            "ms p50",
            "ms p95",
            "wrong",
        )
        for key in sorted((k for k in match if k.startswith("agents_")), key=lambda k: int(k.split("_")[1])):
            m = match[key]
            row(
                f"{int(key.split('_')[1]):,}",
                m["matches"],
                m["items_read_p50"],
                m["items_read_p95"],
                m["items_read_max"],
                m["read_units_p50"],
                m["scan_items_read_p50"],
                f"{m['scan_ratio_p50']}x",
                m["latency_ms_p50"],
                m["latency_ms_p95"],
                m["wrong"],
            )
        rows.append("")
        row("agents", "scenario", "matches", "found", "items p50/p95/max", "queries p50/p95/max", "ms p50/p95")
        for key in sorted((k for k in match if k.startswith("agents_")), key=lambda k: int(k.split("_")[1])):
            for scenario in ("day", "night"):
                s = match[key][scenario]
                row(
                    f"{int(key.split('_')[1]):,}",
                    scenario,
                    s["matches"],
                    s["found"],
                    f"{s['items_read']['p50']:.0f}/{s['items_read']['p95']:.0f}/{s['items_read']['max']:.0f}",
                    f"{s['queries']['p50']:.0f}/{s['queries']['p95']:.0f}/{s['queries']['max']:.0f}",
                    f"{s['latency_ms']['p50']}/{s['latency_ms']['p95']}",
                )
        rows.append("")
    calls = results.get("calls_per_referral", {})
    if calls:
        rows.append(
            "AWS API calls per referral, intake to acceptance (the follow-up, i.e. the agent's progress report "
            "and the reminder tasks, counted apart)"
        )
        row("path", "calls", "design minimum", "follow-up calls", "e-mails", "texts", "transitions", "USD/1000")
        detail = results["referrals"]
        for path, count in calls.items():
            d = detail[path]
            row(
                path,
                count,
                detail["minimum"][path]["calls"],
                d["follow_up_calls"],
                d["emails"],
                d["texts"],
                d["state_transitions"],
                results["cost"][path]["total"],
            )
        rows.append("")
    cold = results.get("cold_start", {})
    if cold:
        rows.append("Cold start, fresh interpreter, median seconds (import + first invocation)")
        row("function", "cold start s", "import s", "first call s", "x import boto3", "no-.pyc compile s", "size MB")
        row("boto3 alone", cold["boto3_s"], cold["boto3_s"], 0, 1.0, "", "")
        size = results.get("size_bytes", {})
        for name in ("intake", "match", "notify", "expire"):
            mb = size.get(name)
            row(
                name,
                cold[f"{name}_s"],
                cold[f"{name}_import_s"],
                cold[f"{name}_first_invocation_s"],
                cold[f"{name}_ratio_to_boto3"],
                cold[f"{name}_compile_s"],
                f"{mb / 1e6:.2f}" if mb is not None else "n/a",
            )
        if size.get("layer") is not None:
            row("layer", "", "", "", "", "", f"{size['layer'] / 1e6:.1f}")
        rows.append("")
    if "cost_per_1000_referrals_usd" in results:
        rows.append(
            f"Cost per 1,000 referrals (accept path, list prices of {results['prices_as_of']}): "
            f"${results['cost_per_1000_referrals_usd']}"
        )
    return "\n".join(rows)


def _verdicts(results: dict[str, Any]) -> dict[str, Any]:
    verdicts: dict[str, Any] = {}
    largest = max(
        (k for k in results.get("match", {}) if k.startswith("agents_")),
        default=None,
        key=lambda k: int(k.split("_")[1]),
    )
    if largest:
        m = results["match"][largest]
        verdicts["items_read_p95<=50"] = m["items_read_p95"] <= TARGETS["items_read_p95"]
        verdicts["items_read_max<=200"] = m["items_read_max"] <= TARGETS["items_read_max"]
        verdicts["scan_ratio>=1000"] = m["scan_ratio_p50"] >= TARGETS["scan_ratio"]
    if "calls_per_referral" in results:
        verdicts["happy_path_calls<=15"] = results["calls_per_referral"]["accept"] <= TARGETS["happy_path_calls"]
    if "cold_start" in results:
        cold = results["cold_start"]
        verdicts["cold_start<=1.5x_boto3"] = {
            name: cold[f"{name}_ratio_to_boto3"] <= TARGETS["cold_start_ratio"]
            for name in ("intake", "match", "notify", "expire")
        }
    if "cost_per_1000_referrals_usd" in results:
        verdicts["cost<=0.50_per_1000"] = results["cost_per_1000_referrals_usd"] <= TARGETS["cost_per_1000_usd"]
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="agent population sizes")
    parser.add_argument("--matches", type=int, default=300, help="consumers matched per size and scenario")
    parser.add_argument("--repeats", type=int, default=3, help="referrals per path for the call counts")
    parser.add_argument("--cold-repeats", type=int, default=5, help="fresh interpreters per function")
    parser.add_argument("--only", default="matching,referrals,coldstart", help="parts to run")
    parser.add_argument("--upkeep-state", default="OK", help="whose agents' sweep `upkeep` replays")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where to write the JSON results")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))

    os.environ.update(LOCAL_ENV)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # deployed functions publish metrics: count their logs
    time.tzset()
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")

    from benchmarks import coldstart, cost, matching, referrals, upkeep
    from benchmarks.counting import CallLog

    started = time.perf_counter()
    say = _progress(started)
    results: dict[str, Any] = {
        "command": "make bench  (= .venv/bin/python -m benchmarks " + " ".join(argv or sys.argv[1:]) + ")",
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.system()},
    }
    log = CallLog()
    with log.install():
        if "referrals" in parts:
            found = referrals.run(log, say, repeats=args.repeats)
            prices = cost.load_prices()
            results["calls_per_referral"] = {path: found[path]["calls"] for path in referrals.PATHS}
            results["cost"] = {path: cost.per_thousand(found[path], prices) for path in referrals.PATHS}
            results["cost_per_1000_referrals_usd"] = results["cost"]["accept"]["total"]
            results["prices_as_of"] = prices["as_of"]
            results["referrals"] = found
        if "matching" in parts:
            sizes = [int(s) for s in args.sizes.split(",")]
            results["match"] = _match_section(matching.run(sizes, args.matches, log, say))
        if "upkeep" in parts:
            results["index_upkeep"] = upkeep.run_day(args.upkeep_state, log, say)
    if "coldstart" in parts:
        results["cold_start"] = coldstart.run(say, repeats=args.cold_repeats)
        built = coldstart.sizes()
        results["size_bytes"] = {k: built.get(k) for k in ("layer", "intake", "match", "notify", "expire")}
        results["build"] = built
    results["targets"] = TARGETS
    results["verdicts"] = _verdicts(results)
    results["seconds"] = round(time.perf_counter() - started)
    print(_table(results))
    print("\nTargets met:", json.dumps(results["verdicts"]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    out.write_text(json.dumps(_merged(previous, results), indent=1, default=str) + "\n", encoding="utf-8")
    say(f"done; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
