"""The summary of occupied cells kept beside the index: what each writer does, and that no interleaving of writers
ever hides an entry whose write has finished (hod.domain.occupancy has the argument)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hod.domain import occupancy as occ
from hod.domain.nearest import IndexEntry, SearchPolicy, find_nearest
from hod.geo import encode, haversine_km
from tests.summary_store import MemoryIndexStore, centred

AREA = "TX#en"
AUSTIN = (30.2672, -97.7431)
QUICK = SearchPolicy(probes=((5, 2),), max_cells_per_precision=8, max_skipped_cells=4)
"""A policy that gives up early (every policy is exact), to search after many steps of a test."""


def _key(npn: str, lat: float, lon: float) -> str:
    return f"{encode(lat, lon, 9)}#{npn}"


def write(store: MemoryIndexStore, remove: list[str], add: list[str], area: str = AREA, token: str = "t") -> None:
    """What the index adapter does for one write, run to the end: entries first, then the summary's upkeep."""
    for key in remove:
        store.delete(area, key)
    for key in add:
        store.put(area, key, centred(key, key.partition("#")[2]))
    added = occ.cells_by_area((area, key) for key in add)
    occ.run(occ.after_adding(added), store.execute)
    occ.run(occ.after_removing(occ.vacated(occ.cells_by_area((area, k) for k in remove), added), token), store.execute)


def summary_writes(store: MemoryIndexStore) -> list[occ.Step]:
    return [s for s in store.steps if not isinstance(s, occ.ReadSummaries | occ.ListCells | occ.CellHasEntries)]


# --- one writer at a time --------------------------------------------------------------------------------------


def test_keys_without_a_position_have_no_summary_cell() -> None:
    # Given an available-now key, a roster key and a malformed one
    # Then only the first has a summary cell: its geohash's first four characters
    assert occ.summary_cell("9v6kp0001#123") == "9v6kp"
    assert occ.summary_cell("123") is None
    assert occ.summary_cell("9v6kp#123") is None


def test_a_refresh_that_keeps_an_agent_in_place_reads_the_summary_and_writes_nothing() -> None:
    # Given an agent already in the index and its cell in the summary
    store = MemoryIndexStore()
    key = _key("1", *AUSTIN)
    write(store, [], [key])
    store.steps.clear()
    # When the sweep rewrites the entry (its availability now ends later)
    write(store, [], [key])
    # Then the only step is one read of the summary
    assert store.steps == [occ.ReadSummaries({AREA: frozenset({"9v6kp"})})]


def test_a_cell_is_taken_out_only_when_its_last_entry_leaves_and_comes_back_when_refilled() -> None:
    # Given two agents in one summary cell and one in another
    store = MemoryIndexStore()
    a, b = _key("1", *AUSTIN), _key("2", AUSTIN[0] + 0.01, AUSTIN[1])
    houston = _key("3", 29.7604, -95.3698)
    write(store, [], [a, b, houston])
    assert store.summaries[AREA].cells == {"9v6kp", "9vk1m"}
    # When the first Austin agent leaves
    store.steps.clear()
    write(store, [a], [])
    # Then the cell stays, after one read and no write
    assert store.summaries[AREA].cells == {"9v6kp", "9vk1m"}
    assert store.steps == [occ.CellHasEntries(AREA, "9v6kp")]
    # When the second leaves, the cell is taken out (and no mark is left behind)
    write(store, [b], [])
    assert store.summaries[AREA].cells == {"9vk1m"}
    assert store.summaries[AREA].closing == set()
    # When an agent comes back to it, it is put back with one write
    store.steps.clear()
    write(store, [], [a])
    assert store.summaries[AREA].cells == {"9v6kp", "9vk1m"}
    assert summary_writes(store) == [occ.OpenCells(AREA, frozenset({"9v6kp"}), frozenset())]


def test_an_agent_moving_within_a_cell_costs_no_emptiness_check() -> None:
    # Given an agent in Austin
    store = MemoryIndexStore()
    old = _key("1", *AUSTIN)
    write(store, [], [old])
    store.steps.clear()
    # When the agent moves a kilometre, within the same summary cell
    write(store, [old], [_key("1", AUSTIN[0] + 0.009, AUSTIN[1])])
    # Then the summary is only read
    assert store.steps == [occ.ReadSummaries({AREA: frozenset({"9v6kp"})})]
    assert store.summaries[AREA].cells == {"9v6kp"}


