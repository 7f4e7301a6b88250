"""trialmatch's own pages through Datasette's test client, on the physician page's fixture
registry: the front door, the results as a physician scans them (no padding, ruled-out trials
folded, every form error at once), their CSV and JSON downloads, and the trial page."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from physician_registry import PAGE_HOSTILE_TITLE, SEED_FORM, build_page_registry

from matcher.embeddings import build_index
from matcher.store import Store
from matcher.web import physician_page
from matcher.web.browse import make_datasette

SEED_ID = "LOCAL-33C863882240"
ITP_IN_DENVER = {"diagnosis": "immune thrombocytopenia", "city": "Denver", "country": "United States", "radius_km": "100"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return build_page_registry(tmp_path_factory.mktemp("pages") / "registry.db")


@pytest.fixture(scope="module")
def datasette(registry):
    return make_datasette(registry, plugins=[physician_page])


@pytest.fixture(scope="module")
def datasette_with_embeddings(tmp_path_factory):
    """With the embedding index, as `trialmatch index` builds it: retrieval by similarity then
    brings every trial a filter leaves, related or not."""
    path = build_page_registry(tmp_path_factory.mktemp("pages-embedded") / "registry.db")
    store = Store(path)
    build_index(store)
    store.close()
    return make_datasette(path, plugins=[physician_page])


async def get(datasette, path: str, status: int = 200):
    response = await datasette.client.get(path)
    assert response.status_code == status, response.text[:2000]
    return response


async def page(datasette, path: str, status: int = 200) -> BeautifulSoup:
    response = await get(datasette, path, status)
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert response.headers["cache-control"] == "no-store" and response.headers["referrer-policy"] == "no-referrer"
    soup = BeautifulSoup(response.text, "html.parser")
    assert not soup.select("script:not([src])") and not soup.select("style") and not soup.select("[style]")
    return soup


def find(fields: dict) -> str:
    return "/find?" + urlencode(fields, doseq=True)


# ---------------------------------------------------------------------------- the front door


@pytest.mark.asyncio
async def test_the_front_door_offers_the_form_first_then_the_registry(datasette, registry):
    door = await page(datasette, "/")
    main = door.select_one("main")
    form, browse = main.select_one("form#patient-form"), main.select_one("section#browse")
    assert form["action"] == "/find" and form["method"] == "get"
    assert form.find_next("section", id="browse") is browse  # the form first
    assert door.select_one("#form-title").get_text() == "Find trials for a patient"
    with sqlite3.connect(registry) as conn:
        open_now = conn.execute("SELECT count(*) FROM trials WHERE overall_status IN ('RECRUITING', 'NOT_YET_RECRUITING')").fetchone()[0]
    counts = {li.select_one("a").get_text(" ", strip=True).partition(" ")[2]: li for li in browse.select(".registry-counts li")}
    assert list(counts) == ["trials open now", "conditions they study", "sites open to enrolment"]
    assert counts["trials open now"].strong.get_text() == str(open_now)
    link = counts["trials open now"].a["href"]
    assert link.startswith("/trials/trials?overall_status__in=RECRUITING%2CNOT_YET_RECRUITING")
    assert "basemap" not in door.decode()  # only the registry is offered
    assert not door.select("script")


@pytest.mark.asyncio
async def test_the_front_doors_counts_lead_to_what_they_count(datasette):
    door = await page(datasette, "/")
    sites = next(li for li in door.select(".registry-counts li") if "sites open to enrolment" in li.get_text())
    listed = await get(datasette, sites.a["href"].replace("/trials?", "/trials.json?") + "&_shape=array")
    assert len(listed.json()) == int(sites.strong.get_text().replace(",", ""))
    assert all(row["status"] in ("RECRUITING", "NOT_YET_RECRUITING") for row in listed.json())


@pytest.mark.asyncio
async def test_browse_pages_link_back_to_the_front_door(datasette):
    response = await get(datasette, "/trials/trials")
    links = {a.get_text(): a["href"] for a in BeautifulSoup(response.text, "html.parser").select("a")}
    assert links.get("Find trials for a patient") == "/find" and links.get("trialmatch home") == "/"


@pytest.mark.asyncio
async def test_the_site_map_link_shows_each_facet_once(datasette):
    database = BeautifulSoup((await get(datasette, "/trials")).text, "html.parser")
    [link] = [a["href"] for a in database.select("a") if a["href"].startswith("/trials/sites?latitude__notblank")]
    sites = BeautifulSoup((await get(datasette, link)).text, "html.parser")
    facets = [facet["data-column"] for facet in sites.select(".facet-info")]
    assert sorted(facets) == sorted(set(facets)) and "country" in facets


# ---------------------------------------------------------------------------- results


@pytest.mark.asyncio
async def test_a_radius_that_leaves_few_trials_says_so_instead_of_padding(datasette_with_embeddings):
    """Near Denver the only open trial studies asthma: retrieval by similarity brings it, but it
    is not listed as a result for an ITP patient; the page says how few trials the radius
    leaves, and shows the asthma trial apart."""
    results = await page(datasette_with_embeddings, find(ITP_IN_DENVER))
    assert results.select_one("#results-title").get_text() == "0 trials for this patient"
    assert not results.select("li.result")
    few = results.select_one("#few-trials").get_text(" ", strip=True)
    assert "These filters leave 1 trial in all." in few and "1 of the trials ranked study a disease the patient does not have" in few
    apart = results.select_one("details.off-topic")
    assert apart.summary.get_text() == "1 more trial studying a disease the patient does not have — show"
    assert "Flat Record Fixture (NCT09000003)" in apart.get_text(" ", strip=True)


@pytest.mark.asyncio
async def test_eligible_and_possible_first_ruled_out_folded_under_a_count(datasette):
    patient = {**SEED_FORM, "status": "", "procedure": "splenectomy", "procedure_date": "2015-03"}
    results = await page(datasette, find(patient))
    listed = results.select("ol.results > li.result")
    first = [li for li in listed if not li.find_parent("details")]
    folded = [li for li in listed if li.find_parent("details", class_="ruled-out")]
    assert first and folded
    assert all("eligibility-ineligible" not in li["class"] for li in first)
    assert all("eligibility-ineligible" in li["class"] for li in folded)
    summary = results.select_one("details.ruled-out > summary").get_text()
    assert summary == f"{len(folded)} trial{'s' if len(folded) > 1 else ''} ruled out — show"
    heading = results.select_one("#results-title").get_text()
    assert heading == f"{len(first)} trial{'s' if len(first) > 1 else ''} for this patient, {len(folded)} ruled out"
    for li in folded:  # each with the criteria that fail it, two or three at most
        deciding = [item.get_text() for item in li.select(".deciding li")]
        assert 1 <= len(deciding) <= 3 and all(line.startswith("✗ ") for line in deciding)
    numbers = [int(li.select_one(".rank").get_text().rstrip(".")) for li in listed]
    assert sorted(numbers) == list(range(1, len(listed) + 1))  # numbered in the learned order


@pytest.mark.asyncio
async def test_every_form_error_at_once_beside_its_field(datasette):
    fields = {"age": "forty", "weight_kg": "0", "diagnosis": ["breast cancer"], "biomarkers": ["ER+, frobnitz"],
              "lab": ["platelet count"], "lab_value": ["low"], "lab_date": ["yesterday"],
              "zip": "00000", "radius_km": "-5", "status": ""}
    results = await page(datasette, find(fields), status=400)
    expected = {"age": "expected a number, got 'forty'", "weight_kg": "expected 1 to 500 kg, got '0'",
                "biomarkers-1": "not understood: 'frobnitz'", "lab_value-1": "expected a number, got 'low'",
                "lab_date-1": "not a date", "zip": "cannot place this location", "radius_km": "expected a distance in km"}
    summary = [a["href"].lstrip("#") for a in results.select(".error-summary a")]
    assert sorted(summary) == sorted(expected)
    assert results.select_one("#error-summary-title").get_text() == f"Please correct these {len(expected)} first"
    for input_id, words in expected.items():
        field = results.select_one(f"#{input_id}")
        assert field["aria-invalid"] == "true" and f"{input_id}-error" in field["aria-describedby"]
        assert words in results.select_one(f"#{input_id}-error").get_text()
    assert results.select_one("#age")["value"] == "forty"  # nothing typed is lost
    assert not results.select("#results")


@pytest.mark.asyncio
async def test_stage_receptors_ecog_bmi_and_therapy_outcome_are_read(datasette):
    fields = {**SEED_FORM, "ecog": "1", "weight_kg": "70", "height_cm": "170",
              "diagnosis": ["primary immune thrombocytopenia", "breast cancer"], "stage": ["", "II"],
              "biomarkers": ["", "ER+, PR-, HER2-negative"], "therapy_outcome": ["failed", "ongoing"]}
    results = await page(datasette, find(fields))
    read = {dt.get_text(): dt.find_next_sibling("dd").get_text() for dt in results.select(".patient-summary dt")}
    assert "breast cancer (MeSH Breast Neoplasms): ER positive, HER2 negative, PR negative, stage II" in read["Diagnoses"]
    assert "ECOG performance status 1; body weight 70 kg; height 170 cm; body mass index 24.2 kg/m2" in read["Labs and measures"]
    assert "prednisone (2025-03-01 to 2025-06-15), past, failed" in read["Therapies"]
    assert results.select_one("#ecog option[selected]")["value"] == "1"
    assert results.select_one("#therapy_outcome-1 option[selected]")["value"] == "failed"


@pytest.mark.asyncio
async def test_downloads_give_the_same_results_as_the_page(datasette):
    patient = {**SEED_FORM, "status": "", "procedure": "splenectomy", "procedure_date": "2015-03"}
    results = await page(datasette, find(patient))
    shown = [li.select_one("h3").get_text(" ", strip=True).partition(" ")[2] for li in results.select("li.result")]
    csv_link = results.select_one('.result-tools a[href^="/find.csv?"]')["href"]
    json_link = results.select_one('.result-tools a[href^="/find.json?"]')["href"]
    as_csv = await get(datasette, csv_link)
    assert as_csv.headers["content-type"].startswith("text/csv") and as_csv.headers["cache-control"] == "no-store"
    assert as_csv.headers["content-disposition"] == 'attachment; filename="trialmatch-results.csv"'
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    listed = [row for row in rows if row["group"] != "studies another disease"]
    assert [row["title"] for row in listed] == shown
    assert {row["group"] for row in listed} == {"eligible or possible", "ruled out"}
    seed = next(row for row in rows if row["nct_id"] == SEED_ID)
    assert seed["deciding"] == "✗ Prior splenectomy. — splenectomy in the record"
    as_json = (await get(datasette, json_link)).json()
    assert [r["title"] for r in as_json["results"] if r["group"] != "studies another disease"] == shown
    assert as_json["patient_read_as"]["Patient"].startswith("45 years, female")
    bad = await get(datasette, "/find.csv?" + urlencode({"age": "forty", "diagnosis": "ITP"}), status=400)
    assert bad.text == "Age in years: expected a number, got 'forty'\n" and bad.headers["cache-control"] == "no-store"


# ---------------------------------------------------------------------------- the trial page


@pytest.mark.asyncio
async def test_a_maps_first_tiles_asked_at_once_all_come(registry):
    """A fresh server's first map: its tiles are asked for together, none may fail."""
    fresh = make_datasette(registry, plugins=[physician_page])
    await fresh.invoke_startup()  # as the server does before its first request
    tiles = await asyncio.gather(*(fresh.client.get(f"/-/tiles/basemap/2/{x}/{y}.png") for x in range(4) for y in range(4)))
    assert [t.status_code for t in tiles] == [200] * 16


