"""Geohash cells and great-circle distances.

This is the only module that imports ``geohash2`` (AGPL-3.0); swapping in another geohash implementation is a
change to this file alone.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import geohash2

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG)."""

MAX_PRECISION = 12

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"

_LOWER_BOUND_SLACK_KM = 1e-6
"""Subtracted from the exact minimum so floating-point rounding can never make the bound exceed a real distance."""


class Bounds(NamedTuple):
    """A latitude/longitude rectangle in degrees; cells never cross the 180° meridian, so ``west <= east``."""

    south: float
    west: float
    north: float
    east: float


def _check_point(lat: float, lon: float) -> None:
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        raise ValueError(f"coordinates out of range: ({lat}, {lon})")


def encode(lat: float, lon: float, precision: int = 9) -> str:
    """Geohash of a point; a point on a cell edge belongs to the cell south/west of it."""
    _check_point(lat, lon)
    if not 0 <= precision <= MAX_PRECISION:
        raise ValueError(f"precision must be 0..{MAX_PRECISION}, got {precision}")
    return str(geohash2.encode(lat, lon, precision))


def cell_bounds(cell: str) -> Bounds:
    """The rectangle covered by a geohash cell ("" is the whole globe)."""
    lat, lon, lat_err, lon_err = geohash2.decode_exactly(cell)
    return Bounds(south=lat - lat_err, west=lon - lon_err, north=lat + lat_err, east=lon + lon_err)


def children(cell: str) -> list[str]:
    """The 32 cells one precision finer that partition ``cell``, in geohash order."""
    if len(cell) >= MAX_PRECISION:
        raise ValueError(f"no cells finer than precision {MAX_PRECISION}")
    return [cell + symbol for symbol in _BASE32]


def neighbours(cell: str) -> list[str]:
    """The cells of the same precision that share an edge or a corner with ``cell``.

    Longitude wraps across the 180° meridian; there is nothing beyond the poles. Up to 8 cells, no duplicates,
    never ``cell`` itself.
    """
    if not cell:
        return []
    lat, lon, lat_err, lon_err = geohash2.decode_exactly(cell)
    result: list[str] = []
    for dlat in (1, 0, -1):
        nlat = lat + 2 * dlat * lat_err
        if not -90.0 < nlat < 90.0:
            continue
        for dlon in (-1, 0, 1):
            if dlat == 0 and dlon == 0:
                continue
            nlon = (lon + 2 * dlon * lon_err + 180.0) % 360.0 - 180.0
            other = str(geohash2.encode(nlat, nlon, len(cell)))
            if other != cell and other not in result:
                result.append(other)
    return result


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean-radius sphere."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def _lon_gap(lon: float, west: float, east: float) -> float:
    """Smallest absolute longitude difference (degrees, 0..180) from ``lon`` to the arc ``[west, east]``."""
    if west <= lon <= east:
        return 0.0
    to_west = (west - lon) % 360.0
    from_east = (lon - east) % 360.0
    return min(to_west, from_east, 360.0 - to_west, 360.0 - from_east)


def _closest_lat_on_meridian(lat: float, dlon: float, south: float, north: float) -> float:
    """Latitude in ``[south, north]`` of the point on a meridian ``dlon`` degrees away that is nearest the point."""
    phi = math.radians(lat)
    peak = math.degrees(math.atan2(math.sin(phi), math.cos(phi) * math.cos(math.radians(dlon))))
    if south <= peak <= north:
        return peak
    return min((south, north), key=lambda edge: haversine_km(lat, 0.0, edge, dlon))


def min_distance_km(lat: float, lon: float, bounds: Bounds) -> float:
    """A lower bound of the distance from the point to any point of the rectangle; 0 when the point is inside.

    The exact minimum (reached on an edge when the point is outside), less one millimetre of slack for rounding.
    """
    south, west, north, east = bounds
    lon_gap = _lon_gap(lon, west, east)
    if lon_gap == 0.0 and south <= lat <= north:
        return 0.0
    candidates: list[float] = []
    for edge_lat in (south, north):
        candidates.append(haversine_km(lat, 0.0, edge_lat, lon_gap))
    if lon_gap > 0.0:
        for edge_lon in (west, east):
            dlon = _lon_gap(lon, edge_lon, edge_lon)
            best_lat = _closest_lat_on_meridian(lat, dlon, south, north)
            candidates.append(haversine_km(lat, 0.0, best_lat, dlon))
    return max(0.0, min(candidates) - _LOWER_BOUND_SLACK_KM)
