"""Criteria the parser used to misread: gestational age, "ASA score", "Female sex", a relative's
disease, weight in pounds, an allowance in parentheses, contraindications, healthy volunteers,
"one or more of", blood pressure after "hypertension", menopausal status."""

import pytest

from matcher.criteria import parse_criteria


def one(text, kind="inclusion"):
    heading = "Inclusion Criteria:" if kind == "inclusion" else "Exclusion Criteria:"
    [c] = parse_criteria(f"{heading}\n- {text}\n")
    return c


def types(c):
    return [k.type for k in c.constraints]


def test_gestational_age_is_not_the_patients_age():
    c = one("Pregnant women with a gestational age below 20 weeks")
    assert "age" not in types(c) and "reproductive" in types(c)
    assert types(one("Infants younger than 20 weeks")) == ["age"]


def test_asa_score_is_not_aspirin():
    assert all(k.drug != "aspirin" for k in one("ASA physical status class > II", "exclusion").constraints)
    assert all(k.drug != "aspirin" for k in one("An ASA score of 3 or more", "exclusion").constraints)
    assert [k.drug for k in one("Daily ASA use", "exclusion").constraints] == ["aspirin"]


@pytest.mark.parametrize("text, sex", [("Female sex", "female"), ("Male gender", "male")])
def test_sex_named_with_the_word_sex(text, sex):
    assert [(k.type, k.value_text) for k in one(text).constraints] == [("sex", sex)]


def test_a_relatives_disease_is_not_the_patients():
    assert "condition" not in types(one("A first-degree relative with type 1 diabetes"))
    assert "condition" not in types(one("Family history of colon cancer", "exclusion"))
    assert "condition" not in types(one("Mother diagnosed with schizophrenia"))
    assert types(one("History of schizophrenia", "exclusion")) == ["condition"]


def test_weight_in_pounds():
    [k] = one("Weighing less than 110 lbs", "exclusion").constraints
    assert (k.measure, k.op, k.unit) == ("body_weight", "<", "kg") and abs(k.value - 49.9) < 0.1


def test_an_allowance_in_parentheses_leaves_the_rule():
    c = one("On a stable dose of metformin for 3 months (dose changes during the trial are permitted)")
    assert c.category != "informational" and [k.drug for k in c.constraints] == ["metformin"]
    assert one("Dose changes during the trial are permitted").category == "informational"


@pytest.mark.parametrize("text", ["Cannot take warfarin", "Patients in whom statins are contraindicated"])
def test_a_contraindication_is_not_a_therapy(text):
    assert "therapy" not in types(one(text, "exclusion"))
    # "Unable to tolerate metformin" is a therapy that was not tolerated: tests/test_therapy_outcome.py


@pytest.mark.parametrize("text", ["Healthy volunteers", "Healthy adult men aged 18 to 45",
                                  "In good general health as judged by the investigator"])
def test_healthy_volunteers(text):
    assert "healthy_volunteer" in types(one(text))


@pytest.mark.parametrize("text", ["In good health other than their asthma", "Healthy volunteers", ])
def test_no_healthy_rule_when_qualified_or_an_exclusion(text):
    assert "healthy_volunteer" not in types(one(text, "exclusion"))
    if "other than" in text:
        assert "healthy_volunteer" not in types(one(text))


def test_one_or_more_of_a_list_are_alternatives():
    c = one("At least one of the following risk factors: diabetes, hypertension, obesity")
    assert len({k.any_of for k in c.constraints}) == 1 and c.constraints[0].any_of is not None
    c = one("Diabetes and hypertension")  # in an inclusion, a plain list holds together
    assert {k.any_of for k in c.constraints} == {None}


def test_hypertension_with_pressures_reads_the_pressures():
    c = one("Hypertension of > 160/95 mm of Hg", "exclusion")
    readings = {k.measure: (k.op, k.value) for k in c.constraints if k.type == "measurement"}
    assert readings == {"systolic_blood_pressure": (">", 160), "diastolic_blood_pressure": (">", 95)}


@pytest.mark.parametrize("text, negated", [("Premenopausal", True), ("Postmenopausal women", False),
                                           ("Post-menopausal status", False)])
def test_menopausal_status(text, negated):
    [k] = [k for k in one(text).constraints if k.type == "reproductive"]
    assert (k.value_text, k.negated) == ("postmenopausal", negated)


def test_postmenopausal_bleeding_is_not_a_status():
    assert "reproductive" not in types(one("Postmenopausal bleeding", "exclusion"))


def test_during_the_pregnancy_is_a_time_not_a_status():
    assert "reproductive" not in types(one("Planning to move away during the pregnancy", "exclusion"))
    assert "reproductive" in types(one("Pregnancy", "exclusion"))


def test_the_causes_of_a_disease_are_not_the_disease():
    assert "condition" not in types(one("Absence of other potential causes of stroke"))
    assert "condition" not in types(one("Other known etiology for diarrhea", "exclusion"))


def test_severity_qualifier_is_kept_on_the_condition():
    c = one("History of unstable angina or uncontrolled hypertension", "exclusion")
    assert [(k.name, k.value_text) for k in c.constraints] == [("angina", "unstable"), ("hypertension", "uncontrolled")]
    assert [k.value_text for k in one("Hypertension", "exclusion").constraints] == [None]


def test_valvular_heart_disease_is_not_any_heart_disease():
    assert [k.name for k in one("Valvular heart disease", "exclusion").constraints] == ["valvular heart disease"]


@pytest.mark.parametrize("text, measure, value", [
    ("ALT more than twice the ULN", "alt", 2),
    ("Total bilirubin greater than five times the upper limit of normal", "bilirubin_total", 5),
    ("Creatinine more than three times the upper limit of normal range", "creatinine", 3),
])
def test_multiples_of_the_upper_limit_written_in_words(text, measure, value):
    [k] = one(text, "exclusion").constraints
    assert (k.measure, k.op, k.value, k.unit) == (measure, ">", value, "x ULN")


def test_no_multiple_read_from_other_times():
    assert one("Dosing two times daily", "exclusion").constraints == []


def test_measures_sharing_one_value_are_alternatives_when_joined_by_or():
    c = one("AST, ALT or bilirubin > 3 x ULN")
    assert len({k.any_of for k in c.constraints}) == 1 and c.constraints[0].any_of is not None
    assert {k.any_of for k in one("AST and ALT <= 2.5 x ULN").constraints} == {None}  # inclusion: both
    c = one("AST and ALT > 5 x ULN", "exclusion")  # exclusion lists: either excludes
    assert c.constraints[0].any_of is not None and c.constraints[0].any_of == c.constraints[1].any_of
