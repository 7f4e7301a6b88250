"""How many registry sites the offline geocoder places, with GeoNames' cities of 1,000+ people
(what trialmatch uses) against cities of 15,000+ (what it used before), in the same run.

    python benchmarks/geocode_coverage.py

Reads every site of the legacy XML sample (these records carry no coordinates: every site is
placed offline, as `trialmatch import` does) and places it both ways: by US ZIP code first, then
by city within its country (and US state). Also prints the time and memory of building each
city index.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data  # noqa: E402
from crawlers.bulk import Rejection, read_paths  # noqa: E402
from matcher import geo  # noqa: E402


def main() -> None:
    archive = shared_data("ctgov", "AllPublicXML-sample.zip")
    sites = [site for item in read_paths([archive]) if not isinstance(item, Rejection) for site in item[0].sites]
    print(f"{archive.name}: {len(sites):,} sites, none with registry coordinates")
    print(f"{'city list':<22}{'by zip':>9}{'by city':>9}{'unplaced':>10}{'index s':>9}{'index MB':>10}")
    for population in (15000, geo.CITY_MIN_POPULATION):
        tracemalloc.start()
        started = time.perf_counter()
        geo._city_index(population)
        seconds = time.perf_counter() - started
        megabytes = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        placed = Counter()
        for site in sites:
            point = geo.locate(zip_code=site.zip, city=site.city, state=site.state, country=site.country,
                               min_city_population=population)
            placed[point.precision if point else "none"] += 1
        label = f"cities {population:,}+" + (" (used)" if population == geo.CITY_MIN_POPULATION else "")
        print(f"{label:<22}{placed['zip']:>9,}{placed['city']:>9,}{placed['none']:>10,}{seconds:>9.1f}{megabytes:>10.0f}")


if __name__ == "__main__":
    main()
