"""A patient profile, as loaded from JSON, a FHIR R4 Bundle, or a free-text note."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Evidence:
    """Where a fact came from: a field of the input, or a sentence of the note."""

    source: str  # e.g. "labs[0]", "note sentence 3", "Observation/abc"
    text: str | None = None

    @property
    def from_note(self) -> bool:
        """Read from a free-text note, rather than stated by a structured field."""
        return self.source.startswith("note")


@dataclass
class ConditionFact:
    name: str
    code: str | None = None
    system: str | None = None  # "icd10", "snomed", "mesh", ...
    negated: bool = False  # "denies diabetes": known to be absent
    onset: date | None = None
    past: bool = False  # given as history ("a history of tuberculosis"), not said to be current
    possible: bool = False  # suspected, to be ruled out, hypothetical ("possible PE"): not known present
    ended: bool = False  # known to be over (FHIR clinicalStatus resolved, inactive, remission): history, not current
    evidence: Evidence | None = None
    # stage, receptor status, course… read around it in a note: ((axis, frozenset of values), …);
    # what is written in ``name`` itself is read again when matching
    qualifiers: tuple = ()


@dataclass
class LabResult:
    name: str
    value: float
    unit: str | None = None
    date: date | None = None
    measure: str | None = None  # canonical measure id, e.g. "platelet_count"
    loinc: str | None = None
    canonical_value: float | None = None  # value in the measure's canonical unit
    canonical_unit: str | None = None
    evidence: Evidence | None = None


# How a therapy went, when the record says: still taken, finished as planned, stopped for no or a
# lost response (failed, refractory), or stopped for side effects (not tolerated).
THERAPY_OUTCOMES = ("ongoing", "completed", "failed", "intolerant")


@dataclass
class MedicationFact:
    name: str
    start: date | None = None
    end: date | None = None  # None with a start: still taking it
    current: bool | None = None
    negated: bool = False
    evidence: Evidence | None = None
    outcome: str | None = None  # one of THERAPY_OUTCOMES, when the record says


@dataclass
class ProcedureFact:
    name: str
    date: date | None = None
    negated: bool = False
    evidence: Evidence | None = None


@dataclass
class Location:
    lat: float | None = None
    lon: float | None = None
    zip: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None


@dataclass
class Patient:
    id: str
    as_of: date
    age: float | None = None  # years
    birth_date: date | None = None
    sex: str | None = None  # "female" / "male"
    conditions: list[ConditionFact] = field(default_factory=list)
    labs: list[LabResult] = field(default_factory=list)
    medications: list[MedicationFact] = field(default_factory=list)
    procedures: list[ProcedureFact] = field(default_factory=list)
    pregnant: bool | None = None
    menopausal: bool | None = None  # post-menopausal (True) or still menstruating (False), when the record says
    healthy: bool | None = None  # a healthy volunteer
    will_consent: bool | None = None  # the record says the patient will give consent and comply
    # measures the record calls normal without giving a value ("CBC normal"): measure id → where it says so
    normal_results: dict[str, Evidence] = field(default_factory=dict)
    location: Location | None = None
    note: str | None = None
