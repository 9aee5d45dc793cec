"""The contract fuzzer: schemathesis generates requests from the local stack's own `/openapi.json` (valid ones, and
others that break the schema) with no token, with an agent's session token and with an administrator's token, and
checks every answer: no server error (5xx), and no status, media type, header or body the document does not list.

Loopback only (a local stack on 127.0.0.1, nothing else reachable), and bounded in time: each token kind fuzzes for
HOD_FUZZ_SECONDS (45 by default), from a fixed seed (HOD_FUZZ_SEED) so a failure can be replayed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import WEEK_ALL_DAY, Stack, agent_record, running_stack

CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
SECONDS = os.environ.get("HOD_FUZZ_SECONDS", "45")
SEED = os.environ.get("HOD_FUZZ_SEED", "2026")
AGENT = agent_record("4010001", "Fay", "Zimmer", "40202", "KY")

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("fuzzed") / "local-stack.log") as made:
        yield made


@pytest.fixture(scope="module")
def tokens(stack: Stack) -> dict[str, str | None]:
    """The three kinds of caller: nobody signed in, an agent (signed in by e-mailed link, available all week), and
    an administrator (the stack's token, every scope)."""
    stack.import_agents([AGENT])
    session = stack.agent_session(AGENT["email"])
    status, answer = stack.call("PUT", "/agent/availability", {"weekly": WEEK_ALL_DAY}, token=session)
    assert status == 200, answer
    return {"no token": None, "agent": session, "administrator": stack.admin_token}


def fuzz(stack: Stack, token: str | None, report: Path) -> tuple[int, str]:
    """Run schemathesis against the stack; its exit status and what it printed."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",  # (its command line, as `schemathesis` would run it)
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{stack.base}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        SECONDS,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "30",
        # (a connection the local server dropped under a loaded machine is tried again, up to twice; every answer it
        # gives is still checked)
        "--request-retries",
        "2",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1"}
    done = subprocess.run(  # (in the report's folder: schemathesis keeps a cache where it runs)
        command, capture_output=True, text=True, env=env, cwd=report.parent, timeout=int(SECONDS) * 4 + 120
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("kind", ["no token", "agent", "administrator"])
def test_no_generated_request_gets_a_server_error_or_an_answer_outside_the_document(
    stack: Stack, tokens: dict[str, str | None], kind: str, tmp_path: Path
) -> None:
    # Given the local stack and a caller of this kind
    # When schemathesis sends it the requests it generates from the stack's own OpenAPI document
    status, output = fuzz(stack, tokens[kind], tmp_path / "junit.xml")

    # Then every answer passed every check (the run's figures are printed for the record: cases and failures)
    cases = re.search(r"(\d+) generated(, [^\n]*)?", output)
    print(f"schemathesis, {kind}: {cases.group(0) if cases else 'no case count'}; {output.strip().splitlines()[-1]}")
    assert cases is not None, output[-4000:]
    assert status == 0, output[-20000:]
