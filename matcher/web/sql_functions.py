"""SQL functions the browse view's canned queries call, registered on every connection."""

from __future__ import annotations

import math
import sqlite3

EARTH_RADIUS_KM = 6371.0088


def _number(value) -> float | None:
    """A coordinate from SQL: a number, or text from a query-string parameter; '' or junk is None."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def distance_km(lat1, lon1, lat2, lon2) -> float | None:
    """Great-circle (haversine) distance in kilometres; NULL when a coordinate is missing."""
    points = [_number(v) for v in (lat1, lon1, lat2, lon2)]
    if None in points:
        return None
    phi1, lambda1, phi2, lambda2 = map(math.radians, points)
    a = math.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin((lambda2 - lambda1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("distance_km", 4, distance_km, deterministic=True)
