from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hod.geo import (
    EARTH_RADIUS_KM,
    Bounds,
    cell_bounds,
    children,
    encode,
    haversine_km,
    min_distance_km,
    neighbours,
)

PROPERTY = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

latitudes = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False)
longitudes = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def _touch(a: Bounds, b: Bounds) -> bool:
    """True when two rectangles share at least a boundary point, treating longitude as circular."""
    lat_touch = a.south <= b.north and b.south <= a.north
    lon_touch = any(a.west <= b.east + shift and b.west + shift <= a.east for shift in (-360.0, 0.0, 360.0))
    return lat_touch and lon_touch


# --- encode / cell_bounds -------------------------------------------------------------------------------------


def test_encode_matches_the_published_example() -> None:
    # Given the example point from the geohash description (Jutland, Denmark)
    # When it is encoded at precision 11
    # Then it gives the published geohash
    assert encode(57.64911, 10.40744, 11) == "u4pruydqqvj"


def test_encode_defaults_to_index_precision_and_rejects_bad_input() -> None:
    # Given a point in Houston
    # When it is encoded without a precision
    # Then the geohash has the index precision of 9
    assert len(encode(29.7604, -95.3698)) == 9
    # And out-of-range input is refused instead of silently producing a cell
    with pytest.raises(ValueError, match="out of range"):
        encode(91.0, 0.0)
    with pytest.raises(ValueError, match="out of range"):
        encode(0.0, 181.0)
    with pytest.raises(ValueError, match="precision"):
        encode(0.0, 0.0, 13)


def test_cell_bounds_of_first_level_cells() -> None:
    # Given the precision-1 cells "9" (south-western North America) and "b" (Alaska, touching the pole)
    # When their bounds are taken
    # Then they are the exact 45-degree blocks of the geohash grid
    assert cell_bounds("9") == Bounds(south=0.0, west=-135.0, north=45.0, east=-90.0)
    assert cell_bounds("b") == Bounds(south=45.0, west=-180.0, north=90.0, east=-135.0)
    assert cell_bounds("") == Bounds(south=-90.0, west=-180.0, north=90.0, east=180.0)


@PROPERTY
@given(lat=latitudes, lon=longitudes, precision=st.integers(min_value=1, max_value=9))
def test_cell_bounds_contain_the_encoded_point(lat: float, lon: float, precision: int) -> None:
    # Given any point and precision
    # When the point is encoded and the cell's bounds taken
    cell = encode(lat, lon, precision)
    bounds = cell_bounds(cell)
    # Then the point lies in the closed rectangle, whose size halves with every bit of the geohash
    assert bounds.south <= lat <= bounds.north
    assert bounds.west <= lon <= bounds.east
    lon_bits = (5 * precision + 1) // 2
    lat_bits = 5 * precision // 2
    assert bounds.east - bounds.west == pytest.approx(360.0 / 2**lon_bits)
    assert bounds.north - bounds.south == pytest.approx(180.0 / 2**lat_bits)


def test_children_partition_the_cell() -> None:
    # Given a precision-4 cell over Houston
    cell = encode(29.7604, -95.3698, 4)
    parts = children(cell)
    # When its children are listed
    # Then there are 32 distinct cells one level finer, inside the parent, whose areas add up to the parent's
    assert len(set(parts)) == 32
    parent = cell_bounds(cell)
    area = 0.0
    for part in parts:
        b = cell_bounds(part)
        assert parent.south <= b.south < b.north <= parent.north
        assert parent.west <= b.west < b.east <= parent.east
        area += (b.north - b.south) * (b.east - b.west)
    assert area == pytest.approx((parent.north - parent.south) * (parent.east - parent.west))


# --- neighbours -----------------------------------------------------------------------------------------------


def test_neighbours_of_an_interior_cell() -> None:
    # Given a precision-6 cell in central Houston
    cell = encode(29.7604, -95.3698, 6)
    # When its neighbours are listed
    found = neighbours(cell)
    # Then there are eight distinct cells of the same size, each touching the cell, and together with the cell
    # they tile a 3 x 3 block
    assert len(found) == len(set(found)) == 8
    assert cell not in found
    centre = cell_bounds(cell)
    height, width = centre.north - centre.south, centre.east - centre.west
    for other in found:
        b = cell_bounds(other)
        assert len(other) == 6
        assert _touch(centre, b)
        assert b.north - b.south == pytest.approx(height)
        assert b.east - b.west == pytest.approx(width)
    blocks = [cell_bounds(c) for c in [cell, *found]]
    assert min(b.south for b in blocks) == pytest.approx(centre.south - height)
    assert max(b.north for b in blocks) == pytest.approx(centre.north + height)
    assert min(b.west for b in blocks) == pytest.approx(centre.west - width)
    assert max(b.east for b in blocks) == pytest.approx(centre.east + width)


