"""`make bench`'s scale section: the service at national scale, one module per figure.

`FIGURES` maps each figure's name to its module's `run(log, progress) -> dict`; `python -m benchmarks --only scale`
runs them all (`--only scale.partitions` one of them) and their results go to the JSON under "scale".
docs/benchmarks.md says what each figure measures and how.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.counting import CallLog
from benchmarks.scale import burst, coverage, partitions, safety_net, sweep

Figure = Callable[[CallLog, Callable[[str], None]], dict[str, Any]]
FIGURES: dict[str, Figure] = {
    "burst": lambda _log, progress: burst.run(progress),
    "partitions": partitions.run,
    "sweep": sweep.run,
    "safety_net": safety_net.run,
    "coverage": coverage.run,
}


def run(log: CallLog, progress: Callable[[str], None], only: set[str] | None = None) -> dict[str, Any]:
    """Every figure (or those named in `only`), by name."""
    return {name: figure(log, progress) for name, figure in FIGURES.items() if only is None or name in only}
