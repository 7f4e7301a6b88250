"""Data derived from stored trials after they land: site coordinates (and parsed criteria).

Each pass does only what is missing or stale, so it is cheap to run after every import or crawl.
"""

from __future__ import annotations

from collections.abc import Callable

from .geo import locate
from .store import Store


def geocode_sites(store: Store, on_progress: Callable[[int], None] = lambda n: None) -> dict[str, int]:
    """Give sites without registry coordinates the point of their ZIP code or city.

    Returns how many were placed by ZIP, by city, and how many could not be placed.
    """
    pending = store.conn.execute(
        "SELECT id, zip, city, state, country FROM sites WHERE coordinates_source IS NULL"
    ).fetchall()
    placed = {"zip": 0, "city": 0, "none": 0}
    updates = []
    for site_id, zip_code, city, state, country in pending:
        point = locate(zip_code=zip_code, city=city, state=state, country=country)
        source = point.precision if point else "none"
        placed[source] += 1
        updates.append((point.lat if point else None, point.lon if point else None, source, site_id))
    with store.conn:
        store.conn.executemany(
            "UPDATE sites SET latitude = ?, longitude = ?, coordinates_source = ? WHERE id = ?", updates
        )
    on_progress(len(updates))
    return placed