def test_neighbours_wrap_across_the_180_meridian() -> None:
    # Given a cell on Amchitka Island whose western edge is the 180-degree meridian
    cell = encode(51.45, -179.99, 5)
    assert cell_bounds(cell).west == -180.0
    # When its neighbours are listed
    found = neighbours(cell)
    # Then the three western neighbours lie just east of +180 degrees (in the eastern hemisphere)
    east_side = [c for c in found if cell_bounds(c).east == 180.0]
    assert len(east_side) == 3
    assert encode(51.45, 179.99, 5) in east_side
    assert len(found) == 8


def test_neighbours_stop_at_the_poles() -> None:
    # Given precision-1 cell "b", which touches the North Pole, and "0", which touches the South Pole
    # When their neighbours are listed
    # Then only the cells beside and below (above) exist, with longitude wrapping around
    assert sorted(neighbours("b")) == sorted(["c", "z", "8", "9", "x"])
    assert sorted(neighbours("0")) == sorted(["1", "p", "2", "3", "r"])
    # And a fine cell at the pole has five neighbours, none repeated
    polar = neighbours(encode(90.0, 12.0, 4))
    assert len(polar) == len(set(polar)) == 5


def test_neighbours_of_the_whole_globe_is_empty() -> None:
    # Given the empty prefix, the whole globe
    # When neighbours are asked for
    # Then there are none
    assert neighbours("") == []


@PROPERTY
@given(lat=latitudes, lon=longitudes, precision=st.integers(min_value=1, max_value=8))
def test_neighbours_are_exactly_the_cells_just_outside_the_boundary(lat: float, lon: float, precision: int) -> None:
    # Given any cell
    cell = encode(lat, lon, precision)
    b = cell_bounds(cell)
    # When points a hair outside its boundary, all the way round, are encoded (longitude wrapped, no point past a pole)
    eps_lat, eps_lon = (b.north - b.south) / 1000, (b.east - b.west) / 1000
    steps = [i / 16 for i in range(17)]
    ring: set[tuple[float, float]] = set()
    for t in steps:
        along_lat = b.south + t * (b.north - b.south)
        along_lon = b.west + t * (b.east - b.west)
        ring |= {(along_lat, b.west - eps_lon), (along_lat, b.east + eps_lon)}
        ring |= {(b.south - eps_lat, along_lon), (b.north + eps_lat, along_lon)}
    ring |= {(b.south - eps_lat, b.west - eps_lon), (b.north + eps_lat, b.east + eps_lon)}
    ring |= {(b.south - eps_lat, b.east + eps_lon), (b.north + eps_lat, b.west - eps_lon)}
    expected = {encode(p_lat, _wrap(p_lon), precision) for p_lat, p_lon in ring if -90.0 < p_lat < 90.0}
    expected.discard(cell)
    # Then those cells are exactly the neighbours
    assert set(neighbours(cell)) == expected


# --- haversine ------------------------------------------------------------------------------------------------


def test_haversine_known_distances() -> None:
    # Given well-known point pairs
    # When distances are computed
    # Then a quarter meridian, one degree of equator and half the globe have their closed-form lengths
    assert haversine_km(0.0, 0.0, 90.0, 0.0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_KM, rel=1e-12)
    assert haversine_km(0.0, 10.0, 0.0, 11.0) == pytest.approx(math.pi / 180 * EARTH_RADIUS_KM, rel=1e-12)
    assert haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_KM, rel=1e-12)
    # And city pairs match published great-circle distances (Paris-London ~343.5 km, NYC-LA ~3936 km)
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)
    assert haversine_km(40.7128, -74.0060, 34.0522, -118.2437) == pytest.approx(3936, abs=5)


def test_haversine_is_short_across_the_180_meridian() -> None:
    # Given two Aleutian points on either side of the 180-degree meridian
    # When their distance is computed
    # Then it is the short way round (about 1.4 degrees of longitude at 52 N), not the way round the globe
    across = haversine_km(52.0, 179.3, 52.0, -179.3)
    assert across == pytest.approx(haversine_km(52.0, 0.0, 52.0, 1.4), rel=1e-9)
    assert across < 100


# --- min_distance_km ------------------------------------------------------------------------------------------


