"""The fuzz suite: every reader of outside input, fed real-shaped records with hostile changes.

Property, for each: a result, or a clear error naming the record, line or field; never any
other exception; and the good records around a bad one are read as if it were not there.
Readers: registry XML, API v2 and flat JSON (bulk import into a database, and crawl pages),
listing pages, patient JSON, FHIR Bundles, JSONL and CSV batch lines, notes, physician-page
queries. How many examples: ``fuzz_strategies.fuzz_settings``."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from browse_registry import build_fixture_registry
from crawlers.bulk import Rejection, read_paths
from crawlers.ctgov_api import Page, decode_response
from crawlers.listings import ListingError, parse_listing
from fuzz_strategies import (
    FHIR_BUNDLE,
    FLAT_RECORD,
    JSON_VALUES,
    LISTINGS,
    PATIENT,
    TEXT,
    V2_STUDY,
    Tally,
    corrupted_bytes,
    fuzz_settings,
    json_text,
    mutated,
    xml_records,
)
from matcher.batch.inputs import read_input
from matcher.crawl import page_records
from matcher.ingest import import_paths
from matcher.patient import PatientError, load_patient, read_patient_file
from matcher.store import Store
from matcher.web import physician_page
from matcher.web.browse import make_datasette
from matcher.web.patient_form import ROW_GROUPS, SINGLE_FIELDS, read_form
from matcher.web.patient_search import SearchOutcome
from models.patient import Patient
from models.trial import Trial
from registry_helpers import synthetic_studies

TODAY = date(2026, 11, 25)
GOOD = synthetic_studies(2)


def run_fuzz(name: str, examples: int, strategy, check) -> None:
    """Run ``check`` on the examples of ``strategy``; count them for the soak's report."""
    tally = Tally(name)

    @fuzz_settings(examples)
    @given(strategy)
    def fuzz(example):
        tally()
        check(example)

    fuzz()
    tally.report()
    assert tally.count > 0


# ---------------------------------------------------------------------------- registry records


def test_registry_xml_files():
    def check(document: bytes):
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "a.json").write_text(json.dumps(GOOD[0]))
            Path(folder, "b.xml").write_bytes(document)
            Path(folder, "c.json").write_text(json.dumps(GOOD[1]))
            items = list(read_paths([folder]))
        trials = {item[0].nct_id: item[1].provenance.location for item in items if not isinstance(item, Rejection)}
        assert trials[GOOD[0]["protocolSection"]["identificationModule"]["nctId"]].endswith("a.json")
        assert trials[GOOD[1]["protocolSection"]["identificationModule"]["nctId"]].endswith("c.json")
        for item in items:
            location = item.location if isinstance(item, Rejection) else item[1].provenance.location
            assert location.endswith(("a.json", "c.json")) or "b.xml" in location
            if isinstance(item, Rejection):
                assert item.reason and "\n" not in item.reason

    run_fuzz("registry XML", 150, xml_records(), check)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("fuzz-store") / "trials.db")


def registry_json_lines():
    study = st.one_of(mutated(V2_STUDY), mutated(FLAT_RECORD)).map(json_text).map(str.encode)
    return st.one_of(study, study.flatmap(corrupted_bytes))


def test_registry_json_lines_imported_into_a_database(store):
    def check(line: bytes):
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder, "studies.jsonl")
            source.write_bytes(json.dumps(GOOD[0]).encode() + b"\n" + line.replace(b"\n", b" ") + b"\n" + json.dumps(GOOD[1]).encode() + b"\n")
            summary = import_paths(store, [source])
        assert all(r.location == f"{source}:2" and r.reason for r in summary.rejections)
        for good in GOOD:
            assert store.trial(good["protocolSection"]["identificationModule"]["nctId"]) is not None

    run_fuzz("API v2 and flat JSON lines", 150, registry_json_lines(), check)


def test_registry_pages_of_a_crawl(store):
    def check(study):
        page_text = json_text({"studies": [GOOD[0], study, GOOD[1]], "nextPageToken": "t"}).encode()
        try:
            document = decode_response(page_text)
        except ValueError:
            return  # a page the client retries, then reports: not a record's problem
        records, rejections = page_records(Page("http://registry/studies", document["studies"], "t", "now"))
        store.write_trials(records)
        assert {t.nct_id for t, _ in records} >= {g["protocolSection"]["identificationModule"]["nctId"] for g in GOOD}
        assert [r.location for r in rejections] in ([], ["http://registry/studies#2"])

    run_fuzz("API v2 crawl pages", 150, mutated(V2_STUDY, changes=4), check)


def test_listing_pages(store):
    def check(page: bytes):
        try:
            trial, raw = parse_listing(page, None, location="fuzzed.html")
        except ListingError as error:
            assert str(error)
            return
        assert isinstance(trial, Trial)
        store.write_trials([(trial, raw)])

    pages = st.sampled_from(LISTINGS).flatmap(lambda page: st.one_of(
        corrupted_bytes(page),
        st.lists(TEXT, min_size=1, max_size=6).map(lambda texts: page.replace(b"Inclusion", "".join(texts).encode("utf-8", "surrogatepass"), 1)),
    ))
    run_fuzz("listing pages", 100, pages, check)


# ---------------------------------------------------------------------------- patients


def loads_or_says_why(data) -> Patient | None:
    try:
        return load_patient(data, today=TODAY)
    except PatientError as error:
        assert error.field and str(error).startswith(f"{error.field}: ")
        return None


def test_patient_json():
    def check(patient):
        loads_or_says_why(patient)
        try:
            read_patient_file("-", stdin_text=json_text(patient), today=TODAY)
        except PatientError as error:
            assert error.field

    run_fuzz("patient JSON", 300, mutated(PATIENT, changes=4), check)


