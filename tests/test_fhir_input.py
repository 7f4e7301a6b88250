"""FHIR R4 input that honours what FHIR says: clinical and verification status, every coding,
values and UCUM units, medication status and intent (docs/fhir.md, "FHIR input")."""

from datetime import date

import pytest

from matcher.criteria import parse_criteria
from matcher.eligibility import evaluate
from matcher.eligibility.checks import canonical_lab, not_understood
from matcher.patient import PatientError, load_patient
from matcher.patient.fhir_values import numeric_string, pick_coding, ucum_unit

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def bundle(*resources, birth="1970-05-01"):
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": "female"}
    entries = [patient, *resources]
    return {"resourceType": "Bundle", "id": "b1", "type": "collection", "timestamp": "2026-11-25T10:00:00Z",
            "entry": [{"resource": r} for r in entries]}


def condition(code=None, text=None, clinical=None, verification=None, id="c1", onset=None):
    resource = {"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p1"},
                "code": {"coding": code or []}}
    if text:
        resource["code"]["text"] = text
    if clinical:
        resource["clinicalStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                  "code": clinical}]}
    if verification:
        resource["verificationStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                                      "code": verification}]}
    if onset:
        resource["onsetDateTime"] = onset
    return resource


def observation(coding, id="o1", **value):
    return {"resourceType": "Observation", "id": id, "status": "final", "code": {"coding": coding},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-11-10", **value}


def medication(name, status="active", id="m1", kind="MedicationRequest", **more):
    resource = {"resourceType": kind, "id": id, "status": status,
                "medicationCodeableConcept": {"text": name}, "subject": {"reference": "Patient/p1"}, **more}
    if kind == "MedicationRequest":
        resource.setdefault("intent", "order")
    return resource


def verdict(patient, text, kind="exclusion"):
    heading = "Inclusion Criteria:" if kind == "inclusion" else "Exclusion Criteria:"
    [v] = evaluate(patient, parse_criteria(f"{heading}\n- {text}\n"))
    return v


TB = [{"system": SNOMED, "code": "56717001", "display": "Tuberculosis"}]


# ---------------------------------------------------------------- 1. clinicalStatus


@pytest.mark.parametrize("status", ["resolved", "inactive", "remission"])
def test_a_condition_that_is_over_is_history_not_current(status):
    patient = load_patient(bundle(condition(TB, clinical=status, onset="2010-03-01")))
    [fact] = patient.conditions
    assert fact.ended and not fact.negated
    history = verdict(patient, "History of tuberculosis")
    assert history.verdict == "met" and "history" in history.reason
    active = verdict(patient, "Active tuberculosis")
    assert active.verdict == "not_met" and "ended" in active.reason
    plain = verdict(patient, "Tuberculosis")
    assert plain.verdict == "unknown" and "confirm whether current" in plain.reason


def test_an_abatement_without_a_clinical_status_ends_the_condition():
    resource = {**condition(TB), "abatementDateTime": "2015-01-01"}
    assert load_patient(bundle(resource)).conditions[0].ended
    assert not load_patient(bundle({**resource, "clinicalStatus": {"coding": [{"code": "recurrence"}]}})).conditions[0].ended


def test_an_active_condition_is_current():
    patient = load_patient(bundle(condition(TB, clinical="active")))
    assert not patient.conditions[0].ended
    assert verdict(patient, "Active tuberculosis").verdict == "met"
    assert verdict(patient, "Tuberculosis").verdict == "met"


def test_a_current_fact_wins_over_an_ended_one_of_the_same_disease():
    patient = load_patient(bundle(condition(TB, clinical="resolved", id="old"), condition(TB, clinical="recurrence", id="new")))
    assert verdict(patient, "Active tuberculosis").verdict == "met"


def test_what_was_read_says_a_condition_is_ended_or_suspected():
    from matcher.eligibility.reading import diagnoses_read, reading_json

    patient = load_patient(bundle(condition(TB, clinical="resolved"),
                                  condition([{"system": ICD10CM, "code": "I10", "display": "Hypertension"}], verification="provisional", id="c2")))
    assert [r.line() for r in diagnoses_read(patient)][0].startswith("Tuberculosis (ended)")
    assert [r.line() for r in diagnoses_read(patient)][1].startswith("Hypertension (suspected)")
    read = reading_json(patient)["read_as"]
    assert read[0]["ended"] is True and read[1]["suspected"] is True


# ---------------------------------------------------------------- 2. verificationStatus


def test_a_refuted_condition_is_absent():
    patient = load_patient(bundle(condition(TB, verification="refuted")))
    assert patient.conditions[0].negated
    v = verdict(patient, "Tuberculosis")
    assert v.verdict == "not_met" and "record says no" in v.reason


def test_a_condition_entered_in_error_is_skipped():
    patient = load_patient(bundle(condition(TB, verification="entered-in-error")))
    assert patient.conditions == []


@pytest.mark.parametrize("status", ["unconfirmed", "provisional", "differential"])
def test_a_suspected_condition_is_to_confirm_not_present(status):
    patient = load_patient(bundle(condition(TB, verification=status)))
    assert patient.conditions[0].possible
    assert verdict(patient, "Tuberculosis").verdict == "unknown"
    assert verdict(patient, "Tuberculosis", kind="inclusion").verdict == "unknown"


# ---------------------------------------------------------------- 3. every coding


def test_icd10cm_is_preferred_wherever_it_stands():
    coding = [{"system": SNOMED, "code": "44054006"}, {"system": ICD10CM, "code": "E11.9", "display": "Type 2 diabetes mellitus without complications"}]
    [fact] = load_patient(bundle(condition(coding))).conditions
    assert (fact.code, fact.system) == ("E11.9", "icd10")
    assert pick_coding(coding, (ICD10CM,))["code"] == "E11.9"


@pytest.mark.parametrize("system", [ICD10CM, "urn:oid:2.16.840.1.113883.6.90", "urn:oid:2.16.840.1.113883.6.3"])
def test_an_icd10_code_without_a_display_is_read_through_the_vocabulary(system):
    patient = load_patient(bundle(condition([{"system": system, "code": "E11.9"}])))
    [fact] = patient.conditions
    assert "type 2" in fact.name.lower() and "diabetes" in fact.name.lower()
    assert verdict(patient, "Type 2 diabetes", kind="inclusion").verdict == "met"
    assert not_understood(patient) == []


def test_a_snomed_code_without_text_is_kept_as_not_understood():
    patient = load_patient(bundle(condition([{"system": SNOMED, "code": "44054006"}])))
    [fact] = patient.conditions
    assert fact.name == "SNOMED CT 44054006" and fact.code == "44054006"
    assert not_understood(patient) == ["SNOMED CT 44054006"]
    v = verdict(patient, "Type 2 diabetes", kind="inclusion")
    assert v.verdict == "unknown" and "not understood" in v.reason


def test_a_condition_without_any_code_does_not_reject_the_patient():
    patient = load_patient(bundle(condition([])))
    assert [f.name for f in patient.conditions] == ["a condition without a code"]
    assert verdict(patient, "Tuberculosis").verdict == "unknown"


def test_loinc_is_read_even_in_the_second_coding():
    coding = [{"system": "urn:local:lab", "code": "PLT-X"}, {"system": LOINC, "code": "777-3"}]
    [lab] = load_patient(bundle(observation(coding, valueQuantity={"value": 22, "unit": "10^9/L"}))).labs
    assert lab.loinc == "777-3" and lab.name == "777-3"
    assert canonical_lab(lab) == ("platelet_count", 22.0, "10^9/L")


def test_a_medication_or_procedure_with_only_a_code_is_kept_not_understood():
    med = {"resourceType": "MedicationStatement", "id": "m", "status": "active",
           "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "860975"}]}}
    procedure = {"resourceType": "Procedure", "id": "x", "status": "completed", "code": {"coding": [{"system": SNOMED, "code": "80146002"}]}}
    patient = load_patient(bundle(med, procedure))
    assert [m.name for m in patient.medications] == ["RxNorm 860975"]
    assert [p.name for p in patient.procedures] == ["SNOMED CT 80146002"]
    assert set(not_understood(patient)) == {"RxNorm 860975", "SNOMED CT 80146002"}


# ---------------------------------------------------------------- 4. values and units

PLATELETS = [{"system": LOINC, "code": "777-3", "display": "Platelets"}]
EGFR = [{"system": LOINC, "code": "62238-1", "display": "eGFR"}]
ECOG = [{"system": LOINC, "code": "89247-1", "display": "ECOG Performance Status score"}]


@pytest.mark.parametrize("value, expected", [
    ({"valueQuantity": {"value": 22000, "unit": "per microliter", "system": UCUM, "code": "{cells}/uL"}}, 22.0),
    ({"valueQuantity": {"value": 22, "unit": "thousand per uL", "system": UCUM, "code": "10*3/uL"}}, 22.0),
    ({"valueInteger": 150}, 150.0),
    ({"valueString": " 45 "}, 45.0),
])
def test_observation_values_and_ucum_codes(value, expected):
    [lab] = load_patient(bundle(observation(PLATELETS, **value))).labs
    assert canonical_lab(lab) == ("platelet_count", expected, "10^9/L")


def test_the_egfr_unit_keeps_its_body_surface():
    quantity = {"value": 52, "unit": "mL/min/1.73m²", "system": UCUM, "code": "mL/min/{1.73_m2}"}
    assert ucum_unit(quantity) == "mL/min/1.73m2"
    patient = load_patient(bundle(observation(EGFR, valueQuantity=quantity)))
    assert canonical_lab(patient.labs[0]) == ("egfr", 52.0, "mL/min/1.73m2")
    assert verdict(patient, "eGFR < 60 mL/min/1.73 m2").verdict == "met"


def test_annotations_are_dropped_and_a_pure_annotation_is_no_unit():
    assert ucum_unit({"code": "{cells}/uL"}) == "/uL"
    assert ucum_unit({"code": "{score}"}) is None
    assert ucum_unit({"unit": "g/dL"}) == "g/dL"
    assert ucum_unit({"unit": "grams per decilitre", "system": UCUM, "code": "g/dL"}) == "g/dL"


def test_a_text_that_is_not_a_number_is_not_a_lab_value():
    assert numeric_string("<5") is None and numeric_string("positive") is None
    assert load_patient(bundle(observation(PLATELETS, valueString="clumped, not counted"))).labs == []


@pytest.mark.parametrize("value", [
    {"valueInteger": 2},
    {"valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9624-3", "display": "Ambulatory and capable of all selfcare"}]}},
])
def test_ecog_as_an_integer_or_a_loinc_answer(value):
    patient = load_patient(bundle(observation(ECOG, **value)))
    assert canonical_lab(patient.labs[0])[:2] == ("ecog", 2.0)
    assert verdict(patient, "ECOG performance status 0-1", kind="inclusion").verdict == "not_met"


def test_a_broken_value_names_its_element():
    with pytest.raises(PatientError) as error:
        load_patient(bundle(observation(PLATELETS, valueQuantity={"value": "lots", "unit": "10^9/L"})))
    assert error.value.field == "entry[1].resource.valueQuantity.value"
    with pytest.raises(PatientError) as error:
        load_patient(bundle(observation(PLATELETS, valueInteger=-3)))
    assert error.value.field == "entry[1].resource.valueInteger"


# ---------------------------------------------------------------- 5. medication status and intent


@pytest.mark.parametrize("changes", [
    {"status": "cancelled"}, {"status": "entered-in-error"}, {"doNotPerform": True},
    {"intent": "proposal"}, {"intent": "plan"},
])
def test_requests_that_were_never_given_are_not_medications(changes):
    patient = load_patient(bundle(medication("rituximab", **changes)))
    assert patient.medications == []
    assert verdict(patient, "Current treatment with rituximab").verdict == "not_met"


@pytest.mark.parametrize("status", ["stopped", "completed"])
def test_stopped_or_completed_is_a_past_medication(status):
    patient = load_patient(bundle(medication("rituximab", status=status)))
    [med] = patient.medications
    assert med.current is False
    assert verdict(patient, "Current treatment with rituximab").verdict == "not_met"
    assert verdict(patient, "Prior treatment with rituximab").verdict == "met"


def test_an_active_order_is_current_and_a_statement_intended_is_not_taken():
    patient = load_patient(bundle(medication("rituximab"), medication("eltrombopag", status="intended", kind="MedicationStatement", id="m2")))
    assert [(m.name, m.current) for m in patient.medications] == [("rituximab", True)]
    assert verdict(patient, "Current treatment with rituximab").verdict == "met"
    assert patient.as_of == date(2026, 11, 25)


# ---------------------------------------------------------------- 6. FHIR Bulk Data export in batch

import json  # noqa: E402
import os  # noqa: E402

from conftest import FIXTURES  # noqa: E402
from matcher.batch.fhir_bulk import BulkExport, Problem, patient_reference  # noqa: E402
from matcher.batch.inputs import count_records, input_format, read_input  # noqa: E402
from matcher.cli import main  # noqa: E402
from test_batch import read_rows, registry, registry_template  # noqa: E402,F401


def write_export(folder, patients=("f1", "f2"), bad_lines=True):
    """The ITP fixture Bundle as a Bulk Data export: one NDJSON file per resource type, each
    resource pointing at its patient; ``bad_lines`` adds a line that is not JSON, one without a
    subject, and one about a patient the export does not hold."""
    folder.mkdir(exist_ok=True)
    template = json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text())
    files: dict[str, list[str]] = {}
    for n, patient_id in enumerate(patients):
        for entry in template["entry"]:
            resource = dict(entry["resource"])
            if resource["resourceType"] == "Patient":
                resource["id"] = patient_id
            else:
                resource["id"] = f"{resource['id']}-{patient_id}"
                reference = f"Patient/{patient_id}" if n % 2 == 0 else f"https://ehr.example.org/fhir/Patient/{patient_id}"
                resource["subject"] = {"reference": reference}
            files.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    files.setdefault("Encounter", []).append(json.dumps({"resourceType": "Encounter", "id": "e1", "status": "finished",
                                                               "class": {"code": "AMB"}, "subject": {"reference": "Patient/f1"}}))
    if bad_lines:
        files["Condition"].insert(1, '{"resourceType": "Condition", "id": "broken", ')
        files["Condition"].append(json.dumps({"resourceType": "Condition", "id": "nobody", "code": {"text": "asthma"}}))
        files["Observation"].append(json.dumps({"resourceType": "Observation", "id": "stray", "subject": {"reference": "Patient/ghost"},
                                                "code": {"text": "platelet count"}, "valueQuantity": {"value": 5}}))
    for kind, lines in files.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n")
    (folder / "manifest.json").write_text(json.dumps({"transactionTime": "2026-11-25T09:00:00Z", "output": []}))
    return folder


