"""What ranking knows about one (patient, trial) pair, as numbers: the features of the learned
ranker.

They are computed from the engine's public outputs only — the retrieval scores, the verdicts
(their kind, category, outcome, evidence), the eligibility label, the trial's registry fields and
the condition vocabulary (``find_condition``) — so that a change inside the engine changes
their values, never their meaning. ``FEATURES_VERSION`` is a hash of this file: a model trained
on other features does not load (``RankingModel.check``), and the test suite says so.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from models.match import Verdict
from models.patient import Patient
from models.trial import OPEN_STATUSES, Trial

from ..criteria import find_condition
from ..retrieve import FIELDS

# Failing criteria, counted by what they are about.
FAILED_GROUPS = {
    "condition": ("condition",),
    "therapy": ("therapy", "procedure"),
    "measurement": ("measurement", "performance_status"),
    "demographic": ("age", "sex", "reproductive"),
    "other": ("time_window", "other"),
}

FEATURES = (
    # retrieval: BM25 of the whole record and of each field, relative to the best candidate (0–1)
    "bm25_all", *(f"bm25_{name}" for name in FIELDS),
    "cosine",  # embedding similarity of the patient's text and the trial
    "cosine_gap",  # how far below the most similar candidate
    "fused",  # the reciprocal-rank fusion of both, relative to the best candidate
    # the patient's diagnoses against the conditions the trial studies
    "concept_exact", "concept_patient_narrower", "concept_trial_narrower", "concept_sibling",
    "condition_words",  # the largest share of one trial condition's words found in the patient's text
    # verdicts on the registry fields: +1 satisfied, -1 failed, 0 unknown or not given
    "registry_condition", "registry_age", "registry_sex",
    # verdicts on the eligibility text
    "has_criteria", "criteria_count",
    "inclusion_met", "inclusion_not_met", "inclusion_unknown",
    "exclusion_met", "exclusion_not_met", "exclusion_unknown",
    "share_satisfied", "share_failed", "share_unknown",
    "failed_with_evidence",  # failing on what the record says (a value, a fact present)
    "failed_by_absence",  # failing on what the record does not say (a disease not on the problem list)
    *(f"failed_{group}" for group in FAILED_GROUPS),
    "first_failure_inclusion", "first_failure_condition",
    "unknown_values",  # unknown because the record lacks a value (a lab, a score)
    "label_eligible", "label_ineligible",
    # the trial itself
    "phase", "open_status", "interventional", "healthy_volunteers", "record_length",
)

_FAILED_KEY = {category: f"failed_{group}" for group, categories in FAILED_GROUPS.items() for category in categories}
ELIGIBILITY_FEATURES = FEATURES[FEATURES.index("registry_condition"):FEATURES.index("phase")]
FEATURES_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]

NEEDS_A_VALUE = ("measurement", "performance_status")
_PHASE = {"EARLY_PHASE1": 0.5, "PHASE1": 1, "PHASE2": 2, "PHASE3": 3, "PHASE4": 4}
_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
_FILLER = frozenset("disease diseases disorder disorders syndrome cancer carcinoma tumor tumors neoplasm neoplasms "
                    "patients patient healthy volunteers".split())


@dataclass
class Retrieval:
    """How well the trial's text matches the patient's, from the candidate search."""

    field_bm25: dict[str, float]  # "all" and each of FIELDS, relative to the best candidate
    cosine: float | None  # None without embeddings
    cosine_gap: float
    fused: float


def _outcome_sign(verdict: Verdict | None) -> float:
    if verdict is None or verdict.outcome not in ("satisfied", "failed"):
        return 0.0
    return 1.0 if verdict.outcome == "satisfied" else -1.0


@lru_cache(maxsize=16384)
def _concepts(names: tuple[str, ...]) -> tuple:
    return tuple(info for info in dict.fromkeys(find_condition(name) for name in names) if info is not None)


@lru_cache(maxsize=16384)
def _condition_words(conditions: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    found = (frozenset(w[:5] for w in _WORD.findall(condition.lower()) if w not in _FILLER) for condition in conditions)
    return tuple(words for words in found if words)


def concept_overlap(patient: Patient, trial: Trial) -> dict[str, float]:
    """Whether a diagnosis of the patient is a condition the trial studies: the same concept,
    a narrower one (the patient's is-a the trial's, through MeSH ancestors), a broader one, or a
    sibling (both under the same most specific MeSH parent)."""
    have = _concepts(tuple(c.name for c in patient.conditions if not c.negated))
    wanted = _concepts((*trial.conditions, *trial.condition_mesh_terms))
    found = dict.fromkeys(("concept_exact", "concept_patient_narrower", "concept_trial_narrower", "concept_sibling"), 0.0)
    for mine in have:
        for theirs in wanted:
            if mine.name == theirs.name or (mine.mesh_term and mine.mesh_term == theirs.mesh_term):
                found["concept_exact"] = 1.0
            elif theirs.mesh_term and theirs.mesh_term in mine.ancestors:
                found["concept_patient_narrower"] = 1.0
            elif mine.mesh_term and mine.mesh_term in theirs.ancestors:
                found["concept_trial_narrower"] = 1.0
            elif mine.ancestors and theirs.ancestors and (mine.ancestors[0] in theirs.ancestors
                                                          or theirs.ancestors[0] in mine.ancestors):
                found["concept_sibling"] = 1.0
    return found


def condition_words(patient_words: set[str], trial: Trial) -> float:
    """The largest share of one of the trial's conditions' distinctive words that the patient's
    text has (a word counts by its first 5 letters: "metastatic" finds "metastases")."""
    return max((len(words & patient_words) / len(words) for words in _condition_words(tuple(trial.conditions))),
               default=0.0)


def text_stems(text: str) -> set[str]:
    """The patient's text as ``condition_words`` compares it."""
    return {w[:5] for w in _WORD.findall(text.lower())}


