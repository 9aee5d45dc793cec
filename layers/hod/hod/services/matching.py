"""Matching (R5): the nearest agent who is available now, speaks the language and is eligible in the state."""

from __future__ import annotations

from collections.abc import Collection

from hod.domain.nearest import IndexEntry, NearestResult, find_nearest
from hod.domain.referral import Place, Referral
from hod.ports import AvailableIndex, Clock


class MatchingService:
    def __init__(self, index: AvailableIndex, clock: Clock) -> None:
        self._index = index
        self._clock = clock

    def next_agent(self, referral: Referral, exclude: Collection[str] = ()) -> NearestResult:
        """The closest agent not yet offered this referral (ties: lowest NPN), or none."""
        return self.nearest(referral.place, referral.language, exclude)

    def nearest(self, place: Place, language: str, exclude: Collection[str] = ()) -> NearestResult:
        """The closest agent to `place` speaking `language`, not in `exclude` (ties: lowest NPN), or none.

        The index holds only agents eligible in the state, speaking the language and available; an entry whose
        availability window has passed (the sweep has not yet removed it) is skipped."""
        now = int(self._clock.now().timestamp())

        def still_available(entry: IndexEntry) -> bool:
            return entry.until > now

        return find_nearest(
            self._index,
            f"{place.state}#{language}",
            place.lat,
            place.lon,
            exclude=exclude,
            accept=still_available,
        )
