"""Patient × criteria → verdicts, and verdicts → a trial-level label.

A criterion's constraints hold together, except those sharing an ``any_of`` number, which are
alternatives. Each constraint is checked (``checks``) and its ``negated`` flag applied; the
criterion's verdict says whether its statement holds for the patient (an exclusion that is
``met`` excludes). The conventions of docs/design.md apply: a condition, procedure or therapy the
record does not mention is absent; a missing measurement is unknown; an inclusion the record
says nothing about is unknown; administrative criteria are "to confirm at screening".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from models.criteria import Constraint, Criterion
from models.match import Verdict
from models.patient import Patient
from models.trial import Trial

from ..criteria import ConditionInfo, find_condition, parse_criteria, qualifiers_to_text, read_condition
from .checks import (
    Check,
    condition_reading,
    relation,
    record_mentions,
    check_age,
    check_condition,
    check_ethnicity,
    check_healthy_volunteer,
    check_measurement,
    check_procedure,
    check_reproductive,
    check_sex,
    check_therapy,
    related_condition,
)

CHECKS: dict[str, Callable[[Patient, Constraint], Check]] = {
    "age": check_age,
    "sex": check_sex,
    "ethnicity": check_ethnicity,
    "measurement": check_measurement,
    "therapy": check_therapy,
    "condition": check_condition,
    "procedure": check_procedure,
    "reproductive": check_reproductive,
    "healthy_volunteer": check_healthy_volunteer,
}
# Categories of criteria that need a value the record must state (a lab, a score).
NEEDS_A_VALUE = ("measurement", "performance_status", "age", "sex", "reproductive", "time_window")


def _apply_negation(check: Check, constraint: Constraint) -> Check:
    if not constraint.negated or check.truth is None:
        return check
    return Check(not check.truth, check.reason, check.evidence, check.bears, check.presumed)


def _all(checks: list[Check]) -> bool | None:
    if any(c.truth is False for c in checks):
        return False
    return True if all(c.truth is True for c in checks) else None


def _any(checks: list[Check]) -> bool | None:
    if any(c.truth is True for c in checks):
        return True
    return False if all(c.truth is False for c in checks) else None


def _combine(constraints: list[Constraint], checks: list[Check]) -> bool | None:
    groups: dict[object, list[Check]] = {}
    for index, (constraint, check) in enumerate(zip(constraints, checks)):
        groups.setdefault(constraint.any_of if constraint.any_of is not None else ("own", index), []).append(check)
    return _all([Check(_any(members), "") for members in groups.values()])


def _explain(truth: bool | None, checks: list[Check]) -> Check:
    """The checks that decided the outcome, joined into one line."""
    deciding = [c for c in checks if c.truth is truth] or checks
    reason = "; ".join(dict.fromkeys(c.reason for c in deciding))
    evidence = list(dict.fromkeys(e for c in deciding for e in c.evidence))
    return Check(truth, reason, evidence, any(c.bears for c in deciding), all(c.presumed for c in deciding))


# What "the patient will give consent and comply" answers; not insurance, residence, language.
_CONSENT_OR_COMPLIANCE = re.compile(r"\b(?:consent\w*|compl(?:y|iance|iant)|adhere\w*|willing\w*|unwilling\w*|"
                                    r"agree\w*|follow[\s-]?up|study\s+(?:visits|procedures|requirements|protocol)|"
                                    r"protocol)\b", re.I)


def _administrative(patient: Patient, criterion: Criterion) -> Verdict:
    # "able to consent" holds; "unable or unwilling to comply" does not. An inclusion about
    # something else (health insurance, residence) is not answered by consent; an exclusion about
    # something else (a prisoner) is not met when the record that says the patient will consent
    # says nothing of it.
    if patient.will_consent and (criterion.kind == "exclusion" or _CONSENT_OR_COMPLIANCE.search(criterion.text)):
        holds = criterion.kind == "inclusion"
        return Verdict(criterion, "met" if holds else "not_met", "the record says the patient will consent and comply",
                       rule="administrative", to_confirm=True)
    return Verdict(criterion, "unknown", "to confirm at screening", rule="administrative", to_confirm=True)


_BOTH_SEXES = re.compile(
    r"^\W*(?:both\s+(?:sexes|genders)|(?:males?|men)\s*(?:and|or|&|/)\s*(?:females?|women)|"
    r"(?:females?|women)\s*(?:and|or|&|/)\s*(?:males?|men))\W*$", re.I)


def _unstructured(patient: Patient, criterion: Criterion) -> Verdict:
    """A criterion the parser could not turn into constraints. An exclusion about things the
    record never mentions is not met (absent facts count as absent); when the record shares
    words with it, or it needs a measurement, it is unknown and worth reading."""
    if _BOTH_SEXES.match(criterion.text):  # "Male and female": no restriction, met by everyone
        return Verdict(criterion, "met" if criterion.kind == "inclusion" else "not_met", "open to both sexes",
                       rule="both sexes")
    shared = record_mentions(patient, criterion.text)
    if criterion.kind == "exclusion" and not shared and criterion.category not in NEEDS_A_VALUE:
        return Verdict(criterion, "not_met", "nothing in the record matches it (not machine-readable: read to confirm)",
                       rule="unstructured absent")
    reason = f"record mentions {', '.join(shared[:3])}: read and confirm" if shared else "not machine-readable: read and confirm"
    return Verdict(criterion, "unknown", reason, rule="unstructured")


# habits a record's list of diagnoses leaves out unless it says so: social history, not diseases
_HABITS = frozenset({"Tobacco Use", "Alcohol Drinking"})
# MeSH disease trees that make a heading a diagnosis even where MeSH also files it under signs
# and symptoms (primary ITP under Purpura, Skin Manifestations); the nervous system's and the
# respiratory tract's trees hold their symptoms themselves (pain, syncope, dyspnoea, cough)
_DISEASE_TREES = frozenset({
    "Hemic and Lymphatic Diseases", "Immune System Diseases", "Neoplasms", "Infections", "Cardiovascular Diseases",
    "Endocrine System Diseases", "Nutritional and Metabolic Diseases", "Digestive System Diseases",
    "Skin and Connective Tissue Diseases", "Musculoskeletal Diseases", "Urogenital Diseases", "Mental Disorders",
    "Eye Diseases", "Otorhinolaryngologic Diseases", "Stomatognathic Diseases",
})


def _unlisted(constraint: Constraint) -> bool:
    """Whether a problem list would leave it out: a symptom ("forefoot pain") or a habit ("smoker")."""
    info = find_condition(constraint.mesh_term or constraint.name or "")
    if info is None:
        return False
    symptom = "Signs and Symptoms" in info.ancestors and not _DISEASE_TREES.intersection(info.ancestors)
    return symptom or info.mesh_term in _HABITS


def _from_note(fact) -> bool:
    return bool(fact.evidence and fact.evidence.from_note)


# A lead-in that names the patients its items are about ("HIV positive subjects with 1 or more of
# the following:", "For patients with brain metastases:"): the items apply to those patients only.
_POPULATION = re.compile(
    r"^\W*(?:(?:for|in|among)\s+)?(?:all\s+)?(?:patients|subjects|participants|those|people|individuals|persons|"
    r"men|women|males|females|children|adults)\s+(?:with|who\s+(?:have|are|were)|diagnosed\s+with|known\s+to\s+have)\b|"
    r"\b(?:positive|infected|seropositive)\s+(?:patients|subjects|participants|individuals|persons)\b", re.I)


@lru_cache(maxsize=4096)
def _population(context: str | None) -> tuple[Constraint, ...]:
    """The conditions a nested criterion's lead-in restricts it to, if it names its patients."""
    if not context or not _POPULATION.search(context):
        return ()
    return tuple(c for criterion in parse_criteria(f"Inclusion Criteria:\n- {context}\n") for c in criterion.constraints
                 if c.type == "condition" and not c.negated)