def test_references_to_the_patient():
    assert patient_reference({"subject": {"reference": "Patient/abc-1"}}) == "abc-1"
    assert patient_reference({"subject": {"reference": "https://x.org/fhir/Patient/7/_history/2"}}) == "7"
    assert patient_reference({"patient": {"reference": "urn:uuid:0b8f-11"}}) == "0b8f-11"
    assert patient_reference({"subject": {"reference": "Group/g1"}}) is None


def test_a_bulk_export_is_read_patient_by_patient_and_bad_lines_are_named(tmp_path):
    export = write_export(tmp_path / "export")
    assert input_format(export) == "fhir bulk" and count_records(export) == 2
    records = list(read_input(export))
    problems = {r.where: r.error for r in records if r.error}
    assert problems == {
        "Condition.ndjson:2": problems["Condition.ndjson:2"],
        "Condition.ndjson:6": "a Condition without a subject reference to a Patient",
        "Observation.ndjson:5": "its subject is not a Patient of the export",
    }
    assert problems["Condition.ndjson:2"].startswith("not valid JSON")
    patients = [r for r in records if r.error is None]
    assert [r.patient for r in patients] == ["f1", "f2"] and patients[0].where == "Patient.ndjson:1"
    loaded = [load_patient(r.data) for r in patients]
    for patient in loaded:
        assert patient.as_of == date(2026, 11, 25) and patient.sex == "female"
        assert [c.name for c in patient.conditions if not c.negated] == ["primary immune thrombocytopenia"]
        assert len(patient.labs) == 1 and len(patient.medications) == 3 and len(patient.procedures) == 1
    assert patients[0].sources[1] == "Condition.ndjson:1" and patients[0].digest != patients[1].digest


