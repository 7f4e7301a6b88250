"""Patient × criteria → verdicts, and verdicts → a trial-level label.

A criterion's constraints hold together, except those sharing an ``any_of`` number, which are
alternatives. Each constraint is checked (``checks``) and its ``negated`` flag applied; the
criterion's verdict says whether its statement holds for the patient (an exclusion that is
``met`` excludes). The conventions of DESIGN.md apply: a condition, procedure or therapy the
record does not mention is absent; a missing measurement is unknown; an inclusion the record
says nothing about is unknown; administrative criteria are "to confirm at screening".
"""

from __future__ import annotations

from collections.abc import Callable

from models.criteria import Constraint, Criterion
from models.match import Verdict
from models.patient import Patient
from models.trial import Trial

from ..criteria import find_condition
from .checks import (
    Check,
    check_age,
    check_condition,
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
    "measurement": check_measurement,
    "therapy": check_therapy,
    "condition": check_condition,
    "procedure": check_procedure,
    "reproductive": check_reproductive,
    "healthy_volunteer": check_healthy_volunteer,
}
# Kinds of facts whose absence from the record counts as absence (the clinical convention).
ABSENT_WHEN_UNMENTIONED = ("therapy", "condition", "procedure")


def _apply_negation(check: Check, constraint: Constraint) -> Check:
    if not constraint.negated or check.truth is None:
        return check
    return Check(not check.truth, check.reason, check.evidence, check.bears)


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
    return Check(truth, reason, evidence, any(c.bears for c in checks))


def evaluate_criterion(patient: Patient, criterion: Criterion) -> Verdict:
    if criterion.category == "administrative":
        return Verdict(criterion, "unknown", "to confirm at screening", rule="administrative", to_confirm=True)
    checkable = [c for c in criterion.constraints if c.type in CHECKS]
    if not checkable:
        return Verdict(criterion, "unknown", "not machine-readable: read and confirm", rule="unstructured")
    checks = [_apply_negation(CHECKS[c.type](patient, c), c) for c in checkable]
    outcome = _explain(_combine(checkable, checks), checks)
    truth, rule = outcome.truth, "constraints"
    if criterion.kind == "inclusion" and truth is False and not outcome.bears:
        # Nothing in the record bears on this inclusion. A disease unrelated to the patient's
        # known diagnoses is not met; a related disease, a record without diagnoses, or things
        # a record rarely lists (therapies, procedures) are unknown.
        conditions = [c for c in checkable if c.type == "condition" and not c.negated]
        related = next((r for r in (related_condition(patient, c) for c in conditions) if r), None)
        if not conditions or related or not any(not c.negated for c in patient.conditions):
            truth, rule = None, "inclusion not in record"
            if related:
                outcome.reason += f" (record has related {related}: confirm)"
    verdict = {True: "met", False: "not_met", None: "unknown"}[truth]
    return Verdict(criterion, verdict, outcome.reason, outcome.evidence, rule=rule)


def evaluate(patient: Patient, criteria: list[Criterion]) -> list[Verdict]:
    """A verdict for every criterion, in order."""
    return [evaluate_criterion(patient, criterion) for criterion in criteria]


def registry_field_criteria(trial: Trial) -> list[Criterion]:
    """The trial's structured fields, as criteria that always apply: age and sex limits, and
    (for trials that do not take healthy volunteers) the conditions it studies."""
    criteria = []
    studied = list(dict.fromkeys(c for c in (*trial.conditions, *trial.condition_mesh_terms) if find_condition(c)))
    population = [Constraint("condition", name=find_condition(c).name, any_of=0) for c in studied]
    shown = ", ".join(trial.conditions or studied)
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


def trial_label(verdicts: list[Verdict]) -> str:
    """eligible / possible / ineligible, as DESIGN.md defines them."""
    counted = [v for v in verdicts if not v.to_confirm]
    if any((v.criterion.kind == "inclusion" and v.verdict == "not_met")
           or (v.criterion.kind == "exclusion" and v.verdict == "met") for v in counted):
        return "ineligible"
    if all((v.criterion.kind == "inclusion" and v.verdict == "met")
           or (v.criterion.kind == "exclusion" and v.verdict == "not_met") for v in counted):
        return "eligible"
    return "possible"