@pytest.mark.asyncio
async def test_the_trial_page(datasette):
    trial = await page(datasette, "/trial/NCT09000001")
    assert trial.select_one("h1").get_text() == "Fixture Study of Drug X in Primary Immune Thrombocytopenia"
    facts = {dt.get_text(): dt.find_next_sibling("dd").get_text(" ", strip=True) for dt in trial.select(".trial-facts dt")}
    assert facts["Status"] == "Active not recruiting" and facts["Phase"] == "Phase 1, Phase 2"
    assert facts["Sponsor"] and facts["Start"] and facts["Last update posted"] == "2023-06-07"
    assert "(MeSH Purpura, Thrombocytopenic, Idiopathic)" in facts["Conditions"]
    assert trial.select_one('a[href="https://clinicaltrials.gov/study/NCT09000001"]')["rel"] == ["noopener", "noreferrer"]
    assert trial.select_one('a[href="/trials/trials/NCT09000001"]')
    platelets = next(li for li in trial.select("li.criterion") if "Platelet count" in li.get_text())
    assert platelets.select_one(".category").get_text() == "measurement"
    assert platelets.select_one("mark.constraint").get_text() == "Platelet count <30 x 10^9/L"
    assert platelets.select_one(".read-as").get_text() == "Read as: platelet count < 30 10^9/L"
    assert not trial.select(".verdict")  # no patient in the address
    sites = [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in trial.select("table.sites tbody tr")]
    assert sites[0][:3] == ["Fixture General Hospital", "Boston, Massachusetts, 02114, United States", "✓ Recruiting"]
    assert "Site Coordinator" in sites[0][3] and trial.select_one('a[href="tel:5550101"]')
    assert sites[1][2] == "not given (active not recruiting trial)"  # Lyon: not open
    points = json.loads(trial.select_one("#trial-map")["data-points"])
    assert [p["open"] for p in points["sites"]] == [True, False]
    scripts = [(s["src"], s["type"]) for s in trial.select("script")]
    assert scripts == [("/-/trialmatch/trial-map.js", "module")]
    assert trial.select_one("#trial-map")["data-leaflet"] == "/-/static-plugins/datasette-leaflet/leaflet-v1.7.1.min.js"
    for src in ("/-/trialmatch/trial-map.js", trial.select_one("#trial-map")["data-leaflet"]):
        assert (await get(datasette, src)).headers["content-type"].startswith(("text/javascript", "application/javascript"))