def _sampled_min(lat: float, lon: float, b: Bounds, n: int = 48) -> tuple[float, float]:
    """Minimum distance to an n x n grid over the rectangle, and an upper bound of the grid's cell diagonal."""
    d_lat, d_lon = (b.north - b.south) / (n - 1), (b.east - b.west) / (n - 1)
    best = math.inf
    for i in range(n):
        for j in range(n):
            best = min(best, haversine_km(lat, lon, b.south + i * d_lat, b.west + j * d_lon))
    spacing = math.radians(math.hypot(d_lat, d_lon)) * EARTH_RADIUS_KM
    return best, spacing


def test_min_distance_is_zero_inside_and_on_the_edge() -> None:
    # Given a cell over Houston
    b = cell_bounds(encode(29.7604, -95.3698, 5))
    # When the point is inside or exactly on the edge
    # Then the lower bound is zero
    assert min_distance_km(29.7604, -95.3698, b) == 0.0
    assert min_distance_km(b.north, b.west, b) == 0.0


def test_min_distance_straight_north_and_across_the_meridian() -> None:
    # Given a one-degree box and a point one degree due north of it
    box = Bounds(south=40.0, west=-100.0, north=41.0, east=-99.0)
    # Then the bound is one degree of meridian (minus at most the millimetre of rounding slack)
    assert min_distance_km(42.0, -99.5, box) == pytest.approx(math.pi / 180 * EARTH_RADIUS_KM, abs=1e-5)
    # And a point at -177 is measured to a box ending at +180 the short way (3 degrees of longitude at its latitude)
    aleutian = Bounds(south=51.0, west=179.0, north=52.0, east=180.0)
    expected, _ = _sampled_min(51.8, -177.0, aleutian, n=200)
    assert min_distance_km(51.8, -177.0, aleutian) == pytest.approx(expected, abs=0.5)
    assert min_distance_km(51.8, -177.0, aleutian) < 250


def _check_tight_lower_bound(lat: float, lon: float, b: Bounds) -> None:
    bound = min_distance_km(lat, lon, b)
    sampled, spacing = _sampled_min(lat, lon, b)
    assert bound <= sampled + 1e-9
    assert sampled - bound <= spacing + 1e-6
    if b.south <= lat <= b.north and b.west <= lon <= b.east:
        assert bound == 0.0


@PROPERTY
@given(
    lat=latitudes,
    lon=longitudes,
    cell_lat=latitudes,
    cell_lon=longitudes,
    precision=st.integers(min_value=1, max_value=7),
)
def test_min_distance_is_a_tight_lower_bound_anywhere(
    lat: float, lon: float, cell_lat: float, cell_lon: float, precision: int
) -> None:
    # Given any point and any geohash cell on the globe
    # When the lower bound of the distance from the point to the cell is computed
    # Then it never exceeds the distance to any sampled point of the cell, and is within one grid step of the minimum
    _check_tight_lower_bound(lat, lon, cell_bounds(encode(cell_lat, cell_lon, precision)))


@PROPERTY
@given(
    lat=st.floats(min_value=50.0, max_value=54.0),
    lon=st.one_of(st.floats(min_value=-180.0, max_value=-176.0), st.floats(min_value=176.0, max_value=180.0)),
    cell_lat=st.floats(min_value=50.0, max_value=54.0),
    cell_lon=st.one_of(st.floats(min_value=-180.0, max_value=-176.0), st.floats(min_value=176.0, max_value=180.0)),
    precision=st.integers(min_value=2, max_value=7),
)
def test_min_distance_is_a_tight_lower_bound_around_the_aleutians(
    lat: float, lon: float, cell_lat: float, cell_lon: float, precision: int
) -> None:
    # Given points and cells on both sides of the 180-degree meridian
    # When the lower bound is computed
    # Then it is still a true and tight lower bound (the short way round)
    _check_tight_lower_bound(lat, lon, cell_bounds(encode(cell_lat, cell_lon, precision)))


@PROPERTY
@given(
    lat=latitudes,
    lon=longitudes,
    south=st.floats(min_value=-89.0, max_value=88.0),
    west=st.floats(min_value=-180.0, max_value=170.0),
    height=st.floats(min_value=0.001, max_value=60.0),
    width=st.floats(min_value=0.001, max_value=120.0),
)
def test_min_distance_is_a_tight_lower_bound_for_any_rectangle(
    lat: float, lon: float, south: float, west: float, height: float, width: float
) -> None:
    # Given any rectangle that does not cross the 180-degree meridian, including wide ones
    b = Bounds(south=south, west=west, north=min(90.0, south + height), east=min(180.0, west + width))
    # When the lower bound is computed
    # Then it holds against dense sampling
    _check_tight_lower_bound(lat, lon, b)
