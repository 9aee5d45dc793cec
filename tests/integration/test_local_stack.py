"""README command 1: the local stack starts, serves the API with demo agents, takes an import through the CLI,
stops cleanly on Ctrl-C, and serves a burst of concurrent requests each as its own."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hod import zipdir
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
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


def get(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@dataclass
class Running:
    base: str
    banner: str
    admin_token: str
    env: dict[str, str]
    process: subprocess.Popen[str]
    rest: str = ""  # what it printed after the banner, once stopped


@contextmanager
def local_stack(agents: int) -> Iterator[Running]:
    """`python -m local.stack` on a free port with `agents` demo agents; stopped with Ctrl-C at the end. Its output
    is read all along (a full pipe would block the stack's next log line), and what followed the banner is kept in
    `rest`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", str(port), "--agents", str(agents)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    after_banner: list[str] = []
    reader = threading.Thread(target=lambda: after_banner.extend(process.stdout or ()), daemon=True)
    try:
        banner = read_until(process, "Serving on")
        reader.start()
        admin_token = re.search(r"Admin token:\s+(\S+)", banner)
        assert admin_token is not None, banner
        running = Running(f"http://127.0.0.1:{port}", banner, admin_token.group(1), env, process)
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            if reader.is_alive():
                reader.join(timeout=10)
    running.rest = "".join(after_banner)


def test_local_stack_serves_the_api_and_stops_cleanly(tmp_path: Path) -> None:
    with local_stack(agents=40) as stack:
        assert "40 created" in stack.banner
        # The banner names a demo agent who is available now (every tenth works around the clock) and how to sign in
        demo = re.search(r"Demo agent:\s+(.+)", stack.banner)
        assert demo is not None, stack.banner
        assert "available now" in demo.group(1)
        assert "sign in at /portal with agent17" in demo.group(1)
        base = stack.base

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
            [sys.executable, "-m", "hod.cli", "import", str(csv_file), "--api", base, "--token", stack.admin_token],
            cwd=ROOT,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 2, cli.stderr  # one record refused
        assert json.loads(cli.stdout) == {"received": 2, "created": 1, "updated": 0, "unchanged": 0, "refused": 1}
        assert "row 2 (npn 5550002): refused — phone" in cli.stderr

        # The README's command, with the sample file it names, imports every agent in it
        def hod_admin_import(path: str, api: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "hod.cli", "import", path, "--api", api, "--token", stack.admin_token],
                cwd=ROOT,
                env=stack.env,
                capture_output=True,
                text=True,
                timeout=60,
            )

        sample = hod_admin_import("examples/agents.csv", base)
        assert sample.returncode == 0, sample.stderr
        assert json.loads(sample.stdout) == {"received": 5, "created": 5, "updated": 0, "unchanged": 0, "refused": 0}
        # and an API that is not there is said so in one line, not a traceback
        nowhere = hod_admin_import("examples/agents.csv", f"http://127.0.0.1:{free_port()}")
        assert nowhere.returncode == 1
        assert nowhere.stderr.startswith("cannot reach the API at http://127.0.0.1:")
        assert "Traceback" not in nowhere.stderr
    assert stack.process.returncode == 0
    assert "stopped." in stack.rest


# Ten Texas ZIP codes in ten different cities: each consumer's answer and stored referral must name their own.
BURST_ZIPS = ("78702", "75201", "77002", "78205", "79901", "76102", "78401", "79401", "76701", "77840")
BURST_SIZE = 200
BURST_CONCURRENCY = 20


def burst_consumer(i: int) -> dict[str, str]:
    """The i-th consumer of the burst: a name, phone number and ZIP of their own."""
    return {
        "first_name": "Burst" + "".join(chr(ord("a") + int(digit)) for digit in f"{i:03d}"),  # letters only
        "last_name": "Consumer",
        "phone": f"{('512', '214')[i % 2]}-555-{100 + i // 2:04d}",
        "zip": BURST_ZIPS[i % len(BURST_ZIPS)],
        "language": ("en", "es")[i % 2],
    }


@pytest.mark.slow
def test_a_burst_of_referrals_twenty_at_a_time_is_served_one_request_each() -> None:
    with local_stack(agents=0) as stack:
        # Given 200 consumers, each with their own details
        consumers = [burst_consumer(i) for i in range(BURST_SIZE)]

        # When they all ask for help over HTTP, 20 requests in flight at a time
        def submit(consumer: dict[str, str]) -> tuple[int, Any] | Exception:
            try:
                return post(f"{stack.base}/referrals", consumer)
            except Exception as exc:  # a refused or reset connection is a finding, not a crash of the test
                return exc

        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=BURST_CONCURRENCY) as pool:
            answers = list(pool.map(submit, consumers))
        took = time.monotonic() - began

        # Then no request failed (no connection refused or reset), every consumer got 201 naming their own city and
        # language, with an id of their own, stored with their ZIP, and its workflow started
        errors = [f"consumer {i}: {answer!r}" for i, answer in enumerate(answers) if isinstance(answer, Exception)]
        created = {}
        for consumer, answer in zip(consumers, answers, strict=True):
            if isinstance(answer, Exception) or answer[0] != 201:
                continue
            receipt = answer[1]
            place = zipdir.lookup(consumer["zip"])
            assert place is not None
            if receipt["place"]["city"] == place.city and receipt["language"] == consumer["language"]:
                created[consumer["phone"]] = receipt["referral_id"]
        ids = [answer[1]["referral_id"] for answer in answers if not isinstance(answer, Exception)]

        # (each stored referral is read back until its workflow's first round has written workflow.started)
        stored: dict[str, dict[str, Any]] = {}
        started: set[str] = set()
        waiting = {referral_id: consumer for consumer in consumers if (referral_id := created.get(consumer["phone"]))}
        deadline = time.monotonic() + 300
        while waiting and time.monotonic() < deadline:
            for referral_id, consumer in list(waiting.items()):
                try:
                    status, referral = get(f"{stack.base}/admin/referrals/{referral_id}", stack.admin_token)
                except OSError:  # a slow answer while the workflows run: asked again on the next pass
                    continue
                if status != 200 or referral["place"]["zip"] != consumer["zip"]:
                    del waiting[referral_id]  # not stored, or stored with someone else's details
                    continue
                stored[referral_id] = referral
                if any(event["action"] == "workflow.started" for event in referral["audit_trail"]):
                    started.add(referral_id)
                    del waiting[referral_id]
            time.sleep(0.5)
        figures = {
            "requests failed": len(errors),
            "201 with the consumer's own place": len(created),
            "distinct ids answered": len(set(ids)),
            "stored as submitted": len(stored),
            "workflows started": len(started),
        }
        print(f"burst of {BURST_SIZE}, {BURST_CONCURRENCY} at a time, answered in {took:.0f} s: {figures}")
        assert errors == [], errors[:10]
        assert figures == {
            "requests failed": 0,
            "201 with the consumer's own place": BURST_SIZE,
            "distinct ids answered": BURST_SIZE,
            "stored as submitted": BURST_SIZE,
            "workflows started": BURST_SIZE,
        }
    assert stack.process.returncode == 0
