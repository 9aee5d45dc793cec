"""The contract of the finding and reporting routes (part of `hod.api.models`, kept apart to keep each module
readable): the administrator's agent search and today's referral lists, and the agent's filtered referrals, export
and metrics. The same rules hold: requests refuse unknown or malformed fields with 400; responses have exactly these
fields, each always present."""

# No `from __future__ import annotations`: see hod.api.models.
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hod.api.models import Answer, Day, Timestamp, WholeNumber
from hod.domain.referral import ReferralStatus
from hod.services.reports import MAX_SEARCH_RESULTS, MAX_SEARCH_TEXT


# ----- the administrator's search --------------------------------------------------------------------------------
class AgentSearchQuery(BaseModel):
    """`GET /admin/search/agents`: agents by NPN, e-mail address or the start of their name."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    q: str = Field(
        min_length=1,
        max_length=MAX_SEARCH_TEXT,
        description='an NPN (digits: that agent), an e-mail address (with "@": that address, any case) or the start '
        'of a name ("garc", "ana garc", "garcia ana"; any case, accents optional)',
    )
    limit: WholeNumber = Field(default=20, ge=1, le=MAX_SEARCH_RESULTS, description="agents at most")


class AgentMatch(Answer):
    """An agent found: who, whether they can take referrals, and whether they are suspended."""

    npn: str
    first_name: str
    last_name: str
    email: str
    home_state: str
    eligible_states: list[str] = Field(description="states the agent may be offered referrals in (R2)")
    not_eligible: list[str] = Field(description="why the agent is eligible nowhere, when so")
    available_now: bool
    suspended: bool
    suspended_reason: str | None
    suspended_at: str | None = Field(description="ISO 8601, when suspended")


class AgentMatches(Answer):
    agents: list[AgentMatch] = Field(description="by last name, then first name")


class Suspension(BaseModel):
    """`POST /admin/agents/{npn}/suspend`: why (shown to the administrators, kept with the agent)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True)

    reason: str = Field(min_length=3, max_length=200, examples=["Complaint under review"])


# ----- the administrator's lists of a day's referrals -------------------------------------------------------------
class ReferralListQuery(BaseModel):
    """`GET /admin/referrals`: the referrals created on a day (today by default) in a time zone, by where they stand."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    list: Literal["open", "safety_net", "unserved"] = Field(
        description="open: still searching or offered to an agent; safety_net: in the safety net; unserved: closed "
        "without an agent"
    )
    tz: str = Field(default="UTC", max_length=64, examples=["America/Chicago"], description="the day's time zone")
    day: Day | None = Field(default=None, description="YYYY-MM-DD in `tz`; today there when absent")


class ListedReferralRow(Answer):
    referral_id: str
    status: ReferralStatus
    state: str
    language: str
    created_at: Timestamp
    safety_net_round: int


class ReferralList(Answer):
    kind: str = Field(description="the list asked for")
    tz: str
    day: date
    referrals: list[ListedReferralRow] = Field(description="oldest first")
    truncated: bool = Field(description="the day held more referrals and offers than one list reads")


# ----- the agent's own numbers -----------------------------------------------------------------------------------
class AgentMetricsReport(Answer):
    """The agent's offers over the last `days` days, counted on the server from the rows of Manage Referrals."""

    days: int
    start: Timestamp
    end: Timestamp
    offers: int = Field(description="offers received (direct and safety net)")
    by_status: dict[str, int] = Field(description="offers by the status Manage Referrals shows")
    by_outcome: dict[str, int] = Field(description="completed referrals by outcome")
    accepted: int = Field(description="referrals this agent accepted, whatever happened after")
    missed: int
    acceptance_rate_pct: float | None = Field(description="accepted / (accepted + rejected + missed)")
    response_p50_s: int | None = Field(description="median seconds from offer to answer (accepted or rejected)")
    response_p90_s: int | None = Field(description="90th percentile (nearest rank) of the same")
