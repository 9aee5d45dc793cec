"""Agents and brokers: the record an administrator loads, what the agent sets, who may receive referrals (R2, R3)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from hod.domain.availability import Availability
from hod.domain.contact import (
    EMAIL_PATTERN,
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    PHONE_PATTERN,
    normalise_email,
    normalise_name,
    normalise_us_phone,
)
from hod.domain.languages import LANGUAGES, normalise_language
from hod.domain.marketplace import US_STATE_NAMES

_NPN = re.compile(r"^[0-9]{1,10}$")
ZIP_PATTERN = r"^\s*[0-9]{5}(-[0-9]{4})?\s*$"
_ZIP = re.compile(r"[0-9]{5}(-[0-9]{4})?")


def _state(value: str) -> str:
    code = value.strip().upper()
    if code not in US_STATE_NAMES:
        raise ValueError(f"{value!r} is not a US state or territory code")
    return code


def _zip(value: str) -> str:
    """A 5-digit ZIP code (a ZIP+4 is taken as its first five digits)."""
    code = value.strip()
    if not _ZIP.fullmatch(code):
        raise ValueError("must be a 5-digit ZIP code")
    return code[:5]


def _described(**schema: Any) -> WithJsonSchema:
    """The JSON schema the API's document gives a string its validator checks (hod.domain.contact's patterns)."""
    return WithJsonSchema({"type": "string", **schema}, mode="validation")


StateCode = Annotated[str, AfterValidator(_state), _described(enum=sorted(US_STATE_NAMES))]
ZipCode = Annotated[str, AfterValidator(_zip), _described(pattern=ZIP_PATTERN, examples=["78702"])]
PersonName = Annotated[
    str, AfterValidator(normalise_name), _described(minLength=1, maxLength=MAX_NAME_LENGTH, pattern=NAME_PATTERN)
]
Phone = Annotated[str, AfterValidator(normalise_us_phone), _described(pattern=PHONE_PATTERN, examples=["512-555-0188"])]
Email = Annotated[
    str, AfterValidator(normalise_email), _described(maxLength=254, pattern=EMAIL_PATTERN, examples=["ana@example.com"])
]
Language = Annotated[str, AfterValidator(normalise_language), _described(enum=sorted(LANGUAGES))]
# The languages the agent's pages and messages are written in (apart from the languages the agent speaks)
PageLanguage = Literal["en", "es"]


class ContactMethod(StrEnum):
    """The agent's preferred contact method (R3); e-mail is always part of it."""

    EMAIL_TEXT_APP = "email_text_app"
    EMAIL_TEXT = "email_text"
    EMAIL_APP = "email_app"
    EMAIL_ONLY = "email_only"

    @property
    def channels(self) -> frozenset[str]:
        return {
            ContactMethod.EMAIL_TEXT_APP: frozenset({"email", "text", "app"}),
            ContactMethod.EMAIL_TEXT: frozenset({"email", "text"}),
            ContactMethod.EMAIL_APP: frozenset({"email", "app"}),
            ContactMethod.EMAIL_ONLY: frozenset({"email"}),
        }[self]


class DisplayOption(IntEnum):
    """The MLMS display choice, which decides where an agent appears (R2)."""

    ALL_STATES = 1
    ALL_STATES_NO_STREET_ADDRESS = 2
    HOME_STATE_ONLY = 3
    NOT_PARTICIPATING = 4


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    street: str | None = Field(default=None, max_length=120)
    city: str | None = Field(default=None, max_length=60)
    state: StateCode | None = None
    zip: ZipCode


