"""Browse-view page response times under 20 concurrent users, against a real `trialmatch serve`.

    python benchmarks/browse_load.py [--db PATH] [--users 20] [--requests-per-user 40] [--think-ms 1000]

Builds the registry sample (legacy XML archive + API v2 records) into a temporary database
unless --db names one, starts `trialmatch serve` on a free port of 127.0.0.1, and runs a
bounded load test: each user (a thread with its own HTTP session) requests pages of the four
kinds in turn — a trial's page, the faceted trials table under a filter, a full-text search,
a canned query — each time with other values drawn from the database, pausing 0.5–1.5 ×
--think-ms before each request (so users do not move in step). A page that is not a 200, or
whose facets timed out, counts as an error. Prints p50/p95 per page kind and overall.
Target: p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data  # noqa: E402
from benchmarks.load_test import add_arguments, serve_and_load  # noqa: E402

PAGE_KINDS = ("trial row page", "faceted table page", "search", "canned query")
SEARCH_TERMS = (
    "cancer", "breast cancer", "asthma", "diabetes", "hiv", "leukemia", "lymphoma", "hepatitis",
    "depression", "heart failure", "stroke", "vaccine", "pain", "obesity", "melanoma", "sickle cell",
)


def build_sample_database(folder: Path) -> Path:
    """The registry sample imported as `trialmatch import` does it (sites placed offline too)."""
    from matcher.derive import geocode_sites
    from matcher.ingest import import_paths
    from matcher.store import Store

    path = folder / "trials.db"
    store = Store(path)
    import_paths(store, [shared_data("ctgov", "AllPublicXML-sample.zip"), shared_data("ctgov", "api-v2")], parallel=True)
    geocode_sites(store)
    store.close()
    return path


class PageChooser:
    """Page URLs of each kind, with values drawn at random from the database."""

    def __init__(self, db_path: Path, seed: int):
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        column = lambda sql: [r[0] for r in conn.execute(sql)]  # noqa: E731
        self.nct_ids = column("SELECT nct_id FROM trials")
        self.statuses = column("SELECT DISTINCT overall_status FROM trials WHERE overall_status IS NOT NULL")
        self.countries = column("SELECT country FROM sites GROUP BY 1 ORDER BY count(*) DESC LIMIT 30")
        self.phases = column("SELECT DISTINCT p.value FROM trials, json_each(trials.phases) p")
        self.conditions = column("SELECT name FROM conditions WHERE vocabulary = 'reported' GROUP BY 1 ORDER BY count(*) DESC LIMIT 50")
        self.mesh_terms = column("SELECT name FROM conditions WHERE vocabulary = 'mesh' GROUP BY 1 ORDER BY count(*) DESC LIMIT 50")
        self.places = conn.execute("SELECT country, city FROM sites GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 50").fetchall()
        self.points = conn.execute("SELECT latitude, longitude FROM sites WHERE latitude IS NOT NULL").fetchall()
        conn.close()
        self.random = random.Random(seed)

    def url(self, kind: str) -> str:
        pick = self.random.choice
        if kind == "trial row page":
            return f"/trials/trials/{pick(self.nct_ids)}"
        if kind == "faceted table page":
            filters = pick([
                {},
                {"overall_status": pick(self.statuses)},
                {"_site_country": pick(self.countries)},
                {"_has_phases": pick(self.phases), "overall_status": pick(self.statuses)},
                {"_has_conditions": pick(self.conditions)},
            ])
            return "/trials/trials?" + urlencode(filters) if filters else "/trials/trials"
        if kind == "search":
            return "/trials/trials?" + urlencode({"_search": pick(SEARCH_TERMS)})
        query, params = pick([
            ("recruiting_near", lambda: dict(zip(("latitude", "longitude"), pick(self.points)), condition="", km=pick(["50", "200", "1000"]))),
            ("updated_since", lambda: {"since": f"{self.random.randint(2008, 2024)}-{self.random.randint(1, 12):02d}-01"}),
            ("trials_by_mesh_term", lambda: {"mesh_term": pick(self.mesh_terms)}),
            ("sites_in_place", lambda: dict(zip(("country", "city"), pick(self.places)))),
        ])
        return f"/trials/{query}?" + urlencode(params())


def page_is_ok(response: requests.Response) -> bool:
    return response.status_code == 200 and "facets-timed-out" not in response.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="registry database to serve (default: build the registry sample)")
    add_arguments(parser, requests_per_user=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_path = args.db or build_sample_database(Path(folder))
        serve_and_load(db_path, PAGE_KINDS, PageChooser(db_path, args.seed).url, page_is_ok, args)

if __name__ == "__main__":
    main()