def test_entries_written_before_the_summary_existed_are_found_by_the_first_writer() -> None:
    # Given entries in three cells stored before the area had a summary (as when the summary is deployed)
    store = MemoryIndexStore()
    old = [_key("1", *AUSTIN), _key("2", 29.7604, -95.3698), _key("3", 32.7767, -96.7970)]
    for key in old:
        store.put(AREA, key, centred(key, key[-1]))
    # Then the summary is not used while incomplete: every cell may hold entries
    assert store.occupancy(AREA).cells is None
    # When any writer adds an entry to the area
    write(store, [], [_key("4", 31.5, -97.1)])
    # Then the summary holds every cell with an entry, and says it is complete
    assert store.occupancy(AREA).cells == {occ.summary_cell(k) for k in old} | {
        encode(31.5, -97.1, occ.SUMMARY_PRECISION)
    }


def test_a_mark_left_by_a_writer_that_stopped_is_cleared_by_the_next_adder() -> None:
    # Given a cell marked by a writer that stopped before its second look (the cell still holds an entry)
    store = MemoryIndexStore()
    a = _key("1", *AUSTIN)
    write(store, [], [a])
    store.execute(occ.MarkClosing(AREA, "9v6kp", "9v6kp:gone"))
    # When another agent is added to that cell
    write(store, [], [_key("2", AUSTIN[0] + 0.01, AUSTIN[1])])
    # Then the cell is still in the summary and the stale mark is gone
    assert store.summaries[AREA].cells == {"9v6kp"}
    assert store.summaries[AREA].closing == set()


# --- the race the marks are for ---------------------------------------------------------------------------------


def _last_entry_removed() -> tuple[MemoryIndexStore, occ.Upkeep, occ.Step, str]:
    """A store whose only entry in Austin's cell was just deleted, that remover's upkeep at its first step, and the
    key of another agent's entry in the same cell, not yet put."""
    store = MemoryIndexStore()
    a, b = _key("1", *AUSTIN), _key("2", AUSTIN[0] + 0.01, AUSTIN[1])
    write(store, [], [a])
    store.delete(AREA, a)
    remover = occ.after_removing({AREA: frozenset({"9v6kp"})}, "r")
    return store, remover, next(remover), b


def test_an_adder_that_sees_a_mark_puts_the_cell_back_whichever_write_lands_first() -> None:
    for close_first in (True, False):
        # Given a remover that has emptied a cell, marked it and looked again (empty)
        store, remover, step, b = _last_entry_removed()
        for _ in range(2):  # the first look, the mark
            step = remover.send(store.execute(step))
        step = remover.send(store.execute(step))  # the second look: empty
        assert isinstance(step, occ.CloseCell)
        # and an adder that puts an entry there and reads the summary (it sees the mark)
        store.put(AREA, b, centred(b, "2"))
        adder = occ.after_adding({AREA: frozenset({"9v6kp"})})
        opening = adder.send(None)
        opening = adder.send(store.execute(opening))
        assert opening == occ.OpenCells(AREA, frozenset({"9v6kp"}), frozenset({"9v6kp:r"}))
        # When the remover's removal and the adder's write land in either order
        if close_first:
            assert store.execute(step) is True
            store.execute(opening)
        else:
            store.execute(opening)
            assert store.execute(step) is False
        # Then, once both are done, the cell with the new entry is in the summary
        assert store.summaries[AREA].cells == {"9v6kp"}