class Licence(BaseModel):
    """A state licence as reported by the licensing data (NIPR)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    state: StateCode
    status: str = Field(min_length=1, max_length=20, description="e.g. active, inactive, expired")
    lines_of_authority: tuple[str, ...] = Field(min_length=1, max_length=20)
    expires: date | None = None

    @field_validator("status")
    @classmethod
    def _lower_status(cls, value: str) -> str:
        return value.lower()

    @field_validator("lines_of_authority")
    @classmethod
    def _lower_loa(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(sorted({v.strip().lower() for v in value if v.strip()}))
        if not cleaned:
            raise ValueError("at least one line of authority is required")
        return cleaned

    def authorises_health(self, today: date) -> bool:
        """Active, unexpired, with a health line of authority."""
        health = any("health" in loa for loa in self.lines_of_authority)
        return self.status == "active" and health and (self.expires is None or self.expires >= today)


def _split_list(value: Any) -> Any:
    """Lists may come as one string ("en|es", "en;es", "en, es"), as CSV cells do."""
    if isinstance(value, str):
        return [part for part in re.split(r"[|;,]", value) if part.strip()]
    return value


def _parse_licences(value: Any) -> Any:
    """Licences may come as one string: "STATE:STATUS:LOA|LOA:YYYY-MM-DD" entries separated by ";"."""
    if not isinstance(value, str):
        return value
    licences = []
    for entry in (e.strip() for e in value.split(";")):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) not in (3, 4):
            raise ValueError(f"licence {entry!r} must look like TX:active:health|life:2027-12-31")
        licence: dict[str, Any] = {
            "state": parts[0],
            "status": parts[1],
            "lines_of_authority": [loa for loa in parts[2].split("|") if loa.strip()],
        }
        if len(parts) == 4 and parts[3]:
            licence["expires"] = parts[3]
        licences.append(licence)
    return licences


class AgentRecord(BaseModel):
    """One agent as an administrator loads it (from MLMS, the FFM completion list and licensing data)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    npn: str = Field(description="National Producer Number")
    first_name: PersonName
    last_name: PersonName
    email: Email = Field(description="From the agent's MLMS profile; notifications go only here")
    phone: Phone
    business_address: Address
    home_state: StateCode
    licences: Annotated[tuple[Licence, ...], BeforeValidator(_parse_licences)] = Field(max_length=60)
    ffm_registration_plan_year: int | None = Field(
        default=None,
        ge=2014,
        le=2100,
        description="Plan year for which Marketplace registration, training and CMS agreements are complete",
    )
    ffm_registration_listed: bool = Field(
        default=False, description="NPN valid on the FFM registration completion list"
    )
    hod_training_complete: bool = False
    display_option: DisplayOption
    languages: Annotated[tuple[Language, ...], BeforeValidator(_split_list)] = Field(
        default=("en",), min_length=1, max_length=20
    )
    time_zone: str | None = Field(default=None, description="IANA name; default from the business ZIP")
    contact_method: ContactMethod = ContactMethod.EMAIL_ONLY
    state_preferences: Annotated[tuple[StateCode, ...] | None, BeforeValidator(_split_list)] = None

    @field_validator("npn")
    @classmethod
    def _npn(cls, value: str) -> str:
        if not _NPN.match(value):
            raise ValueError("must be 1 to 10 digits")
        return value.lstrip("0") or "0"

    @field_validator("languages")
    @classmethod
    def _unique_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _one_licence_per_state(self) -> AgentRecord:
        states = [lic.state for lic in self.licences]
        if len(states) != len(set(states)):
            raise ValueError("licences: at most one licence per state")
        return self


PushPlatform = Literal["apns", "fcm", "webpush"]
_NATIVE_TOKEN = re.compile(r"[A-Za-z0-9:_\-.]+")
# A browser's push subscription (RFC 8291): the user agent's P-256 public key, uncompressed (65 bytes, 87 base64url
# characters, 0x04 first: "B"), and its 16-byte authentication secret (22 characters); unpadded base64url.
_P256DH = re.compile(r"^B[A-Za-z0-9_-]{86}$")
_AUTH = re.compile(r"^[A-Za-z0-9_-]{21}[AQgw]$")  # 16 bytes: the last character carries 2 bits, the rest zero
MAX_ENDPOINT_LENGTH = 2048


