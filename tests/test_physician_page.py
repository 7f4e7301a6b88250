"""The physician search page through Datasette's test client, on the page's fixture registry."""

from __future__ import annotations

import asyncio
import os
import signal
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from physician_registry import PAGE_HOSTILE_TITLE, SEED_FORM, build_page_registry

from matcher.rank import Ranker
from matcher.web import physician_page
from matcher.web.browse import make_datasette

SEED_TITLE_START = "Ianalumab in primary ITP"  # the seed listing has no title: one built from intervention and condition
HOSTILE_CRITERIA = ("Platelet count < 50 G/L <script>alert('criteria')</script>", "Adults <img src=x onerror=alert(1)>")


@pytest.fixture(scope="module")
def datasette(tmp_path_factory):
    registry = build_page_registry(tmp_path_factory.mktemp("page") / "registry.db")
    return make_datasette(registry, plugins=[physician_page])


async def find(datasette, fields: dict, status: int = 200) -> BeautifulSoup:
    response = await datasette.client.get("/find?" + urlencode(fields, doseq=True))
    assert response.status_code == status, response.text[:2000]
    assert response.headers["cache-control"] == "no-store" and response.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none': no script at all
    return BeautifulSoup(response.text, "html.parser")


def results(page: BeautifulSoup) -> list:
    return page.select("#results li.result")


def title(result) -> str:
    return result.select_one("h3").get_text(" ", strip=True)


@pytest.mark.asyncio
async def test_empty_form_is_accessible(datasette):
    page = await find(datasette, {})
    assert page.html["lang"] == "en" and page.select_one("h1").get_text() == "Find trials for a patient"
    assert not page.select("#results") and not page.select(".error-summary")
    form = page.select_one("form#patient-form")
    assert form["method"] == "get" and form["action"] == "/find"
    inputs = form.select("input:not([type=hidden]), select, textarea")
    assert len(inputs) > 30
    for field in inputs:
        assert page.select(f'label[for="{field["id"]}"]'), f"no label for {field['id']}"
    assert len(form.select("fieldset")) == len(form.select("fieldset > legend"))
    assert page.find_all("script") == []


@pytest.mark.asyncio
async def test_seed_patient_finds_the_seed_trial_with_its_reasons(datasette):
    page = await find(datasette, {**SEED_FORM, "radius_km": "100"})
    [seed] = results(page)  # within 100 km of 02114: the seed trial only (the Lyon one is too far)
    assert title(seed).startswith(f"1. {SEED_TITLE_START}")
    facts = seed.select_one(".trial-facts").get_text(" ", strip=True)
    assert "Recruiting" in facts and "Phase 2" in facts and "Massachusetts General Hospital, Boston" in facts
    assert "km away" in facts
    # the scraper keeps each of the page's flattened items as a criterion, the lead-in
    # "Participants with the following conditions at screening:" too (its nesting is lost on the page)
    assert "12 satisfied · 0 not satisfied · 4 unknown · 2 to confirm at screening" in facts
    assert seed.select_one(".eligibility").get_text(strip=True).startswith("? Possibly eligible")
    assert "chance of eligibility learned from judged cases:" in seed.select_one(".eligibility").get_text()
    why = seed.select_one(".why").get_text(" ", strip=True)
    assert why.startswith("Ranked here: ") and why.count("↑") + why.count("↓") == 3
    reasons = seed.select_one("details.criteria").get_text(" ", strip=True)
    assert "platelet count 22 10^9/L on 2026-11-10 < 30" in reasons and "prednisone in the record" in reasons
    groups = {h4.get_text(): [li.get_text(" ", strip=True) for li in h4.find_next_sibling("ul").select("li")]
              for h4 in seed.select(".checklist h4")}
    assert list(groups) == ["Labs to order", "History to ask", "To confirm at screening"]
    assert [item.split(" — ")[0] for item in groups["Labs to order"]] == [
        "exclusion: Neutrophils <1000/mm3.", "exclusion: Immunoglobulin G (IgG) <5 g/L"]
    assert "no neutrophil count in the record" in groups["Labs to order"][0]
    assert len(groups["History to ask"]) == 2 and len(groups["To confirm at screening"]) == 2
    assert not any(item.endswith(":") or "following conditions at screening:" in item for items in groups.values() for item in items)
    deciding = [li.get_text() for li in seed.select(".deciding li")]
    assert deciding[0] == "✓ primary immune thrombocytopenia in the record"
    assert deciding[-1] == "? 4 open questions: neutrophil count, immunoglobulin g to order"
    links = {a.get_text(" ", strip=True): a["href"] for a in seed.select(".trial-facts a")}
    assert not any("clinicaltrials.gov" in href for href in links.values())  # a local id has no registry page
    assert any(href.startswith("/trials/trials/LOCAL-") for href in links.values())
    read = page.select_one(".patient-summary").get_text(" ", strip=True)
    assert "45 years, female" in read and "eltrombopag (since 2025-09-01), current" in read


