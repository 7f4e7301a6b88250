"""Constraints read from single criteria: ranges, comparators, negation, history, windows,
alternatives, and the statements that must yield nothing."""

import pytest

from matcher.criteria import parse_criteria
from models import to_dict


def one(text, kind="inclusion"):
    heading = "Inclusion Criteria:" if kind == "inclusion" else "Exclusion Criteria:"
    [c] = parse_criteria(f"{heading}\n- {text}\n")
    return c


def summary(c, *fields):
    return [tuple(getattr(k, f) for f in fields) for k in c.constraints]


@pytest.mark.parametrize("text, expected", [
    ("Age between 18 and 75 years", ("between", 18, 75)),
    ("Aged 18-75 years", ("between", 18, 75)),
    ("≥ 18 and ≤ 75 years of age", ("between", 18, 75)),
    ("18 years of age or older", (">=", 18, None)),
    ("At least 18 years old", (">=", 18, None)),
    ("Age greater than or equal to 65 years", (">=", 65, None)),
    ("Children aged 6 months to 17 years", ("between", 0.5, 17)),
    ("Patients younger than 40 years", ("<", 40, None)),
])
def test_age_ranges_and_comparators(text, expected):
    c = one(text)
    assert c.category == "age"
    assert summary(c, "op", "value", "value_max") == [expected]


@pytest.mark.parametrize("text, measure, op, value, value_max, unit", [
    ("Hemoglobin ≥ 9.0 g/dL", "hemoglobin", ">=", 9, None, "g/dL"),
    ("Haemoglobin at least 90 g/L", "hemoglobin", ">=", 9, None, "g/dL"),
    ("ANC no less than 1.5 x 10^9/L", "neutrophil_count", ">=", 1.5, None, "10^9/L"),
    ("Platelets > 100,000/mm³", "platelet_count", ">", 100, None, "10^9/L"),
    ("Creatinine no more than 1.5 times the upper limit of normal", "creatinine", "<=", 1.5, None, "x ULN"),
    ("Serum creatinine < 133 µmol/L", "creatinine", "<", 1.505, None, "mg/dL"),
    ("HbA1c between 7.0% and 10.5%", "hba1c", "between", 7.0, 10.5, "%"),
    ("Body mass index 30-39.9 kg/m2", "body_mass_index", "between", 30, 39.9, "kg/m2"),
    ("Karnofsky performance status ≥ 70%", "karnofsky", ">=", 70, None, "%"),
    ("ECOG performance status of 0, 1 or 2", "ecog", "between", 0, 2, "score"),
    ("Life expectancy of at least 12 weeks", "life_expectancy", ">=", 2.76, None, "months"),
    ("Creatinine clearance ≥ 60 mL/min (Cockcroft-Gault)", "creatinine_clearance", ">=", 60, None, "mL/min"),
])
def test_measurements(text, measure, op, value, value_max, unit):
    [k] = one(text).constraints
    assert (k.measure, k.op, k.unit) == (measure, op, unit)
    assert k.value == pytest.approx(value, rel=1e-2)
    assert k.value_max == (pytest.approx(value_max) if value_max is not None else None)


def test_shared_value_for_two_labs():
    c = one("AST and ALT ≤ 2.5 x ULN (≤ 5 x ULN with liver metastases)")
    assert summary(c, "measure", "op", "value", "unit")[:2] == [
        ("ast", "<=", 2.5, "x ULN"), ("alt", "<=", 2.5, "x ULN")]


@pytest.mark.parametrize("text", [
    "Hemoglobin 9 g/dL",                   # no direction
    "Adequate hematologic function",       # no value
    "Platelet transfusion within 7 days",  # a procedure, not a platelet count
    "Bilirubin > 100 mmol/L",               # implausible unit for bilirubin
])
def test_no_measurement_without_a_clear_rule(text):
    assert all(k.type != "measurement" for k in one(text).constraints)


def test_negation_and_history():
    c = one("No history of myocardial infarction or stroke")
    assert summary(c, "name", "negated", "timing") == [
        ("myocardial infarction", True, "prior"), ("stroke", True, "prior")]
    assert c.constraints[0].any_of == c.constraints[1].any_of is not None
    c = one("Active hepatitis B infection", "exclusion")
    assert summary(c, "name", "negated", "timing") == [("hepatitis b", False, "current")]


def test_washout_is_a_negated_window():
    c = one("At least 4 weeks since prior chemotherapy")
    assert summary(c, "drug_class", "within_days", "negated") == [("chemotherapy", 28, True)]


@pytest.mark.parametrize("text, days", [
    ("Rituximab within 6 months before randomization", 180),
    ("Use of any investigational drug in the last 30 days", 30),
    ("Treatment with corticosteroids during the past 2 weeks", 14),
    ("Live vaccine within 12 weeks prior to the first dose", 84),
])
def test_time_windows_in_days(text, days):
    [k] = one(text, "exclusion").constraints
    assert k.type == "therapy" and k.within_days == days and k.timing == "prior"


