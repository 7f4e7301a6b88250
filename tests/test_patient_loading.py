"""Loading patients from JSON and FHIR: structure, and errors that name the field at fault."""

import json
from datetime import date

import pytest

from conftest import FIXTURES, REPO
from matcher.patient.from_fhir import patient_from_fhir
from matcher.patient.from_json import PatientError, patient_from_json

EXAMPLE = json.loads((REPO / "data" / "examples" / "itp-patient.json").read_text())


def test_example_patient_loads():
    patient = patient_from_json(EXAMPLE)
    assert (patient.id, patient.age, patient.sex, patient.as_of) == ("example-itp", 45, "female", date(2026, 11, 25))
    assert [c.name for c in patient.conditions] == ["primary immune thrombocytopenia"]
    platelets = patient.labs[0]
    assert (platelets.name, platelets.value, platelets.unit, platelets.date) == ("platelet count", 22, "10^9/L", date(2026, 11, 10))
    prednisone, eltrombopag = patient.medications
    assert (prednisone.start, prednisone.end) == (date(2025, 3, 1), date(2025, 6, 15))
    assert (eltrombopag.start, eltrombopag.end) == (date(2025, 9, 1), None)
    assert patient.location.zip == "02114" and patient.pregnant is False


def test_design_md_forms_bare_names_and_coded_conditions():
    patient = patient_from_json({
        "id": "p1", "birth_date": "1981-06-02", "as_of": "2026-11-25", "sex": "F",
        "conditions": ["primary immune thrombocytopenia", {"name": "hypertension", "code": "I10", "system": "icd10"}],
        "medications": ["prednisone", {"name": "rituximab", "end": "2026-09-01"}],
        "procedures": [{"name": "splenectomy", "date": "2015-03"}],
        "location": {"city": "Lyon", "country": "France"},
    })
    assert patient.age == pytest.approx(45.5, abs=0.1) and patient.sex == "female"
    assert patient.conditions[1].code == "I10"
    assert patient.medications[0].name == "prednisone" and patient.medications[0].start is None
    assert patient.procedures[0].date == date(2015, 3, 1)


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"age": "forty"}, "age", "expected a number"),
        ({"age": 212}, "age", "between 0 and 130"),
        ({"age": 45, "birth_date": "1950-01-01"}, "age", "disagrees with birth_date"),
        ({"sex": "x"}, "sex", "female"),
        ({"as_of": "25/11/2026"}, "as_of", "not a date"),
        ({"labs": [{"name": "platelet count", "value": "high", "unit": "10^9/L"}]}, "labs[0].value", "expected a number"),
        ({"labs": [{"name": "platelet count", "unit": "10^9/L"}]}, "labs[0].value", "missing"),
        ({"labs": [{"name": "platelet count", "value": -3}]}, "labs[0].value", "negative"),
        ({"labs": {"platelets": 22}}, "labs", "expected a list"),
        ({"medications": [{"name": "eltrombopag", "start": "2026-01-01", "end": "2025-01-01"}]}, "medications[0].end", "before it starts"),
        ({"medications": [42]}, "medications[0]", "expected a name"),
        ({"conditions": [{"code": "I10"}]}, "conditions[0].name", "non-empty text"),
        ({"pregnant": "no"}, "pregnant", "true or false"),
        ({"sex": "male", "pregnant": True}, "pregnant", "male"),
        ({"location": {"lat": 42.3}}, "location", "both lat and lon"),
        ({"location": {"lat": 142.3, "lon": 0}}, "location", "out of range"),
        ({"platelets": 22}, "platelets", "unknown field"),
    ],
)
def test_malformed_patients_name_the_field(change, field, words):
    with pytest.raises(PatientError) as error:
        patient_from_json({**EXAMPLE, **change})
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ") and words in str(error.value)


def test_not_an_object():
    with pytest.raises(PatientError, match="expected a JSON object"):
        patient_from_json(["a", "list"])