@pytest.mark.asyncio
async def test_results_page_keeps_the_patient_in_the_form(datasette):
    page = await find(datasette, {**SEED_FORM, "radius_km": "100"})
    assert page.select_one("#age")["value"] == "45" and page.select_one("#lab_value-1")["value"] == "22"
    assert page.select_one("#therapy_status-2 option[selected]")["value"] == "current"
    assert [box["value"] for box in page.select("input[name=status][checked]")] == ["RECRUITING", "NOT_YET_RECRUITING"]


@pytest.mark.asyncio
async def test_failed_criteria_are_highlighted_with_their_reason(datasette):
    page = await find(datasette, {**SEED_FORM, "radius_km": "100", "procedure": "splenectomy", "procedure_date": "2015-03"})
    [seed] = results(page)
    assert seed.select_one(".eligibility").get_text(strip=True).startswith("✗ Not eligible")
    assert seed.find_parent("details", class_="ruled-out").summary.get_text() == "1 trial ruled out — show"
    assert [li.get_text() for li in seed.select(".deciding li")] == ["✗ Prior splenectomy. — splenectomy in the record"]
    assert seed.select_one("tr.outcome-failed").get_text(" ", strip=True).startswith("exclusion Prior splenectomy. ✗ fails")


@pytest.mark.asyncio
async def test_status_filter_and_registry_links(datasette):
    page = await find(datasette, {"diagnosis": "immune thrombocytopenia", "status": ["", "ACTIVE_NOT_RECRUITING"]})
    [active] = results(page)
    assert "Active not recruiting" in active.get_text(" ", strip=True)
    link = active.select_one('a[href^="https://clinicaltrials.gov/study/NCT09000001"]')
    assert link is not None and "noreferrer" in link["rel"]
    anything = await find(datasette, {"diagnosis": "immune thrombocytopenia", "status": ""})
    assert len(results(anything)) == 3


@pytest.mark.asyncio
async def test_a_note_alone_is_a_patient(datasette):
    note = "45-year-old woman with primary immune thrombocytopenia, platelet count 22 x 10^9/L, on eltrombopag."
    page = await find(datasette, {"note": note, "zip": "02114", "radius_km": "50"})
    [seed] = results(page)
    assert title(seed).startswith(f"1. {SEED_TITLE_START}")
    assert "platelet count 22" in page.select_one(".patient-summary").get_text(" ", strip=True)


@pytest.mark.asyncio
@pytest.mark.parametrize(("fields", "input_id", "message"), [
    ({"diagnosis": "ITP", "lab": "platelet count", "lab_value": "low"}, "lab_value-1", "Value (lab 1): expected a number, got 'low'"),
    ({"diagnosis": "ITP", "age": "-3"}, "age", "Age in years: must be between 0 and 130 years"),
    ({"diagnosis": "ITP", "zip": "00000"}, "zip", "ZIP code: cannot place this location"),
    ({"diagnosis": "ITP", "radius_km": "50"}, "zip", "ZIP code: a radius needs the patient's ZIP code or city"),
    ({"age": "45", "status": ""}, "diagnosis-1", "Diagnosis 1: enter at least a diagnosis"),
])
async def test_errors_show_next_to_the_field(datasette, fields, input_id, message):
    page = await find(datasette, fields, status=400)
    assert message in page.select_one(".error-summary").get_text(" ", strip=True)
    message = message.partition(": ")[2]
    assert page.select_one(".error-summary a")["href"] == f"#{input_id}"
    field = page.select_one(f"#{input_id}")
    assert field["aria-invalid"] == "true" and f"{input_id}-error" in field["aria-describedby"]
    assert message in page.select_one(f"#{input_id}-error").get_text()
    assert not page.select("#results")


@pytest.mark.asyncio
async def test_hostile_registry_text_is_inert(datasette):
    page = await find(datasette, {**SEED_FORM, "status": ["", "RECRUITING"]})
    hostile = next(r for r in results(page) if "Hostile Title" in title(r))
    assert PAGE_HOSTILE_TITLE in title(hostile)  # shown as text …
    assert page.find_all("script") == [] and page.find_all("img") == []  # … never as markup
    criteria = hostile.select_one("details.criteria").get_text(" ", strip=True)
    assert all(text in criteria for text in HOSTILE_CRITERIA)


