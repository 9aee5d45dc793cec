"""Demo agents: a believable spread over HealthCare.gov states, languages and working patterns.

Deterministic for a given seed, so demos and tests see the same people. Every name is invented, every e-mail is at
example.com and every phone number is in the 555-01xx range reserved for fiction.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hod import zipdir
from hod.domain.marketplace import healthcare_gov_states

FIRST = {
    "en": [
        "James",
        "Mary",
        "Robert",
        "Linda",
        "Michael",
        "Karen",
        "David",
        "Susan",
        "Daniel",
        "Emily",
        "Grace",
        "Owen",
    ],
    "es": [
        "José",
        "María",
        "Luis",
        "Ana",
        "Carlos",
        "Lucía",
        "Jorge",
        "Sofía",
        "Miguel",
        "Elena",
        "Andrés",
        "Rosa",
    ],
    "vi": ["Minh", "Lan", "Tuấn", "Hoa", "Dũng", "Mai"],
    "zh": ["Wei", "Li", "Jun", "Mei", "Hao", "Yan"],
    "ko": ["Min-jun", "Seo-yeon", "Ji-ho", "Ha-eun"],
    "ht": ["Jean", "Marie", "Pierre", "Nadège"],
}
LAST = {
    "en": ["Smith", "Johnson", "Williams", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Walker"],
    "es": [
        "García",
        "Rodríguez",
        "Martínez",
        "Hernández",
        "López",
        "González",
        "Pérez",
        "Sánchez",
        "Ramírez",
    ],
    "vi": ["Nguyễn", "Trần", "Lê", "Phạm"],
    "zh": ["Wang", "Li", "Zhang", "Liu", "Chen"],
    "ko": ["Kim", "Lee", "Park", "Choi"],
    "ht": ["Joseph", "Pierre", "Baptiste", "Louis"],
}
# Share of agents speaking a second language, by state where it is notably higher than elsewhere.
SPANISH_SHARE = {"TX": 0.45, "FL": 0.4, "AZ": 0.35, "NM": 0.35, "UT": 0.15, "OK": 0.15}
OTHER_LANGUAGES = [("vi", 0.03), ("zh", 0.03), ("ko", 0.02), ("ht", 0.02), ("ru", 0.01), ("ar", 0.01)]
AREA_CODES = ["512", "305", "614", "907", "808", "602", "615", "405"]
CONTACT_METHODS = [("email_text_app", 0.45), ("email_text", 0.25), ("email_app", 0.1), ("email_only", 0.2)]


@dataclass(frozen=True)
class DemoAgent:
    record: dict[str, Any]  # an import record (the admin API's JSON format)
    weekly: dict[str, Any] | None  # weekly hours to set after import; None keeps the default Mon–Fri 8–17


def _weighted(rng: random.Random, choices: list[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _day(start: str, end: str, breaks: list[tuple[str, str]] | None = None, enabled: bool = True) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "start": start,
        "end": end,
        "breaks": [{"start": s, "end": e} for s, e in breaks or []],
    }


AROUND_THE_CLOCK_EVERY = 10  # every tenth demo agent works around the clock: someone answers at any hour


def _around_the_clock() -> dict[str, Any]:
    return {"days": {d: _day("00:00", "24:00") for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def _weekly(rng: random.Random) -> dict[str, Any] | None:
    pattern = rng.random()
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    if pattern < 0.45:
        return None  # Monday–Friday 08:00–17:00
    if pattern < 0.70:
        days = {d: _day("09:00", "18:00", [("12:00", "13:00")]) for d in weekdays}
        days |= {"sat": _day("10:00", "14:00"), "sun": _day("09:00", "17:00", enabled=False)}
    elif pattern < 0.85:
        days = {d: _day("12:00", "21:00", [("16:00", "16:30")]) for d in weekdays}
        days |= {"sat": _day("09:00", "17:00", enabled=False), "sun": _day("09:00", "17:00", enabled=False)}
    elif pattern < 0.97:
        days = {d: _day("07:00", "15:30") for d in (*weekdays, "sat")}
        days |= {"sun": _day("09:00", "17:00", enabled=False)}
    else:
        return _around_the_clock()  # a few night owls besides
    return {"days": days}


def demo_agents(count: int, plan_year: int = 2026, seed: int = 7) -> Iterator[DemoAgent]:
    rng = random.Random(seed)
    states = healthcare_gov_states(plan_year)
    places = [p for p in zipdir.all_places() if p.state in states]
    by_state: dict[str, list[zipdir.ZipPlace]] = {}
    for place in places:
        by_state.setdefault(place.state, []).append(place)
    state_list = sorted(by_state)
    for i in range(count):
        place = rng.choice(places)
        languages = ["en"] if rng.random() < 0.93 else []
        if rng.random() < SPANISH_SHARE.get(place.state, 0.08) or not languages:
            languages.append("es")
        for code, share in OTHER_LANGUAGES:
            if rng.random() < share:
                languages.append(code)
        name_language = next((code for code in reversed(languages) if code in FIRST), "en")
        others = [s for s in rng.sample(state_list, k=rng.choice([0, 0, 1, 2])) if s != place.state]
        licences = [
            {
                "state": s,
                "status": "active",
                "lines_of_authority": ["health", "life"],
                "expires": "2028-06-30",
            }
            for s in [place.state, *others]
        ]
        if rng.random() < 0.04:
            licences[0] = {**licences[0], "lines_of_authority": ["property", "casualty"]}
        npn = str(17_000_000 + i)
        record = {
            "npn": npn,
            "first_name": rng.choice(FIRST[name_language]),
            "last_name": rng.choice(LAST[name_language]),
            "email": f"agent{npn}@example.com",
            "phone": f"+1{rng.choice(AREA_CODES)}5550{rng.randint(100, 199)}",
            "business_address": {
                "street": f"{rng.randint(1, 9999)} Main St",
                "city": place.city,
                "state": place.state,
                "zip": place.zip,
            },
            "home_state": place.state,
            "licences": licences,
            "ffm_registration_plan_year": plan_year if rng.random() > 0.04 else plan_year - 1,
            "ffm_registration_listed": rng.random() > 0.02,
            "hod_training_complete": rng.random() > 0.03,
            "display_option": rng.choices([1, 2, 3, 4], weights=[70, 15, 12, 3])[0],
            "languages": languages,
            "contact_method": _weighted(rng, CONTACT_METHODS),
        }
        weekly = _weekly(rng)
        yield DemoAgent(record=record, weekly=_around_the_clock() if i % AROUND_THE_CLOCK_EVERY == 0 else weekly)
