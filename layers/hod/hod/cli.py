"""hod-admin: the administrator's command line.

  hod-admin import agents.csv            load agents (CSV or JSON) through the admin API, in batches
  hod-admin token                        mint an administrator token, at most 12 hours, for the scopes named (all by
                                         default); reads the administrator key (AdminSigningSecretArn) from Secrets
                                         Manager
  hod-admin agent-token NPN              mint a session token for one agent (support and testing; the signing key,
                                         SigningSecretArn)
  hod-admin complete-summaries           once after deploying: complete the available-now index's summaries
  hod-admin coverage                     recompute the coverage map's summaries now (the hourly job's work)

The API URL and admin token come from --api/--token or HOD_API_URL/HOD_ADMIN_TOKEN.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hod.services.agents import MAX_IMPORT_RECORDS
from hod.services.auth import ADMIN_MAX_TTL, ADMIN_SCOPES, AGENT_SESSION

if TYPE_CHECKING:
    from hod.services.auth import AuthService

_ADMIN_MAX_HOURS = ADMIN_MAX_TTL.total_seconds() / 3600


def _batches_of_csv(text: str, size: int) -> Iterator[tuple[bytes, str]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return
    rows = list(reader)
    for start in range(0, len(rows), size):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows[start : start + size])
        yield out.getvalue().encode(), "text/csv"


def _batches_of_json(text: str, size: int) -> Iterator[tuple[bytes, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    records = data["agents"] if isinstance(data, dict) and "agents" in data else data
    if not isinstance(records, list):
        raise SystemExit('JSON import must be an array of agent records or {"agents": [...]}')
    for start in range(0, len(records), size):
        yield json.dumps(records[start : start + size]).encode(), "application/json"


def _post(url: str, token: str, body: bytes, content_type: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise SystemExit(f"import refused ({exc.code}): {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SystemExit(f"cannot reach the API at {url}: {reason} (is the stack running? check --api)") from None


def import_file(path: Path, api: str, token: str, batch: int = MAX_IMPORT_RECORDS) -> dict[str, int]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SystemExit(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SystemExit(f"{path} is not UTF-8 text: save it as UTF-8 (CSV or JSON)") from None
    is_csv = path.suffix.lower() == ".csv"
    batches = _batches_of_csv(text, batch) if is_csv else _batches_of_json(text, batch)
    totals: dict[str, int] = {}
    offset = 0
    for body, content_type in batches:
        report = _post(f"{api.rstrip('/')}/admin/agents/import", token, body, content_type)
        for key, value in report["summary"].items():
            totals[key] = totals.get(key, 0) + int(value)
        for result in report["results"]:
            if result["status"] == "refused":
                problems = "; ".join(f"{k}: {v}" for k, v in result["errors"].items())
                print(
                    f"row {offset + result['row']} (npn {result['npn']}): refused — {problems}",
                    file=sys.stderr,
                )
        offset += report["summary"]["received"]
    return totals


def _auth(secret_id: str) -> AuthService:
    from hod.adapters.aws import SecretsManagerKeys, SystemClock
    from hod.services.auth import AuthService

    keys = SecretsManagerKeys(secret_id)
    return AuthService(keys, SystemClock(), session_ttl_seconds=3600, admin_keys=keys)


def _coverage(agents_table: str, referrals_table: str, plan_year: int, weeks: int) -> dict[str, Any]:
    from hod.adapters.aws import SystemClock
    from hod.adapters.coverage import DynamoCoverageStore
    from hod.adapters.reports import DynamoReports
    from hod.services.coverage import CoverageService

    reports = DynamoReports(agents_table, referrals_table)
    run = CoverageService(DynamoCoverageStore(agents_table), reports, SystemClock(), plan_year).recompute(weeks)
    return {
        "computed_at": run.computed_at.isoformat(),
        "states": run.states,
        "agents": run.agents,
        "referrals": run.referrals,
        "referral_days": run.referral_days,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hod-admin", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="load agents from a CSV or JSON file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--api", default=os.environ.get("HOD_API_URL"))
    imp.add_argument("--token", default=os.environ.get("HOD_ADMIN_TOKEN"))
    imp.add_argument("--batch", type=int, default=MAX_IMPORT_RECORDS)
    token = sub.add_parser("token", help="mint an administrator token")
    token.add_argument(
        "--subject",
        default=os.environ.get("USER", "admin"),
        help="who holds it, logged with its actions (default: $USER)",
    )
    token.add_argument("--hours", type=float, default=8.0, help=f"0 < hours <= {_ADMIN_MAX_HOURS:g}")
    token.add_argument("--scope", action="append", choices=ADMIN_SCOPES, help="repeat for several (default: all)")
    token.add_argument(
        "--secret-id",
        default=os.environ.get("HOD_ADMIN_SIGNING_SECRET_ID"),
        help="the stack's AdminSigningSecretArn (not SigningSecretArn: administrator tokens have a key of their own)",
    )
    agent_token = sub.add_parser("agent-token", help="mint an agent session token")
    agent_token.add_argument("npn")
    agent_token.add_argument("--hours", type=float, default=1.0)
    agent_token.add_argument("--secret-id", default=os.environ.get("HOD_SIGNING_SECRET_ID"))
    complete = sub.add_parser("complete-summaries", help="complete every area's summary of occupied cells")
    complete.add_argument("--table", default=os.environ.get("HOD_AVAILABLE_TABLE"), help="AvailableAgentsTable")
    cover = sub.add_parser("coverage", help="recompute the coverage map now (as the hourly job does)")
    cover.add_argument("--agents-table", default=os.environ.get("HOD_AGENTS_TABLE"), help="AgentsTable")
    cover.add_argument("--referrals-table", default=os.environ.get("HOD_REFERRALS_TABLE"), help="ReferralsTable")
    cover.add_argument("--plan-year", type=int, default=int(os.environ.get("HOD_PLAN_YEAR", "0")) or None)
    cover.add_argument("--weeks", type=int, default=4, help="weeks of referrals to count, 1-8 (default 4)")
    args = parser.parse_args(argv)

    if args.command == "coverage":
        if not args.agents_table or not args.referrals_table or not args.plan_year:
            parser.error("coverage needs --agents-table, --referrals-table and --plan-year (or HOD_AGENTS_TABLE, ...)")
        if not 1 <= args.weeks <= 8:
            parser.error("--weeks must be 1..8")
        print(json.dumps(_coverage(args.agents_table, args.referrals_table, args.plan_year, args.weeks)))
        return 0

    if args.command == "complete-summaries":
        if not args.table:
            parser.error("--table (or HOD_AVAILABLE_TABLE) is required")
        from hod.adapters.available import DynamoAvailableIndex

        print(json.dumps({"areas_with_entries": DynamoAvailableIndex(args.table).complete_summaries()}))
        return 0
    if args.command == "import":
        if not args.api or not args.token:
            parser.error("import needs --api and --token (or HOD_API_URL and HOD_ADMIN_TOKEN)")
        if not 1 <= args.batch <= MAX_IMPORT_RECORDS:
            parser.error(f"--batch must be 1..{MAX_IMPORT_RECORDS}")
        totals = import_file(args.file, args.api, args.token, args.batch)
        print(json.dumps(totals))
        return 0 if totals.get("refused", 0) == 0 else 2
    if args.command == "token":
        if not args.secret_id:
            parser.error("--secret-id (or HOD_ADMIN_SIGNING_SECRET_ID): the stack's AdminSigningSecretArn")
        if not 0 < args.hours <= _ADMIN_MAX_HOURS:
            parser.error(f"--hours must be more than 0 and at most {_ADMIN_MAX_HOURS:g}")
        ttl = timedelta(hours=args.hours)
        print(_auth(args.secret_id).admin_token(args.subject, ttl, args.scope or ADMIN_SCOPES))
        return 0
    if not args.secret_id:
        parser.error("--secret-id (or HOD_SIGNING_SECRET_ID): the stack's SigningSecretArn")
    print(_auth(args.secret_id).issue(AGENT_SESSION, args.npn, timedelta(hours=args.hours)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