@pytest.mark.asyncio
async def test_the_trial_page_from_the_results_shows_the_patients_verdicts(datasette):
    results = await page(datasette, find({**SEED_FORM, "radius_km": "100"}))
    link = results.select_one("li.result h3 a")["href"]
    assert link.startswith(f"/trial/{SEED_ID}?age=45&")
    trial = await page(datasette, link)
    verdicts = {li.select_one(".criterion-text").get_text(" ", strip=True): li.select_one(".verdict").get_text(" ", strip=True)
                for li in trial.select("li.criterion") if li.select_one(".verdict")}
    platelets = next(v for text, v in verdicts.items() if text.startswith("Platelet count <30 G/L"))
    assert platelets == "✓ satisfied — platelet count 22 10^9/L on 2026-11-10 < 30"
    assert any(v.startswith("? unknown — no neutrophil count") for v in verdicts.values())
    assert trial.select_one(f'a[href^="/find?age=45&"]').get_text() == "back to the results for this patient"
    distances = [tr.select("td")[3].get_text() for tr in trial.select("table.sites tbody tr")]
    assert distances == ["0 km"]


@pytest.mark.asyncio
async def test_the_trial_page_escapes_registry_text(datasette):
    hostile = await page(datasette, "/trial/NCT09000099")
    assert PAGE_HOSTILE_TITLE in hostile.select_one("h1").get_text()
    assert not hostile.select("img") and all(s.get("src") for s in hostile.select("script"))
    assert "<script>alert('criteria')</script>" in hostile.select_one("#criteria").get_text()
    assert "Hôpital <b>Fixture</b>" in hostile.select_one(".trial-facts").get_text()


@pytest.mark.asyncio
async def test_an_unknown_trial_is_a_404_page(datasette):
    missing = await page(datasette, "/trial/NCT00000000", status=404)
    assert missing.select_one("h1").get_text() == "No trial NCT00000000 in this copy of the registry"


@pytest.mark.asyncio
async def test_a_failure_on_the_trial_page_says_nothing_about_the_patient(datasette, monkeypatch, capsys):
    def broken(patient, trial, criteria):
        raise ValueError(f"cannot evaluate {patient.conditions[0].name}")

    monkeypatch.setattr("matcher.web.trial_page.evaluate_trial", broken)
    trial = await page(datasette, f"/trial/{SEED_ID}?" + urlencode({"diagnosis": "secret-diagnosis"}))
    assert "could not be worked out" in trial.select_one(".notice").get_text() and not trial.select(".verdict")
    logged = capsys.readouterr()
    assert "physician page: trial page failed: ValueError at " in logged.err
    assert "secret-diagnosis" not in logged.err + logged.out