class WebPushKeys(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    p256dh: str = Field(
        pattern=_P256DH.pattern, description="the browser's P-256 public key, uncompressed, base64url (87 characters)"
    )
    auth: str = Field(pattern=_AUTH.pattern, description="the 16-byte authentication secret, base64url (22 characters)")


class WebPushSubscription(BaseModel):
    """A browser's push subscription as `PushSubscription.toJSON()` gives it (endpoint and keys; an expiry, which
    push services rarely set, is accepted and ignored). The endpoint must be https; whether it is an address worth
    sending to is for the push service to say (a gone one is removed on the first send)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str = Field(min_length=12, max_length=MAX_ENDPOINT_LENGTH, pattern=r"^https?://[^\s/?#@]+/\S*$")
    keys: WebPushKeys
    expirationTime: float | None = Field(default=None, description="ignored")  # the browser's name

    def device(self) -> PushDevice:
        """The subscription stored like a phone: platform "webpush", its token "<auth>.<p256dh>.<endpoint>" (neither
        key has a ".", so the token splits back unambiguously)."""
        return PushDevice(platform="webpush", token=f"{self.keys.auth}.{self.keys.p256dh}.{self.endpoint}")

    @classmethod
    def of(cls, token: str) -> WebPushSubscription:
        """The subscription a "webpush" device's token stands for (ValueError when it is not one)."""
        auth, _, rest = token.partition(".")
        p256dh, _, endpoint = rest.partition(".")
        return cls(endpoint=endpoint, keys=WebPushKeys(p256dh=p256dh, auth=auth))

    @property
    def secure(self) -> bool:
        return self.endpoint.startswith("https://")


class PushDevice(BaseModel):
    """A phone with the Help On Demand app (Pinpoint: "apns", "fcm"), or a browser's push subscription ("webpush":
    see WebPushSubscription), registered for push notifications."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: PushPlatform
    token: str = Field(min_length=8, max_length=4096)

    @model_validator(mode="after")
    def _token_fits_platform(self) -> PushDevice:
        if self.platform == "webpush":
            try:
                WebPushSubscription.of(self.token)
            except ValueError:
                raise ValueError("token: a Web Push subscription is <auth>.<p256dh>.<endpoint>") from None
        elif not _NATIVE_TOKEN.fullmatch(self.token):
            raise ValueError("token: letters, digits and : _ - . only")
        return self

    @property
    def identity(self) -> str:
        """What makes two registrations the same device: a phone's token, a browser's endpoint (its keys change when
        it subscribes again)."""
        return WebPushSubscription.of(self.token).endpoint if self.platform == "webpush" else self.token


class ProfileUpdate(BaseModel):
    """What an agent may change in their profile (R3). Omitted fields stay as they are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    languages: tuple[Language, ...] | None = Field(default=None, min_length=1, max_length=20)
    page_language: PageLanguage | None = Field(
        default=None, description="Language of your pages and messages (en or es); omit to keep"
    )
    contact_method: ContactMethod | None = None
    mobile_phone: Phone | None = None
    state_preferences: tuple[StateCode, ...] | None = Field(
        default=None, description="Narrow the states you receive referrals for; [] is refused, omit to keep"
    )
    reset_state_preferences: bool = Field(default=False, description="true: every eligible state again")


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Agent(BaseModel):
    """The stored agent: the administrator's record plus what the agent controls and the program's decisions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record: AgentRecord
    location: Location
    city: str
    county: str
    languages: tuple[str, ...]
    page_language: PageLanguage | None = Field(default=None, description="None: not chosen yet")
    contact_method: ContactMethod
    mobile_phone: str | None = Field(default=None, description="Number for text messages; default the record's")
    devices: tuple[PushDevice, ...] = ()
    state_preferences: tuple[str, ...] | None = None
    availability: Availability
    suspended: bool = False
    suspended_reason: str | None = None
    suspended_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def npn(self) -> str:
        return self.record.npn

    @property
    def text_phone(self) -> str:
        return self.mobile_phone or self.record.phone

    @property
    def time_zone(self) -> str:
        return self.availability.time_zone

    @property
    def message_language(self) -> str:
        """The language the agent's messages are written in: the one chosen for pages and messages; until one is
        chosen, the first language they speak (English when none)."""
        return self.page_language or (self.languages[0] if self.languages else "en")

    def evolve(self, **changes: Any) -> Agent:
        return self.model_copy(update=changes)


def licensed_states(record: AgentRecord, plan_year_states: frozenset[str], today: date) -> frozenset[str]:
    """HealthCare.gov states where the agent holds an active licence with a health line of authority."""
    return frozenset(
        lic.state for lic in record.licences if lic.state in plan_year_states and lic.authorises_health(today)
    )


def ineligibility_reasons(record: AgentRecord, plan_year: int) -> list[str]:
    """Why the agent cannot participate at all (empty when the program requirements are met)."""
    reasons = []
    if record.display_option is DisplayOption.NOT_PARTICIPATING:
        reasons.append("MLMS display option 4: does not participate in Help On Demand")
    if record.ffm_registration_plan_year != plan_year:
        reasons.append(f"Marketplace registration, training and CMS agreements not complete for plan year {plan_year}")
    if not record.ffm_registration_listed:
        reasons.append("NPN not on the FFM registration completion list")
    if not record.hod_training_complete:
        reasons.append("Help On Demand coursework not complete")
    return reasons


def eligible_states(
    record: AgentRecord, *, plan_year: int, plan_year_states: frozenset[str], today: date
) -> frozenset[str]:
    """States where the agent may receive referrals before preferences are applied (R2)."""
    if ineligibility_reasons(record, plan_year):
        return frozenset()
    states = licensed_states(record, plan_year_states, today)
    if record.display_option is DisplayOption.HOME_STATE_ONLY:
        states = states & {record.home_state}
    return states


def offer_states(agent: Agent, *, plan_year: int, plan_year_states: frozenset[str], today: date) -> frozenset[str]:
    """States where the agent receives referrals now: eligibility narrowed by preferences; none while suspended."""
    return taking_states(
        agent.record,
        agent.state_preferences,
        suspended=agent.suspended,
        plan_year=plan_year,
        plan_year_states=plan_year_states,
        today=today,
    )


def taking_states(
    record: AgentRecord,
    state_preferences: tuple[str, ...] | None,
    *,
    suspended: bool,
    plan_year: int,
    plan_year_states: frozenset[str],
    today: date,
) -> frozenset[str]:
    """`offer_states` from the parts of an agent it reads (for readers that do not load the whole agent)."""
    if suspended:
        return frozenset()
    states = eligible_states(record, plan_year=plan_year, plan_year_states=plan_year_states, today=today)
    if state_preferences is not None:
        states = states & frozenset(state_preferences)
    return states
