"""Diagnoses as clinicians write them, against the registry's own conditions of real trials.

    python benchmarks/clinical_phrasing.py [--show-misses N]

For each diagnosis (phrased as a physician would type it, across oncology, cardiology,
endocrinology, neurology, rheumatology, infectious disease, hematology and psychiatry) a patient
is made twice: with the diagnosis as a form field, and inside a short note. Every sample trial
whose MeSH terms hold the diagnosis's target heading must get ``met`` for its registry
conditions ("Studies (registry): …"); every trial whose MeSH terms hold the sibling heading (a
different disease of the same family) but not the target must get ``not_met``. Both rates are
printed per form. Trials: the 7,461 records of ../shared/data/ctgov/AllPublicXML-sample.zip. The
same file run on an older checkout gives the baseline (docs/criteria.md has both).
"""

from __future__ import annotations

import argparse
import sys
import time
import zipfile
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data  # noqa: E402

# (domain, as written, target MeSH heading, sibling MeSH heading)
DIAGNOSES = [
    ("oncology", "HER2-positive metastatic breast cancer", "Breast Neoplasms", "Prostatic Neoplasms"),
    ("oncology", "stage IV breast cancer", "Breast Neoplasms", "Ovarian Neoplasms"),
    ("oncology", "ER-positive breast cancer", "Breast Neoplasms", "Endometrial Neoplasms"),
    ("oncology", "TNBC", "Triple Negative Breast Neoplasms", "Ovarian Neoplasms"),
    ("oncology", "NSCLC, EGFR-mutant, stage IIIB", "Carcinoma, Non-Small-Cell Lung", "Small Cell Lung Carcinoma"),
    ("oncology", "extensive-stage small cell lung cancer", "Small Cell Lung Carcinoma", "Carcinoma, Non-Small-Cell Lung"),
    ("oncology", "metastatic castration-resistant prostate cancer", "Prostatic Neoplasms", "Urinary Bladder Neoplasms"),
    ("oncology", "KRAS wild-type metastatic colorectal cancer", "Colorectal Neoplasms", "Pancreatic Neoplasms"),
    ("oncology", "recurrent glioblastoma multiforme", "Glioblastoma", "Medulloblastoma"),
    ("oncology", "advanced clear cell renal cell carcinoma", "Carcinoma, Renal Cell", "Urinary Bladder Neoplasms"),
    ("oncology", "unresectable stage III melanoma", "Melanoma", "Sarcoma"),
    ("oncology", "platinum-resistant ovarian cancer", "Ovarian Neoplasms", "Uterine Cervical Neoplasms"),
    ("cardiology", "HFrEF", "Heart Failure", "Hypertension, Pulmonary"),
    ("cardiology", "chronic systolic heart failure, NYHA class III", "Heart Failure", "Atrial Fibrillation"),
    ("cardiology", "paroxysmal atrial fibrillation", "Atrial Fibrillation", "Tachycardia, Ventricular"),
    ("cardiology", "acute STEMI", "Myocardial Infarction", "Stroke"),
    ("cardiology", "essential hypertension, poorly controlled", "Hypertension", "Hypertension, Pulmonary"),
    ("cardiology", "hypertrophic obstructive cardiomyopathy", "Cardiomyopathy, Hypertrophic", "Heart Failure"),
    ("endocrinology", "diabetes mellitus type 2", "Diabetes Mellitus, Type 2", "Diabetes Mellitus, Type 1"),
    ("endocrinology", "poorly controlled type 2 diabetes", "Diabetes Mellitus, Type 2", "Diabetes Mellitus, Type 1"),
    ("endocrinology", "T1DM", "Diabetes Mellitus, Type 1", "Diabetes Mellitus, Type 2"),
    ("endocrinology", "morbid obesity", "Obesity", "Anorexia Nervosa"),
    ("endocrinology", "postmenopausal osteoporosis", "Osteoporosis", "Osteoarthritis"),
    ("neurology", "RRMS", "Multiple Sclerosis", "Amyotrophic Lateral Sclerosis"),
    ("neurology", "Parkinson's", "Parkinson Disease", "Alzheimer Disease"),
    ("neurology", "mild Alzheimer's disease", "Alzheimer Disease", "Parkinson Disease"),
    ("neurology", "refractory partial epilepsy", "Epilepsy", "Migraine Disorders"),
    ("neurology", "ALS", "Amyotrophic Lateral Sclerosis", "Multiple Sclerosis"),
    ("rheumatology", "seropositive rheumatoid arthritis", "Arthritis, Rheumatoid", "Osteoarthritis"),
    ("rheumatology", "SLE with lupus nephritis", "Lupus Erythematosus, Systemic", "Scleroderma, Systemic"),
    ("rheumatology", "moderate to severe plaque psoriasis", "Psoriasis", "Lupus Erythematosus, Systemic"),
    ("rheumatology", "knee osteoarthritis", "Osteoarthritis", "Arthritis, Rheumatoid"),
    ("rheumatology", "primary Sjogren's syndrome", "Sjogren's Syndrome", "Arthritis, Rheumatoid"),
    ("gastroenterology", "Crohn's", "Crohn Disease", "Colitis, Ulcerative"),
    ("gastroenterology", "ulcerative colitis", "Colitis, Ulcerative", "Crohn Disease"),
    ("infectious disease", "HIV-1 infection on ART", "HIV Infections", "Hepatitis B"),
    ("infectious disease", "chronic hepatitis C genotype 1a", "Hepatitis C", "Hepatitis B"),
    ("infectious disease", "chronic hepatitis B", "Hepatitis B", "Hepatitis C"),
    ("infectious disease", "pulmonary TB", "Tuberculosis", "Pneumonia, Pneumocystis"),
    ("infectious disease", "Plasmodium falciparum malaria", "Malaria", "Tuberculosis"),
    ("infectious disease", "CMV retinitis", "Cytomegalovirus Infections", "Toxoplasmosis"),
    ("hematology", "AML", "Leukemia, Myeloid, Acute", "Precursor Cell Lymphoblastic Leukemia-Lymphoma"),
    ("hematology", "B-cell ALL", "Precursor Cell Lymphoblastic Leukemia-Lymphoma", "Leukemia, Myeloid, Acute"),
    ("hematology", "relapsed/refractory multiple myeloma", "Multiple Myeloma", "Hodgkin Disease"),
    ("hematology", "CML in chronic phase", "Leukemia, Myelogenous, Chronic, BCR-ABL Positive", "Leukemia, Lymphocytic, Chronic, B-Cell"),
    ("hematology", "CLL", "Leukemia, Lymphocytic, Chronic, B-Cell", "Leukemia, Myelogenous, Chronic, BCR-ABL Positive"),
    ("hematology", "DLBCL", "Lymphoma, Large B-Cell, Diffuse", "Hodgkin Disease"),
    ("hematology", "sickle cell anemia", "Anemia, Sickle Cell", "beta-Thalassemia"),
    ("hematology", "chronic ITP", "Purpura, Thrombocytopenic, Idiopathic", "Anemia, Aplastic"),
    ("psychiatry", "MDD, recurrent, severe", "Depressive Disorder, Major", "Bipolar Disorder"),
    ("psychiatry", "bipolar I disorder", "Bipolar Disorder", "Schizophrenia"),
    ("psychiatry", "paranoid schizophrenia", "Schizophrenia", "Bipolar Disorder"),
    ("psychiatry", "PTSD", "Stress Disorders, Post-Traumatic", "Obsessive-Compulsive Disorder"),
    ("psychiatry", "opioid use disorder", "Opioid-Related Disorders", "Cocaine-Related Disorders"),
    ("psychiatry", "cocaine dependence", "Cocaine-Related Disorders", "Opioid-Related Disorders"),
    ("psychiatry", "ADHD", "Attention Deficit Disorder with Hyperactivity", "Autistic Disorder"),
]


