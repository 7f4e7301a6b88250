"""Diagnoses as clinicians write them: concepts in any word order, qualifiers kept, codes read,
siblings kept apart, what is not understood kept and shown as unknown (issue 11)."""

import zipfile

import pytest

from crawlers.records import parse_xml
from matcher.criteria import parse_criteria
from matcher.criteria.conditions import find_condition_code, read_condition
from matcher.criteria.qualifiers import compare, describe, find_qualifiers, from_text
from matcher.eligibility import evaluate
from matcher.eligibility.evaluate import evaluate_criterion, evaluate_trial, registry_field_criteria, trial_label
from matcher.eligibility.reading import diagnoses_read, not_understood_notice, reading_json
from matcher.match_output import results_table
from matcher.patient import load_patient

from conftest import shared_file


def person(*conditions, **fields):
    return load_patient({"id": "p", "age": 62, "sex": "female", "as_of": "2026-01-15",
                         "conditions": list(conditions), **fields})


def verdict(patient, text, kind="inclusion"):
    heading = "Inclusion Criteria:" if kind == "inclusion" else "Exclusion Criteria:"
    [v] = evaluate(patient, parse_criteria(f"{heading}\n- {text}\n"))
    return v


# ---------------------------------------------------------------------------- reading a diagnosis


@pytest.mark.parametrize("written, concept, qualifiers", [
    ("HER2-positive metastatic breast cancer", "breast cancer", "HER2 positive, stage IV"),
    ("stage IV breast cancer", "breast cancer", "stage IV"),
    ("ER-positive breast cancer", "breast cancer", "ER positive"),
    ("diabetes mellitus type 2", "type 2 diabetes", ""),
    ("poorly controlled type 2 diabetes", "type 2 diabetes", "uncontrolled"),
    ("Crohn's", "crohn's disease", ""),
    ("HFrEF", "heart failure with reduced ejection fraction", ""),
    ("NSCLC, EGFR-mutant, stage IIIB", "non-small cell lung cancer", "EGFR positive, stage III"),
    ("TNBC", "triple-negative breast cancer", "ER negative, HER2 negative, PR negative"),
    ("mCRPC", "metastatic castration-resistant prostate cancer", "stage IV"),
    ("RRMS", "relapsing-remitting multiple sclerosis", ""),
    ("relapsed or refractory multiple myeloma", "multiple myeloma", "refractory or relapsed"),
    ("chronic hepatitis C genotype 1a", "hepatitis c", "genotype 1a"),
    ("cancer of the left breast", "breast cancer", ""),
])
def test_a_diagnosis_is_found_inside_the_phrase_and_the_rest_kept_as_qualifiers(written, concept, qualifiers):
    reading = read_condition(written)
    assert reading.recognized and reading.concept.name == concept
    assert describe(reading.qualifiers) == qualifiers


@pytest.mark.parametrize("written", ["suspected lupus", "family history of breast cancer", "rule out MI"])
def test_words_that_change_the_meaning_leave_a_diagnosis_unrecognized(written):
    assert not read_condition(written).recognized


def test_a_name_nothing_in_the_vocabulary_knows_is_not_recognized():
    assert not read_condition("mBC").recognized and not read_condition("xyzzy syndrome").recognized


@pytest.mark.parametrize("code, concept", [
    ("E11.65", "type 2 diabetes"), ("C50.911", "breast cancer"), ("K50.0", "crohn's disease"),
    ("I50.22", "heart failure with reduced ejection fraction"), ("C92.00", "acute myeloid leukemia"),
    ("C9100", "acute lymphoblastic leukemia"), ("D69.3", "primary immune thrombocytopenia"),
])
def test_icd10cm_codes_walk_up_to_the_nearest_mapped_code(code, concept):
    assert find_condition_code(code, "icd10").name == concept


def test_a_patient_code_decides_the_disease_its_name_does_not_say():
    patient = person({"name": "DM2 w/ hyperglycemia", "code": "E11.65", "system": "icd10"})
    assert verdict(patient, "Type 2 diabetes mellitus").verdict == "met"
    assert verdict(patient, "Type 1 diabetes mellitus").verdict == "not_met"


# ---------------------------------------------------------------------------- qualifiers


def test_receptor_lists_and_triple_negative():
    q, _ = find_qualifiers("ER+/PR-/HER2- breast cancer")
    assert dict(q) == {"ER": {"positive"}, "PR": {"negative"}, "HER2": {"negative"}}
    assert dict(find_qualifiers("triple-negative breast cancer")[0]) == {
        "ER": {"negative"}, "PR": {"negative"}, "HER2": {"negative"}}
    assert find_qualifiers("ER visit last year")[0] == ()  # not a receptor without a status