def _outside_population(patient: Patient, criterion: Criterion) -> Verdict | None:
    """Not applicable when the record lacks every condition the criterion's lead-in names."""
    population = _population(criterion.context)
    if not population:
        return None
    checks = [check_condition(patient, c) for c in population]
    if any(check.truth is not False for check in checks):
        return None
    return Verdict(criterion, "met" if criterion.kind == "inclusion" else "not_met",
                   f"applies only to patients with {' or '.join(c.name for c in population)}: {checks[0].reason}",
                   rule="outside its population")


def evaluate_criterion(patient: Patient, criterion: Criterion) -> Verdict:
    outside = _outside_population(patient, criterion)
    if outside is not None:
        return outside
    if criterion.category == "administrative":
        return _administrative(patient, criterion)
    if criterion.category == "informational":  # what is allowed, or a note: nothing to fail
        return Verdict(criterion, "met" if criterion.kind == "inclusion" else "not_met",
                       "states no requirement (what is allowed, or a note)", rule="informational")
    checkable = [c for c in criterion.constraints if c.type in CHECKS]
    if not checkable:
        return _unstructured(patient, criterion)
    checks = [_apply_negation(CHECKS[c.type](patient, c), c) for c in checkable]
    outcome = _explain(_combine(checkable, checks) if len(checks) > 1 else checks[0].truth, checks)
    truth, rule = outcome.truth, "constraints"
    if criterion.kind == "inclusion" and truth is False and not outcome.bears:
        # Nothing in the record bears on this inclusion. A disease unrelated to the patient's
        # known diagnoses is not met when the diagnoses are a problem list, or when it is the
        # disease the trial studies (registry field); a related disease, a narrative note,
        # a record without diagnoses, or things a record rarely lists (therapies) are unknown.
        # only what failed counts: a diagnostic biopsy an inclusion names beside the disease the
        # record has is not absent from a problem list, it is unstated
        conditions = [c for c, check in zip(checkable, checks) if check.truth is False and c.type == "condition"
                      and not c.negated]
        diagnoses = [c for c in patient.conditions if not c.negated]
        complete = criterion.start < 0 or any(not _from_note(c) for c in diagnoses)
        # a problem list names diseases, not every symptom ("forefoot pain") or habit ("current or
        # ex-smokers"): those are unstated
        unlisted = all(_unlisted(c) for c in conditions)
        if not conditions or not diagnoses or not complete or unlisted:
            truth, rule = None, "inclusion not in record"
            related = next((r for r in (related_condition(patient, c) for c in conditions) if r), None)
            if related and "record has" not in outcome.reason:
                outcome.reason += f" (record has related {related}: confirm)"
    verdict = {True: "met", False: "not_met", None: "unknown"}[truth]
    if outcome.presumed and truth is not None:  # by convention, not by the record: confirm at screening
        return Verdict(criterion, verdict, outcome.reason, outcome.evidence, rule="presumed", to_confirm=True)
    return Verdict(criterion, verdict, outcome.reason, outcome.evidence, rule=rule)


