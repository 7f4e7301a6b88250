"""The Datasette browse view on the hand-written fixture registry, through Datasette's test client."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from urllib.parse import urlsplit

import pytest
from browse_registry import BOSTON, HOSTILE_ID, LYON, build_fixture_registry

from matcher.web.browse import make_datasette


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return build_fixture_registry(tmp_path_factory.mktemp("browse") / "registry.db")


@pytest.fixture(scope="module")
def datasette(registry):
    return make_datasette(registry)


def local_path(url: str) -> str:
    """A facet's toggle URL (absolute, on http://localhost) as a path for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def get_json(datasette, path: str) -> dict:
    response = await datasette.client.get(local_path(path))
    assert response.status_code == 200, (path, response.text[:500])
    return response.json()


async def query_rows(datasette, query: str, **params) -> list[dict]:
    response = await datasette.client.get(f"/trials/{query}.json", params={**params, "_shape": "objects"})
    assert response.status_code == 200, response.text[:500]
    data = response.json()
    assert data["ok"], data
    return data["rows"]


async def page(datasette, path: str) -> str:
    response = await datasette.client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.text


def facet_counts(data: dict, name: str) -> dict:
    return {r["value"]: r["count"] for r in data["facet_results"][name]["results"]}


# ---------------------------------------------------------------- metadata and facets


@pytest.mark.asyncio
async def test_metadata_says_what_the_data_is_and_where_it_comes_from(datasette):
    metadata = await get_json(datasette, "/-/metadata.json")
    assert "ClinicalTrials.gov" in metadata["source"] and "public domain" in metadata["license"].lower()
    html = await page(datasette, "/trials/trials")
    assert "lower age limit in years; empty = none" in html
    assert "U.S. National Library of Medicine" in html


@pytest.mark.asyncio
async def test_the_registry_is_served_as_trials_whatever_the_file_name(datasette, registry):
    assert registry.name == "registry.db"
    databases = {d["name"]: d for d in await get_json(datasette, "/-/databases.json")}
    assert databases["trials"]["is_mutable"] is True and "_memory" not in databases  # it follows writes


@pytest.mark.asyncio
async def test_trial_facets_count_the_fixture_trials(datasette):
    data = await get_json(datasette, "/trials/trials.json")
    assert facet_counts(data, "overall_status") == {"RECRUITING": 3, "ACTIVE_NOT_RECRUITING": 1}
    assert facet_counts(data, "phases") == {"PHASE2": 3, "PHASE1": 1, "PHASE3": 2}
    assert facet_counts(data, "study_type") == {"INTERVENTIONAL": 4}
    assert facet_counts(data, "sex") == {"ALL": 3, "FEMALE": 1}
    assert facet_counts(data, "lead_sponsor") == {"Fixture Pharma": 1, "Fixture Institute": 1, "Hôpital <b>Fixture</b>": 1}
    assert facet_counts(data, "conditions")["Immune Thrombocytopenia"] == 2
    assert facet_counts(data, "country") == {"United States": 3, "France": 2}


@pytest.mark.asyncio
async def test_choosing_a_facet_value_filters_the_trials(datasette):
    data = await get_json(datasette, "/trials/trials.json")
    france = next(r for r in data["facet_results"]["country"]["results"] if r["value"] == "France")
    in_france = await get_json(datasette, france["toggle_url"])
    assert {row[0] for row in in_france["rows"]} == {"NCT09000001", HOSTILE_ID}
    assert next(r for r in in_france["facet_results"]["country"]["results"] if r["value"] == "France")["selected"]
    phase3 = next(r for r in data["facet_results"]["phases"]["results"] if r["value"] == "PHASE3")
    assert {row[0] for row in (await get_json(datasette, phase3["toggle_url"]))["rows"]} == {"NCT09000002", "NCT09000003"}
    both = await get_json(datasette, "/trials/trials.json?_site_country=France&_site_country=United+States&_shape=objects")
    assert [row["nct_id"] for row in both["rows"]] == ["NCT09000001"]
    itp = await get_json(datasette, "/trials/trials.json?_has_conditions=Immune+Thrombocytopenia&_shape=objects")
    assert {row["nct_id"] for row in itp["rows"]} == {"NCT09000002", HOSTILE_ID}
    assert "conditions has" in itp["human_description_en"]


@pytest.mark.asyncio
async def test_site_and_condition_facets(datasette):
    sites = await get_json(datasette, "/trials/sites.json")
    assert facet_counts(sites, "country") == {"United States": 3, "France": 2}
    assert facet_counts(sites, "status") == {"RECRUITING": 3}
    assert facet_counts(sites, "coordinates_source") == {"registry": 2, "zip": 1, "city": 2}
    conditions = await get_json(datasette, "/trials/conditions.json?vocabulary=mesh")
    assert facet_counts(conditions, "name") == {"Purpura, Thrombocytopenic, Idiopathic": 2, "Thrombocytopenia": 1}


# ---------------------------------------------------------------- search


