"""README command 1: the local stack starts, serves the API with demo agents, takes an import through the CLI,
and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_api import agent

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.enable_socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_until(process: subprocess.Popen[str], marker: str, timeout: float = 90) -> str:
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} not seen; output so far:\n{''.join(seen)}")


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_local_stack_serves_the_api_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", str(port), "--agents", "40"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = read_until(process, "Serving on")
        assert "40 created" in banner
        admin_token = re.search(r"Admin token:\s+(\S+)", banner)
        assert admin_token is not None
        base = f"http://127.0.0.1:{port}"

        # A consumer asks for help
        status, receipt = post(
            f"{base}/referrals",
            {"first_name": "Rosa", "last_name": "Martínez", "phone": "512-555-0188", "zip": "78702", "language": "es"},
        )
        assert status == 201
        assert receipt["place"]["state"] == "TX"

        # The consumer's receipt shows in the outbox, as JSON and as a page
        def outbox() -> list[Any]:
            with urllib.request.urlopen(f"{base}/dev/outbox", timeout=10) as response:
                return list(json.loads(response.read())["messages"])

        deadline = time.monotonic() + 20
        while not any(m["to"] == "+15125550188" for m in outbox()) and time.monotonic() < deadline:
            time.sleep(0.3)
        receipt_text = next(m for m in outbox() if m["to"] == "+15125550188")
        assert receipt_text["channel"] == "text"
        assert "recibimos su solicitud" in receipt_text["body"]
        with urllib.request.urlopen(f"{base}/dev/outbox?format=html", timeout=10) as response:
            assert "Outbox" in response.read().decode()

        # An administrator imports agents from CSV through the CLI
        csv_file = tmp_path / "agents.csv"
        good = agent("5550001")
        csv_file.write_text(
            "npn,first_name,last_name,email,phone,zip,home_state,licences,ffm_registration_plan_year,"
            "ffm_registration_listed,hod_training_complete,display_option,languages\n"
            f"{good['npn']},Ana,García,ana@example.com,512-555-0142,78701,TX,TX:active:health:,2026,true,true,1,en|es\n"
            "5550002,Bad,Phone,bad@example.com,12,78701,TX,TX:active:health:,2026,true,true,1,en\n",
            encoding="utf-8",
        )
        cli = subprocess.run(
            [sys.executable, "-m", "hod.cli", "import", str(csv_file), "--api", base, "--token", admin_token.group(1)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 2, cli.stderr  # one record refused
        assert json.loads(cli.stdout) == {"received": 2, "created": 1, "updated": 0, "unchanged": 0, "refused": 1}
        assert "row 2 (npn 5550002): refused — phone" in cli.stderr
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
    assert "stopped." in rest