def evaluate(patient: Patient, criteria: list[Criterion]) -> list[Verdict]:
    """A verdict for every criterion, in order."""
    return [evaluate_criterion(patient, criterion) for criterion in criteria]


def studied_conditions(trial: Trial) -> list[tuple[ConditionInfo, tuple]]:
    """The diseases a trial studies, as (concept, qualifiers): its condition strings read as
    clinicians write them ("HER2-positive Breast Cancer" → breast cancer, HER2 positive), and its
    MeSH terms; a term broader than another listed ("Neoplasms", "Immune System Diseases",
    "Diabetes Mellitus" beside "Diabetes Mellitus, Type 2") never stands in for it: "Lung Cancer"
    indexed as non-small cell lung cancer is not open to small cell lung cancer (a record naming
    only the parent disease is then unknown, to confirm)."""
    named: list[tuple[ConditionInfo, tuple]] = []
    for name in trial.conditions:
        reading = read_condition(name)
        if reading.recognized:
            named.append((reading.concept, reading.qualifiers))
    # a MeSH term carries no stage or receptor status: the condition string that says more wins
    indexed = [(info, ()) for info in filter(None, map(find_condition, trial.condition_mesh_terms))
               if not any(relation(info, other) == "covers" for other, _ in named)]
    found = list(dict.fromkeys(named + indexed))
    return [(info, q) for info, q in found
            if not any(other != info and relation(info, other) == "covers" for other, _ in found)]


def registry_field_criteria(trial: Trial, studied: list[tuple[ConditionInfo, tuple]] | None = None) -> list[Criterion]:
    """The trial's structured fields, as criteria that always apply: the conditions it studies
    (``studied``: its ``studied_conditions``, when already read), or healthy volunteers, age and
    sex limits. They have no place in the eligibility text: ``start`` and ``end`` are -1."""
    criteria = []
    studied = studied_conditions(trial) if studied is None else studied
    population = [Constraint("condition", name=info.name, qualifiers=qualifiers_to_text(q), any_of=0) for info, q in studied]
    shown = ", ".join(trial.conditions or [info.name for info, _ in studied])
    if trial.healthy_volunteers:
        population.append(Constraint("healthy_volunteer", any_of=0))
        shown = f"{shown}; or healthy volunteers" if shown else "healthy volunteers"
    if population:
        criteria.append(Criterion("inclusion", f"Studies (registry): {shown}", -1, -1, "condition", constraints=population))
    limits = []
    if trial.min_age_years is not None:
        limits.append(Constraint("age", op=">=", value=trial.min_age_years, unit="years"))
    if trial.max_age_years is not None:
        limits.append(Constraint("age", op="<=", value=trial.max_age_years, unit="years"))
    if limits:
        shown = " to ".join(a for a in (trial.minimum_age, trial.maximum_age) if a and a.upper() != "N/A")
        criteria.append(Criterion("inclusion", f"Eligible ages (registry): {shown}", -1, -1, "age", constraints=limits))
    if trial.sex in ("FEMALE", "MALE"):
        criteria.append(Criterion("inclusion", f"Sex (registry): {trial.sex.lower()}", -1, -1, "sex",
                                  constraints=[Constraint("sex", value_text=trial.sex.lower())]))
    return criteria


