"""Loggers for the `hod` package that write through the function's Powertools Logger, so fields become JSON keys.

Each function creates one Powertools Logger, named after its service (POWERTOOLS_SERVICE_NAME): its handler writes a
record as one JSON object, the record's `extra=` fields among its keys. Powertools leaves the root logger alone, so a
record logged on `logging.getLogger(__name__)` never reaches that handler, and on Lambda its fields are dropped. A
`hod` module therefore logs on `<service>.<module>`, the name Powertools' `Logger(child=True)` gives a child logger:
its records go up to the service's logger and out through its JSON handler, at the level POWERTOOLS_LOG_LEVEL gave it.

Unlike `Logger(child=True)`, the child is looked up when a record is written rather than at import, so a module
imported before the function's environment is set (as the local stack and the tests do) still logs under the
right service. Where no Powertools Logger exists (the admin command line), records reach the root logger as before.

In a module: `logger = get_logger(__name__)`, then `logger.info("what happened", extra={"referral_id": ...})`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

Fields = Mapping[str, object]


class ServiceLogger:
    """One module's logger, a child of the function's service logger (see the module's docstring)."""

    def __init__(self, module: str) -> None:
        self.module = module

    @property
    def child(self) -> logging.Logger:
        service = os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"  # Powertools' own fallback
        return logging.getLogger(f"{service}.{self.module}")

    def debug(self, msg: str, *, extra: Fields | None = None) -> None:
        self._log(logging.DEBUG, msg, extra)

    def info(self, msg: str, *, extra: Fields | None = None) -> None:
        self._log(logging.INFO, msg, extra)

    def warning(self, msg: str, *, extra: Fields | None = None) -> None:
        self._log(logging.WARNING, msg, extra)

    def error(self, msg: str, *, extra: Fields | None = None, exc_info: bool = False) -> None:
        self._log(logging.ERROR, msg, extra, exc_info)

    def _log(self, level: int, msg: str, extra: Fields | None, exc_info: bool = False) -> None:
        # stacklevel 3: the record's location is the line that called debug/info/warning/error, not this module
        self.child.log(level, msg, extra=extra, exc_info=exc_info, stacklevel=3)


def get_logger(module: str) -> ServiceLogger:
    """The logger for `module` (pass `__name__`)."""
    return ServiceLogger(module)