def test_a_remover_that_finds_an_entry_on_its_second_look_leaves_the_cell_in() -> None:
    # Given a remover that emptied a cell and saw it empty
    store, remover, step, b = _last_entry_removed()
    step = remover.send(store.execute(step))
    assert isinstance(step, occ.MarkClosing)
    # and an adder that put an entry there and read the summary before the mark (so it writes nothing)
    store.put(AREA, b, centred(b, "2"))
    occ.run(occ.after_adding({AREA: frozenset({"9v6kp"})}), store.execute)
    assert not summary_writes(store)[1:]
    # When the remover marks the cell and looks again
    steps = [step]
    while True:
        try:
            steps.append(remover.send(store.execute(steps[-1])))
        except StopIteration:
            break
    # Then it sees the entry, takes its mark off and never removes the cell
    assert steps[1:] == [occ.CellHasEntries(AREA, "9v6kp"), occ.Unmark(AREA, "9v6kp:r")]
    assert store.summaries[AREA].cells == {"9v6kp"}
    assert store.summaries[AREA].closing == set()


# --- any interleaving of writers --------------------------------------------------------------------------------


@dataclass
class Writer:
    """One index write (deletes, puts) and then the upkeep, advanced one atomic step at a time."""

    ident: int
    remove: list[str]
    add: list[str]
    area: str

    def run(self, world: World) -> Iterator[None]:
        store = world.store
        for key in self.remove:
            world.delete(self.area, key)
            yield
        for key in self.add:
            store.put(self.area, key, centred(key, key.partition("#")[2]))
            world.putters.setdefault((self.area, key), set()).add(self.ident)
            yield
        added = occ.cells_by_area((self.area, key) for key in self.add)
        yield from self._drive(store, occ.after_adding(added))
        world.finished.add(self.ident)
        removed = occ.vacated(occ.cells_by_area((self.area, key) for key in self.remove), added)
        yield from self._drive(store, occ.after_removing(removed, f"w{self.ident}"))

    @staticmethod
    def _drive(store: MemoryIndexStore, upkeep: occ.Upkeep) -> Iterator[None]:
        try:
            step = next(upkeep)
            while True:
                answer = store.execute(step)
                yield
                step = upkeep.send(answer)
        except StopIteration:
            return


@dataclass
class World:
    store: MemoryIndexStore = field(default_factory=MemoryIndexStore)
    putters: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    """Writers that put each present entry since it was last deleted."""
    finished: set[int] = field(default_factory=set)
    """Writers whose upkeep after adding has run to the end."""

    def delete(self, area: str, key: str) -> None:
        self.store.delete(area, key)
        self.putters.pop((area, key), None)

    def visible(self, area: str) -> list[IndexEntry]:
        """Entries a search through the summary can see: all of them while the summary is incomplete."""
        cells = self.store.occupancy(area).cells
        entries = self.store.entries.get(area, {})
        return [e for k, e in entries.items() if cells is None or occ.summary_cell(k) in cells]

    def check(self, consumers: list[tuple[float, float]]) -> None:
        """No entry whose write has finished is hidden; a search through the summary returns an entry that is
        there, and no visible entry beats it (it may also find one whose write is still running)."""
        for area, entries in self.store.entries.items():
            cells = self.store.occupancy(area).cells
            for key in entries:
                if self.putters.get((area, key), set()) & self.finished:
                    assert cells is not None
                    assert occ.summary_cell(key) in cells, (area, key, cells)
            for lat, lon in consumers:
                found = find_nearest(self.store, area, lat, lon, policy=QUICK).entry
                best_visible = nearest_of(self.visible(area), lat, lon)
                if best_visible is None:
                    assert found is None or found in entries.values()
                else:
                    assert found in entries.values()
                    assert _rank(found, lat, lon) <= _rank(best_visible, lat, lon)


def _rank(entry: IndexEntry, lat: float, lon: float) -> tuple[float, str]:
    return haversine_km(lat, lon, entry.lat, entry.lon), entry.npn


def nearest_of(entries: Iterable[IndexEntry], lat: float, lon: float) -> IndexEntry | None:
    return min(entries, key=lambda e: _rank(e, lat, lon), default=None)