def test_qualifiers_decide_or_stay_unknown():
    her2_positive = from_text("HER2=positive; stage=IV")
    assert compare(her2_positive, from_text("HER2=negative"))[0] is False
    assert compare(her2_positive, from_text("stage=III|IV"))[0] is True
    assert compare(her2_positive, from_text("ER=positive"))[0] is None
    assert compare(from_text("ER=positive"), from_text("HR=positive"))[0] is True  # hormone receptor: ER or PR
    assert compare(from_text("genotype=1a"), from_text("genotype=1"))[0] is True
    assert compare(from_text("genotype=3"), from_text("genotype=1"))[0] is False
    assert compare(from_text("course=newly diagnosed"), from_text("course=relapsed|refractory"))[0] is False


def test_criteria_carry_the_qualifiers_of_their_condition():
    [criterion] = parse_criteria("Inclusion Criteria:\n- Histologically confirmed HER2-negative, hormone "
                                 "receptor-positive metastatic breast cancer\n")
    [condition] = [c for c in criterion.constraints if c.type == "condition"]
    assert condition.name == "breast cancer" and condition.qualifiers == "HER2=negative; HR=positive; stage=IV"


def test_her2_status_decides_and_the_parent_disease_alone_leaves_it_unknown():
    her2_positive = person("HER2-positive metastatic breast cancer")
    assert verdict(her2_positive, "HER2-negative disease").verdict == "not_met"
    assert verdict(her2_positive, "HER2-negative, hormone receptor-positive breast cancer").verdict == "not_met"
    assert verdict(her2_positive, "Metastatic HER2-positive breast cancer").verdict == "met"
    plain = person("breast cancer")
    assert verdict(plain, "ER-positive breast cancer").verdict == "unknown"
    assert verdict(plain, "HER2-negative disease").verdict == "unknown"
    assert verdict(plain, "Triple negative breast cancer").verdict == "unknown"
    assert verdict(her2_positive, "Triple negative breast cancer").verdict == "not_met"


def test_qualifiers_read_around_a_diagnosis_in_a_note():
    patient = load_patient("62-year-old woman with HER2-positive breast cancer with liver metastases, on trastuzumab.")
    [fact] = patient.conditions
    assert fact.name == "breast cancer" and dict(fact.qualifiers) == {"HER2": {"positive"}, "stage": {"IV"}}
    assert verdict(patient, "HER2-negative disease").verdict == "not_met"


# ---------------------------------------------------------------------------- specific, not broad


@pytest.mark.parametrize("have, other", [
    ("type 2 diabetes", "Type 1 diabetes mellitus"),
    ("diabetes mellitus type 2", "Type 1 diabetes"),
    ("NSCLC", "Small cell lung cancer"),
    ("ulcerative colitis", "Crohn's disease"),
    ("AML", "Acute lymphoblastic leukemia"),
    ("CLL", "Chronic myeloid leukemia"),
])
def test_siblings_never_match_each_other(have, other):
    assert verdict(person(have), other).verdict == "not_met"
    assert verdict(person(have), other, "exclusion").verdict == "not_met"


def test_a_parent_disease_neither_meets_nor_fails_a_subtype():
    v = verdict(person("diabetes"), "Type 1 diabetes mellitus")
    assert v.verdict == "unknown" and "not whether" in v.reason
    assert verdict(person("type 1 diabetes"), "Diabetes mellitus").verdict == "met"


# ---------------------------------------------------------------------------- fail safe


def test_what_is_not_understood_is_unknown_never_absent():
    patient = person("xyzzy syndrome")
    for text, kind in (("Breast cancer", "inclusion"), ("History of stroke", "exclusion")):
        v = verdict(patient, text, kind)
        assert v.verdict == "unknown" and "'xyzzy syndrome', not understood" in v.reason
    understood = person("hypertension")
    assert verdict(understood, "History of stroke", "exclusion").verdict == "not_met"


def test_a_drug_not_understood_may_be_one_of_a_class():
    patient = load_patient({"id": "p", "age": 50, "medications": ["zorbitumab"]})
    assert verdict(patient, "Prior anti-CD20 therapy", "exclusion").verdict == "unknown"


