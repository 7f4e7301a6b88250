"""FHIR R4 output: `export-fhir` (ResearchStudy) and `batch --format fhir` (ResearchSubject),
read back with fhir.resources' models.

fhir.resources 8 ships R5 (default), R4B and STU3, not R4 (4.0.1) itself: the R4B models are
used. ResearchStudy and ResearchSubject have the same elements, cardinalities and status codes in
R4 and R4B (docs/fhir.md); the code lists are read from the models, which do not check them.
"""

import csv
import json
import shutil
import sqlite3

import pytest
from fhir.resources.R4B.researchstudy import ResearchStudy
from fhir.resources.R4B.researchsubject import ResearchSubject

from conftest import FIXTURES, shared_file
from matcher.cli import main
from matcher.derive import geocode_sites, parse_trials
from matcher.ingest import import_paths
from matcher.store import Store

CTGOV = "http://clinicaltrials.gov"
ASSESSMENT = "urn:trialmatch:fhir:StructureDefinition:match-assessment"


def codes(model, element: str) -> list[str]:
    return model.model_fields[element].json_schema_extra["enum_values"]


def build_registry(path, sources):
    store = Store(path)
    import_paths(store, sources)
    parse_trials(store)
    geocode_sites(store)
    store.close()
    return path


@pytest.fixture(scope="module")
def registry_template(tmp_path_factory):
    return build_registry(tmp_path_factory.mktemp("registry") / "trials.db", [FIXTURES / "records"])


@pytest.fixture
def registry(registry_template, tmp_path):
    path = tmp_path / "trials.db"
    shutil.copy(registry_template, path)
    return path


