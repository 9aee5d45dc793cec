"""`make bench`: every national-scale figure in one process, printed as a table and written as JSON.

    python -m benchmarks [--sizes 1000,10000,100000] [--matches 300] [--repeats 3] [--cold-repeats 5]
                         [--only matching,referrals,coldstart,scale,upkeep] [--upkeep-state OK]
                         [--out benchmarks/results/latest.json]

`upkeep` (a day of the availability sweep replayed for one state's agents, what the index's summary of occupied
cells costs it) is not run unless asked for: it takes longer than matching.

A run of only some parts updates those parts' sections in the results file and keeps the others.

`--only` also takes one figure of the scale section (`scale.partitions`), or `cost`, which measures nothing and prices
the figures already in the file again (the cost is priced after every run, from every figure in the file).
The figures of a partial run are merged into the JSON file: sections that did not run keep their last figures,
`measured_at` says when and by which command each section was measured, and the file's `command`, `generated_at` and
`seconds` stay those of the last full run.
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
TARGETS = {
    "items_read_p95": 50,
    "items_read_max": 200,
    "scan_ratio": 1000,
    "happy_path_calls": 15,  # every call, the messages' included (issue 6)
    "calls_besides_messages": 10,  # the calls besides the messages themselves (issue 14)
    "cold_start_ratio": 2.0,  # issue 14 (issue 6 asked 1.5)
    "cost_per_1000_usd": 0.50,
    "partition_write_units_s": 1_000,
    "partition_read_units_s": 3_000,
    "sweep_peak_minute_changes": 40_000,
    "sweep_lag_s": 60,
    "safety_net_time_ratio": 1.2,
}
PARTS = ("matching", "referrals", "coldstart", "scale")
OPTIONAL_PARTS = ("upkeep",)  # run only when asked for
# Sections of the JSON merged key by key with the file's (the others are replaced whole by a run that makes them).
MERGED = ("scale", "targets", "verdicts")
SECTIONS = ("calls_per_referral", "match", "cold_start", "index_upkeep")  # besides "scale.<figure>"
RUN = ("command", "generated_at", "machine", "seconds")  # what describes a run


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
            "AWS API calls per referral, intake to acceptance, besides the messages (counted apart; the follow-up, "
            "i.e. the agent's progress report and the reminder tasks, too)"
        )
        row(
            "path",
            "calls besides messages",
            "design minimum",
            "message calls",
            "sequential to offer",
            "follow-up calls",
            "e-mails",
            "texts",
            "transitions",
            "USD/1000",
        )
        detail = results["referrals"]
        for path, count in calls.items():
            d = detail[path]
            row(
                path,
                count,
                detail["minimum"][path]["calls"],
                d.get("message_calls"),
                d.get("sequential_calls_to_offer"),
                d["follow_up_calls"],
                d["emails"],
                d["texts"],
                d["state_transitions"],
                results["cost"][path]["total"] if "cost" in results else "",
            )
        rows.append("")
    cold = results.get("cold_start", {})
    if cold:
        rows.append("Cold start, fresh interpreter, median seconds (import + first invocation)")
        row("function", "cold start s", "import s", "first call s", "x import boto3", "no-.pyc compile s", "size MB")
        row("boto3 alone", cold["boto3_s"], cold["boto3_s"], 0, 1.0, "", "")
        if "floor_s" in cold:  # the stack's own share, before any of the project's code
            floor = (cold["floor_s"], cold["floor_import_s"], cold["floor_first_call_s"], cold["floor_ratio_to_boto3"])
            row("stack floor", *floor, "", "")
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
        accept, shared = results["cost"]["accept"], results["cost"]["background"]
        rows.append(
            f"Cost per 1,000 accepted referrals (list prices of {results['prices_as_of']}): "
            f"${accept['total']} = ${accept['referral']} the referrals' own + ${accept['background']} background "
            f"({', '.join(f'{k} ${v}' for k, v in shared['per_1000_by_part'].items())}"
            f"{'; not measured: ' + ', '.join(shared['missing']) if shared['missing'] else ''}); "
            f"messaging apart: ${accept['messaging']}"
        )
    burst = results.get("scale", {}).get("burst", {})
    if burst:
        rows.append("")
        rows.append("scale.burst: 30 referrals in one minute, 20 available agents in Houston (capacity 1 / uncapped)")
        row("shape", "max pending per agent", "idle while waiting", "offers per agent", "uncapped: max pending")
        for name, shape in burst.items():
            if isinstance(shape, dict) and "max_pending_per_agent" in shape:
                row(
                    name,
                    shape["max_pending_per_agent"],
                    shape["idle_while_waiting"],
                    shape["offers_per_agent"],
                    shape["uncapped"]["max_pending_per_agent"],
                )
    partitions = results.get("scale", {}).get("partitions")
    if partitions:
        rows.append("")
        rows.append(
            f"Hottest partition of each key at {partitions['referrals_per_s']} referrals/s "
            "(units a second; before the keys were sharded in brackets)"
        )
        row("key", "shards", "write units/s", "read units/s")
        for key in partitions["keys"]:
            row(
                key["key"],
                key["shards"],
                f"{key['write_units_s']} ({key['write_units_s_before']})",
                f"{key['read_units_s']} ({key['read_units_s_before']})",
            )
        row(
            "max",
            "",
            f"{partitions['max_write_units_per_partition_s']} ({partitions['max_write_key']})",
            f"{partitions['max_read_units_per_partition_s']} ({partitions['max_read_key']})",
        )
    sweep = results.get("scale", {}).get("sweep")
    if sweep:
        rows.append("")
        rows.append(
            f"Availability changes at the busiest minutes ({sweep['agents']:,} agents; {sweep['workers']} workers, "
            "each as fast as the one measured in moto)"
        )
        row("minute", "changes", "one worker agents/s", "calls/agent", "lag s", "at 10 ms/call", "hottest partition")
        for minute in sweep["minutes"]:
            row(
                minute["minute"],
                f"{minute['changes']:,}",
                minute["one_worker"]["agents_per_s"],
                minute["one_worker"]["calls_per_agent"],
                minute["lag_s"],
                minute["lag_s_at_10ms_per_call"],
                f"{minute['hottest_partition']} ({minute['hottest_partition_writes']:,} writes)",
            )
    net = results.get("scale", {}).get("safety_net")
    if net:
        rows.append("")
        rows.append(
            f"Safety net to a {net['recipients']:,}-agent Texas roster at {net['ses_send_rate']:g} e-mails/s "
            f"({net['senders']} senders), SES throttling above that rate (simulated time)"
        )
        row("recipients", "e-mailed once", "dropped", "duplicates", "completion s", "ideal s", "time ratio")
        row(
            net["recipients"],
            net["emailed_once"],
            net["dropped"],
            net["duplicates"],
            net["completion_s"],
            net["ideal_s"],
            net["time_ratio"],
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
        accept = results["referrals"]["accept"]
        every_call = accept.get("all_calls", results["calls_per_referral"]["accept"])
        verdicts["happy_path_calls<=15"] = every_call <= TARGETS["happy_path_calls"]
        verdicts["calls_besides_messages<=10"] = accept["calls"] <= TARGETS["calls_besides_messages"]
    if "cold_start" in results:
        cold = results["cold_start"]
        verdicts["cold_start<=2.0x_boto3"] = {
            name: cold[f"{name}_ratio_to_boto3"] <= TARGETS["cold_start_ratio"]
            for name in ("intake", "match", "notify", "expire")
        }
    if "cost_per_1000_referrals_usd" in results:
        verdicts["cost<=0.50_per_1000"] = (
            results["cost_per_1000_referrals_usd"] <= TARGETS["cost_per_1000_usd"]
            and results["cost"]["background"]["complete"]
        )
    partitions = results.get("scale", {}).get("partitions")
    if partitions:
        verdicts["partition_write_units<=1000/s"] = (
            partitions["max_write_units_per_partition_s"] <= TARGETS["partition_write_units_s"]
        )
        verdicts["partition_read_units<=3000/s"] = (
            partitions["max_read_units_per_partition_s"] <= TARGETS["partition_read_units_s"]
        )
    sweep = results.get("scale", {}).get("sweep")
    if sweep:
        verdicts["sweep_peak_minute_changes>=40000"] = (
            sweep["peak_minute_changes"] >= TARGETS["sweep_peak_minute_changes"]
        )
        verdicts["sweep_lag<=60s"] = sweep["lag_s_max"] <= TARGETS["sweep_lag_s"]
    net = results.get("scale", {}).get("safety_net")
    if net:
        verdicts["safety_net_everyone_once"] = net["emailed_once"] == net["recipients"] and not net["duplicates"]
        verdicts["safety_net_time_ratio<=1.2"] = net["time_ratio"] <= TARGETS["safety_net_time_ratio"]
    return verdicts


def _sections(results: dict[str, Any]) -> list[str]:
    return [key for key in SECTIONS if key in results] + [f"scale.{name}" for name in results.get("scale", {})]


def _merge(previous: dict[str, Any], results: dict[str, Any], full: bool) -> dict[str, Any]:
    """`results` over the figures already in the file: MERGED sections key by key, the others whole; the run's
    description only from a `full` run (or into an empty file). `measured_at`: when and how each section was last
    measured (sections from before it existed: the file's run)."""

    def stamp(run: dict[str, Any]) -> dict[str, Any]:
        return {key: run[key] for key in ("generated_at", "command") if key in run}

    measured = dict(previous.get("measured_at") or {section: stamp(previous) for section in _sections(previous)})
    measured.update({section: stamp(results) for section in _sections(results)})
    merged = dict(previous)
    for key, value in results.items():
        if key in RUN and previous and not full:
            continue
        if key in MERGED and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    merged["measured_at"] = measured
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="agent population sizes")
    parser.add_argument("--matches", type=int, default=300, help="consumers matched per size and scenario")
    parser.add_argument("--repeats", type=int, default=3, help="referrals per path for the call counts")
    parser.add_argument("--cold-repeats", type=int, default=5, help="fresh interpreters per function")
    parser.add_argument("--only", default=",".join(PARTS), help="parts to run (or scale.<figure>, or upkeep)")
    parser.add_argument("--upkeep-state", default="OK", help="whose agents' sweep `upkeep` replays")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where to write the JSON results")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    figures = {part.split(".", 1)[1] for part in parts if part.startswith("scale.")}
    known = (*PARTS, *OPTIONAL_PARTS, "cost")
    unknown = {part for part in parts if part not in known and not part.startswith("scale.")}
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}: choose from {', '.join(known)} or scale.<figure>")

    os.environ.update(LOCAL_ENV)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # deployed functions publish metrics: count their logs
    time.tzset()
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")

    from benchmarks import coldstart, cost, matching, referrals, scale, upkeep
    from benchmarks.counting import CallLog

    unknown_figures = figures - set(scale.FIGURES)
    if unknown_figures:
        parser.error(f"unknown scale figures {sorted(unknown_figures)}: choose from {', '.join(scale.FIGURES)}")

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
            results["calls_per_referral"] = {path: found[path]["calls"] for path in referrals.PATHS}
            results["referrals"] = found
        if "matching" in parts:
            sizes = [int(s) for s in args.sizes.split(",")]
            results["match"] = _match_section(matching.run(sizes, args.matches, log, say))
        if "scale" in parts or figures:
            results["scale"] = scale.run(log, say, None if "scale" in parts else figures)
        if "upkeep" in parts:
            results["index_upkeep"] = upkeep.run_day(args.upkeep_state, log, say)
    if "coldstart" in parts:
        results["cold_start"] = coldstart.run(say, repeats=args.cold_repeats)
        built = coldstart.sizes()
        results["size_bytes"] = {k: built.get(k) for k in ("layer", "intake", "match", "notify", "expire")}
        results["build"] = built
    results["targets"] = TARGETS
    results["seconds"] = round(time.perf_counter() - started)
    out = Path(args.out)
    previous = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    merged = _merge(previous, results, full=parts >= set(PARTS))
    if "referrals" in merged:  # priced from every figure in the file: a run of any of them updates the cost
        prices = cost.load_prices()
        merged["cost"] = cost.section(merged, prices)
        merged["cost_per_1000_referrals_usd"] = merged["cost"]["accept"]["total"]
        merged["prices_as_of"] = prices["as_of"]
        results.update({key: merged[key] for key in ("cost", "cost_per_1000_referrals_usd", "prices_as_of")})
    print(_table(results))
    merged["verdicts"] = _verdicts(merged)
    print("\nTargets met:", json.dumps(merged["verdicts"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=1, default=str) + "\n", encoding="utf-8")
    say(f"done; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
