"""Verdicts that follow clinical reasoning a physician would agree with: who cannot be pregnant,
menopausal status, the latest of several undated values, recent events in a note."""

from datetime import date

import pytest

from matcher.criteria import parse_criteria
from matcher.eligibility import evaluate
from matcher.patient import load_patient

TODAY = date(2026, 1, 15)


def verdict(patient, text, kind="exclusion"):
    heading = "Inclusion Criteria:" if kind == "inclusion" else "Exclusion Criteria:"
    [v] = evaluate(patient, parse_criteria(f"{heading}\n- {text}\n"))
    return v


def person(**fields):
    return load_patient({"id": "p", "as_of": "2026-01-15", **fields})


@pytest.mark.parametrize("text", ["Pregnancy", "Breastfeeding women", "Planning to become pregnant during the study"])
def test_a_woman_past_menopause_or_a_child_cannot_be_pregnant_or_nursing(text):
    assert verdict(person(age=67, sex="female"), text).verdict == "not_met"
    assert verdict(person(age=6, sex="female"), text).verdict == "not_met"
    woman = verdict(person(age=34, sex="female"), text)
    if "Planning" in text:  # plans are the patient's to say
        assert woman.verdict == "unknown"
    else:  # a pregnancy is something a record states: presumed not, and tested at screening
        assert (woman.verdict, woman.to_confirm, woman.outcome) == ("not_met", True, "to_confirm")
        assert "presumed" in woman.reason


def test_a_pregnancy_the_record_does_not_state_is_presumed_absent_but_never_assumed_present():
    woman = person(age=29, sex="female")
    included = verdict(woman, "Non-pregnant, non-lactating women", "inclusion")
    assert (included.verdict, included.to_confirm) == ("met", True)
    # a trial for pregnant women is not ruled out on a presumption, nor met: the record must say
    assert verdict(woman, "Pregnant women between 24 and 28 weeks of gestation", "inclusion").verdict == "unknown"
    # the record decides when it speaks
    pregnant = load_patient("A 29-year-old woman, currently pregnant at 20 weeks of gestation.", today=TODAY)
    stated = verdict(pregnant, "Pregnancy")
    assert (stated.verdict, stated.to_confirm) == ("met", False)


def test_contraception_does_not_apply_to_who_cannot_conceive():
    text = "Agrees to use effective contraception during the study"
    assert verdict(person(age=70, sex="female"), text, "inclusion").verdict == "met"
    assert verdict(person(age=3, sex="male"), text, "inclusion").verdict == "met"
    assert verdict(person(age=30, sex="female"), text, "inclusion").verdict == "unknown"


def test_recorded_pregnancy_does_not_answer_plans_for_one():
    patient = load_patient("A 30-year-old woman. Her pregnancy test is negative.", today=TODAY)
    assert verdict(patient, "Current pregnancy").verdict == "not_met"
    assert verdict(patient, "Women who wish to become pregnant within a year").verdict == "unknown"


def test_menopausal_status_from_the_note_or_the_age():
    menstruating = load_patient("A 41-year-old woman with heavy menstrual bleeding.", today=TODAY)
    assert verdict(menstruating, "Premenopausal", "inclusion").verdict == "met"
    assert verdict(person(age=61, sex="female"), "Premenopausal", "inclusion").verdict == "not_met"
    assert verdict(person(age=61, sex="female"), "Postmenopausal women", "inclusion").verdict == "met"
    assert verdict(person(age=45, sex="female"), "Postmenopausal women", "inclusion").verdict == "unknown"


def test_the_later_of_two_undated_values_in_a_note_counts():
    patient = load_patient("Her platelet count is 160 x 10^9/L. Two weeks later the platelet count is 80 x 10^9/L.",
                           today=TODAY)
    v = verdict(patient, "Platelet count < 100 x 10^9/L")
    assert v.verdict == "met" and "80" in v.reason


def test_blood_pressure_pair_answers_a_systolic_limit():
    patient = load_patient("A 60-year-old man. His blood pressure is 82/50 mmHg.", today=TODAY)
    assert verdict(patient, "Systolic blood pressure < 90 mmHg").verdict == "met"
    assert verdict(patient, "Diastolic blood pressure > 100 mmHg").verdict == "not_met"


