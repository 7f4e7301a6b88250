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
import os
import random
import sqlite3
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data  # noqa: E402
from benchmarks.load_test import free_port, print_report, run_load, start_server  # noqa: E402

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
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests-per-user", type=int, default=40)
    parser.add_argument("--think-ms", type=float, default=1000, help="mean pause of each user before each request")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_path = args.db or build_sample_database(Path(folder))
        chooser = PageChooser(db_path, args.seed)
        load_before = os.getloadavg()[0]
        port = free_port()
        server = start_server(db_path, port)
        base = f"http://127.0.0.1:{port}"
        try:
            warm = requests.Session()
            for kind in PAGE_KINDS:  # first requests open connections and load caches
                warm.get(base + chooser.url(kind), timeout=30)
            results, elapsed = run_load(base, PAGE_KINDS, chooser.url, page_is_ok, users=args.users,
                                        requests_per_user=args.requests_per_user, think_ms=args.think_ms)
        finally:
            server.terminate()
            server.wait(timeout=30)
        trials = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True).execute("SELECT count(*) FROM trials").fetchone()[0]
    print(f"database: {trials:,} trials; trialmatch serve (immutable) on 127.0.0.1, {os.cpu_count()} cores, "
          f"load average before the run {load_before:.1f}")
    print(f"{args.users} concurrent users x {args.requests_per_user} requests, think time {args.think_ms:.0f} ms")
    print_report(PAGE_KINDS, results, elapsed)


if __name__ == "__main__":
    main()
