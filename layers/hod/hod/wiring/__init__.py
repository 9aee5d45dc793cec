"""The composition root: services built from settings and adapters on first use, once per process. No behaviour
lives here: each factory only builds one thing from others.

Its parts, by what they build, each loaded on its first use (`wiring.services.intake()`):

adapters  the signing keys, the DynamoDB stores, the queues, the workflow's start, the reminders
sending   the notifier and its channels, the send function's service
services  sign-in, agents and the sweep, access, links, matching, the intake, the consumer's status page
workflow  the referral workflow's tasks, answers, missed offers, waiting referrals, notices
views     the administrator's reports and coverage, an agent's referrals, the signed links' pages and answers

This module holds what they share: the factory registry, the clock, and `reset`.

Imports are made where a service is first built, not at module import: each function loads only what it uses
(the match function never imports the intake's idempotency machinery, the intake never the workflow's tasks),
which is most of a cold start's import time.

Every factory is registered by `@factory`, which both caches it and lists it for `reset`, so none can be missed."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from hod.settings import get_settings

if TYPE_CHECKING:
    from types import ModuleType

    from hod.ports.common import Clock, Timer
    from hod.wiring import adapters as adapters
    from hod.wiring import sending as sending
    from hod.wiring import services as services
    from hod.wiring import views as views
    from hod.wiring import workflow as workflow

T = TypeVar("T")

PARTS = ("adapters", "sending", "services", "workflow", "views")

# Every registered factory, as functools.cache made it (its cache_clear forgets what it built).
FACTORIES: list[functools._lru_cache_wrapper[Any]] = []


def factory(build: Callable[[], T]) -> Callable[[], T]:
    """Build on first use, then return the same object until `reset`."""
    cached = functools.cache(build)
    FACTORIES.append(cached)
    return cached


def __getattr__(name: str) -> ModuleType:
    """A part (`wiring.services`), imported on its first use: a function loads only the parts it builds from."""
    if name in PARTS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_clock: list[Clock] = []


def clock() -> Clock:
    """The process's clock: the system's, unless a test or demo has set another with `use_clock`."""
    if not _clock:
        from hod.adapters.aws import SystemClock

        _clock.append(SystemClock())
    return _clock[0]


def use_clock(replacement: Clock) -> None:
    _clock[:] = [replacement]


def timer() -> Timer:
    """The process's clock when it can also be waited on (the system's, or a test's or benchmark's `Timer`), else
    the system's: the senders pace and back off on it."""
    current = clock()
    if callable(getattr(current, "sleep", None)):
        return cast("Timer", current)
    from hod.adapters.aws import SystemClock

    return SystemClock()


def reset() -> None:
    """Forget every built service (tests and the local stack call this after changing the environment)."""
    from hod.adapters.aws import forget_clients
    from hod.adapters.dynamo import forget_connections

    get_settings.cache_clear()
    _clock.clear()
    for cached in FACTORIES:
        cached.cache_clear()
    forget_clients()
    forget_connections()
