"""Free-text notes → patients: age, sex, conditions with negation, drugs, labs, evidence."""

from matcher.patient import load_patient
from matcher.patient.from_note import sentences

SIGIR_LIKE = (
    "A 58-year-old African-American woman presents to the ER with episodic pressing/burning anterior chest pain "
    "that began two days earlier for the first time in her life. She is known to have hypertension and obesity. "
    "She denies smoking, diabetes, hypercholesterolemia, or a family history of heart disease. "
    "She currently takes no medications."
)


def test_age_sex_and_negated_lists():
    patient = load_patient(SIGIR_LIKE)
    assert (patient.age, patient.sex) == (58, "female")
    conditions = {c.name: c.negated for c in patient.conditions}
    assert conditions["hypertension"] is False and conditions["obesity"] is False
    assert conditions["diabetes mellitus"] is True and conditions["hypercholesterolemia"] is True
    assert "heart disease" not in conditions and "cardiovascular disease" not in conditions  # a relative's, not hers
    hypertension = next(c for c in patient.conditions if c.name == "hypertension")
    assert hypertension.evidence.source == "note sentence 1"
    assert hypertension.evidence.text.startswith("She is known to have hypertension")


def test_numbered_sentences_and_children():
    assert sentences("0. First one.\n1. Second one.") == ["First one.", "Second one."]
    child = load_patient("An 8-year-old male presents with fever and cough for 2 days.")
    assert (child.age, child.sex) == (8, "male")
    infant = load_patient("A 6-month-old girl with fever.")
    assert infant.age == 0.5 and infant.sex == "female"


def test_labs_and_drugs():
    patient = load_patient("Platelet count of 22,000/µL. Hemoglobin 9.5 g/dL. She is currently taking eltrombopag. "
                           "She previously received rituximab.")
    labs = {lab.measure: (lab.value, lab.unit) for lab in patient.labs}
    assert labs["platelet_count"] == (22000, "/µL") and labs["hemoglobin"] == (9.5, "g/dL")
    drugs = {m.name: m.current for m in patient.medications}
    assert drugs["eltrombopag"] is True and drugs["rituximab"] is None


def test_but_ends_the_negation():
    patient = load_patient("No fever but persistent cough and asthma.")
    conditions = {c.name: c.negated for c in patient.conditions}
    assert conditions.get("asthma") is False
