"""trialmatch: match patients to ClinicalTrials.gov trials, criterion by criterion.

The Python API (the command line is a thin layer over it)::

    from matcher import parse_criteria, load_patient, evaluate, rank
    criteria = parse_criteria(eligibility_text)           # list[models.Criterion]
    patient = load_patient({"age": 45, "sex": "female", ...})   # or a FHIR Bundle, or a note
    verdicts = evaluate(patient, criteria)                # list[models.Verdict]
    matches = rank(patient, "trials.db", top=10)          # list[models.Match]
"""

from .criteria import parse_criteria
from .eligibility import evaluate
from .patient import load_patient
from .rank import rank

__all__ = ["evaluate", "load_patient", "parse_criteria", "rank"]