# "Other autoimmune diseases", "another malignancy", "concurrent malignancy": diseases besides the
# one the trial studies, which the patient's own does not count as.
_OTHER_BEFORE = re.compile(r"\b(?:other|another|additional|concurrent|concomitant|second)\s+(?:[\w-]+\s+){0,3}$", re.I)


def _about_other_diseases(criterion: Criterion) -> bool:
    low = criterion.text.lower()
    for c in criterion.constraints:
        if c.type == "condition" and c.text:
            at = low.find(c.text.lower())
            if at > 0 and _OTHER_BEFORE.search(criterion.text[max(0, at - 60):at]):
                return True
    return False


def _besides_studied(patient: Patient, studied: tuple[ConditionInfo, ...]) -> tuple[Patient, str] | None:
    """The patient without the diagnoses that are the disease the trial studies (``studied``),
    and that disease's name; None when no diagnosis is."""
    kept = [f for f in patient.conditions
            if not any(relation(s, c) == "covers" for s in studied for c in condition_reading(f).concepts)]
    if len(kept) == len(patient.conditions):
        return None
    return replace(patient, conditions=kept), " or ".join(s.name for s in studied)


@dataclass(frozen=True)
class TrialRules:
    """What evaluating a trial asks of the trial alone, whoever the patient: worked out once per
    trial (``trial_rules``) and kept beside it by a ranker, which evaluates it for patient after
    patient. Valid for the very trial and criteria list it was made from."""

    registry: list[Criterion]  # registry_field_criteria
    about_others: frozenset[int]  # positions in the criteria of those about diseases besides the one studied
    studied: tuple[ConditionInfo, ...]  # the diseases the trial studies


def trial_rules(trial: Trial, criteria: list[Criterion]) -> TrialRules:
    studied = studied_conditions(trial)
    return TrialRules(registry_field_criteria(trial, studied),
                      frozenset(i for i, c in enumerate(criteria) if _about_other_diseases(c)),
                      tuple(info for info, _ in studied))


def evaluate_trial(patient: Patient, trial: Trial, criteria: list[Criterion], rules: TrialRules | None = None) -> list[Verdict]:
    """Verdicts on a whole trial: its registry fields, then its parsed criteria. A trial whose
    record has no eligibility criteria gets an ``unknown`` saying so, never a vacuous eligible.
    ``rules``: ``trial_rules(trial, criteria)``, when kept from before."""
    rules = trial_rules(trial, criteria) if rules is None else rules
    verdicts = evaluate(patient, rules.registry)
    besides = _besides_studied(patient, rules.studied) if rules.about_others else None
    for position, criterion in enumerate(criteria):
        verdict = evaluate_criterion(patient, criterion)
        if besides and position in rules.about_others:
            other = evaluate_criterion(besides[0], criterion)
            if other.verdict != verdict.verdict:  # the patient's own disease was what met it
                other.reason = f"{other.reason} (other than the {besides[1]} the trial studies)"
                verdict = other
        verdicts.append(verdict)
    if not criteria:
        missing = Criterion("inclusion", "Eligibility criteria (registry)", -1, -1, "other")
        verdicts.append(Verdict(missing, "unknown", "the record has no eligibility criteria: check with the study team",
                                rule="no criteria"))
    return verdicts


def trial_label(verdicts: list[Verdict]) -> str:
    """eligible / possible / ineligible, as docs/design.md defines them."""
    counted = [v for v in verdicts if not v.to_confirm]
    if any((v.criterion.kind == "inclusion" and v.verdict == "not_met")
           or (v.criterion.kind == "exclusion" and v.verdict == "met") for v in counted):
        return "ineligible"
    if all((v.criterion.kind == "inclusion" and v.verdict == "met")
           or (v.criterion.kind == "exclusion" and v.verdict == "not_met") for v in counted):
        return "eligible"
    return "possible"
