"""Polarity and sense from a criterion's own words: exceptions, abbreviations, race or ethnicity,
and sentences that only look like permissions."""

from matcher.criteria import parse_criteria
from matcher.eligibility import evaluate
from matcher.patient import load_patient


def one(text, kind="exclusion"):
    heading = "Inclusion Criteria:" if kind == "inclusion" else "Exclusion Criteria:"
    [criterion] = parse_criteria(f"{heading}\n- {text}")
    return criterion


def test_a_carved_out_list_is_carved_out_to_its_end():
    for text in ("Known additional malignancy that is progressing or requires active treatment excepting basal cell "
                 "carcinoma of the skin, squamous cell carcinoma of the skin, or in situ cervical cancer",
                 "Has a known additional malignancy that requires active treatment. Exceptions include basal cell "
                 "carcinoma of the skin, squamous cell carcinoma of the skin, or in situ cervical cancer."):
        [c] = one(text).constraints
        assert c.name == "cancer" and "cervical cancer" in c.excluding and "skin cancer" in c.excluding
    [c] = one("Prior malignancy, with the exception of adequately treated basal or squamous cell carcinoma of the "
              "skin, or any other malignancy for which the patient has not required active treatment for 3 years").constraints
    assert c.excluding == "skin cancer"  # "any other malignancy" is not carved out


def test_requiring_active_therapy_is_a_real_exclusion():
    criterion = one("Prior malignancy of other histology, or any other malignancy for which the patient has not "
                    "required active treatment for more than three years.")
    assert criterion.category != "informational" and criterion.constraints
    patient = load_patient({"id": "p", "age": 62, "sex": "female", "conditions": ["lung cancer"]})
    [verdict] = evaluate(patient, [one("History of lung cancer requiring active therapy")])
    assert verdict.verdict == "met"


def test_an_abbreviation_takes_the_sense_its_context_gives():
    # immunohistochemistry: no intracranial hemorrhage; what it asks is a HER2-positive disease
    [c] = one("HER2 3+ by ICH or 2+ with FISH", "inclusion").constraints
    assert c.type == "condition" and c.name is None and c.qualifiers == "HER2=positive"
    [c] = one("History of ICH").constraints
    assert c.name == "intracranial hemorrhage"
    [c] = one("HIV-1 infection").constraints
    assert c.name == "hiv infection"


def test_race_or_ethnicity_is_to_confirm_never_met_by_the_age():
    patient = load_patient({"id": "p", "age": 40, "sex": "female"})
    for text in ("Self-identifies as Black", "Any participant over 18 years old who self-identifies as Black",
                 "African American women aged 18-65"):
        [verdict] = evaluate(patient, [one(text, "inclusion")])
        assert verdict.verdict == "unknown" and "race/ethnicity" in verdict.reason, text
    [verdict] = evaluate(patient, [one("Men and women of any race, aged 18-65", "inclusion")])
    assert verdict.verdict == "met"
    assert [c.type for c in one("White blood cell count > 3000/mm3", "inclusion").constraints] == ["measurement"]


def test_an_inclusion_treated_with_x_requires_x():
    criteria = parse_criteria("Inclusion Criteria:\n- Treated with basal insulin ≥10 U/day\n- Not using insulin")
    assert [c.negated for c in criteria[0].constraints] == [False]
    assert [c.negated for c in criteria[1].constraints] == [True]
    silent = load_patient({"id": "p", "age": 58, "sex": "male"})  # a record that lists no medications
    denies = load_patient("A 58-year-old man with type 2 diabetes. He does not use insulin.")
    on_insulin = load_patient({"id": "q", "age": 58, "sex": "male", "medications": ["insulin glargine"]})
    assert evaluate(silent, criteria)[0].verdict != "met"
    assert [v.verdict for v in evaluate(denies, criteria)] == ["not_met", "met"]
    assert [v.verdict for v in evaluate(on_insulin, criteria)] == ["met", "not_met"]


def test_a_risk_is_not_the_disease_and_examples_are_not_exceptions():
    assert one("Men at high risk for hepatitis B virus infection", "inclusion").constraints == []
    names = {c.name for c in one("Uncontrolled intercurrent illness including, but not limited to, active infection, "
                                 "symptomatic congestive heart failure, or cardiac arrhythmia").constraints}
    assert {"heart failure", "arrhythmia"} <= names  # "but not limited to" carves nothing out
    [c, *rest] = one("Psychiatric disease other than Alzheimer's disease, such as schizophrenia or epilepsy").constraints
    assert {r.name for r in rest} >= {"schizophrenia", "epilepsy"}
    [c] = one("Histologically confirmed (except if medically contraindicated) brain tumor", "inclusion").constraints
    assert c.name and not c.negated  # the "if" inside the parentheses stops at their end