def note_for(phrase: str) -> str:
    return (f"A 52-year-old patient seen in clinic today. Past medical history is significant for {phrase}. "
            f"Vital signs are stable and the examination is unremarkable.")


def sample_trials() -> dict[str, object]:
    from crawlers.records import RecordError, parse_xml

    path = shared_data() / "ctgov" / "AllPublicXML-sample.zip"
    if not path.exists():
        sys.exit(f"registry sample not found at {path} (set TRIALMATCH_SHARED_DATA)")
    trials = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                try:
                    trial = parse_xml(z.read(name))
                except RecordError:
                    continue
                trials[trial.nct_id] = trial
    return trials


def registry_verdict(patient, trial) -> str | None:
    from matcher.eligibility.evaluate import evaluate_criterion, registry_field_criteria

    for criterion in registry_field_criteria(trial):
        if criterion.category == "condition":
            return evaluate_criterion(patient, criterion).verdict
    return None


def main() -> None:
    from matcher.patient import load_patient

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", type=int, default=0, metavar="N")
    args = parser.parse_args()
    started = time.perf_counter()
    trials = sample_trials()
    by_heading: dict[str, list] = defaultdict(list)
    for trial in trials.values():
        for term in set(trial.condition_mesh_terms):
            by_heading[term].append(trial)
    today = date(2026, 1, 1)
    counts = {form: {"target": [0, 0], "sibling": [0, 0]} for form in ("form field", "note")}
    per_domain: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for domain, phrase, target, sibling in DIAGNOSES:
        for form in ("form field", "note"):
            data = {"id": "p", "age": 52, "conditions": [phrase]} if form == "form field" else note_for(phrase)
            patient = load_patient(data, today=today)
            for side, heading, wanted in (("target", target, "met"), ("sibling", sibling, "not_met")):
                for trial in by_heading.get(heading, []):
                    if side == "sibling" and target in trial.condition_mesh_terms:
                        continue
                    got = registry_verdict(patient, trial)
                    if got is None:
                        continue
                    hit = got == wanted
                    counts[form][side][0] += hit
                    counts[form][side][1] += 1
                    per_domain[(domain, form)][0] += hit
                    per_domain[(domain, form)][1] += 1
                    if not hit:
                        misses.append((form, phrase, side, trial.nct_id, trial.conditions, got))
    seconds = time.perf_counter() - started
    print(f"clinical phrasing: {len(DIAGNOSES)} diagnoses, {len(trials)} sample trials, {seconds:.1f} s")
    for form, sides in counts.items():
        (tm, tn), (sm, sn) = sides["target"], sides["sibling"]
        print(f"  {form:<10}  target trials met {tm}/{tn} = {tm / max(1, tn):.3f}   "
              f"sibling trials not_met {sm}/{sn} = {sm / max(1, sn):.3f}")
    print("  by domain (both sides):")
    for domain in dict.fromkeys(d for d, *_ in DIAGNOSES):
        cells = []
        for form in ("form field", "note"):
            hit, total = per_domain[(domain, form)]
            cells.append(f"{form} {hit}/{total}")
        print(f"    {domain:<20} " + "   ".join(cells))
    missed_by = defaultdict(int)
    for form, phrase, side, *_ in misses:
        missed_by[(form, phrase, side)] += 1
    if misses:
        print("  misses by diagnosis (form, phrase, side: trials):")
        for (form, phrase, side), n in sorted(missed_by.items(), key=lambda x: -x[1])[:20]:
            print(f"    {form:<10} {phrase:<48} {side:<8} {n}")
    for form, phrase, side, nct, conditions, got in misses[: args.show_misses]:
        shown = " ".join("; ".join(conditions).split())[:90]
        print(f"  [{form}] {phrase} ({side}) {nct} {shown} → {got}")


if __name__ == "__main__":
    main()