def test_a_stroke_weeks_ago_is_within_a_window():
    patient = load_patient("A 70-year-old man who had an ischemic stroke three weeks ago.", today=TODAY)
    assert verdict(patient, "Stroke within the previous 3 months", "inclusion").verdict == "met"
    assert verdict(patient, "Stroke within the last 7 days", "inclusion").verdict == "not_met"


def test_healthy_volunteers_and_a_patient_with_a_disease():
    assert verdict(person(age=40, conditions=["asthma"]), "Healthy volunteers", "inclusion").verdict == "not_met"


def test_a_relatives_disease_does_not_match_the_patients():
    patient = person(age=30, conditions=["bipolar disorder"])
    assert verdict(patient, "At least one parent diagnosed with bipolar disorder", "inclusion").verdict == "unknown"


def test_immunosuppressive_therapy_makes_an_immunocompromised_host():
    patient = load_patient("A 55 yo man with a kidney transplant. He is on immunosuppressive medications.", today=TODAY)
    assert verdict(patient, "Immunocompromised patients", "inclusion").verdict == "met"


def test_glasgow_coma_scale_is_a_score_not_coma():
    patient = load_patient("An 8-year-old boy fell from his bike. The Glasgow Coma Scale (GCS) was 7/15.", today=TODAY)
    assert [(lab.measure, lab.value) for lab in patient.labs] == [("gcs", 7)]
    assert "coma" not in {c.name for c in patient.conditions}
    assert verdict(patient, "GCS = 3").verdict == "not_met"
    assert verdict(patient, "Glasgow coma score below 8").verdict == "met"


def test_a_category_named_by_its_heading_covers_its_members():
    patient = person(age=30, conditions=["bipolar disorder"])
    assert verdict(patient, "DSM-IV Axis I disorders").verdict == "met"
    assert verdict(patient, "Any psychiatric disorder").verdict == "met"
    assert verdict(person(age=30, conditions=["schizophrenia"]), "Bipolar disorder").verdict == "not_met"


def test_bacterial_infection_is_an_infection_but_an_infection_may_or_may_not_be_bacterial():
    assert verdict(person(age=50, conditions=["bacterial infection"]), "Active infection").verdict == "met"
    broader = verdict(person(age=50, conditions=["infection"]), "Bacterial or fungal infection")
    assert broader.verdict == "unknown" and "not whether" in broader.reason


def test_decreased_consciousness_and_immune_deficiency_are_conditions():
    patient = load_patient("A 44 yo male with vomiting. Physical exam findings include decreased mental status.",
                           today=TODAY)
    assert verdict(patient, "Decreased level of consciousness").verdict == "met"
    assert verdict(person(age=40), "Any diagnosed or suspected immune deficient condition").verdict == "not_met"


def test_uncontrolled_needs_the_record_to_say_so():
    assert verdict(person(age=60, conditions=["hypertension"]), "Uncontrolled hypertension").verdict == "unknown"
    patient = load_patient("A 60-year-old man with poorly controlled hypertension.", today=TODAY)
    assert verdict(patient, "Uncontrolled hypertension").verdict == "met"
    assert verdict(person(age=60), "Uncontrolled hypertension").verdict == "not_met"  # absent altogether


def test_consent_answers_consent_only():
    patient = load_patient("A 50-year-old man with gout. The patient will provide informed consent, and will comply "
                           "with the trial protocol.", today=TODAY)
    assert verdict(patient, "Able to give written informed consent", "inclusion").verdict == "met"
    assert verdict(patient, "Patient with health insurance", "inclusion").verdict == "unknown"
    assert verdict(patient, "Unwilling to comply with study visits").verdict == "not_met"


def test_words_of_no_clinical_content_do_not_make_an_exclusion_worth_reading():
    patient = load_patient("A 20 yo woman with no past medical history. Physical exam is normal.", today=TODAY)
    assert verdict(patient, "Treatment with psychotherapy within the past 2 years").verdict == "not_met"


def test_relatives_as_company_and_as_patients():
    boy = load_patient("A 2-year-old boy is brought in by his parents for 5 days of high fever.", today=TODAY)
    assert "fever" in {c.name for c in boy.conditions}
    woman = load_patient("A 40-year-old woman whose mother has diabetes.", today=TODAY)
    assert "diabetes mellitus" not in {c.name for c in woman.conditions}