def test_fhir_bundle():
    patient = patient_from_fhir(json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text()))
    assert (patient.id, patient.sex, patient.birth_date, patient.as_of) == ("itp-fhir", "female", date(1981, 6, 2), date(2026, 11, 25))
    assert patient.age == pytest.approx(45.5, abs=0.1)
    itp, secondary = patient.conditions
    assert (itp.name, itp.code, itp.system, itp.negated) == ("primary immune thrombocytopenia", "32273002", "snomed", False)
    assert secondary.negated is True  # refuted
    [platelets] = patient.labs
    assert (platelets.value, platelets.unit, platelets.loinc, platelets.date) == (22000, "/uL", "777-3", date(2026, 11, 10))
    assert patient.pregnant is False
    prednisone, eltrombopag, rituximab = patient.medications
    assert (prednisone.end, eltrombopag.current, rituximab.negated) == (date(2025, 6, 15), True, True)
    assert eltrombopag.name == "eltrombopag"
    assert patient.procedures[0].negated is True
    assert patient.location.zip == "02114"


def test_fhir_errors_name_the_entry():
    bundle = json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text())
    bundle["entry"][3]["resource"]["valueQuantity"]["value"] = "lots"
    with pytest.raises(PatientError) as error:
        patient_from_fhir(bundle)
    assert error.value.field == "entry[3].resource.valueQuantity.value"
    bundle["entry"][0]["resource"]["gender"] = "F"
    with pytest.raises(PatientError, match=r"entry\[0\].resource.gender"):
        patient_from_fhir(bundle)


def test_every_problem_of_a_record_is_found_at_once():
    with pytest.raises(PatientError) as error:
        patient_from_json({**EXAMPLE, "age": "forty", "sex": "x",
                           "labs": [{"name": "platelet count", "value": "low", "date": "yesterday"}],
                           "medications": [{"name": "prednisone", "outcome": "so-so"}], "ecog": 7})
    assert [(e.field, e.problem.split(",")[0]) for e in error.value.all] == [
        ("age", "expected a number"), ("sex", 'expected "female" or "male"'), ("labs[0].value", "expected a number"),
        ("labs[0].date", "not a date (expected YYYY-MM-DD): 'yesterday'"), ("ecog", "expected an ECOG grade"),
        ("medications[0].outcome", "expected one of ongoing")]
    assert str(error.value) == "age: expected a number, got 'forty'"  # the message names the first


def test_stage_biomarkers_body_measures_and_therapy_outcome():
    patient = patient_from_json({
        "age": 52, "sex": "female", "ecog": 1, "weight_kg": 70, "height_cm": 170,
        "conditions": [{"name": "breast cancer", "stage": "IIIB", "biomarkers": "ER+, PR-, HER2-negative; BRCA1 mutation"}],
        "medications": [{"name": "tamoxifen", "outcome": "intolerant"}, {"name": "letrozole", "outcome": "ongoing"}],
    })
    assert dict(patient.conditions[0].qualifiers) == {"stage": {"III"}, "ER": {"positive"}, "PR": {"negative"},
                                                      "HER2": {"negative"}, "BRCA1": {"positive"}}
    assert [(lab.name, lab.value, lab.unit) for lab in patient.labs] == [
        ("ECOG performance status", 1, None), ("body weight", 70, "kg"), ("height", 170, "cm"), ("body mass index", 24.2, "kg/m2")]
    tamoxifen, letrozole = patient.medications
    assert tamoxifen.outcome == "intolerant" and tamoxifen.current is None
    assert letrozole.outcome == "ongoing" and letrozole.current is True


@pytest.mark.parametrize("change, field, words", [
    ({"conditions": [{"name": "breast cancer", "stage": "V"}]}, "conditions[0].stage", "expected a stage I to IV"),
    ({"conditions": [{"name": "breast cancer", "biomarkers": "ER+, frobnitz"}]}, "conditions[0].biomarkers", "not understood: 'frobnitz'"),
    ({"ecog": 1.5}, "ecog", "0 to 5"),
    ({"weight_kg": 0}, "weight_kg", "1 to 500 kg"),
    ({"height_cm": "tall"}, "height_cm", "expected a number"),
    ({"medications": [{"name": "prednisone", "outcome": "ongoing", "current": False}]}, "medications[0].outcome", "said to be past"),
])
def test_new_fields_name_the_field_at_fault(change, field, words):
    with pytest.raises(PatientError) as error:
        patient_from_json({**EXAMPLE, **change})
    assert error.value.field == field and words in error.value.problem
