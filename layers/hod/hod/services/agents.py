"""Agent use cases: bulk import, profile and availability changes, and keeping the available-now index true."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from hod import geo, zipdir
from hod.domain import availability as av
from hod.domain.agent import (
    Agent,
    AgentRecord,
    Location,
    ProfileUpdate,
    PushDevice,
    WebPushSubscription,
    eligible_states,
    ineligibility_reasons,
    offer_states,
)
from hod.domain.marketplace import healthcare_gov_states
from hod.errors import FIELD_PROBLEMS, Conflict, FieldProblem, NotFound, ValidationFailed
from hod.ports.agents import AgentStore, AvailableIndex, Invitations, Placement, StoredAgent
from hod.ports.common import Clock
from hod.shards import ROSTER_SHARDS, every_key, key_for

MAX_IMPORT_RECORDS = 1000
MAX_DEVICES = 5
_SAVE_ATTEMPTS = 3


# Pydantic's own kinds of error, by the stable name of the problem they are (a validator of this project names its
# problem itself: `hod.errors.problem`)
_PYDANTIC_PROBLEMS: dict[str, FieldProblem] = {
    "missing": "required",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "literal_error": "not_an_option",
    "enum": "not_an_option",
    "extra_forbidden": "unknown_field",
    "time_parsing": "time_format",
    "time_type": "time_format",
    "datetime_parsing": "date_time_format",
    "datetime_from_date_parsing": "date_time_format",
    "datetime_type": "date_time_format",
    "timezone_aware": "date_time_format",
}


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """Pydantic's errors as {"field.path": "message"}."""
    return {path: message for path, (message, _) in _problems(exc, prefix).items()}


def invalid(exc: ValidationError) -> ValidationFailed:
    """Pydantic's errors as a refusal: each field's message and its problem's stable name."""
    found = _problems(exc)
    return ValidationFailed(
        {path: message for path, (message, _) in found.items()},
        problems={path: key for path, (_, key) in found.items()},
    )


def _problems(exc: ValidationError, prefix: str = "") -> dict[str, tuple[str, FieldProblem]]:
    """The first problem of each field path: its message and its stable name."""
    found: dict[str, tuple[str, FieldProblem]] = {}
    for err in exc.errors():
        path = ".".join(str(part) for part in err["loc"]) or "body"
        message = err["msg"].removeprefix("Value error, ")
        kind = err["type"]
        key = cast(FieldProblem, kind) if kind in FIELD_PROBLEMS else _PYDANTIC_PROBLEMS.get(kind, "invalid")
        found.setdefault(f"{prefix}{path}", (message, key))
    return found


@dataclass(frozen=True)
class ImportResult:
    row: int
    npn: str | None
    status: Literal["created", "updated", "unchanged", "refused"]
    errors: dict[str, str] = field(default_factory=dict)
    eligible_states: tuple[str, ...] = ()
    not_eligible: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    results: list[ImportResult]

    @property
    def summary(self) -> dict[str, int]:
        counts = {"received": len(self.results), "created": 0, "updated": 0, "unchanged": 0, "refused": 0}
        for result in self.results:
            counts[result.status] += 1
        return counts


@dataclass(frozen=True)
class AgentView:
    """An agent with what the program computes about them right now."""

    agent: Agent
    eligible_states: frozenset[str]
    offer_states: frozenset[str]
    not_eligible: tuple[str, ...]
    available_now: bool
    next_change: datetime | None