def test_what_was_not_understood_is_shown_first():
    patient = person("HER2-positive metastatic breast cancer", "xyzzy syndrome")
    assert "'xyzzy syndrome'" in not_understood_notice(patient)
    table = results_table([], read_as=[r.line() for r in diagnoses_read(patient)], notice=not_understood_notice(patient))
    assert table.startswith("⚠ Not understood in the record: 'xyzzy syndrome'")
    assert "HER2-positive metastatic breast cancer → breast cancer (MeSH Breast Neoplasms): HER2 positive, stage IV" in table
    read = reading_json(patient)
    assert read["not_understood"] == ["xyzzy syndrome"]
    assert read["read_as"][0]["qualifiers"] == "HER2 positive, stage IV"


# ---------------------------------------------------------------------------- the patients, real trials


@pytest.fixture(scope="module")
def sample_trials():
    path = shared_file("ctgov", "AllPublicXML-sample.zip")
    trials = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                trial = parse_xml(z.read(name))
                trials[trial.nct_id] = trial
    return trials


def _registry_verdict(patient, trial):
    [criterion] = [c for c in registry_field_criteria(trial) if c.category == "condition"]
    return evaluate_criterion(patient, criterion)


def test_her2_positive_patient_is_never_ineligible_for_no_breast_cancer(sample_trials):
    patient = person("HER2-positive metastatic breast cancer")
    breast = [t for t in sample_trials.values() if "Breast Neoplasms" in t.condition_mesh_terms]
    assert len(breast) > 200
    failed = [(t.nct_id, v.reason) for t in breast for v in [_registry_verdict(patient, t)] if v.verdict == "not_met"]
    assert not [f for f in failed if f[1].startswith("no breast cancer")]
    # those that fail, fail on a subtype the patient does not have, said so
    assert all("not" in reason and ("HER2" in reason or "ER " in reason or "stage" in reason) for _, reason in failed)


def test_her2_positive_trials_rank_above_her2_negative_ones(sample_trials):
    """The registry's conditions put HER2-negative and triple-negative trials among the
    ineligible (labelled first by eligibility, ranked last) and keep HER2-positive ones open."""
    patient = person("HER2-positive metastatic breast cancer")
    positive = [t for t in sample_trials.values()
                if any("her2-positive" in c.lower() or "her2 positive" in c.lower() for c in t.conditions)
                and not any("negative" in c.lower() or "early" in c.lower() for c in t.conditions)]
    negative = [t for t in sample_trials.values()
                if any("triple negative" in c.lower() or "her2-negative" in c.lower() or "her2 negative" in c.lower()
                       for c in t.conditions) and not any("positive" in c.lower() for c in t.conditions)]
    assert positive and negative
    verdicts = [_registry_verdict(patient, t).verdict for t in positive]
    assert "not_met" not in verdicts and verdicts.count("met") >= len(verdicts) - 1  # one also lists male breast cancer
    for trial in negative:
        verdict = _registry_verdict(patient, trial)
        assert verdict.verdict == "not_met" and "HER2 positive, not HER2 negative" in verdict.reason
        assert trial_label(evaluate_trial(patient, trial, [])) == "ineligible"


def test_diabetes_patients_against_real_type_1_and_type_2_trials(sample_trials):
    for written in ("diabetes mellitus type 2", "poorly controlled type 2 diabetes"):
        patient = person(written)
        type2 = [t for t in sample_trials.values() if "Diabetes Mellitus, Type 2" in t.condition_mesh_terms
                 and "Diabetes Mellitus, Type 1" not in t.condition_mesh_terms]
        type1 = [t for t in sample_trials.values() if "Diabetes Mellitus, Type 1" in t.condition_mesh_terms
                 and "Diabetes Mellitus, Type 2" not in t.condition_mesh_terms]
        assert sum(_registry_verdict(patient, t).verdict == "met" for t in type2) >= 0.9 * len(type2)
        assert sum(_registry_verdict(patient, t).verdict == "not_met" for t in type1) >= 0.9 * len(type1)


def test_a_broad_ancestor_the_registry_adds_does_not_stand_in_for_the_disease(sample_trials):
    trial = sample_trials["NCT00001467"]  # immunodeficiency; MeSH adds "Immune System Diseases"
    assert "Immune System Diseases" in trial.condition_mesh_terms
    assert _registry_verdict(person("primary immune thrombocytopenia"), trial).verdict == "not_met"
    assert _registry_verdict(person("common variable immunodeficiency"), trial).verdict == "met"


def test_a_database_made_before_qualifiers_gains_the_column(tmp_path):
    import sqlite3

    from matcher.store import Store

    path = tmp_path / "old.db"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE constraints DROP COLUMN qualifiers")
    store = Store(path)
    assert "qualifiers" in store.db["constraints"].columns_dict
    store.close()