def _spots(rng: random.Random) -> list[tuple[float, float]]:
    """Three points: two in one summary cell and one in the next, so writers meet in the same cells."""
    jitter = rng.uniform(0.0, 0.002)
    return [AUSTIN, (AUSTIN[0] + 0.003, AUSTIN[1] + jitter), (AUSTIN[0] + 0.03, AUSTIN[1] - jitter)]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    writers=st.integers(min_value=2, max_value=14),
    preexisting=st.integers(min_value=0, max_value=4),
    crash_share=st.sampled_from([0.0, 0.0, 0.1]),
    ttl_deletes=st.integers(min_value=0, max_value=2),
)
def test_no_interleaving_of_writers_hides_an_entry_whose_write_finished(
    seed: int, writers: int, preexisting: int, crash_share: float, ttl_deletes: int
) -> None:
    # Given an area around Austin, perhaps with entries written before it had a summary, and agents that come,
    # go, move (among a few spots, so cells empty and refill) and are added twice, all at once
    rng = random.Random(seed)
    world = World()
    spots = _spots(rng)
    npns = [str(n) for n in range(1, 5)]
    for npn in rng.sample(npns, preexisting):
        key = _key(npn, *rng.choice(spots))
        world.store.put(AREA, key, centred(key, npn))
    where: dict[str, str | None] = {npn: None for npn in npns}
    pending: list[Writer] = []
    for ident in range(writers):
        npn = rng.choice(npns)
        new = _key(npn, *rng.choice(spots)) if rng.random() < 0.5 else None
        old = where[npn]
        pending.append(Writer(ident, [old] if old and old != new else [], [new] if new else [], AREA))
        where[npn] = new
    running = {w.ident: w.run(world) for w in pending}
    consumers = [(AUSTIN[0] + rng.uniform(-0.4, 0.4), AUSTIN[1] + rng.uniform(-0.4, 0.4)) for _ in range(2)]
    crashed: list[Writer] = []
    # When their atomic steps interleave at random, some writers stop for good, and the TTL deletes entries
    ident = 0
    while running:
        if ident not in running or rng.random() < 0.5:  # runs of steps by one writer, then a switch
            ident = rng.choice(sorted(running))
        if rng.random() < crash_share / 4:
            del running[ident]
            crashed.append(pending[ident])
            event("a writer stopped")
            continue
        if ttl_deletes and rng.random() < 0.02 and world.store.entries.get(AREA):
            ttl_deletes -= 1
            world.delete(AREA, rng.choice(sorted(world.store.entries[AREA])))
        try:
            next(running[ident])
        except StopIteration:
            del running[ident]
        # Then after every step no finished write's entry is hidden, and a search never misses a visible entry
        world.check(consumers if rng.random() < 0.2 else [])
    # And once every entry left by a stopped writer is written again (the agent's next refresh), the summary
    # covers every entry and a search through it matches brute force over the whole index
    for writer in crashed:
        present = [key for key in writer.add if key in world.store.entries.get(AREA, {})]
        for _ in Writer(writers + writer.ident, [], present, AREA).run(world):
            pass
    world.check([])
    everything = list(world.store.entries.get(AREA, {}).values())
    assert len(world.visible(AREA)) == len(everything)
    for lat, lon in consumers:
        assert find_nearest(world.store, AREA, lat, lon).entry == nearest_of(everything, lat, lon)
    record = world.store.summaries.get(AREA)
    event(f"summary cells at the end: {len(record.cells) if record else None}")


@settings(max_examples=100, deadline=None, database=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_writers_one_after_another_keep_the_summary_exact(seed: int) -> None:
    # Given agents coming and going among a few spots, one write at a time
    rng = random.Random(seed)
    store = MemoryIndexStore()
    spots = _spots(rng)
    where: dict[str, str | None] = {str(n): None for n in range(5)}
    for _ in range(30):
        npn = rng.choice(sorted(where))
        new = _key(npn, *rng.choice(spots)) if rng.random() < 0.5 else None
        old = where[npn]
        # When each write and its upkeep run to the end
        write(store, [old] if old and old != new else [], [new] if new else [], token=str(rng.random()))
        where[npn] = new
        # Then the summary names exactly the cells that hold entries: emptied cells leave, refilled ones return
        occupied = {occ.summary_cell(key) for key in store.entries.get(AREA, {})}
        if AREA in store.summaries:
            assert store.summaries[AREA].cells == occupied
            assert store.summaries[AREA].closing == set()
