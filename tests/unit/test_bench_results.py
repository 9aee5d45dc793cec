"""`make bench` writes its results into the existing file: a partial run replaces only the parts it measured."""

from __future__ import annotations

from benchmarks.__main__ import _merged


def _run(generated_at: str, **parts: object) -> dict[str, object]:
    return {
        "command": f"run at {generated_at}",
        "generated_at": generated_at,
        "machine": {"cpus": 2},
        "targets": {},
        "verdicts": {},
        "seconds": 10,
        **parts,
    }


def test_a_partial_run_replaces_its_parts_and_keeps_the_rest() -> None:
    # Given results of a whole run (no record yet of which run made which part)
    previous = _run("T1", match=_match(140), build={"layer": 1}, size_bytes={"intake": 2})
    # When only the matching part is run again
    merged = _merged(previous, _run("T2", match=_match(1500)))
    # Then the match part is the new one, the others are kept, each part says which run it comes from, and the
    # verdicts are those of the merged results
    assert merged["match"] == _match(1500)
    assert merged["build"] == {"layer": 1}
    assert merged["size_bytes"] == {"intake": 2}
    runs = merged["section_runs"]
    assert runs["match"]["generated_at"] == "T2"
    assert runs["build"]["generated_at"] == runs["size_bytes"]["generated_at"] == "T1"
    assert merged["verdicts"]["scan_ratio>=1000"] is True
    # And a later partial run keeps that record for the parts it does not touch
    again = _merged(merged, _run("T3", build={"layer": 3}))
    assert again["section_runs"]["match"]["generated_at"] == "T2"
    assert again["section_runs"]["build"]["generated_at"] == "T3"
    assert again["generated_at"] == "T3"


def _match(scan_ratio: int) -> dict[str, object]:
    return {"agents_1000": {"items_read_p95": 4, "items_read_max": 13, "scan_ratio_p50": scan_ratio}}
