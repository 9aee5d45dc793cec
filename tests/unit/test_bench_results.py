"""`make bench` writes its results into the existing file: the index's upkeep, run on its own, is merged like any
other part."""

from __future__ import annotations

from benchmarks.__main__ import _merge


def test_an_upkeep_run_adds_its_section_and_keeps_the_matching_figures_and_their_dates() -> None:
    # Given results of a whole run and of a later matching run
    whole = {"generated_at": "2026-11-25T12:55:00Z", "command": "make bench"}
    matching = {"generated_at": "2026-11-30T17:53:00Z", "command": "python -m benchmarks --only matching"}
    previous = {
        **whole,
        "seconds": 236,
        "match": {"agents_100000": {"scan_ratio_read_units_p50": 68.7}},
        "cold_start": {"intake_s": 0.5},
        "measured_at": {"match": matching, "cold_start": whole},
    }
    # When only the upkeep is run
    run = {
        "command": "python -m benchmarks --only upkeep",
        "generated_at": "2026-12-01T10:00:00Z",
        "seconds": 900,
        "index_upkeep": {"state": "OK", "refreshes": 10},
    }
    merged = _merge(previous, run, full=False)
    # Then its section is added with its date, the others keep theirs, and the file still describes the whole run
    assert merged["index_upkeep"] == {"state": "OK", "refreshes": 10}
    assert merged["match"] == previous["match"]
    assert merged["measured_at"] == {
        "match": matching,
        "cold_start": whole,
        "index_upkeep": {"generated_at": "2026-12-01T10:00:00Z", "command": run["command"]},
    }
    assert merged["command"] == "make bench"
