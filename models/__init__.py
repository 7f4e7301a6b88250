"""The domain's vocabulary: plain typed dataclasses, no I/O, no imports from other packages."""

from .criteria import CATEGORIES, ENTITY_TYPES, KINDS, Constraint, Criterion, Entity
from .match import ELIGIBILITY, VERDICTS, Match, NearestSite, Verdict
from .patient import (
    ConditionFact,
    Evidence,
    LabResult,
    Location,
    MedicationFact,
    Patient,
    ProcedureFact,
)
from .serialize import to_dict
from .trial import (
    OPEN_STATUSES,
    PHASES,
    SEXES,
    STATUSES,
    STUDY_TYPES,
    Contact,
    Intervention,
    Provenance,
    RawRecord,
    Site,
    Trial,
)

__all__ = [
    "CATEGORIES", "ELIGIBILITY", "ENTITY_TYPES", "KINDS", "OPEN_STATUSES", "PHASES", "SEXES",
    "STATUSES", "STUDY_TYPES", "VERDICTS",
    "ConditionFact", "Constraint", "Contact", "Criterion", "Entity", "Evidence", "Intervention",
    "LabResult", "Location", "Match", "MedicationFact", "NearestSite", "Patient", "ProcedureFact",
    "Provenance", "RawRecord", "Site", "Trial", "Verdict", "to_dict",
]
