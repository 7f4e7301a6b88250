"""Reading free-text notes: negation scope, blood pressure pairs, lab names with their
abbreviation, "two weeks ago", pregnancy and menopause, immunosuppressive therapy."""

from datetime import date, timedelta

from matcher.patient import load_patient

TODAY = date(2026, 1, 15)


def note(text):
    return load_patient(text, today=TODAY)


def conditions(patient):
    return {c.name: c for c in patient.conditions}


def test_a_presenting_complaint_is_not_negated_by_an_earlier_no():
    patient = note("A 40-year-old man with no past medical history presents with severe pain in his left leg.")
    assert conditions(patient)["pain"].negated is False
    patient = note("A 20 yo woman with no significant history presents with a chief complaint of fatigue.")
    assert conditions(patient)["fatigue"].negated is False
    # the cue still covers its own list
    patient = note("He denies fever, cough or diarrhea, and complains of nausea.")
    found = conditions(patient)
    assert found["fever"].negated and found["diarrhea"].negated and not found["nausea"].negated


def test_blood_pressure_pair_gives_systolic_and_diastolic():
    patient = note("On arrival his blood pressure is 85/50 and his pulse 120/min.")
    labs = {lab.measure: lab.value for lab in patient.labs}
    assert labs["systolic_blood_pressure"] == 85 and labs["diastolic_blood_pressure"] == 50
    assert labs["blood_pressure"] == 85


def test_lab_value_after_an_abbreviation_in_parentheses():
    patient = note("She is found to have a hemoglobin (Hb) of 10.2 g/dL.")
    assert [(lab.measure, lab.value, lab.unit) for lab in patient.labs] == [("hemoglobin", 10.2, "g/dL")]


def test_time_ago_dates_the_facts_of_its_clause_only():
    patient = note("A 70-year-old man with diabetes, who was admitted for a stroke three weeks ago.")
    found = conditions(patient)
    assert found["stroke"].onset == TODAY - timedelta(days=21)
    assert found["diabetes mellitus"].onset is None


def test_negative_pregnancy_test_with_words_between():
    patient = note("A 30-year-old woman. A urine pregnancy test with a threshold of 20 mIU/ml is negative.")
    assert patient.pregnant is False


def test_recent_delivery_means_not_pregnant_but_an_old_one_says_nothing():
    assert note("A 29-year-old woman who gave birth to a healthy boy 2 weeks ago.").pregnant is False
    assert note("A 29-year-old woman who gave birth to twins 4 years ago.").pregnant is None


def test_menopausal_status():
    assert note("A 52-year-old woman, in menopause since last year.").menopausal is True
    assert note("A 35-year-old woman with painful, irregular periods.").menopausal is False
    assert note("A 35-year-old woman with headache.").menopausal is None
    assert note("A 50-year-old man with painful knees.").menopausal is None


def test_on_immunosuppressive_medication_is_immunosuppressed():
    patient = note("A 50 yo man. He is on immunosuppressive medications, including tacrolimus.")
    assert "immunosuppressed" in conditions(patient)
    patient = note("A 50 yo man. He takes no immunosuppressive drugs.")
    assert "immunosuppressed" not in conditions(patient)