def test_an_inclusion_failing_only_on_what_the_record_does_not_mention_is_unknown():
    patient = load_patient("A 62 yo man on immunosuppressive medications with a fever.", today=TODAY)
    v = verdict(patient, "Immunocompromised patient with a fungal infection", "inclusion")
    assert v.verdict == "unknown"
    assert verdict(person(age=60, conditions=[{"name": "fungal infection", "negated": True}, "immunodeficiency"]),
                   "Immunocompromised patient with a fungal infection", "inclusion").verdict == "not_met"


def test_results_called_normal_decide_limits_outside_the_reference_interval():
    patient = load_patient("A 36-year-old woman with pelvic pain. Her complete blood count and liver function tests "
                           "are normal.", today=TODAY)
    assert {"hematocrit", "platelet_count", "alt"} <= set(patient.normal_results)
    v = verdict(patient, "Hematocrit < 25%")
    assert v.verdict == "not_met" and "normal" in v.reason
    assert verdict(patient, "Platelet count >= 100,000/mm3", "inclusion").verdict == "met"
    assert verdict(patient, "ALT > 3 x ULN").verdict == "not_met"
    assert verdict(patient, "Hemoglobin < 13 g/dL").verdict == "unknown"  # inside the interval: confirm
    assert verdict(patient, "Creatinine > 2 mg/dL").verdict == "unknown"  # not said to be normal


def test_a_stated_value_wins_over_a_normal_panel_and_abnormal_is_not_normal():
    patient = load_patient("A 50-year-old man. CBC was normal. Platelet count 120 x 10^9/L.", today=TODAY)
    assert "platelet_count" not in patient.normal_results
    assert verdict(patient, "Platelet count < 150 x 10^9/L").verdict == "met"
    assert load_patient("A 50-year-old man. The CBC is not normal. LFTs were abnormal.", today=TODAY).normal_results == {}
    named = load_patient("A 20 yo woman. Her laboratory tests, including hemoglobin and TSH, are within normal limits.",
                         today=TODAY)
    assert set(named.normal_results) == {"hemoglobin", "tsh"}


def test_a_mass_bears_on_the_cancer_of_its_organ_but_is_not_it():
    patient = load_patient("A 60-year-old man with a right lung nodule on CT. MRI shows a lesion in the left "
                           "temporal lobe.", today=TODAY)
    assert {"lung mass", "brain mass"} <= {c.name for c in patient.conditions}
    for text in ("Lung cancer", "Brain metastases", "Any malignancy"):
        v = verdict(patient, text)
        assert v.verdict == "unknown" and "finding" in v.reason
    assert verdict(patient, "Breast cancer").verdict == "not_met"
    assert verdict(patient, "Lung cancer", "inclusion").verdict == "unknown"
    diagnosed = person(age=60, conditions=["non-small cell lung cancer"])
    assert verdict(diagnosed, "Lung cancer").verdict == "met"
    denied = load_patient("A 60-year-old man. No mass in the liver.", today=TODAY)
    assert "liver mass" not in {c.name for c in denied.conditions}


def test_a_drug_named_only_by_its_class_counts_for_the_class():
    patient = load_patient("A 28-year-old woman with neck pain. She was prescribed NSAIDs. She takes no anticoagulants. "
                           "She had a steroid-induced psychosis.", today=TODAY)
    assert verdict(patient, "Use of NSAIDs").verdict == "met"
    assert verdict(patient, "Anticoagulant therapy").verdict == "not_met"
    assert verdict(patient, "Treatment with ibuprofen").verdict == "not_met"  # which NSAID: not said
    assert "steroid" not in {m.name for m in patient.medications}


def test_an_or_list_sharing_a_value_excludes_on_any_one():
    patient = person(age=50, labs=[{"name": "ALT", "value": 300, "unit": "U/L"}, {"name": "AST", "value": 30, "unit": "U/L"}])
    assert verdict(patient, "ALT or AST > 200 U/L").verdict == "met"


def test_active_disease_is_not_shown_by_a_history_of_it():
    patient = load_patient("A 65-year-old man with a history of tuberculosis now complains of a productive cough.",
                           today=TODAY)
    tb = next(c for c in patient.conditions if c.name == "tuberculosis")
    assert tb.past and not next(c for c in patient.conditions if c.name == "cough").past
    v = verdict(patient, "Active tuberculosis")
    assert v.verdict == "unknown" and "history" in v.reason
    assert verdict(patient, "History of tuberculosis").verdict == "met"
    assert verdict(load_patient("A 40 yo man with tuberculosis.", today=TODAY), "Active tuberculosis").verdict == "met"
