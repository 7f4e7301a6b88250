"""trialmatch: match patients to ClinicalTrials.gov trials, criterion by criterion.

The Python API (the command line is a thin layer over it)::

    from matcher import parse_criteria, load_patient, evaluate, rank
    criteria = parse_criteria(eligibility_text)           # list[models.Criterion]
    patient = load_patient({"age": 45, "sex": "female", ...})   # or a FHIR Bundle, or a note
    verdicts = evaluate(patient, criteria)                # list[models.Verdict]
    matches = rank(patient, "trials.db", top=10)          # list[models.Match]

The four names are loaded on first use, so ``import matcher.criteria`` (the parser alone)
loads nothing of the engine.
"""

from __future__ import annotations

from importlib import import_module

_API = {"parse_criteria": ".criteria", "evaluate": ".eligibility", "load_patient": ".patient", "rank": ".rank"}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'matcher' has no attribute {name!r}")
    value = getattr(import_module(_API[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