def eligibility_features(verdicts: list[Verdict], label: str, has_criteria: bool, criteria_count: int) -> dict[str, float]:
    out = dict.fromkeys(ELIGIBILITY_FEATURES, 0.0)
    out["has_criteria"] = float(has_criteria)
    out["criteria_count"] = math.log1p(criteria_count)
    counted, first = 0, None
    for v in verdicts:  # one pass: a match assesses a hundred trials of dozens of criteria
        criterion, outcome = v.criterion, v.outcome
        if criterion.start < 0:  # a registry field
            if criterion.category in ("condition", "age", "sex"):
                out[f"registry_{criterion.category}"] = _outcome_sign(v)
        elif outcome != "to_confirm":
            counted += 1
            out[f"{criterion.kind}_{v.verdict}"] += 1
            out[f"share_{outcome}"] += 1
            if outcome == "failed" and first is None:
                first = criterion
            if outcome == "unknown" and criterion.category in NEEDS_A_VALUE:
                out["unknown_values"] += 1
        if outcome == "failed":
            out["failed_with_evidence" if v.evidence else "failed_by_absence"] += 1
            group = _FAILED_KEY.get(criterion.category)
            if group:
                out[group] += 1
    for outcome in ("satisfied", "failed", "unknown"):
        out[f"share_{outcome}"] = out[f"share_{outcome}"] / counted if counted else 0.0
    out["first_failure_inclusion"] = float(first is not None and first.kind == "inclusion")
    out["first_failure_condition"] = float(first is not None and first.category == "condition")
    out["label_eligible"] = float(label == "eligible")
    out["label_ineligible"] = float(label == "ineligible")
    return out


def trial_features(trial: Trial) -> dict[str, float]:
    length = sum(len(text or "") for text in (trial.brief_title, trial.brief_summary, trial.eligibility_text))
    return {
        "phase": max((_PHASE.get(p, 0) for p in trial.phases), default=0),
        "open_status": float(trial.overall_status in OPEN_STATUSES),
        "interventional": float(trial.study_type == "INTERVENTIONAL"),
        "healthy_volunteers": float(bool(trial.healthy_volunteers)),
        "record_length": math.log1p(length),
    }


def pair_features(patient: Patient, patient_words: set[str], trial: Trial, criteria_count: int,
                  verdicts: list[Verdict], label: str, retrieval: Retrieval) -> dict[str, float]:
    """Every feature of ``FEATURES`` for one pair, by name."""
    out = {f"bm25_{name}": value for name, value in retrieval.field_bm25.items()}
    out["cosine"] = retrieval.cosine or 0.0
    out["cosine_gap"] = retrieval.cosine_gap
    out["fused"] = retrieval.fused
    out.update(concept_overlap(patient, trial))
    out["condition_words"] = condition_words(patient_words, trial)
    out.update(eligibility_features(verdicts, label, criteria_count > 0, criteria_count))
    out.update(trial_features(trial))
    return out