def test_the_index_is_temporary_and_owner_only(tmp_path):
    export = write_export(tmp_path / "export", bad_lines=False)
    work = tmp_path / "work"
    work.mkdir()
    reading = BulkExport(export, work_dir=work).read()
    first = next(reading)
    [index_dir] = list(work.iterdir())
    assert (os.stat(index_dir).st_mode & 0o077) == 0 and (index_dir / "index.db").exists()
    assert not isinstance(first, Problem) and first.id == "f1"
    assert [item.id for item in reading] == ["f2"]
    assert list(work.iterdir()) == []


def test_batch_matches_a_bulk_export_and_names_a_broken_resource_by_its_line(registry, tmp_path, capsys):
    export = write_export(tmp_path / "export")
    lines = (export / "Observation.ndjson").read_text().splitlines()
    broken = json.loads(lines[2])  # f2's platelet count
    broken["valueQuantity"]["value"] = "many"
    lines[2] = json.dumps(broken)
    (export / "Observation.ndjson").write_text("\n".join(lines) + "\n")
    out = tmp_path / "matches.csv"
    assert main(["--db", str(registry), "batch", str(export), "--out", str(out), "--no-embeddings"]) == 0
    err = capsys.readouterr().err
    assert "rejected Condition.ndjson:2: not valid JSON" in err
    assert "rejected Observation.ndjson:5: its subject is not a Patient of the export" in err
    assert "rejected Patient.ndjson:2: Observation.ndjson:3 valueQuantity.value: expected a number" in err
    rows = read_rows(out)
    assert [(r["patient"], r["nct_id"], r["eligibility"]) for r in rows if r["rank"] == "1"] == [("f1", "NCT09000002", "eligible")]