@pytest.mark.asyncio
async def test_full_text_search_on_trials_is_stemmed(datasette):
    found = await get_json(datasette, "/trials/trials.json?_search=platelet&_shape=objects")
    assert {row["nct_id"] for row in found["rows"]} == {"NCT09000001", "NCT09000002", HOSTILE_ID}
    asthma = await get_json(datasette, "/trials/trials.json?_search=asthmas&_shape=objects")
    assert [row["nct_id"] for row in asthma["rows"]] == ["NCT09000003"]


@pytest.mark.asyncio
async def test_full_text_search_on_criteria(datasette):
    found = await get_json(datasette, "/trials/criteria.json?_search=splenectomy&_shape=objects")
    assert sorted(row["nct_id"] for row in found["rows"]) == ["NCT09000001", "NCT09000002"]
    assert all(row["kind"] == "exclusion" for row in found["rows"])


@pytest.mark.asyncio
async def test_criteria_and_constraints_are_linked_from_the_trial_page(datasette):
    html = await page(datasette, "/trials/trials/NCT09000002")
    assert re.search(r'href="/trials/criteria\?nct_id=NCT09000002">\s*2\s*rows', html)
    assert re.search(r'href="/trials/constraints\?nct_id=NCT09000002">\s*2\s*rows', html)
    constraints = await get_json(datasette, "/trials/constraints.json?nct_id=NCT09000002&_labels=on&_shape=objects")
    lab = next(c for c in constraints["rows"] if c["type"] == "measurement")
    assert lab["criterion_id"]["label"] == "Platelet count \\< 30 G/L" and lab["value"] == 30


# ---------------------------------------------------------------- canned queries


@pytest.mark.asyncio
async def test_recruiting_trials_near_a_point(datasette):
    boston = dict(latitude=BOSTON[0] + 0.01, longitude=BOSTON[1])
    near = await query_rows(datasette, "recruiting_near", condition="thrombocytopenia", km="10", **boston)
    assert [row["nct_id"] for row in near] == ["NCT09000002"]
    assert near[0]["distance_km"] == pytest.approx(1.1, abs=0.1) and near[0]["city"] == "Boston"
    from_lyon = await query_rows(datasette, "recruiting_near", condition="Thrombocytopenia", km="", latitude=LYON[0], longitude=LYON[1])
    assert [row["nct_id"] for row in from_lyon] == [HOSTILE_ID]  # default radius 100 km: Boston is far
    # NCT09000003's site in Denver has no registry coordinates: it was placed by its city.
    any_condition = await query_rows(datasette, "recruiting_near", condition="", km="7000", **boston)
    assert [row["nct_id"] for row in any_condition] == ["NCT09000002", "NCT09000003", HOSTILE_ID]
    assert await query_rows(datasette, "recruiting_near", condition="asthma", km="1000", **boston) == []
    assert [row["nct_id"] for row in await query_rows(datasette, "recruiting_near", condition="asthma", km="3000", **boston)] == ["NCT09000003"]
    assert await query_rows(datasette, "recruiting_near", condition="", km="10", latitude="", longitude="") == []


@pytest.mark.asyncio
async def test_trials_whose_criteria_bound_a_lab(datasette):
    by_name = await query_rows(datasette, "trials_bounding_lab", measure="platelet_count", op="", value="")
    assert [(row["nct_id"], row["value"]) for row in by_name] == [("NCT09000001", 30), ("NCT09000002", 30), (HOSTILE_ID, 50)]
    assert by_name[0]["criterion"] == "Platelet count <30 x 10^9/L" and by_name[0]["unit"] == "10^9/L"
    by_loinc = await query_rows(datasette, "trials_bounding_lab", measure="777-3", op="<", value="50")
    assert [row["nct_id"] for row in by_loinc] == [HOSTILE_ID]
    assert await query_rows(datasette, "trials_bounding_lab", measure="platelet_count", op=">", value="") == []
    assert await query_rows(datasette, "trials_bounding_lab", measure="hemoglobin", op="", value="") == []


@pytest.mark.asyncio
async def test_trials_whose_criteria_name_a_therapy(datasette):
    rows = await query_rows(datasette, "trials_by_therapy", therapy="ANTI-cd20")
    assert [(row["nct_id"], row["kind"], row["within_days"]) for row in rows] == [(HOSTILE_ID, "exclusion", 84)]
    assert [row["nct_id"] for row in await query_rows(datasette, "trials_by_therapy", therapy="rituximab")] == [HOSTILE_ID]


@pytest.mark.asyncio
async def test_trials_updated_since_a_date(datasette):
    rows = await query_rows(datasette, "updated_since", since="2025-01-01")
    assert [(row["nct_id"], row["last_update_posted"]) for row in rows] == [(HOSTILE_ID, "2025-06-01"), ("NCT09000002", "2025-03-01")]
    assert len(await query_rows(datasette, "updated_since", since="2023-06")) == 3
    assert await query_rows(datasette, "updated_since", since="") == []


@pytest.mark.asyncio
async def test_trials_by_mesh_term_include_narrower_terms(datasette):
    rows = await query_rows(datasette, "trials_by_mesh_term", mesh_term="thrombocytopenia")
    assert {row["nct_id"]: row["via"] for row in rows} == {"NCT09000001": "mesh", "NCT09000002": "mesh_ancestor"}
    rows = await query_rows(datasette, "trials_by_mesh_term", mesh_term="Purpura, Thrombocytopenic, Idiopathic")
    assert {row["nct_id"] for row in rows} == {"NCT09000001", "NCT09000002"}