def test_exclusion_list_is_alternatives_inclusion_and_is_conjunction():
    exc = one("Known HIV, hepatitis B or hepatitis C infection", "exclusion")
    assert len(exc.constraints) == 3 and len({k.any_of for k in exc.constraints}) == 1
    assert exc.constraints[0].any_of is not None
    inc = one("Prior treatment with rituximab and a corticosteroid")
    assert [k.any_of for k in inc.constraints] == [None, None]


def test_examples_of_a_class_are_not_extra_requirements():
    c = one("Prior anti-CD20 therapy (e.g., rituximab, obinutuzumab)", "exclusion")
    assert summary(c, "drug", "drug_class") == [(None, "anti_cd20")]


def test_allergy_to_a_drug_is_not_a_therapy():
    c = one("Known hypersensitivity to rituximab", "exclusion")
    assert all(k.type != "therapy" for k in c.constraints)


def test_conditional_and_permissive_sentences_state_nothing():
    c = one("Prior radiotherapy is allowed. If bone metastases are present, bisphosphonates may be continued.")
    assert c.constraints == []


def test_reproductive():
    assert summary(one("Pregnant or breastfeeding women", "exclusion"), "value_text", "negated") == [
        ("pregnant", False), ("lactating", False)]
    assert summary(one("Negative serum pregnancy test at screening"), "value_text", "negated") == [
        ("pregnant", True)]
    assert one("Women of childbearing potential must agree to use contraception").category == "reproductive"


def test_sex_only_when_stated_as_a_restriction():
    assert summary(one("Female patients aged 18 to 45 years"), "type", "value_text")[0] == ("sex", "female")
    assert all(k.type != "sex" for k in one("Male or female, 18 years or older").constraints)
    assert all(k.type != "sex" for k in one("Women of childbearing potential must use contraception").constraints)


def test_json_shape_is_the_parse_contract():
    d = to_dict(one("Platelet count <30 G/L"))
    assert set(d) == {"kind", "text", "start", "end", "category", "entities", "constraints"}
    assert d["constraints"] == [{"type": "measurement", "measure": "platelet_count", "loinc": "777-3",
                                 "op": "<", "value": 30.0, "unit": "10^9/L", "negated": False,
                                 "text": "Platelet count <30 G/L"}]
    assert {"type", "text", "start", "end"} == set(d["entities"][0])


@pytest.mark.parametrize("text", [
    "Advanced cancer for which no standard chemotherapy is available",
    "Candidate for curative surgery or chemotherapy",
    "May be treated with intrathecal methotrexate during the study",
])
def test_therapy_named_as_an_option_or_permission_is_not_a_therapy(text):
    assert all(k.type != "therapy" for k in one(text).constraints)


def test_items_under_allowed_and_excluded_lead_ins():
    text = ("Inclusion Criteria\n\n  Concurrent Medication:\n\n  Allowed:\n\n    -  Acetaminophen.\n\n"
            "  Excluded:\n\n    -  Rifampin.\n")
    allowed, excluded = parse_criteria(text)
    assert allowed.constraints == []
    assert excluded.kind == "exclusion" and [k.drug for k in excluded.constraints] == ["rifampin"]


def test_field_label_of_a_nested_item_is_read_with_it():
    text = "PATIENT CHARACTERISTICS:\n\n  Age:\n\n    -  18 and over\n\n  Performance status:\n\n    -  ECOG 0/1\n"
    age, ps = parse_criteria(text)
    assert (age.text, age.category, age.context) == ("18 and over", "age", "Age")
    assert summary(age, "op", "value") == [(">=", 18)]
    assert text[age.start:age.end] == "18 and over"
    assert summary(ps, "measure", "op", "value", "value_max") == [("ecog", "between", 0, 1)]


def test_blood_pressure_pairs():
    high = one("Uncontrolled hypertension (BP > 150/100 mmHg)", "exclusion")
    bp = [k for k in high.constraints if k.type == "measurement"]
    assert [(k.measure, k.op, k.value) for k in bp] == [
        ("systolic_blood_pressure", ">", 150), ("diastolic_blood_pressure", ">", 100)]
    assert bp[0].any_of == bp[1].any_of is not None  # either one too high excludes
    controlled = one("Blood pressure ≤ 140/90 mmHg")
    assert [(k.measure, k.op, k.value, k.any_of) for k in controlled.constraints] == [
        ("systolic_blood_pressure", "<=", 140, None), ("diastolic_blood_pressure", "<=", 90, None)]


def test_permission_only_criteria_are_informational():
    from matcher.criteria import parse_criteria

    [allowed, required] = parse_criteria(
        "Inclusion Criteria:\n- Prior radiotherapy is allowed.\n- Prior radiotherapy within 4 weeks.")
    assert allowed.category == "informational" and not allowed.constraints
    assert required.category != "informational" and required.constraints