# ---------------------------------------------------------------- 7. one registry of patient formats

from matcher.patient import detect_format, read_patient_file  # noqa: E402


@pytest.mark.parametrize("name, text, expected", [
    ("p.json", '{"resourceType": "Bundle", "entry": []}', "fhir"),
    ("p.json", '{"id": "x", "conditions": ["asthma"]}', "json"),
    ("row.csv", "id,age\nx,40\n", "csv"),
    ("-", "id,age,sex,conditions\nx,40,female,asthma\n", "csv"),
    ("-", "Age, sex and history: a 40-year-old woman with asthma.", "note"),
    ("note.txt", "62 yo man with type 2 diabetes", "note"),
])
def test_each_format_is_recognised(name, text, expected):
    assert detect_format(name, text).name == expected


def test_a_one_row_csv_is_a_patient(tmp_path):
    path = tmp_path / "row.csv"
    path.write_text("id,age,sex,conditions,labs\nr1,45,female,primary immune thrombocytopenia,platelet count=22 10^9/L\n")
    patient = read_patient_file(str(path))
    assert (patient.id, patient.age, patient.sex) == ("r1", 45, "female")
    assert [c.name for c in patient.conditions] == ["primary immune thrombocytopenia"]
    assert canonical_lab(patient.labs[0]) == ("platelet_count", 22.0, "10^9/L")


