"""How a therapy went (ongoing, completed, failed, not tolerated): read from criteria that ask it
("refractory to or intolerant of corticosteroids"), given in the patient record, and used only by
those criteria."""

import pytest

from matcher.criteria import parse_criteria
from matcher.eligibility import evaluate
from matcher.patient import load_patient


def therapy_constraints(text, kind="inclusion"):
    heading = "Inclusion Criteria:" if kind == "inclusion" else "Exclusion Criteria:"
    [criterion] = parse_criteria(f"{heading}\n- {text}\n")
    return [(c.drug or c.drug_class, c.outcome) for c in criterion.constraints if c.type == "therapy"]


@pytest.mark.parametrize("text, expected", [
    ("Refractory to or intolerant of corticosteroids", [("corticosteroid", "failed|intolerant")]),
    ("Insufficient response to corticosteroids or IVIG", [("corticosteroid", "failed"), ("ivig", "failed")]),
    ("Failure of at least one TPO receptor agonist", [("tpo_receptor_agonist", "failed")]),
    ("Inadequate response to methotrexate", [("methotrexate", "failed")]),
    ("Disease progression on or after platinum-based chemotherapy", [("chemotherapy", "failed")]),
    ("Patients who cannot tolerate metformin", [("metformin", "intolerant")]),
    ("Unable to tolerate metformin", [("metformin", "intolerant")]),
    ("Prior treatment with eltrombopag that failed", [("eltrombopag", "failed")]),
    ("Treatment failure with rituximab", [("rituximab", "failed")]),
])
def test_criteria_that_ask_how_a_therapy_went(text, expected):
    assert therapy_constraints(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Prior corticosteroids", [("corticosteroid", None)]),
    ("Rituximab within 12 weeks", [("rituximab", None)]),
    ("Heart failure treated with beta blockers", [("beta_blocker", None)]),  # the heart's failure
    ("Glucose intolerance on metformin", [("metformin", None)]),
    ("Known hypersensitivity to eltrombopag", []),  # an allergy, not a course that went badly
])
def test_criteria_that_do_not(text, expected):
    assert therapy_constraints(text) == expected


CRITERIA = parse_criteria("Inclusion Criteria:\n- Refractory to or intolerant of corticosteroids\n"
                          "- Prior rituximab\n\nExclusion Criteria:\n- Known intolerance to eltrombopag\n")


def verdicts(*medications):
    patient = load_patient({"age": 45, "conditions": ["immune thrombocytopenia"], "medications": list(medications)})
    return {v.criterion.text: (v.verdict, v.reason) for v in evaluate(patient, CRITERIA) if v.criterion.start >= 0}


def test_the_outcome_decides_the_criteria_that_ask_it():
    found = verdicts({"name": "prednisone", "outcome": "failed"}, {"name": "rituximab", "outcome": "intolerant"},
                     {"name": "eltrombopag", "outcome": "completed"})
    assert found["Refractory to or intolerant of corticosteroids"] == ("met", "prednisone failed (no or a lost response) (record)")
    assert found["Known intolerance to eltrombopag"] == ("not_met", "eltrombopag completed (record): tolerated")


def test_only_the_criteria_that_ask_it():
    """A rituximab course not tolerated is still prior rituximab."""
    found = verdicts({"name": "rituximab", "outcome": "intolerant"})
    assert found["Prior rituximab"] == ("met", "rituximab in the record")


def test_without_an_outcome_the_question_stays_open():
    found = verdicts("prednisone", {"name": "eltrombopag", "current": True})
    assert found["Refractory to or intolerant of corticosteroids"] == (
        "unknown", "prednisone in the record: confirm whether it failed or was not tolerated")
    assert found["Known intolerance to eltrombopag"][0] == "unknown"


def test_an_ongoing_therapy_is_tolerated_but_may_be_failing():
    found = verdicts({"name": "prednisone", "outcome": "ongoing"}, {"name": "eltrombopag", "outcome": "ongoing"})
    assert found["Refractory to or intolerant of corticosteroids"][0] == "unknown"
    assert found["Known intolerance to eltrombopag"] == ("not_met", "eltrombopag ongoing (record): tolerated")


def test_a_therapy_never_given_cannot_have_failed():
    found = verdicts()
    assert found["Known intolerance to eltrombopag"] == ("not_met", "no eltrombopag in the record")