@pytest.mark.asyncio
async def test_user_text_is_escaped_too(datasette):
    page = await find(datasette, {"diagnosis": "<script>alert(1)</script>", "note": "</textarea><script>alert(2)</script>"})
    assert page.find_all("script") == []
    assert page.select_one("#note").get_text() == "</textarea><script>alert(2)</script>"


@pytest.mark.asyncio
async def test_add_a_row_without_javascript(datasette):
    page = await find(datasette, {"lab": ["platelet count", "", ""], "lab_value": ["22", "", ""], "add": "labs", "status": ""})
    assert len(page.select("input[name=lab]")) == 4 and page.select_one("#lab-1")["value"] == "platelet count"
    assert not page.select("#results") and not page.select(".error-summary")
    buttons = page.select("button[name=add]")
    assert {b["value"] for b in buttons} == {"conditions", "labs", "medications", "procedures"}
    assert all(b["formaction"].startswith("/find#") for b in buttons)


@pytest.mark.asyncio
async def test_home_page_links_to_the_page(datasette):
    response = await datasette.client.get("/")
    links = BeautifulSoup(response.text, "html.parser").select('a[href="/find"]')
    assert [a.get_text() for a in links] == ["Find trials for a patient"]
    css = await datasette.client.get("/-/trialmatch/find.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.asyncio
async def test_a_failure_says_nothing_about_the_patient(datasette, monkeypatch, capsys):
    def broken(self, patient, **options):
        raise ValueError(f"cannot rank {patient.labs[0].value} for {patient.conditions[0].name}")

    monkeypatch.setattr(Ranker, "rank", broken)
    page = await find(datasette, {**SEED_FORM, "diagnosis": "secret-diagnosis", "lab_value": "987.5"}, status=500)
    assert "the search failed" in page.select_one(".error-summary").get_text()
    logged = capsys.readouterr()
    assert "physician page: search failed: ValueError at " in logged.err and "test_physician_page.py" in logged.err
    assert not any(secret in logged.err + logged.out for secret in ("secret-diagnosis", "987.5", "cannot rank"))


@pytest.mark.asyncio
async def test_a_lab_the_matcher_does_not_know_is_flagged(datasette):
    page = await find(datasette, {"diagnosis": "immune thrombocytopenia", "lab": ["platelets", "frobnitz index"],
                                  "lab_value": ["22", "3"], "lab_unit": ["G/L", ""]})
    notices = [p.get_text(" ", strip=True) for p in page.select("#results .notice:not(.few)")]
    assert notices == ["Note: Lab “frobnitz index” is not a test trialmatch knows: it is not compared with any criterion."]


@pytest.fixture(scope="module")
def datasette_with_ranker_processes(tmp_path_factory):
    registry = build_page_registry(tmp_path_factory.mktemp("page-processes") / "registry.db")
    datasette = make_datasette(registry, plugins=[physician_page])
    search = physician_page.search_for(datasette, rankers=2)  # as `trialmatch serve --rankers 2` makes it
    search.start_warming_up()
    yield datasette
    search.close()


@pytest.mark.asyncio
async def test_ranker_processes_rank_as_the_server_thread_does(datasette, datasette_with_ranker_processes):
    fields = {"diagnosis": "immune thrombocytopenia", "lab": "platelet count", "lab_value": "22", "lab_unit": "10^9/L",
              "status": ""}
    in_thread = [title(r) for r in results(await find(datasette, fields))]
    in_processes = [title(r) for r in results(await find(datasette_with_ranker_processes, fields))]
    assert len(in_thread) > 1 and in_processes == in_thread


@pytest.mark.asyncio
async def test_a_ranker_process_that_dies_is_replaced_and_the_search_still_answers(datasette_with_ranker_processes):
    await find(datasette_with_ranker_processes, SEED_FORM)  # the processes are up
    executor = physician_page.search_for(datasette_with_ranker_processes)._executor
    os.kill(next(iter(executor._processes)), signal.SIGKILL)  # out of memory, or killed by an operator
    for _ in range(200):  # until the pool has noticed, so the next search meets the broken pool
        if executor._broken:
            break
        await asyncio.sleep(0.05)
    [seed] = results(await find(datasette_with_ranker_processes, {**SEED_FORM, "radius_km": "100"}))
    assert title(seed).startswith(f"1. {SEED_TITLE_START}")
    assert physician_page.search_for(datasette_with_ranker_processes)._executor is not executor