def test_fhir_bundles():
    run_fuzz("FHIR bundles", 300, mutated(FHIR_BUNDLE, changes=4), loads_or_says_why)


NOTE_PIECES = ["45-year-old woman", "with ITP", "platelets 22 G/L", "denies", "no history of", "on eltrombopag",
               "since 2025", "pregnant", "mother had", "HbA1c 7.9%", "\n", ". ", "not", "-", "1e400", "\x00", "𝟒𝟓"]
NOTES = st.one_of(st.text(max_size=2000), st.lists(st.sampled_from(NOTE_PIECES) | TEXT, max_size=60).map(" ".join))


def test_notes():
    run_fuzz("notes", 200, NOTES, loads_or_says_why)


# ---------------------------------------------------------------------------- batch lines


def batch_file_records(path: Path) -> list:
    return list(read_input(path))


def check_batch_records(records, good_ids: set[str]) -> None:
    good = {r.patient: r for r in records if r.patient in good_ids and r.error is None}
    assert set(good) == good_ids, [(r.where, r.patient, r.error) for r in records]
    for record in records:
        if record.error is not None:
            assert record.where.startswith("line ") and record.error
        else:
            loads_or_says_why(record.data)


def test_batch_jsonl_lines():
    line = st.one_of(mutated(PATIENT, changes=4).map(json_text).map(str.encode),
                     mutated(PATIENT).map(json_text).map(str.encode).flatmap(corrupted_bytes))

    def check(fuzzed: bytes):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "patients.jsonl")
            good = [json.dumps({"id": f"good-{n}", "age": 40, "conditions": ["asthma"]}).encode() for n in (1, 2)]
            path.write_bytes(good[0] + b"\n" + fuzzed.replace(b"\n", b" ") + b"\n" + good[1] + b"\n")
            records = batch_file_records(path)
        assert [r.line for r in records] == [1, 2, 3] or not fuzzed.strip()
        check_batch_records(records, {"good-1", "good-2"})

    run_fuzz("JSONL batch lines", 100, line, check)


CSV_COLUMNS = ["id", "age", "birth_date", "sex", "conditions", "labs", "medications", "pregnant", "zip", "city", "country", "note"]


NOT_UTF8 = "\udce9"  # stands for the byte 0xE9 (é in latin-1) until the row is encoded


@st.composite
def csv_rows(draw) -> bytes:
    """One row of hostile cells, quoted as a CSV writer quotes them (so the file stays CSV), one
    of them perhaps holding a byte that is not UTF-8."""
    cells = [draw(TEXT | st.sampled_from(["40", "1e400", "-3", "9" * 400, "yes", "platelet count=22 G/L; x=", "a;b;;c"]))
             for _ in CSV_COLUMNS]
    if draw(st.booleans()):
        cells[0] = f"fuzzed-{cells[0]}"
    if draw(st.booleans()):
        column = draw(st.integers(0, len(cells) - 1))
        at = draw(st.integers(0, len(cells[column])))
        cells[column] = cells[column][:at] + NOT_UTF8 + cells[column][at:]
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().encode("utf-8", "surrogatepass").replace(NOT_UTF8.encode("utf-8", "surrogatepass"), b"\xe9")


def test_batch_csv_rows():
    def check(row: bytes):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "patients.csv")
            header = ",".join(CSV_COLUMNS).encode() + b"\r\n"
            good = [f"good-{n},40,,,asthma,,,,,,,\r\n".encode() for n in (1, 2)]
            path.write_bytes(header + good[0] + row + good[1])
            records = batch_file_records(path)
        check_batch_records(records, {"good-1", "good-2"})

    run_fuzz("CSV batch rows", 100, csv_rows(), check)


# ---------------------------------------------------------------------------- the physician page


@pytest.fixture(scope="module")
def datasette(tmp_path_factory):
    return make_datasette(build_fixture_registry(tmp_path_factory.mktemp("fuzz-page") / "trials.db"), plugins=[physician_page])


FORM_PARAMS = [*SINGLE_FIELDS, "status", "add", *(c.param for g in ROW_GROUPS for c in g.columns)]
QUERIES = st.one_of(
    st.lists(st.tuples(st.sampled_from(FORM_PARAMS) | TEXT, TEXT | st.sampled_from(["22", "-1", "1e400", "nan", "2026-02-30"])),
             max_size=12).map(lambda pairs: urlencode(pairs, errors="surrogatepass")),
    st.text(max_size=300),
)


def test_physician_page_queries(datasette):
    search = physician_page.search_for(datasette)

    def check(query: str):
        try:
            form = read_form(query)
        except ValueError:
            return  # more fields than the form has: the page answers 414
        outcome = search.search(form) if form.submitted else None
        if outcome is not None:
            for error in outcome.errors:
                assert error.message and (error.input_id is None or error.input_id in physician_page.render(datasette, form, outcome))
        assert "</html>" in physician_page.render(datasette, form, outcome or SearchOutcome())

    run_fuzz("physician page queries", 150, QUERIES, check)


def test_json_values_strategy_reaches_the_hostile_ones():
    """The strategies do produce what the issue found (so the suite is not fuzzing politely)."""
    seen = set()

    @fuzz_settings(300)
    @given(JSON_VALUES)
    def look(value):
        text = json_text(value)
        seen.update(kind for kind, found in (("nan", "NaN" in text), ("infinity", "Infinity" in text),
                                             ("surrogate", "\\ud8" in text or "\\udc" in text), ("deep", "[[[[[[[[" in text)) if found)

    look()
    assert seen >= {"nan", "infinity", "deep"}
