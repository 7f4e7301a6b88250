"""The browse view's JSON API on the real registry sample (legacy XML archive + API v2 records).

The criteria tables are empty here (the sample is imported without a criteria parser): the
queries over them must answer with no rows, not fail.
"""

from __future__ import annotations

import sqlite3

import pytest
from conftest import shared_file

from matcher.derive import geocode_sites
from matcher.ingest import import_paths
from matcher.store import Store
from matcher.web.browse import make_datasette

pytestmark = pytest.mark.real_data
LIMIT = 200  # rows a canned query answers at most


@pytest.fixture(scope="module")
def sample_registry(tmp_path_factory):
    archive = shared_file("ctgov", "AllPublicXML-sample.zip")
    api_v2 = shared_file("ctgov", "api-v2")
    path = tmp_path_factory.mktemp("sample") / "trials.db"
    store = Store(path)
    import_paths(store, [archive, api_v2], parallel=True)
    geocode_sites(store)  # as `trialmatch import` does
    store.close()
    return path


@pytest.fixture(scope="module")
def datasette(sample_registry):
    return make_datasette(sample_registry)


@pytest.fixture(scope="module")
def sql(sample_registry):
    conn = sqlite3.connect(f"file:{sample_registry}?mode=ro", uri=True)
    yield lambda query, *params: conn.execute(query, params).fetchall()
    conn.close()


async def get_json(datasette, path: str, **params) -> dict:
    response = await datasette.client.get(path, params=params)
    assert response.status_code == 200, (path, response.text[:500])
    return response.json()


def facet_counts(data: dict, name: str) -> dict:
    return {r["value"]: r["count"] for r in data["facet_results"][name]["results"]}


@pytest.mark.asyncio
async def test_facets_agree_with_the_database(datasette, sql):
    data = await get_json(datasette, "/trials/trials.json", _facet_size="max")
    assert facet_counts(data, "overall_status") == dict(sql("SELECT overall_status, count(*) FROM trials GROUP BY 1"))
    phases = dict(sql("SELECT p.value, count(*) FROM trials, json_each(trials.phases) p GROUP BY 1"))
    assert facet_counts(data, "phases") == phases and phases["PHASE2"] > 1000
    assert facet_counts(data, "study_type") == dict(sql("SELECT study_type, count(*) FROM trials GROUP BY 1"))
    assert facet_counts(data, "sex") == dict(sql("SELECT sex, count(*) FROM trials WHERE sex IS NOT NULL GROUP BY 1"))
    countries = facet_counts(data, "country")
    assert next(iter(countries)) == "United States"
    assert countries["France"] == sql("SELECT count(DISTINCT nct_id) FROM sites WHERE country = 'France'")[0][0]
    sponsors = facet_counts(data, "lead_sponsor")
    top_sponsor, top_count = sql("SELECT lead_sponsor, count(*) FROM trials GROUP BY 1 ORDER BY 2 DESC LIMIT 1")[0]
    assert sponsors[top_sponsor] == top_count
    assert facet_counts(data, "conditions")


@pytest.mark.asyncio
async def test_faceted_and_filtered_pages(datasette, sql):
    data = await get_json(datasette, "/trials/trials.json", overall_status="RECRUITING", _site_country="France", _shape="objects")
    expected = sql(
        "SELECT count(*) FROM trials WHERE overall_status = 'RECRUITING' "
        "AND nct_id IN (SELECT nct_id FROM sites WHERE country = 'France')"
    )[0][0]
    assert data["filtered_table_rows_count"] == expected > 0
    assert sum(facet_counts(data, "overall_status").values()) == expected


@pytest.mark.asyncio
async def test_search_trials_and_criteria(datasette, sql):
    found = await get_json(datasette, "/trials/trials.json", _search="asthma", _shape="objects")
    expected = sql("SELECT count(*) FROM trials_fts WHERE trials_fts MATCH 'asthma'")[0][0]
    assert found["filtered_table_rows_count"] == expected > 10
    criteria = await get_json(datasette, "/trials/criteria.json", _search="pregnant", _shape="objects")
    assert criteria["filtered_table_rows_count"] == sql("SELECT count(*) FROM criteria_fts WHERE criteria_fts MATCH 'pregnant'")[0][0]


@pytest.mark.asyncio
async def test_each_canned_query_answers(datasette, sql):
    async def rows(query, **params):
        data = await get_json(datasette, f"/trials/{query}.json", _shape="objects", **params)
        assert data["ok"], data
        return data["rows"]

    near_boston = await rows("recruiting_near", condition="brain tumor", latitude="42.36", longitude="-71.06", km="50")
    assert "NCT03281889" in [row["nct_id"] for row in near_boston]  # its Boston site has registry coordinates
    assert all(row["distance_km"] <= 50 and row["overall_status"] in ("RECRUITING", "NOT_YET_RECRUITING") for row in near_boston)
    distances = [row["distance_km"] for row in await rows("recruiting_near", condition="", latitude="42.36", longitude="-71.06", km="300")]
    assert distances == sorted(distances) and len(distances) > len(near_boston)
    since = await rows("updated_since", since="2024-01-01")
    assert len(since) == min(LIMIT, sql("SELECT count(*) FROM trials WHERE last_update_posted >= '2024-01-01'")[0][0]) > 0
    assert len(await rows("updated_since", since="2000-01-01")) == LIMIT
    mesh = await rows("trials_by_mesh_term", mesh_term="asthma")
    assert len(mesh) == min(LIMIT, sql("SELECT count(DISTINCT nct_id) FROM conditions WHERE vocabulary LIKE 'mesh%' AND name = 'Asthma'")[0][0]) > 0
    in_paris = await rows("sites_in_place", country="france", city="paris")
    assert len(in_paris) == min(LIMIT, sql("SELECT count(*) FROM sites WHERE country = 'France' AND city = 'Paris'")[0][0]) > 0
    expected_lab_rows = min(LIMIT, sql("SELECT count(*) FROM constraints WHERE measure = 'platelet_count'")[0][0])
    assert len(await rows("trials_bounding_lab", measure="platelet_count", op="", value="")) == expected_lab_rows
    expected_therapy_rows = min(LIMIT, sql("SELECT count(*) FROM constraints WHERE drug = 'rituximab' OR drug_class = 'rituximab'")[0][0])
    assert len(await rows("trials_by_therapy", therapy="rituximab")) == expected_therapy_rows


@pytest.mark.asyncio
async def test_trial_page_of_an_api_v2_record_renders_its_markdown(datasette):
    response = await datasette.client.get("/trials/trials/NCT02513394")
    assert response.status_code == 200
    assert "<li>Age ≥18 years (or per national guidelines).</li>" in response.text


@pytest.mark.asyncio
@pytest.mark.parametrize("column, value", [("phases", "PHASE2"), ("phases", "NA"), ("conditions", "Breast Cancer"), ("conditions", "HIV Infections")])
async def test_list_facet_filter_selects_what_arraycontains_selects(datasette, column, value):
    fast = await get_json(datasette, "/trials/trials.json", **{f"_has_{column}": value, "_size": "max", "_col": "nct_id"})
    datasette_own = await get_json(datasette, "/trials/trials.json", **{f"{column}__arraycontains": value, "_size": "max", "_col": "nct_id"})
    assert fast["filtered_table_rows_count"] == datasette_own["filtered_table_rows_count"] > 0
    assert fast["rows"] == datasette_own["rows"]
