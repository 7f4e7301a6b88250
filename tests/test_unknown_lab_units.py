"""A lab whose unit the reader does not know is kept and reported, and criteria on it are unknown."""

from matcher.criteria import parse_criteria, unit_understood
from matcher.eligibility import evaluate
from matcher.patient import lab_notices, load_patient

CRITERIA = parse_criteria("Inclusion Criteria:\n- Platelet count < 30 x 10^9/L")


def test_unknown_unit_is_kept_reported_and_unknown():
    for patient in (load_patient({"id": "p", "age": 40, "labs": [{"name": "platelet count", "value": 22, "unit": "furlongs"}]}),
                    load_patient("A 40-year-old woman. Platelet count 22 furlongs.")):
        assert [lab.unit for lab in patient.labs] == ["furlongs"]
        [verdict] = evaluate(patient, CRITERIA)
        assert verdict.verdict == "unknown"
        assert "unit 'furlongs' not understood" in verdict.reason
        assert lab_notices(patient) == ["Lab “platelet count”: unit 'furlongs' not understood; criteria on it are unknown."]


def test_known_units_and_implausible_values_say_so_differently():
    assert unit_understood("platelet_count", "/µL") and unit_understood("platelet_count", None)
    assert unit_understood("alt", "x ULN") and not unit_understood("platelet_count", "furlongs")
    patient = load_patient({"id": "p", "age": 40, "labs": [{"name": "platelet count", "value": 5e9, "unit": "10^9/L"}]})
    [verdict] = evaluate(patient, CRITERIA)
    assert verdict.verdict == "unknown" and "not understood" not in verdict.reason
    assert lab_notices(patient) == []