def ndjson(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def extension(resource: dict, url: str) -> dict:
    """The parts of a complex extension: name → value, and the repeated ``criterion`` parts."""
    [found] = [e for e in resource["extension"] if e["url"] == url]
    parts = {}
    for part in found["extension"]:
        if part["url"] == "criterion":
            parts.setdefault("criterion", []).append({p["url"]: next(v for k, v in p.items() if k != "url")
                                                      for p in part["extension"]})
        else:
            parts[part["url"]] = next(v for k, v in part.items() if k.startswith("value"))
    return parts


def test_export_fhir_writes_valid_research_studies(registry, tmp_path, capsys):
    out = tmp_path / "ResearchStudy.ndjson"
    assert main(["--db", str(registry), "export-fhir", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}: 4 ResearchStudy resources\n"
    studies = ndjson(out)
    assert [s["id"] for s in studies] == ["NCT09000001", "NCT09000002", "NCT09000003", "NCT09000004"]
    for study in studies:
        model = ResearchStudy.model_validate(study)
        assert model.status in codes(ResearchStudy, "status") or study["_status"]["extension"][0]["valueCode"] == "unknown"
        assert model.identifier[0].system == CTGOV and model.identifier[0].value == study["id"]
        contained = {f"#{r['id']}" for r in study["contained"]}
        references = [r["reference"] for r in study.get("site", []) + study["enrollment"] + [study.get("sponsor", {})]
                      if r.get("reference")]
        assert references and set(references) <= contained  # every contained resource is referenced, and found
    first = {s["id"]: s for s in studies}["NCT09000001"]
    assert first["status"] == "closed-to-accrual" and first["extension"][0]["valueCode"] == "ACTIVE_NOT_RECRUITING"
    assert first["phase"]["coding"][0]["code"] == "phase-1-phase-2"
    group = first["contained"][0]
    assert group["resourceType"] == "Group" and group["actual"] is False
    exclusions = [c["valueCodeableConcept"]["text"] for c in group["characteristic"] if c["exclude"]]
    assert any("splenectomy" in text.lower() for text in exclusions)
    assert "Platelet count &lt;30" in group["text"]["div"]  # the whole text, escaped as XHTML


def test_a_status_r4_cannot_say_is_marked_unknown_not_guessed(registry, tmp_path):
    store = Store(registry)
    with store.conn:
        store.conn.execute("UPDATE trials SET overall_status = 'UNKNOWN' WHERE nct_id = 'NCT09000002'")
    store.close()
    out = tmp_path / "studies.ndjson"
    assert main(["--db", str(registry), "export-fhir", "--nct", "NCT09000002", "--out", str(out)]) == 0
    [study] = ndjson(out)
    ResearchStudy.model_validate(study)
    assert "status" not in study and study["_status"]["extension"][0]["valueCode"] == "unknown"


def test_export_fhir_to_standard_output_by_status(registry, capsys):
    assert main(["--db", str(registry), "export-fhir", "--status", "active, not recruiting"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["NCT09000001"]


@pytest.mark.real_data
def test_real_api_v2_records_export_as_valid_research_studies(tmp_path, capsys):
    folder = shared_file("ctgov", "api-v2")
    registry = build_registry(tmp_path / "trials.db", [folder])
    out = tmp_path / "studies.ndjson"
    assert main(["--db", str(registry), "export-fhir", "--out", str(out)]) == 0
    studies = ndjson(out)
    assert len(studies) >= 15
    for study in studies:
        model = ResearchStudy.model_validate(study)
        assert model.status in codes(ResearchStudy, "status") or study["_status"]["extension"][0]["valueCode"] == "unknown"
    placed = [loc for s in studies for loc in s["contained"] if loc["resourceType"] == "Location" and "position" in loc]
    assert placed  # registry coordinates carried over


def test_batch_to_fhir_round_trip(registry, tmp_path, capsys):
    patients = tmp_path / "patients.jsonl"
    patients.write_text("\n".join(json.dumps(p) for p in [
        {"id": "p1", "age": 45, "sex": "female", "conditions": ["primary immune thrombocytopenia"],
         "labs": [{"name": "platelet count", "value": 22, "unit": "10^9/L"}]},
        {"id": "p 2/x", "age": 45, "sex": "female", "conditions": ["primary immune thrombocytopenia"],
         "labs": [{"name": "platelet count", "value": 90, "unit": "10^9/L"}], "procedures": ["splenectomy"]},
    ]) + "\n")
    base = ["--db", str(registry), "batch", str(patients), "--no-embeddings", "--status", "ANY"]
    assert main([*base, "--out", str(tmp_path / "m.csv")]) == 0
    assert main([*base, "--out", str(tmp_path / "matches.ndjson"), "--format", "fhir"]) == 0
    capsys.readouterr()
    rows = list(csv.DictReader((tmp_path / "m.csv").open()))
    subjects = ndjson(tmp_path / "matches.ndjson")
    assert len(subjects) == len(rows) > 2
    assert main(["--db", str(registry), "export-fhir", "--out", str(tmp_path / "studies.ndjson")]) == 0
    study_ids = {s["id"] for s in ndjson(tmp_path / "studies.ndjson")}
    status_of = {"eligible": "eligible", "possible": "potential-candidate", "ineligible": "ineligible"}
    for row, subject in zip(rows, subjects):
        model = ResearchSubject.model_validate(subject)
        assert model.status in codes(ResearchSubject, "status") and model.status == status_of[row["eligibility"]]
        assert model.study.reference == f"ResearchStudy/{row['nct_id']}" and row["nct_id"] in study_ids
        assert model.study.identifier.system == CTGOV and model.study.identifier.value == row["nct_id"]
        parts = extension(subject, ASSESSMENT)
        assert (parts["eligibility"], parts["rank"]) == (row["eligibility"], int(row["rank"]))
        assert (parts["failed"], parts["unknown"]) == (int(row["criteria_failed"]), int(row["criteria_unknown"]))
        listed = parts.get("criterion", [])
        assert sum(c["outcome"] == "failed" for c in listed) == int(row["criteria_failed"])
        assert sum(c["outcome"] == "unknown" for c in listed) == int(row["criteria_unknown"])
        for criterion in listed:  # each failed or unknown one, whole, with the reason the CSV abbreviates
            if criterion["outcome"] in ("failed", "unknown"):
                assert criterion["reason"][:40] in row["reasons"]
    assert subjects[0]["individual"] == {"reference": "Patient/p1"}
    assert subjects[-1]["individual"] == {"identifier": {"value": "p 2/x"}}  # not a FHIR id: a logical reference
    ineligible = next(s for s in subjects if s["status"] == "ineligible")
    reasons = [c["reason"] for c in extension(ineligible, ASSESSMENT)["criterion"] if c["outcome"] == "failed"]
    assert any("splenectomy" in reason or "platelet count 90" in reason for reason in reasons)


def test_batch_streams_to_standard_output(registry, tmp_path, capsys):
    patients = tmp_path / "patients.jsonl"
    patients.write_text('{"id": "p1", "age": 45, "sex": "female", "conditions": ["immune thrombocytopenia"]}\n')
    assert main(["--db", str(registry), "batch", str(patients), "--out", "-", "--no-embeddings"]) == 0
    printed = capsys.readouterr()
    rows = [json.loads(line) for line in printed.out.splitlines()]
    assert rows and {r["patient"] for r in rows} == {"p1"} and "criteria" not in rows[0]
    assert "standard output: " in printed.err and "run 1" in printed.err  # the summary stays off the data
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    assert main(["--db", str(registry), "batch", str(patients), "--out", "-", "--format", "fhir", "--no-embeddings"]) == 0
    [ResearchSubject.model_validate_json(line) for line in capsys.readouterr().out.splitlines()]


def test_an_output_name_that_says_no_format_needs_format(registry, tmp_path, capsys):
    patients = tmp_path / "patients.jsonl"
    patients.write_text('{"id": "p1", "age": 45}\n')
    assert main(["--db", str(registry), "batch", str(patients), "--out", str(tmp_path / "m.txt")]) == 2
    assert "expected a .csv, .jsonl or .ndjson file name, or --format csv, jsonl or fhir" in capsys.readouterr().err
    assert main(["--db", str(registry), "batch", str(patients), "--out", str(tmp_path / "m.txt"),
                 "--format", "fhir", "--no-embeddings"]) == 0
    [ResearchSubject.model_validate(s) for s in ndjson(tmp_path / "m.txt")]


def test_a_results_database_from_before_the_fhir_output_gains_the_criteria_column(tmp_path):
    from matcher.batch.results import ResultsStore

    ResultsStore(tmp_path / "r.db").close()
    with sqlite3.connect(tmp_path / "r.db") as old:  # as versions before the FHIR output made it
        old.execute("ALTER TABLE matches DROP COLUMN criteria")
    results = ResultsStore(tmp_path / "r.db")
    assert "criteria" in results.db["matches"].columns_dict
    results.close()
