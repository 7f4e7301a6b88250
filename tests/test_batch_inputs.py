"""Reading batch input: JSONL, CSV and FHIR folders, record by record, errors by line and field."""

import json
import shutil

import pytest

from conftest import FIXTURES
from matcher.patient.from_csv import COLUMNS
from matcher.batch.inputs import BatchInputError, read_input
from matcher.patient import load_patient


def write_lines(path, *lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def by_where(records):
    return {r.where: r for r in records}


def test_jsonl_records_ids_shortlists_and_errors(tmp_path):
    path = write_lines(
        tmp_path / "patients.jsonl",
        json.dumps({"id": "a", "age": 40, "candidates": ["nct09000001"]}),
        "",
        '{"id": "b", "age": 41',
        json.dumps({"age": 50}),
        json.dumps({"id": "a", "age": 60}),
        json.dumps({"id": ["x"]}),
        json.dumps({"id": "c", "candidates": "NCT09000001"}),
        json.dumps("A 60-year-old man with asthma."),
    )
    records = by_where(read_input(path))
    assert set(records) == {"line 1", "line 3", "line 4", "line 5", "line 6", "line 7", "line 8"}  # blank line 2 skipped
    assert records["line 1"].patient == "a" and records["line 1"].candidates == ["NCT09000001"]
    assert records["line 3"].error.startswith("not valid JSON (") and records["line 3"].patient is None
    assert records["line 4"].patient == "line 4" and records["line 4"].error is None  # no id: the line stands for it
    assert records["line 5"].error == "id: the same patient id as line 1"
    assert records["line 6"].error == "id: expected text"
    assert records["line 7"].error == "candidates: expected a list of NCT ids"
    note = records["line 8"]
    assert note.error is None and load_patient(note.data).age == 60


def test_changed_record_has_another_digest(tmp_path):
    first = next(read_input(write_lines(tmp_path / "a.jsonl", json.dumps({"id": "a", "age": 40}))))
    same = next(read_input(write_lines(tmp_path / "b.jsonl", json.dumps({"id": "a", "age": 40}))))
    changed = next(read_input(write_lines(tmp_path / "c.jsonl", json.dumps({"id": "a", "age": 41}))))
    assert first.digest == same.digest != changed.digest


def test_csv_columns_become_the_patient_json(tmp_path):
    path = write_lines(
        tmp_path / "patients.csv",
        "id,age,sex,conditions,medications,procedures,labs,pregnant,zip,city,country,note,candidates",
        'p1,45,female,primary immune thrombocytopenia; hypertension,eltrombopag;prednisone,splenectomy,'
        '"platelet count=22 10^9/L; HbA1c = 7.9 %",no,02114,,,"Relapsed, on eltrombopag.",NCT09000001;NCT09000002',
        "p2,,male,asthma,,,,,,Lyon,France,,",
    )
    first, second = read_input(path)
    assert first.line == 2 and first.patient == "p1" and first.candidates == ["NCT09000001", "NCT09000002"]
    assert first.data["conditions"] == ["primary immune thrombocytopenia", "hypertension"]
    assert first.data["labs"] == [{"name": "platelet count", "value": 22.0, "unit": "10^9/L"},
                                  {"name": "HbA1c", "value": 7.9, "unit": "%"}]
    assert first.data["pregnant"] is False and first.data["location"] == {"zip": "02114"}
    patient = load_patient(first.data)
    assert patient.age == 45 and patient.medications[0].name == "eltrombopag" and patient.procedures[0].name == "splenectomy"
    assert second.data["location"] == {"city": "Lyon", "country": "France"} and "age" not in second.data


def test_csv_errors_name_line_and_column_but_not_the_value(tmp_path):
    path = write_lines(
        tmp_path / "patients.csv",
        "id,age,labs,pregnant,country",
        "p1,forty-five,,,",
        "p2,40,platelets 22,,",
        "p3,40,,maybe,",
        "p4,40,,,France",
        "p5,40,,,,extra",
    )
    errors = {r.where: r.error for r in read_input(path)}
    assert errors == {
        "line 2": "column age: expected a number",
        "line 3": "column labs: item 1: expected name=value unit, e.g. platelet count=22 10^9/L",
        "line 4": "column pregnant: expected yes or no",
        "line 5": "column country: give a city with the country (or a zip)",
        "line 6": "column (extra): the row has more cells than the header has columns",
    }


def test_csv_with_an_unknown_column_is_refused_whole(tmp_path):
    path = write_lines(tmp_path / "patients.csv", "id,age,diagnosis", "p1,40,asthma")
    with pytest.raises(BatchInputError, match="unknown column 'diagnosis'"):
        read_input(path)
    assert "candidates" in COLUMNS and "labs" in COLUMNS


def test_fhir_folder_one_bundle_per_file(tmp_path):
    shutil.copy(FIXTURES / "patients" / "itp-bundle.json", tmp_path / "a.json")
    (tmp_path / "b.json").write_text("{not json")
    (tmp_path / "c.json").write_text(json.dumps({"resourceType": "Patient", "id": "x"}))
    (tmp_path / "d.json").write_text(json.dumps({"resourceType": "Bundle", "entry": []}))
    (tmp_path / "notes.txt").write_text("ignored")
    records = by_where(read_input(tmp_path))
    assert set(records) == {"a.json", "b.json", "c.json", "d.json"}
    assert records["a.json"].patient == "itp-fhir" and records["a.json"].error is None
    assert records["b.json"].error.startswith("not valid JSON")
    assert records["c.json"].error == "resourceType: expected a FHIR Bundle"
    assert records["d.json"].patient == "d"  # no Patient resource: the file name stands for it


def test_unknown_input_kind_and_missing_input(tmp_path):
    with pytest.raises(BatchInputError, match="expected a .jsonl or .csv file"):
        read_input(write_lines(tmp_path / "patients.txt", "x"))
    with pytest.raises(BatchInputError, match="no such file"):
        read_input(tmp_path / "absent.jsonl")
