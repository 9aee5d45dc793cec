"""The benchmark population: agents where people live, realistic languages and hours, a day of consumers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from benchmarks import population
from hod import zipdir
from hod.domain import availability as av
from hod.domain.marketplace import healthcare_gov_states

TODAY = date(2026, 1, 13)
DAY = datetime(2026, 1, 13, 16, 30, tzinfo=UTC)
NIGHT = datetime(2026, 1, 14, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def agents() -> list[population.Agent]:
    return list(population.agents(4000, today=TODAY))


def test_the_same_seed_gives_the_same_people_and_a_smaller_population_is_a_prefix() -> None:
    # Given two populations from the same seed, of 50 and 200 agents
    small = list(population.agents(50, today=TODAY))
    large = list(population.agents(200, today=TODAY))
    # Then the first 50 are the same agents
    assert small == large[:50]


def test_places_are_weighted_by_people_not_by_zip_codes(agents: list[population.Agent]) -> None:
    # Given the share of Texas ZIP centroids in Harris County, and of Texas agents
    sites = [s for s in population.sites() if s.state == "TX"]
    zip_share = sum(1 for s in sites if s.county == "Harris County") / len(sites)
    texans = [a for a in agents if a.record.home_state == "TX"]
    agent_share = sum(1 for a in texans if a.county == "Harris County") / len(texans)
    # Then Harris County holds far more agents than its share of ZIPs, near its 2020 Census share (16 %)
    assert agent_share > 2 * zip_share
    assert 0.10 < agent_share < 0.25
    # And states get agents in proportion to their population (Texas about 29.1 of 170 million)
    share_tx = len(texans) / len(agents)
    assert 0.14 < share_tx < 0.20


def test_agents_sit_at_their_zip_centroid_in_a_healthcare_gov_state(agents: list[population.Agent]) -> None:
    states = healthcare_gov_states(population.PLAN_YEAR)
    for agent in agents[:500]:
        place = zipdir.lookup(agent.record.business_address.zip)
        assert place is not None
        assert (agent.location.lat, agent.location.lon) == (place.lat, place.lon)
        assert agent.record.home_state in states
        assert agent.record.licences[0].state == agent.record.home_state


def test_languages_follow_the_states(agents: list[population.Agent]) -> None:
    # Given the agents of Texas and Ohio
    def spanish_share(state: str) -> float:
        group = [a for a in agents if a.record.home_state == state]
        return sum("es" in a.languages for a in group) / len(group)

    # Then Spanish is far more common in Texas, English is nearly universal, and other languages appear
    assert spanish_share("TX") > 3 * spanish_share("OH")
    assert sum("en" in a.languages for a in agents) / len(agents) > 0.95
    assert {"vi", "zh"} <= {code for a in agents for code in a.languages}


def test_most_agents_are_available_on_a_weekday_morning_and_almost_none_at_1_30_am(
    agents: list[population.Agent],
) -> None:
    # Given the availability of every agent at the two snapshots
    day = sum(av.is_available(a.availability, DAY) for a in agents) / len(agents)
    night = sum(av.is_available(a.availability, NIGHT) for a in agents) / len(agents)
    # Then about half work at 10:30 Central on a Tuesday, and under 2 % at 1:30 a.m.
    assert 0.4 < day < 0.8
    assert 0 < night < 0.02
    # And out of office, Today's Availability and breaks are all present
    assert any(a.availability.out_of_office for a in agents)
    assert Counter(a.availability.today.available for a in agents if a.availability.today) == Counter(
        {True: pytest.approx(120, abs=60), False: pytest.approx(80, abs=50)}
    )
    assert any(day.breaks for a in agents for day in a.availability.weekly.days.values())


def test_consumers_arrive_over_the_day_mostly_in_daytime() -> None:
    # Given 3,000 requests over the 24 hours from 2 a.m. Central
    start = datetime(2026, 1, 13, 8, 0, tzinfo=UTC)
    stream = population.consumer_stream(3000, start)
    # Then they are in order, within the day, and far more arrive at local midday than at 3 a.m.
    assert [c.at for c in stream] == sorted(c.at for c in stream)
    assert all(start <= c.at < start + timedelta(days=1) for c in stream)
    hours = Counter(c.at.astimezone(ZoneInfo(zipdir.lookup(c.zip).time_zone)).hour for c in stream)  # type: ignore[union-attr]
    assert hours[12] > 10 * hours[3]
    assert Counter(c.language for c in stream).most_common(2)[0][0] == "en"
    assert len(population.arriving(stream, start + timedelta(hours=8), timedelta(minutes=30), 10)) == 10
