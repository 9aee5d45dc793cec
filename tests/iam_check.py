"""pytest plugin: every AWS call a function, the state machine or the Scheduler's role makes during the run is
recorded (local/iam/recorder.py) and, when the session ends, checked against the template's IAM as `sam deploy`
creates it. A call the policies do not allow fails the session, naming principal, action and resource.

Local stacks started in a subprocess (the browser tests) record into HOD_IAM_RECORD, a directory this plugin makes
and reads back at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.cfn import load_template
from local.iam.check import check
from local.iam.recorder import Recorder, dump, install, load

RECORD_VARIABLE = "HOD_IAM_RECORD"
_state: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    directory = Path(tempfile.mkdtemp(prefix="hod-iam-"))
    os.environ[RECORD_VARIABLE] = str(directory)
    _state["directory"] = directory
    _state["recorder"] = install(load_template())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    recorder = _state.get("recorder")
    if isinstance(recorder, Recorder):
        recorder.where = item.nodeid
    yield


def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder, directory = _state.get("recorder"), _state.get("directory")
    if not isinstance(recorder, Recorder) or not isinstance(directory, Path):
        return
    runs = list(recorder.runs)
    for path in sorted(directory.glob("*.jsonl")):
        runs.extend(load(path))
    shutil.rmtree(directory, ignore_errors=True)
    if os.environ.get("HOD_IAM_KEEP"):  # every run and call, for `python -m local.iam.check FILE --used`
        dump(runs, Path(os.environ["HOD_IAM_KEEP"]))
    if not runs and not recorder.outside_runs:
        return
    report = check(runs, unplaced=recorder.outside_runs)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(report.text(), red=not report.ok, green=report.ok)
    if not report.ok:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