class AgentService:
    def __init__(
        self,
        store: AgentStore,
        index: AvailableIndex,
        clock: Clock,
        plan_year: int,
        zip_lookup: Callable[[str], zipdir.ZipPlace | None] = zipdir.lookup,
        invitations: Invitations | None = None,
        http_push_endpoints: bool = False,
    ) -> None:
        self._invitations = invitations
        self._http_push_endpoints = http_push_endpoints  # plain-http Web Push endpoints: a local stack's, tests'
        self._store = store
        self._index = index
        self._clock = clock
        self._plan_year = plan_year
        self._zip_lookup = zip_lookup

    # ----- reading -------------------------------------------------------------------------------------------
    def view(self, npn: str) -> AgentView:
        stored = self._store.get(npn)
        if stored is None:
            raise NotFound(f"Agent {npn}", "agent_not_found")
        return self._view(stored.agent, self._clock.now())

    def view_of(self, agent: Agent) -> AgentView:
        """What the program computes about this agent now (an agent already read, e.g. by a search)."""
        return self._view(agent, self._clock.now())

    def _view(self, agent: Agent, now: datetime) -> AgentView:
        today = av.local_date(agent.availability, now)
        states = healthcare_gov_states(self._plan_year)
        return AgentView(
            agent=agent,
            eligible_states=eligible_states(
                agent.record, plan_year=self._plan_year, plan_year_states=states, today=today
            ),
            offer_states=offer_states(agent, plan_year=self._plan_year, plan_year_states=states, today=today),
            not_eligible=tuple(ineligibility_reasons(agent.record, self._plan_year)),
            available_now=av.is_available(agent.availability, now),
            next_change=av.next_change(agent.availability, now),
        )

    # ----- bulk import ---------------------------------------------------------------------------------------
    def import_agents(self, rows: Sequence[Mapping[str, Any]]) -> ImportReport:
        if len(rows) > MAX_IMPORT_RECORDS:
            raise ValidationFailed(
                {"records": f"at most {MAX_IMPORT_RECORDS} records per request (the CLI splits larger files)"}
            )
        seen: dict[str, int] = {}
        results: list[ImportResult] = []
        for row_number, row in enumerate(rows, start=1):
            result = self._import_one(row_number, row, seen)
            results.append(result)
        return ImportReport(results)

    def _import_one(self, row_number: int, row: Mapping[str, Any], seen: dict[str, int]) -> ImportResult:
        raw_npn = (str(row.get("npn", "")).strip() or None) if isinstance(row, Mapping) else None
        try:
            record = AgentRecord.model_validate(row)
        except ValidationError as exc:
            return ImportResult(row_number, raw_npn, "refused", field_errors(exc))
        if record.npn in seen:
            return ImportResult(
                row_number,
                record.npn,
                "refused",
                {"npn": f"duplicate of row {seen[record.npn]} in this import"},
            )
        seen[record.npn] = row_number
        place = self._zip_lookup(record.business_address.zip)
        if place is None:
            return ImportResult(
                row_number,
                record.npn,
                "refused",
                {"business_address.zip": "unknown ZIP code, or one with no usable location"},
            )
        time_zone = record.time_zone or place.time_zone
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ImportResult(row_number, record.npn, "refused", {"time_zone": f"unknown time zone {time_zone!r}"})
        now = self._clock.now()
        states = healthcare_gov_states(self._plan_year)
        today = now.astimezone(ZoneInfo(time_zone)).date()
        eligible = eligible_states(record, plan_year=self._plan_year, plan_year_states=states, today=today)
        if record.state_preferences is not None:
            wider = sorted(set(record.state_preferences) - eligible)
            if wider:
                return ImportResult(
                    row_number,
                    record.npn,
                    "refused",
                    {"state_preferences": f"not eligible in {', '.join(wider)}; preferences can only narrow"},
                )
        location = Location(lat=place.lat, lon=place.lon)
        for _ in range(_SAVE_ATTEMPTS):
            stored = self._store.get(record.npn)
            if stored is None:
                agent = Agent(
                    record=record,
                    location=location,
                    city=place.city,
                    county=place.county,
                    languages=record.languages,
                    contact_method=record.contact_method,
                    state_preferences=record.state_preferences,
                    availability=av.default_availability(time_zone),
                    created_at=now,
                    updated_at=now,
                )
                status: Literal["created", "updated", "unchanged"] = "created"
            else:
                # The administrator's data is replaced; what the agent chose (languages, page language, contact method,
                # preferences, availability) is kept.
                agent = stored.agent.evolve(record=record, location=location, city=place.city, county=place.county)
                if agent == stored.agent:
                    return self._result(row_number, "unchanged", agent, now)
                agent = agent.evolve(updated_at=now)
                status = "updated"
            try:
                self._save(stored, agent, now)
            except Conflict:
                continue
            result = self._result(row_number, status, agent, now)
            newly_eligible = stored is None or not self._view(stored.agent, now).eligible_states
            if self._invitations and result.eligible_states and agent.record.email and newly_eligible:
                self._invitations.queue_invite(agent.npn)  # an account invitation, sent by the sweep
            return result
        return ImportResult(row_number, record.npn, "refused", {"npn": "changed concurrently; import it again"})

    def _result(
        self, row: int, status: Literal["created", "updated", "unchanged"], agent: Agent, now: datetime
    ) -> ImportResult:
        view = self._view(agent, now)
        return ImportResult(
            row,
            agent.npn,
            status,
            eligible_states=tuple(sorted(view.eligible_states)),
            not_eligible=view.not_eligible,
        )

    # ----- the agent's own changes ---------------------------------------------------------------------------
    def update_profile(self, npn: str, update: ProfileUpdate) -> AgentView:
        def change(agent: Agent, now: datetime) -> Agent:
            changes: dict[str, Any] = {}
            if update.languages is not None:
                changes["languages"] = tuple(dict.fromkeys(update.languages))
            if update.page_language is not None:
                changes["page_language"] = update.page_language
            if update.contact_method is not None:
                changes["contact_method"] = update.contact_method
            if update.mobile_phone is not None:
                changes["mobile_phone"] = update.mobile_phone
            if update.reset_state_preferences:
                changes["state_preferences"] = None
            elif update.state_preferences is not None:
                view = self._view(agent, now)
                wanted = tuple(sorted(set(update.state_preferences)))
                if not wanted:
                    raise ValidationFailed(
                        {"state_preferences": "choose at least one state"}, problems={"state_preferences": "no_state"}
                    )
                wider = sorted(set(wanted) - view.eligible_states)
                if wider:
                    raise ValidationFailed(
                        {
                            "state_preferences": f"you are not eligible in {', '.join(wider)}; "
                            f"eligible: {', '.join(sorted(view.eligible_states)) or 'none'}"
                        },
                        problems={"state_preferences": "state_not_eligible"},
                    )
                changes["state_preferences"] = wanted
            return agent.evolve(**changes)

        return self._change(npn, change)

    def register_device(self, npn: str, device: PushDevice) -> AgentView:
        """Add a phone or a browser for app push (the newest five are kept; registering one again replaces it)."""
        web = device.platform == "webpush"
        if web and not self._http_push_endpoints and not WebPushSubscription.of(device.token).secure:
            raise ValidationFailed({"endpoint": "must be an https address"}, problems={"endpoint": "https_required"})

        def change(agent: Agent, now: datetime) -> Agent:
            others = tuple(d for d in agent.devices if d.identity != device.identity)
            return agent.evolve(devices=(*others, device)[-MAX_DEVICES:])

        return self._change(npn, change)

    def set_weekly_schedule(self, npn: str, weekly: av.WeeklySchedule, time_zone: str | None = None) -> AgentView:
        def change(agent: Agent, now: datetime) -> Agent:
            updates: dict[str, Any] = {"weekly": weekly}
            if time_zone is not None:
                updates["time_zone"] = time_zone
            return agent.evolve(availability=_availability(agent.availability, updates))

        return self._change(npn, change)

    def set_today(self, npn: str, available: bool | None, stop_at: Any = None) -> AgentView:
        """Today's Availability: True (until `stop_at`), False (rest of the day), None (back to the schedule)."""

        def change(agent: Agent, now: datetime) -> Agent:
            if available is None:
                return agent.evolve(availability=_availability(agent.availability, {"today": None}))
            today = av.local_date(agent.availability, now)
            try:
                override = av.TodayOverride(date=today, available=available, stop_at=stop_at if available else None)
            except ValidationError as exc:
                raise invalid(exc) from exc
            return agent.evolve(availability=_availability(agent.availability, {"today": override}))

        return self._change(npn, change)

    def set_out_of_office(self, npn: str, period: av.OutOfOffice | None) -> AgentView:
        def change(agent: Agent, now: datetime) -> Agent:
            return agent.evolve(availability=_availability(agent.availability, {"out_of_office": period}))

        return self._change(npn, change)

    def refresh(self, npn: str, due_at: int | None = None) -> AgentView | None:
        """Re-evaluate one agent (a worker calls this when the agent's next change falls due, at `due_at`: epoch
        seconds, evaluated no earlier, should this machine's clock be a little behind the queue's)."""
        not_before = datetime.fromtimestamp(due_at, UTC) if due_at is not None else None
        try:
            return self._change(npn, lambda agent, now: agent, force=True, not_before=not_before)
        except NotFound:
            return None

    def refresh_all(self, npns: Sequence[str], due_at: int) -> None:
        """Re-evaluate agents whose changes fell due together at `due_at` (as `refresh`), read in one request. One
        whose save loses a race (the agent saved something at that moment) is read again and refreshed on its own."""
        not_before = datetime.fromtimestamp(due_at, UTC)
        for stored in self._store.get_many(npns):
            try:
                self._save(stored, stored.agent, max(self._clock.now(), not_before))
            except Conflict:
                self.refresh(stored.agent.npn, due_at)

    def _change(
        self,
        npn: str,
        change: Callable[[Agent, datetime], Agent],
        force: bool = False,
        not_before: datetime | None = None,
    ) -> AgentView:
        for _ in range(_SAVE_ATTEMPTS):
            stored = self._store.get(npn)
            if stored is None:
                raise NotFound(f"Agent {npn}", "agent_not_found")
            now = self._clock.now() if not_before is None else max(self._clock.now(), not_before)
            agent = change(stored.agent, now)
            if agent != stored.agent:
                agent = agent.evolve(updated_at=now)
            elif not force:
                return self._view(agent, now)
            try:
                self._save(stored, agent, now)
            except Conflict:
                continue
            return self._view(agent, now)
        raise Conflict("Your profile was changed at the same time elsewhere; please try again.", "changed_elsewhere")

    # ----- the available-now index ----------------------------------------------------------------------------
    def _save(self, stored: StoredAgent | None, agent: Agent, now: datetime) -> None:
        placements, next_change_at = self.placements(agent, now)
        keys = frozenset((p.area, p.cell) for p in placements)
        self._store.save(
            agent,
            expected_version=stored.version if stored else None,
            placements=keys,
            next_change_at=next_change_at,
        )
        old = stored.placements if stored else frozenset()
        # Available-now entries carry the time of the next change, so they are rewritten; roster entries only once.
        fresh = [p for p in placements if p.until or (p.area, p.cell) not in old]
        self._index.replace(remove=old - keys, add=fresh)

    def placements(self, agent: Agent, now: datetime) -> tuple[list[Placement], int]:
        """Where the agent must appear in the agent index at `now`, and when to look again.

        Two kinds of entry: the roster of each state the agent takes referrals in (for the safety net, whatever the
        hour), and, while the agent is available, one available-now entry per state and language (for matching).
        The next look is the agent's next availability change, or the next local midnight (licence expiry and
        Today's Availability go by local date), whichever comes first."""
        zone = agent.availability.zone
        local_now = now.astimezone(zone)
        midnight = datetime.combine(local_now.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        change = av.next_change(agent.availability, now)
        look_again = min(change, midnight) if change is not None else midnight
        until = int(look_again.timestamp())
        states = sorted(
            offer_states(
                agent,
                plan_year=self._plan_year,
                plan_year_states=healthcare_gov_states(self._plan_year),
                today=local_now.date(),
            )
        )
        lat, lon = agent.location.lat, agent.location.lon
        placements = [Placement(roster_area(state, agent.npn), agent.npn, agent.npn, lat, lon, 0) for state in states]
        if av.is_available(agent.availability, now):
            cell = f"{geo.encode(lat, lon, 9)}#{agent.npn}"
            placements += [
                Placement(f"{state}#{language}", cell, agent.npn, lat, lon, until)
                for state in states
                for language in agent.languages
            ]
        return placements, until

    def roster(self, state: str) -> list[str]:
        """NPNs of every agent who takes referrals in `state`, available or not (the safety net's recipients), from
        every shard of the state's roster."""
        return [entry.npn for area in roster_areas(state) for entry in self._index.query(area, "")]

    def suspend(self, npn: str, reason: str) -> AgentView:
        return self._change(
            npn, lambda agent, now: agent.evolve(suspended=True, suspended_reason=reason, suspended_at=now)
        )

    def reactivate(self, npn: str) -> AgentView:
        return self._change(
            npn, lambda agent, now: agent.evolve(suspended=False, suspended_reason=None, suspended_at=None)
        )


def roster_area(state: str, npn: str) -> str:
    """The area of the agent's entry in the state's roster: "ROSTER#TX" spread over ROSTER_SHARDS by NPN."""
    return key_for(f"ROSTER#{state}", npn, ROSTER_SHARDS)


def roster_areas(state: str) -> list[str]:
    """Every shard of the state's roster."""
    return every_key(f"ROSTER#{state}", ROSTER_SHARDS)


def _availability(current: av.Availability, updates: dict[str, Any]) -> av.Availability:
    try:
        return av.Availability.model_validate({**dict(current), **updates})
    except ValidationError as exc:
        raise invalid(exc) from exc
