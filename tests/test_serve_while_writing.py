"""The browse view and the physician page keep answering, and show the new trials, while another
process writes to the database they serve (issue 13, item 2: a nightly `update` into the file
`serve` reads)."""

import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from physician_registry import SEED_FORM, build_page_registry, seed_listing_trial

from browse_registry import build_fixture_registry
from matcher.derive import geocode_sites, parse_trials
from matcher.ingest import import_paths
from matcher.store import Store
from matcher.web import physician_page
from matcher.web.browse import make_datasette
from registry_helpers import synthetic_studies


def write_more_trials(registry, tmp_path, count: int) -> None:
    """An import into the served file, from another connection, then a checkpoint that moves the
    write-ahead log into the database file (what breaks a reader that does not expect writes)."""
    source = tmp_path / "more.jsonl"
    source.write_text("\n".join(json.dumps(s) for s in synthetic_studies(count)) + "\n")
    writer = Store(registry)
    import_paths(writer, [source])
    writer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer.close()


@pytest.mark.asyncio
async def test_pages_answer_and_show_what_another_process_wrote(tmp_path):
    registry = build_fixture_registry(tmp_path / "trials.db")
    datasette = make_datasette(registry)
    before = await datasette.client.get("/trials/trials.json?_shape=objects&_size=max")
    assert before.status_code == 200 and len(before.json()["rows"]) == 5
    facets = await datasette.client.get("/trials/trials.json?_facet=overall_status")
    write_more_trials(registry, tmp_path, 300)
    for path in ("/trials/trials.json?_shape=objects&_size=max", "/trials/trials.json?_facet=overall_status",
                 "/trials/sites.json", "/trials/trials/NCT09100299.json"):
        response = await datasette.client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
    after = (await datasette.client.get("/trials/trials.json?_shape=objects&_size=max")).json()
    assert len(after["rows"]) == 305  # answered again, not from the cache of before the import
    counts = (await datasette.client.get("/trials/trials.json?_facet=overall_status")).json()
    assert counts["facet_results"] != facets.json()["facet_results"]


def test_a_read_only_store_never_holds_a_snapshot_between_queries(tmp_path):
    registry = build_fixture_registry(tmp_path / "trials.db")
    reader = Store(registry, read_only=True)
    reader.conn.execute("CREATE TEMP TABLE picked (nct_id TEXT)")  # what the ranker does for a shortlist
    reader.conn.execute("INSERT INTO temp.picked SELECT nct_id FROM trials")
    write_more_trials(registry, tmp_path, 50)
    assert reader.count_trials() == 55
    busy, _, _ = Store(registry).conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0  # the reader let the log be checkpointed


@pytest.mark.asyncio
async def test_the_physician_page_ranks_a_trial_as_another_process_rewrote_it(tmp_path):
    """The ranker keeps trials, their criteria and what they study between searches: a trial an
    import rewrites while the page is served is ranked as it now is, not as it was."""
    registry = build_page_registry(tmp_path / "registry.db")
    datasette = make_datasette(registry, plugins=[physician_page])
    seed, raw = seed_listing_trial()
    query = "/find?" + urlencode(SEED_FORM, doseq=True)

    async def listed_and_apart() -> tuple[str, str]:
        response = await datasette.client.get(query)
        assert response.status_code == 200, response.text[:1000]
        page = BeautifulSoup(response.text, "html.parser")
        apart = page.find("summary", string=lambda s: s and "studying a disease the patient does not have" in s)
        return (" ".join(r.get_text(" ") for r in page.select("#results li.result")),
                apart.find_parent("details").get_text(" ") if apart else "")

    listed, apart = await listed_and_apart()
    assert seed.nct_id in listed and seed.nct_id not in apart
    seed.conditions, seed.condition_mesh_terms, seed.condition_mesh_ancestors = ["Asthma"], ["Asthma"], []
    writer = Store(registry)
    writer.write_trials([(seed, replace(raw, content=raw.content + b"\nConditions: Asthma\n"))])
    parse_trials(writer)
    geocode_sites(writer)
    writer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer.close()
    listed, apart = await listed_and_apart()
    assert seed.nct_id not in listed and seed.nct_id in apart  # it now studies asthma: listed apart, at the end
