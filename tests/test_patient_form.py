"""The physician page's form: query string → patient JSON → load_patient, and errors → inputs."""

from urllib.parse import urlencode

import pytest
from physician_registry import SEED_FORM

from matcher.patient import PatientError, load_patient
from matcher.web.patient_form import MAX_ROWS, read_form


def form_of(fields: dict, **more):
    return read_form(urlencode({**fields, **more}, doseq=True))


def error_input(form):
    with pytest.raises(PatientError) as raised:
        load_patient(form.patient_data())
    return form.input_for(raised.value.field)


def test_seed_form_gives_the_seed_patient():
    form = form_of(SEED_FORM)
    data = form.patient_data()
    assert data["conditions"] == [{"name": "primary immune thrombocytopenia"}]
    assert data["labs"] == [{"name": "platelet count", "value": "22", "unit": "10^9/L", "date": "2026-11-10"}]
    assert data["medications"] == [
        {"name": "prednisone", "current": False, "start": "2025-03-01", "end": "2025-06-15"},
        {"name": "eltrombopag", "current": True, "start": "2025-09-01"},
    ]
    assert data["location"] == {"zip": "02114"} and data["procedures"] == []
    patient = load_patient(data)
    assert (patient.age, patient.sex, str(patient.as_of)) == (45, "female", "2026-11-25")
    assert patient.labs[0].value == 22 and patient.medications[1].current is True
    assert form.submitted and form.add is None


def test_empty_rows_are_skipped_and_errors_name_the_row_typed_in():
    form = form_of({"diagnosis": "ITP", "lab": ["", "platelet count"], "lab_value": ["", "low"], "lab_unit": ["", "G/L"]})
    assert error_input(form) == "lab_value-2"
    form = form_of({"therapy": ["", "", "rituximab"], "therapy_start": ["", "", "2025-06-01"], "therapy_end": ["", "", "2024-01-01"]})
    assert error_input(form) == "therapy_end-3"
    form = form_of({"lab_value": ["", "", "5"]})  # a value without a test name
    assert error_input(form) == "lab-3"


@pytest.mark.parametrize(("fields", "input_id"), [
    ({"age": "forty"}, "age"),
    ({"age": "200"}, "age"),
    ({"sex": "other"}, "sex"),
    ({"sex": "male", "pregnant": "yes"}, "pregnant"),
    ({"as_of": "25/11/2026"}, "as_of"),
    ({"country": "France"}, "city"),  # a country alone is no location
    ({"procedure": "splenectomy", "procedure_date": "long ago"}, "procedure_date-1"),
    ({"therapy": "prednisone", "therapy_status": "maybe"}, "therapy_status-1"),
])
def test_patient_errors_map_to_the_input_at_fault(fields, input_id):
    assert error_input(form_of({"diagnosis": "ITP", **fields})) == input_id


def test_location_errors_go_to_what_was_typed_and_unknown_fields_to_the_form():
    form = form_of({"zip": "02114"})
    assert form.input_for("location") == "zip"
    assert form_of({"city": "Lyon"}).input_for("location.lat") == "city"
    assert form.input_for("patient") is None and form.input_for("labs[5].value") is None


def test_add_a_row_keeps_what_was_typed_and_does_not_search():
    form = form_of({"lab": ["platelet count", "", ""], "lab_value": ["22", "", ""]}, add="labs")
    assert len(form.rows["labs"]) == 4
    assert form.rows["labs"][0] == {"lab": "platelet count", "lab_value": "22", "lab_unit": "", "lab_date": ""}
    assert len(form.rows["conditions"]) == 3 and not form.submitted
    assert len(form_of({"lab": [""] * 50}, add="labs").rows["labs"]) == MAX_ROWS
    assert form_of({}, add="nonsense").add is None


def test_statuses_default_to_open_trials_and_none_ticked_means_any():
    assert form_of({"diagnosis": "ITP"}).status_filter == ("RECRUITING", "NOT_YET_RECRUITING")
    assert form_of({"diagnosis": "ITP", "status": ""}).status_filter is None
    assert form_of({"status": ["", "COMPLETED", "<b>bad</b>"]}).status_filter == ("COMPLETED",)


def test_filter_checks():
    assert [e.input_id for e in form_of({"diagnosis": "ITP", "radius_km": "far"}).check_filters()] == ["radius_km"]
    assert [e.input_id for e in form_of({"diagnosis": "ITP", "radius_km": "50"}).check_filters()] == ["zip"]
    assert [e.input_id for e in form_of({"diagnosis": "ITP", "top": "1000"}).check_filters()] == ["top"]
    form = form_of({"diagnosis": "ITP", "zip": "02114", "radius_km": "50", "top": "20"})
    assert form.check_filters() == [] and form.within_km == 50 and form.top == 20


def test_what_counts_as_something_to_match_on():
    assert not form_of({"age": "45", "sex": "female", "zip": "02114"}).has_facts()
    assert form_of({"note": "ITP on eltrombopag"}).has_facts()
    assert form_of({"procedure": "splenectomy"}).has_facts()


def test_stage_receptors_body_measures_and_outcome_go_into_the_patient_and_their_errors_to_their_inputs():
    form = form_of({"diagnosis": ["ITP", "breast cancer"], "stage": ["", "IV"], "biomarkers": ["", "HER2-positive"],
                    "therapy": ["prednisone", "rituximab"], "therapy_outcome": ["failed", "intolerant"],
                    "ecog": "2", "weight_kg": "80", "height_cm": "180"})
    data = form.patient_data()
    assert data["conditions"] == [{"name": "ITP"}, {"name": "breast cancer", "stage": "IV", "biomarkers": "HER2-positive"}]
    assert [m["outcome"] for m in data["medications"]] == ["failed", "intolerant"]
    assert (data["ecog"], data["weight_kg"], data["height_cm"]) == ("2", "80", "180")
    assert load_patient(data).labs[-1].value == 24.7  # the BMI
    bad = form_of({"diagnosis": ["ITP", "breast cancer"], "biomarkers": ["", "HER2-so-so"], "therapy": "prednisone",
                   "therapy_outcome": "better", "ecog": "9", "height_cm": "900"})
    with pytest.raises(PatientError) as raised:
        load_patient(bad.patient_data())
    assert [bad.input_for(e.field) for e in raised.value.all] == ["biomarkers-2", "ecog", "height_cm", "therapy_outcome-1"]
