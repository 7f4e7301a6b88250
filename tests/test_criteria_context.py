"""The shared context lexicon (ConText rules + trialmatch's additions) and what the criteria
parser and the note reader read with it."""

import json

import pytest

from matcher.criteria import context_of, parse_criteria
from matcher.criteria.context import rules
from matcher.eligibility import evaluate
from matcher.patient import load_patient


def ctx(text: str, target: str):
    start = text.index(target)
    return context_of(text, start, start + len(target))


def test_the_rules_are_medspacys_file_plus_ours():
    with open("data/lexicons/context_rules.json", encoding="utf-8") as f:
        base = {r["literal"] for r in json.load(f)["context_rules"]}
    literals = {r.literal for r in rules()}
    assert {"no evidence", "ruled out", "rule out", "possible", "but", "family"} <= literals & base
    assert "any other" in base and "any other" not in literals  # turned off in context_extra.tsv
    assert {r.direction for r in rules()} == {"FORWARD", "BACKWARD", "TERMINATE", "PSEUDO"}


@pytest.mark.parametrize("text, target", [
    ("No history of diabetes", "diabetes"),
    ("She denies chest pain or diabetes", "diabetes"),   # the scope runs over a list
    ("HIV negative", "HIV"),                             # after the concept
    ("Hepatitis B surface antigen negative", "Hepatitis B"),
    ("diabetes was ruled out", "diabetes"),
    ("Myocardial infarction has been ruled out", "Myocardial infarction"),
    ("She didn't have diabetes", "diabetes"),
    ("Diabetes: none", "Diabetes"),
    ("Not using insulin", "insulin"),
])
def test_negated(text, target):
    assert ctx(text, target).negated


@pytest.mark.parametrize("text, target", [
    ("no change in her diabetes", "diabetes"),           # pseudo-negations
    ("not only diabetes but also hypertension", "diabetes"),
    ("Patients with no more than 2 prior chemotherapy regimens", "chemotherapy"),
    ("No fever but a cough", "cough"),                    # a terminator ends the scope
    ("No fever. Cough for two weeks", "Cough"),           # so does the clause
    ("Breast cancer, HER2 negative", "Breast cancer"),    # a short backward cue stops at a comma
    ("Life expectancy: Not specified Hematopoietic: platelets", "platelets"),
    ("Has not recovered from toxicities of prior chemotherapy", "chemotherapy"),
])
def test_not_negated(text, target):
    assert not ctx(text, target).negated


def test_possible_hypothetical_family_and_time():
    assert ctx("possible pulmonary embolism", "pulmonary embolism").possible
    assert ctx("rule out MI", "MI").possible
    assert ctx("Known or suspected brain metastases", "brain metastases").possible
    assert ctx("return precautions in case of fever", "fever").hypothetical
    assert ctx("Mother has breast cancer", "breast cancer").family
    assert ctx("breast cancer in her mother", "breast cancer").family
    assert ctx("family history of colon cancer", "colon cancer").family
    assert not ctx("brought in by his parents for fever", "fever").family
    assert not ctx("Child-Pugh class B cirrhosis", "cirrhosis").family
    assert ctx("History of stroke", "stroke").historical
    assert ctx("prior chemotherapy, currently on insulin", "insulin").current
    assert ctx("currently off insulin after prior chemotherapy", "chemotherapy").historical  # the nearest cue


def only(text: str, kind: str = "inclusion"):
    heading = "Inclusion Criteria:" if kind == "inclusion" else "Exclusion Criteria:"
    [criterion] = parse_criteria(f"{heading}\n- {text}")
    return criterion.constraints


def test_criteria_read_negation_from_the_lexicon():
    [c] = only("Not using insulin")
    assert c.drug_class == "insulin" and c.negated
    [c] = only("HIV antibody test negative")
    assert c.name == "hiv infection" and c.negated
    [c] = only("No more than 2 prior chemotherapy regimens")
    assert c.drug_class == "chemotherapy" and not c.negated
    assert not only("Family history of breast cancer")   # a relative's disease


def test_a_washout_is_a_washout_with_or_without_no():
    for text in ("At least 4 weeks since prior chemotherapy",
                 "No chemotherapy for at least 4 weeks prior to enrollment",
                 "Must not have received chemotherapy for at least 4 weeks prior to enrollment"):
        [c] = only(text)
        assert (c.negated, c.within_days) == (True, 28), text


def test_an_exclusion_stating_its_requirement_excludes_on_the_opposite():
    [c] = only("Must not have received immunosuppressive agents for at least three months prior to enrollment.",
               "exclusion")
    assert c.drug_class == "immunosuppressant" and c.within_days == 90 and not c.negated
    pregnant, lactating = only("Must not be pregnant or breastfeeding.", "exclusion")
    assert not pregnant.negated and not lactating.negated
    taking = load_patient({"id": "p", "age": 40, "sex": "female", "as_of": "2026-01-01",
                           "medications": [{"name": "tacrolimus", "start": "2025-06-01"}]})
    none = load_patient({"id": "q", "age": 40, "sex": "female"})
    criteria = parse_criteria("Exclusion Criteria:\n- Must not have received immunosuppressive agents "
                              "for at least three months prior to enrollment.")
    assert [v.verdict for v in evaluate(taking, criteria)] == ["met"]
    assert [v.verdict for v in evaluate(none, criteria)] == ["not_met"]


def test_hormonal_contraception_or_hrt_exclusion_is_not_met_by_a_postmenopausal_woman_without_either():
    patient = load_patient({"id": "p", "age": 62, "sex": "female"})
    criteria = parse_criteria("Exclusion Criteria:\n- Use of hormonal contraception or hormone replacement therapy")
    assert {c.type for c in criteria[0].constraints} == {"therapy"}
    assert [v.verdict for v in evaluate(patient, criteria)] == ["not_met"]
    # contraception the trial asks for, with examples, is not a therapy to be on
    [c] = only("Women of childbearing potential must use effective contraception (e.g., oral contraceptives)")
    assert (c.type, c.value_text) == ("reproductive", "contraception")
    [c] = only("Women of childbearing potential unwilling to use contraception", "exclusion")
    assert c.value_text == "contraception" and c.negated


NOTE = ("A 60-year-old man admitted with possible pulmonary embolism. Rule out myocardial infarction. "
        "Diabetes was ruled out. HIV negative. No change in his hypertension. His mother has breast cancer.")


def test_the_note_reader_uses_the_same_lexicon():
    patient = load_patient(NOTE)
    facts = {c.name: c for c in patient.conditions}
    assert facts["pulmonary embolism"].possible and not facts["pulmonary embolism"].negated
    assert facts["myocardial infarction"].possible
    assert facts["diabetes mellitus"].negated and facts["hiv infection"].negated
    assert not facts["hypertension"].negated and not facts["hypertension"].possible
    assert "breast cancer" not in facts
    criteria = parse_criteria("Exclusion Criteria:\n- Pulmonary embolism\n- Myocardial infarction\n- Diabetes mellitus\n"
                              "- HIV infection\nInclusion Criteria:\n- Hypertension")
    verdicts = [v.verdict for v in evaluate(patient, criteria)]
    assert verdicts == ["unknown", "unknown", "not_met", "not_met", "met"]
