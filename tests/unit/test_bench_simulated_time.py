"""The benchmarks' simulated clock: time stands still while a member works, and jumps to the earliest wake-up once
every member waits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from benchmarks.scale.simulated_time import SimulatedClock

ORIGIN = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def run_members(clock: SimulatedClock, *bodies: object) -> None:
    """Each body in a thread of its own, every thread a member before any body runs."""
    joined = threading.Barrier(len(bodies))
    threads = []
    for body in bodies:

        def member(body: object = body) -> None:
            with clock.member():
                joined.wait(timeout=10)
                body()  # type: ignore[operator]

        threads.append(threading.Thread(target=member))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_members_waiting_wake_in_order_of_their_wake_up_and_time_ends_at_the_last() -> None:
    # Given two members, one waiting 5 simulated seconds, the other 2 then 2 more
    clock = SimulatedClock(ORIGIN)
    woke: list[tuple[str, float]] = []

    def long_wait() -> None:
        clock.sleep(5)
        woke.append(("long", clock.epoch() - ORIGIN.timestamp()))

    def two_waits() -> None:
        clock.sleep(2)
        woke.append(("short", clock.epoch() - ORIGIN.timestamp()))
        clock.sleep(2)
        woke.append(("short again", clock.epoch() - ORIGIN.timestamp()))

    # When they run
    run_members(clock, long_wait, two_waits)
    # Then each woke at its own simulated moment, in that order
    assert woke == [("short", 2.0), ("short again", 4.0), ("long", 5.0)]


def test_time_stands_still_while_a_member_works() -> None:
    # Given a member waiting one simulated second, and another member busy until told to stop
    clock = SimulatedClock(ORIGIN)
    busy = threading.Event()
    stop = threading.Event()
    seen: list[float] = []

    def waiter() -> None:
        busy.wait(timeout=10)
        clock.sleep(1)
        seen.append(clock.epoch() - ORIGIN.timestamp())

    def worker() -> None:
        busy.set()
        stop.wait(timeout=10)  # working: not waiting on the clock

    def observer() -> None:
        busy.wait(timeout=10)
        threading.Event().wait(0.3)  # real time passes...
        seen.append(clock.epoch() - ORIGIN.timestamp())  # ...simulated time does not
        stop.set()

    observe = threading.Thread(target=observer)
    observe.start()
    run_members(clock, waiter, worker)
    observe.join(timeout=30)
    # Then the waiter woke only once the worker was done, at one simulated second
    assert seen == [0.0, 1.0]
