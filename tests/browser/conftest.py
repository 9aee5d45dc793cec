"""Browser tests: Debian's Chromium driven by Playwright against the local stack of README command 1.

One local stack (`python -m local.stack`, moto in a subprocess) serves every test of the session; each test imports
its own agents (distinct NPNs, e-mails and places) so tests do not see each other's data. Agents sign in the way
they do for real: the sign-in form, the e-mail in the outbox, the link.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_api import agent

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALL_DAY = {"enabled": True, "start": "00:00", "end": "24:00", "breaks": []}
WEEK_ALL_DAY = {"days": {day: ALL_DAY for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.enable_socket)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    base: str
    admin_token: str
    process: subprocess.Popen[str]
    log: Path  # everything the stack printed (its request log included)

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        data = None
        headers = {}
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw = error.read()
            status = error.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def outbox(self) -> list[dict[str, Any]]:
        status, items = self.call("GET", "/dev/outbox")
        assert status == 200, items
        return list(items["messages"])

    def mark(self) -> set[str]:
        """What the outbox holds now (the outbox groups messages by channel, so positions are not times)."""
        return {json.dumps(item, sort_keys=True) for item in self.outbox()}

    def new_since(self, mark: set[str]) -> list[dict[str, Any]]:
        return [item for item in self.outbox() if json.dumps(item, sort_keys=True) not in mark]

    def emails_since(self, mark: set[str], to: str, subject_part: str) -> list[dict[str, Any]]:
        return [
            item
            for item in self.new_since(mark)
            if item["channel"] == "email" and item["to"] == to and subject_part in item["subject"]
        ]

    def wait_for_email(self, to: str, subject_part: str, mark: set[str], timeout: float = 30) -> dict[str, Any]:
        """The first e-mail to `to` whose subject contains `subject_part` sent since `mark`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.emails_since(mark, to, subject_part)
            if found:
                return found[0]
            time.sleep(0.3)
        recent = [(item["to"], item["subject"]) for item in self.new_since(mark)]
        raise AssertionError(
            f"no e-mail {subject_part!r} to {to} within {timeout}s; sent since: {recent}; "
            f"the stack's last lines:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of what the stack printed (its request log, and any function's failure), for a failure's message."""
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def import_agents(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        status, report = self.call("POST", "/admin/agents/import", records, token=self.admin_token)
        assert status == 200, report
        assert report["summary"]["refused"] == 0, report
        return dict(report)

    def agent_session(self, email: str) -> str:
        """Sign in as the agent with this e-mail the way the portal does (sign-in link from the outbox)."""
        mark = self.mark()
        status, answer = self.call("POST", "/sign-in", {"email": email})
        assert status == 202, answer
        mail = self.wait_for_email(email, "sign-in link", mark)
        token = re.search(r"#t=([^\s\"']+)", mail["links"][0]).group(1)  # type: ignore[union-attr]
        status, session = self.call("POST", "/sign-in/session", {"token": token})
        assert status == 200, session
        return str(session["token"])


def agent_record(npn: str, first: str, last: str, zip_code: str, state: str, **extra: Any) -> dict[str, Any]:
    """An import record for an agent eligible in `state` (the integration tests' record, with a name and an e-mail
    address of its own), English-speaking unless `extra` says otherwise."""
    email = f"{first.lower()}.{last.lower()}.{npn}@example.com"
    return agent(
        npn, zip_code, state, **{"first_name": first, "last_name": last, "email": email, "languages": ["en"], **extra}
    )


@contextmanager
def running_stack(log: Path, **settings: str) -> Iterator[Stack]:
    """`python -m local.stack --agents 0` on a free port with these environment settings (HOD_...), its output
    in `log` (for a failing test's reader); stopped with Ctrl-C at the end."""
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **settings}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", str(port), "--agents", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    admin = None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = re.search(r"Admin token:\s+(\S+)", line)
        if found:
            admin = found.group(1)
        if "Stop with Ctrl-C" in line:
            break
    if admin is None:
        process.kill()
        raise AssertionError("the local stack did not start:\n" + "".join(seen))

    def drain() -> None:  # keep reading its output, so it never blocks on a full pipe
        with log.open("w", encoding="utf-8") as out:
            out.writelines(seen)
            for line in process.stdout:  # type: ignore[union-attr]
                out.write(line)
                out.flush()

    threading.Thread(target=drain, daemon=True).start()
    print(f"local stack log: {log}")
    try:
        yield Stack(f"http://127.0.0.1:{port}", admin, process, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "local-stack.log", HOD_OFFER_WINDOW_SECONDS="900") as made:
        yield made


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's Chromium is needed for the browser tests: apt-get install chromium (make test does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile on a phone-sized screen in Central time."""
    made = browser.new_context(
        viewport={"width": 412, "height": 915},
        timezone_id="America/Chicago",
        locale="en-US",
        accept_downloads=True,
    )
    made.set_default_timeout(30_000)  # generous: CI machines are shared and sometimes slow
    yield made
    made.close()


@pytest.fixture
def page(context: Any) -> Any:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # (a refused request logs "Failed to load resource": the pages show those answers, so they are not errors)
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield opened
    assert not errors, f"the page reported errors: {errors}"


# axe-core, pinned in package-lock.json and installed by `npm ci` (make test runs it before the tests)
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_CHECKED: list[str] = []  # the page states checked this session, for the summary
DESKTOP = {"width": 1366, "height": 768}
_SERIOUS = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
        id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }))"""


def accessible(page: Any, state: str) -> None:
    """axe-core's rules (WCAG 2.1 A/AA and best practices) on the page as it is now: no serious or critical
    violation. The script goes in through the browser's DevTools protocol: the pages' Content-Security-Policy
    allows no injected script, and it stays as it is."""
    if not AXE.is_file():
        raise AssertionError("axe-core is needed for the browser tests: run `npm ci` (make test does)")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(_SERIOUS)
    AXE_CHECKED.append(f"{state} at {page.viewport_size['width']} px")
    assert not found, f"axe: serious or critical violations in {state}: {found}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # the tests import this module by its package name, which may not be the instance pytest loaded as conftest
    from tests.browser.conftest import AXE_CHECKED as checked

    if checked:
        terminalreporter.write_line(
            f"axe-core: {len(checked)} page states checked for serious or critical violations: " + ", ".join(checked)
        )


def screenshot(page: Any, name: str) -> None:
    """A full-page screenshot of a page state, checked with axe-core first (`accessible`): into
    docs/screenshots/<name>.png with HOD_UPDATE_SCREENSHOTS=1 (`make screenshots`), else taken and thrown away, so a
    test run leaves the committed ones alone. The state is checked on the test's phone-sized screen and on a desktop."""
    accessible(page, name)
    phone = page.viewport_size
    page.set_viewport_size(DESKTOP)
    try:
        accessible(page, name)
    finally:
        page.set_viewport_size(phone)
    if os.environ.get("HOD_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    else:
        page.screenshot(full_page=True)
