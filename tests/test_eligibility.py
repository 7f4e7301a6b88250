"""The seed trial (ianalumab in primary ITP) against patients built for it."""

import json
from copy import deepcopy

import pytest

from conftest import FIXTURES, REPO
from matcher.criteria import parse_criteria
from matcher.eligibility import evaluate, trial_label
from matcher.patient import load_patient

LISTING = (FIXTURES / "criteria" / "ianalumab-itp-listing.txt").read_text()
SEED_CRITERIA = parse_criteria(LISTING[LISTING.index("Inclusion Criteria"): LISTING.index("Study Design")])
EXAMPLE = json.loads((REPO / "data" / "examples" / "itp-patient.json").read_text())


def patient(**changes):
    data = deepcopy(EXAMPLE)
    data.pop("note")
    data.update(changes)
    return load_patient(data)


def verdict_for(verdicts, words):
    found = [v for v in verdicts if words.lower() in v.criterion.text.lower()]
    assert found, f"no criterion mentions {words!r}"
    return found[0]


def test_seed_patient_is_possible_naming_what_to_confirm():
    verdicts = evaluate(patient(), SEED_CRITERIA)
    assert trial_label(verdicts) in ("eligible", "possible")
    platelets = verdict_for(verdicts, "Platelet count <30")
    assert (platelets.verdict, platelets.reason) == ("met", "platelet count 22 10^9/L on 2026-11-10 < 30")
    assert verdict_for(verdicts, "Confirmed diagnosis of primary ITP").verdict == "met"
    assert verdict_for(verdicts, "corticosteroid (±IVIG) and a TPO-RA").verdict == "met"
    for words in ("secondary thrombocytopenia", "Neutrophils", "Immunoglobulin G", "B-cell depleting", "splenectomy"):
        assert verdict_for(verdicts, words).verdict == "not_met", words
    unknown = [v for v in verdicts if v.verdict == "unknown" and not v.to_confirm]
    failing = [v for v in verdicts if (v.criterion.kind == "inclusion") == (v.verdict == "not_met") and v.verdict != "unknown"]
    assert not failing
    assert all(v.reason for v in unknown)  # each unknown says what to check


@pytest.mark.parametrize(
    "changes, deciding_words, reason_words",
    [
        ({"procedures": [{"name": "splenectomy", "date": "2015-03-01"}]}, "Prior splenectomy", "splenectomy in the record"),
        ({"medications": EXAMPLE["medications"] + [{"name": "rituximab", "start": "2026-09-01", "end": "2026-09-30"}]},
         "B-cell depleting", "rituximab last given 2026-09-30, 56 days ago: within 84 days"),
        ({"medications": EXAMPLE["medications"] + [{"name": "Rituxan", "start": "2026-09-01", "end": "2026-09-30"}]},
         "B-cell depleting", "within 84 days"),
        ({"labs": [{"name": "platelet count", "value": 45, "unit": "10^9/L"}]}, "Platelet count <30", "platelet count 45 10^9/L not < 30"),
        ({"labs": EXAMPLE["labs"][:1] + [{"name": "ANC", "value": 0.8, "unit": "10^9/L"}]}, "Neutrophils", "neutrophil count 0.8 10^9/L < 1"),
        ({"labs": EXAMPLE["labs"][:1] + [{"name": "neutrophils", "value": 800, "unit": "cells/µL"}]}, "Neutrophils", "0.8 10^9/L < 1"),
        ({"conditions": ["secondary thrombocytopenia"]}, "secondary thrombocytopenia", "secondary thrombocytopenia in the record"),
        ({"age": 17}, "aged 18 years and older", "age 17 years is not >= 18"),
    ],
)
def test_seed_patient_variants_are_ineligible_and_say_why(changes, deciding_words, reason_words):
    verdicts = evaluate(patient(**changes), SEED_CRITERIA)
    assert trial_label(verdicts) == "ineligible"
    deciding = verdict_for(verdicts, deciding_words)
    assert deciding.verdict == ("met" if deciding.criterion.kind == "exclusion" else "not_met")
    assert reason_words in deciding.reason


def test_rituximab_sixteen_weeks_ago_no_longer_excludes():
    verdicts = evaluate(patient(medications=EXAMPLE["medications"] + [
        {"name": "rituximab", "start": "2026-07-15", "end": "2026-08-05"}]), SEED_CRITERIA)
    b_cell = verdict_for(verdicts, "B-cell depleting")
    assert b_cell.verdict == "not_met" and "112 days ago: more than 84 days" in b_cell.reason
    assert trial_label(verdicts) != "ineligible"


def test_missing_igg_makes_the_trial_possible():
    verdicts = evaluate(patient(labs=EXAMPLE["labs"][:2]), SEED_CRITERIA)
    igg = verdict_for(verdicts, "Immunoglobulin G")
    assert (igg.verdict, igg.reason) == ("unknown", "no immunoglobulin g in the record")
    assert trial_label(verdicts) == "possible"


def test_platelets_in_other_units_compare_in_canonical_units():
    for value, unit in ((22000, "/µL"), (22, "x10^3/µL"), (22, "G/L"), (22000, "/mm3")):
        verdicts = evaluate(patient(labs=[{"name": "platelets", "value": value, "unit": unit}]), SEED_CRITERIA)
        platelets = verdict_for(verdicts, "Platelet count <30")
        assert platelets.verdict == "met" and "22 10^9/L" in platelets.reason, unit


def test_fhir_bundle_gives_the_same_verdicts_as_json():
    bundle = json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text())
    from_fhir = evaluate(load_patient(bundle), SEED_CRITERIA)
    from_json = evaluate(patient(labs=[{"name": "platelet count", "value": 22, "unit": "10^9/L", "date": "2026-11-10"}],
                                 age=45.48, as_of="2026-11-25"), SEED_CRITERIA)
    assert [v.verdict for v in from_fhir] == [v.verdict for v in from_json]


def test_note_gives_the_same_verdicts_as_json():
    note = ("45-year-old woman with primary immune thrombocytopenia. Platelet count 22 x 10^9/L. "
            "She responded to prednisone, relapsed, and is currently on eltrombopag. "
            "Absolute neutrophil count 3.1 x 10^9/L, IgG 9.8 g/L. No splenectomy. She denies rituximab.")
    from_note = evaluate(load_patient(note), SEED_CRITERIA)
    from_json = evaluate(patient(medications=["prednisone", "eltrombopag"]), SEED_CRITERIA)
    assert [v.verdict for v in from_note] == [v.verdict for v in from_json]


def test_administrative_criteria_are_to_confirm_and_do_not_lower_the_label():
    verdicts = evaluate(patient(), SEED_CRITERIA)
    consent = verdict_for(verdicts, "Signed informed consent")
    assert consent.to_confirm and consent.reason == "to confirm at screening"


def test_a_criterion_that_only_permits_states_no_requirement():
    allowed = verdict_for(evaluate(patient(), SEED_CRITERIA), "Prior additional therapies are allowed")
    assert allowed.criterion.category == "informational"
    assert allowed.outcome == "satisfied" and "no requirement" in allowed.reason  # listed, never lowering the label


def test_both_sexes_is_no_restriction():
    [both] = parse_criteria("Inclusion Criteria:\n- Male and female")
    [verdict] = evaluate(patient(), [both])
    assert (verdict.verdict, verdict.reason) == ("met", "open to both sexes")