@pytest.mark.parametrize("text, message", [
    ("id,age\nr1,45\nr2,50\n", "2 patient rows: `match` takes one patient"),
    ("id,age\nr1,old\n", "column age: expected a number"),
    ("id,shoe_size\nr1,45\n", "unknown column 'shoe_size'"),
    ("id,age\n", "a header row but no patient row"),
])
def test_a_csv_that_is_not_one_patient_is_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "row.csv"
    path.write_text(text)
    with pytest.raises(PatientError, match=message):
        read_patient_file(str(path))


def test_match_takes_a_one_row_csv(registry, tmp_path, capsys):
    path = tmp_path / "row.csv"
    path.write_text("id,age,sex,conditions,labs\nr1,45,female,primary immune thrombocytopenia,platelet count=22 10^9/L\n")
    assert main(["--db", str(registry), "match", str(path), "--json", "--no-embeddings"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["patient"] == "r1" and results["results"][0]["nct_id"] == "NCT09000002"
    path.write_text("id,age\nr1,45\nr2,50\n")
    assert main(["--db", str(registry), "match", str(path), "--no-embeddings"]) == 2
    assert "match` takes one patient" in capsys.readouterr().err


def test_export_files_may_be_named_as_servers_name_them(tmp_path):
    export = write_export(tmp_path / "export", bad_lines=False)
    (export / "Patient.ndjson").rename(export / "1.Patient.ndjson")
    (export / "Condition.ndjson").rename(export / "Condition.000.ndjson")
    assert count_records(export) == 2
    records = list(read_input(export))
    assert [r.patient for r in records] == ["f1", "f2"] and all(r.error is None for r in records)
    assert len(load_patient(records[1].data).conditions) == 2


def test_hostile_lines_of_an_export_are_each_reported_and_the_rest_goes_on(tmp_path):
    export = write_export(tmp_path / "export", bad_lines=False)
    hostile = [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe not utf-8", b"[1, 2, 3]", b'"a string"',
               b'{"resourceType": 7}', b'{"resourceType": "Patient"}', b'{"resourceType": "Condition", "subject": {"reference": "Patient/"}}',
               b"1" * 5000]
    with (export / "Condition.ndjson").open("ab") as stream:
        stream.write(b"\n".join(hostile) + b"\n")
    records = list(read_input(export))
    problems = [r for r in records if r.error]
    assert [p.where for p in problems] == [f"Condition.ndjson:{n}" for n in range(5, 5 + len(hostile))]
    assert all(p.patient is None and p.error for p in problems)
    assert [r.patient for r in records if r.error is None] == ["f1", "f2"]


def test_the_hand_written_resources_are_valid_fhir(tmp_path):
    """The resources these tests feed the reader are FHIR as a FHIR library reads it (R4B models:
    the same elements as R4 for these resources, docs/fhir.md), not shapes made up to pass."""
    models = pytest.importorskip("fhir.resources.R4B", reason="fhir.resources (dev extra) not installed")
    from fhir.resources.R4B import get_fhir_model_class

    assert models
    samples = [
        condition(TB, clinical="resolved", onset="2010-03-01"), condition(TB, verification="provisional"),
        condition([{"system": SNOMED, "code": "44054006"}, {"system": ICD10CM, "code": "E11.9"}]),
        observation(PLATELETS, valueQuantity={"value": 22000, "unit": "per microliter", "system": UCUM, "code": "{cells}/uL"}),
        observation(EGFR, valueQuantity={"value": 52, "unit": "mL/min/1.73m²", "system": UCUM, "code": "mL/min/{1.73_m2}"}),
        observation(ECOG, valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA9624-3"}]}),
        observation(PLATELETS, valueInteger=150), observation(PLATELETS, valueString="45"),
        medication("rituximab", status="stopped"), medication("rituximab", doNotPerform=True),
        medication("rituximab", intent="proposal"), medication("eltrombopag", status="intended", kind="MedicationStatement"),
    ]
    export = write_export(tmp_path / "export", bad_lines=False)
    samples += [json.loads(line) for file in sorted(export.glob("*.ndjson")) for line in file.read_text().splitlines()]
    samples.append(bundle(*samples[:3]))
    for resource in samples:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
