"""`hod-admin import`: a file it cannot use is named in one plain line, before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from hod import cli

API = "http://127.0.0.1:9"  # never reached: each file below is refused before any request


def run_import(path: Path) -> str:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["import", str(path), "--api", API, "--token", "t"])
    return str(stopped.value.code)


def test_a_missing_file_is_named_without_a_traceback(tmp_path: Path) -> None:
    # Given a path with no file
    missing = tmp_path / "agents.csv"
    # When it is imported; Then the command stops with one line naming the file and the problem
    message = run_import(missing)
    assert message.startswith(f"cannot read {missing}:")
    assert "No such file" in message


def test_a_file_that_is_not_json_says_where_it_breaks(tmp_path: Path) -> None:
    # Given a .json file that is not JSON
    broken = tmp_path / "agents.json"
    broken.write_text('[{"npn": "1",\n  oops', encoding="utf-8")
    # When it is imported; Then the line and column are named
    assert run_import(broken).startswith("not valid JSON (line 2, column 3)")


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    # Given a CSV saved in Latin-1
    latin = tmp_path / "agents.csv"
    latin.write_bytes("npn,first_name\n1,José\n".encode("latin-1"))
    # When it is imported; Then the command asks for UTF-8
    assert run_import(latin) == f"{latin} is not UTF-8 text: save it as UTF-8 (CSV or JSON)"


def test_the_readmes_sample_file_is_valid_for_import() -> None:
    # Given the sample file the README's import command names
    sample = Path(__file__).resolve().parents[2] / "examples" / "agents.csv"
    # Then every row parses into an agent record the import accepts (the same validation the API runs)
    from hod.api.agent_import import parse_import
    from hod.domain.agent import AgentRecord

    records = [AgentRecord.model_validate(row) for row in parse_import(sample.read_bytes(), "text/csv")]
    assert [r.npn for r in records] == ["18000001", "18000002", "18000003", "18000004", "18000005"]
    assert {language for r in records for language in r.languages} >= {"en", "es", "vi", "zh"}
