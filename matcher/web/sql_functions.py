"""SQL functions the browse view's canned queries call, registered on every connection."""

from __future__ import annotations

import math
import sqlite3

from .. import geo


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
    """Great-circle distance in kilometres; NULL when a coordinate is missing or not a number."""
    points = [_number(v) for v in (lat1, lon1, lat2, lon2)]
    return None if None in points else geo.distance_km(*points)


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("distance_km", 4, distance_km, deterministic=True)
