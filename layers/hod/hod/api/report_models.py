"""The contract of the finding and reporting routes (part of `hod.api.models`, kept apart to keep each module
readable): the agent's filtered referrals, export and metrics, and the administrator's agent search and lists of a
day's referrals. The same rules hold: requests refuse unknown or malformed fields with 400; responses have exactly these
fields, each always present."""

# No `from __future__ import annotations`: see hod.api.models.
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from hod.api.models import ROW_STATUSES, Answer, Day, Timestamp, WholeNumber
from hod.domain.referral import ReferralStatus
from hod.services.reports import MAX_SEARCH_RESULTS, MAX_SEARCH_TEXT


# ----- the agent's referrals and numbers --------------------------------------------------------------------------
class AgentReferralsQuery(BaseModel):
    """`GET /agent/referrals`: the offers of the last `days` days, or of the days `from`–`to` in `tz`; filtered by
    status and by the consumer's name (a prefix, any case, accents optional: only referrals this agent accepted
    carry a name); a page at a time (`before` = the previous page's next_before), or every row as CSV."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    days: WholeNumber | None = Field(default=None, ge=1, le=366, description="how many days back, 1-366 (default 30)")
    from_: Day | None = Field(default=None, alias="from", description="first day assigned, YYYY-MM-DD in `tz`")
    to: Day | None = Field(default=None, description="last day assigned (included), YYYY-MM-DD in `tz`")
    tz: str = Field(default="UTC", max_length=64, description="the time zone of `from` and `to`")
    status: str | None = Field(
        default=None,
        max_length=200,
        description="one row status or several, comma-separated: " + ", ".join(ROW_STATUSES),
        examples=["pending,accepted"],
    )
    first_name: str | None = Field(default=None, max_length=50, description="the start of the consumer's first name")
    last_name: str | None = Field(default=None, max_length=50, description="the start of the consumer's last name")
    limit: WholeNumber = Field(default=1000, ge=1, le=1000, description="rows per page")
    before: AwareDatetime | None = Field(
        default=None, description="only offers made before this moment, with its offset (paging)"
    )
    format: Literal["json", "csv"] = Field(default="json", description="csv: every matching row, then the totals")

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | None) -> str | None:
        unknown = [s for s in (value or "").split(",") if s.strip() not in ROW_STATUSES]
        if value is not None and unknown:
            raise ValueError(f"unknown status {unknown[0].strip()!r}; one of {', '.join(ROW_STATUSES)}")
        return value

    @property
    def statuses(self) -> frozenset[str]:
        return frozenset(s.strip() for s in (self.status or "").split(",") if s.strip())


class AgentMetricsQuery(BaseModel):
    """`GET /agent/metrics`: the agent's numbers over the last `days` days."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    days: WholeNumber = Field(default=30, ge=1, le=366, description="how many days back, 1-366")


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
