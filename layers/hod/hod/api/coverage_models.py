"""The coverage map's contract: `GET /admin/coverage` and `/admin/coverage.csv` (the models the API and its OpenAPI
document share, beside hod.api.models)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hod.api.models import Answer, Timestamp
from hod.domain.agent import Language, StateCode


class CoverageQuery(BaseModel):
    """`GET /admin/coverage`: one state, every language it has or one."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    state: StateCode = Field(description="the consumers' state (two-letter code)")
    language: Language | None = Field(default=None, description="ISO 639-1 code; omit for every language")


class CoverageCell(Answer):
    """One hour of the week for one language, in the consumers' local time (the state's zone)."""

    state: str
    language: str
    hour_of_week: int = Field(ge=0, le=167, description="0 = Monday 00:00-01:00 ... 167 = Sunday 23:00-24:00")
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    hour: int = Field(ge=0, le=23)
    agents: int = Field(description="agents whose weekly hours cover at least half of this hour")
    referrals: int = Field(description="referrals that arrived in this hour over the last `weeks` weeks")
    safety_net: int = Field(description="of them, referrals that went to the safety net")
    unserved: int = Field(description="of them, referrals that ended unserved")
    safety_net_share: float | None = Field(description="safety_net / referrals (0-1); null without referrals")
    unserved_share: float | None = Field(description="unserved / referrals (0-1); null without referrals")


class CoverageMap(Answer):
    state: str
    language: str | None
    time_zone: str | None = Field(description="the zone the hours are in: most of the state's people live in it")
    week_of: date | None = Field(description="Monday of the week whose schedules were counted")
    weeks: int | None = Field(description="how many weeks of referrals are counted")
    referral_days: int | None = Field(
        description="the UTC days whose referrals are counted: weeks x 7 + 1 (today so far), fewer while the days "
        "after a deployment are still being filled in"
    )
    computed_at: Timestamp | None = Field(description="when the summary was computed; null before the first run")
    cells: list[CoverageCell]
