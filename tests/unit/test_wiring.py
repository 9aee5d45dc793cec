"""The composition root: every cached factory is registered, so a reset (tests, the local stack) forgets them all."""

from __future__ import annotations

import pkgutil

import pytest

from hod import wiring
from hod.settings import get_settings

# Every part of the composition root, loaded (each is otherwise loaded on its first use)
PARTS = [getattr(wiring, name) for name in wiring.PARTS]

# What the settings require (the names only: building a service reads them and calls nothing)
ENVIRONMENT = {
    "HOD_AGENTS_TABLE": "agents",
    "HOD_AVAILABLE_TABLE": "available",
    "HOD_REFERRALS_TABLE": "referrals",
    "HOD_IDEMPOTENCY_TABLE": "idempotency",
    "HOD_SIGNING_SECRET_ID": "signing",
    "HOD_ADMIN_SIGNING_SECRET_ID": "admin-signing",  # (the intake function's)
    "HOD_PLAN_YEAR": "2026",
}


def test_every_module_of_the_wiring_package_is_one_of_its_parts() -> None:
    # Given the modules the wiring package holds
    found = {module.name for module in pkgutil.iter_modules(wiring.__path__)}

    # Then each is a part, reached as `wiring.<part>` (and so walked by the checks below)
    assert found == set(wiring.PARTS)


def test_every_cached_factory_in_wiring_is_registered_for_reset() -> None:
    # Given everything the wiring package and its parts define that caches what it returns
    cached = {
        f"{module.__name__}.{name}": value
        for module in (wiring, *PARTS)
        for name, value in vars(module).items()
        if hasattr(value, "cache_clear") and value is not get_settings  # reset clears the settings itself
    }

    # Then each of them was registered by the factory decorator, which is what reset walks
    assert cached
    assert [name for name, value in cached.items() if value not in wiring.FACTORIES] == []


def test_a_reset_forgets_every_built_service_and_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given every registered factory built once (building reads settings and makes no AWS call)
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    built = [factory() for factory in wiring.FACTORIES]
    assert [factory() for factory in wiring.FACTORIES] == built  # once per process: the same objects again

    # When the wiring is reset
    wiring.reset()

    # Then each factory builds a new object
    rebuilt = [factory() for factory in wiring.FACTORIES]
    assert [
        factory.__name__ for factory, old, new in zip(wiring.FACTORIES, built, rebuilt, strict=True) if new is old
    ] == []