@pytest.mark.asyncio
async def test_sites_in_a_country_or_city(datasette):
    boston = await query_rows(datasette, "sites_in_place", country="united states", city="BOSTON")
    assert [(row["nct_id"], row["site_status"]) for row in boston] == [("NCT09000002", "RECRUITING"), ("NCT09000001", "RECRUITING")]
    france = await query_rows(datasette, "sites_in_place", country="France", city="")
    assert [row["nct_id"] for row in france] == [HOSTILE_ID, "NCT09000001"]  # open trials first


# ---------------------------------------------------------------- registry text, safety


@pytest.mark.asyncio
async def test_registry_markdown_is_rendered_on_the_trial_page(datasette):
    api_v2 = await page(datasette, "/trials/trials/NCT09000002")
    assert "<li>Platelet count &lt; 30 G/L</li>" in api_v2
    assert "A summary with <strong>markdown</strong>." in api_v2
    legacy = await page(datasette, "/trials/trials/NCT09000001")
    assert 'class="registry-text registry-plain">Inclusion Criteria:\n\n-  Platelet count &lt;30 x 10^9/L' in legacy
    listing = await page(datasette, "/trials/trials?nct_id=NCT09000002")
    assert "<li>Platelet count" not in listing and "* Platelet count \\&lt; 30 G/L" in listing


@pytest.mark.asyncio
async def test_hostile_registry_text_comes_out_escaped(datasette):
    pages = [
        await page(datasette, f"/trials/trials/{HOSTILE_ID}"),
        await page(datasette, "/trials/trials"),
        await page(datasette, "/trials/trials?_search=hostile"),
        await page(datasette, f"/trials/criteria?nct_id={HOSTILE_ID}"),
        await page(datasette, "/trials/updated_since?since=2025-01-01"),
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>Fixture" not in html
    trial_page = pages[0]
    assert "&lt;script&gt;alert('criteria')&lt;/script&gt;" in trial_page
    assert "&lt;img src=x onerror=alert(1)&gt;" in trial_page
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in pages[1]


@pytest.mark.asyncio
async def test_the_view_is_read_only(datasette, registry):
    before = hashlib.sha256(registry.read_bytes()).hexdigest()
    refused = await datasette.client.get("/trials.json", params={"sql": "DELETE FROM trials"})
    assert refused.status_code == 400
    database = datasette.get_database("trials")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await database.execute_fn(lambda conn: conn.execute("DELETE FROM trials"))
    with pytest.raises(PermissionError, match="read-only"):
        await database.execute_write("DELETE FROM trials")
    assert (await database.execute("SELECT count(*) FROM trials")).single_value() == 5
    assert hashlib.sha256(registry.read_bytes()).hexdigest() == before


@pytest.mark.asyncio
async def test_blob_tables_are_hidden(datasette):
    tables = {t["name"]: t for t in (await get_json(datasette, "/trials.json"))["tables"]}
    assert tables["raw_records"]["hidden"] and tables["trial_vectors"]["hidden"]
    assert not tables["trials"]["hidden"] and not tables["criteria"]["hidden"]


# ---------------------------------------------------------------- the map, offline


@pytest.mark.asyncio
async def test_the_site_map_uses_only_local_tiles_and_scripts(datasette):
    html = await page(datasette, "/trials/sites?latitude__notblank=1")
    assert 'DATASETTE_CLUSTER_MAP_TILE_LAYER = "/-/tiles/basemap/{z}/{x}/{y}.png"' in html
    loaded = re.findall(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    loaded += re.findall(r"(?:import\(|_URL: )'([^']+)'", html)
    same_server = [url for url in loaded if url.startswith("http://localhost/") or re.match(r"/[^/]", url)]
    assert loaded and same_server == loaded, loaded
    tile = await datasette.client.get("/-/tiles/basemap/2/1/1.png")
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"


@pytest.mark.asyncio
async def test_queries_with_coordinates_get_the_map(datasette):
    html = await page(datasette, f"/trials/recruiting_near?condition=&latitude={LYON[0]}&longitude={LYON[1]}&km=50")
    assert "datasette-cluster-map.js" in html and "openstreetmap.org/{z}" not in html


@pytest.mark.asyncio
async def test_stylesheet_everywhere_and_record_script_on_record_pages(datasette):
    stylesheet = await datasette.client.get("/-/trialmatch/browse.css")
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
    assert "dl.column-descriptions" in stylesheet.text
    assert (await datasette.client.get("/-/trialmatch/metadata.yml")).status_code == 404
    record = await page(datasette, "/trials/trials/NCT09000002")
    listing = await page(datasette, "/trials/trials")
    assert '<script src="/-/trialmatch/browse.js">' in record and "/-/trialmatch/browse.js" not in listing
    assert '<link rel="stylesheet" href="/-/trialmatch/browse.css">' in listing
