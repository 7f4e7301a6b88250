"""What the matcher read in a patient's record: each diagnosis as written and what it was read
as (concept, MeSH heading, qualifiers), and what it could not read — shown to the physician
first, since the criteria such facts may bear on stay unknown."""

from __future__ import annotations

from dataclasses import dataclass

from models.patient import Patient

from ..criteria import describe_qualifiers
from .checks import condition_reading, fact_qualifiers, not_understood


@dataclass
class ReadAs:
    text: str  # as written in the record
    concept: str | None
    mesh_term: str | None
    qualifiers: str  # "HER2 positive, stage IV"
    negated: bool = False
    status: str | None = None  # "ended" (a history: resolved, inactive, in remission) or "suspected"

    def line(self) -> str:
        """"HER2-positive metastatic breast cancer → breast cancer (MeSH Breast Neoplasms): HER2 positive, stage IV"."""
        said = f"no {self.text}" if self.negated else self.text
        said = f"{said} ({self.status})" if self.status and not self.negated else said
        if self.concept is None:
            return f"{said} → not understood"
        same = self.concept.lower() == self.text.lower()
        shown = said if same else f"{said} → {self.concept}"
        if self.mesh_term and self.mesh_term.lower() != self.concept.lower():
            shown += f" (MeSH {self.mesh_term})"
        return f"{shown}: {self.qualifiers}" if self.qualifiers else shown


def diagnoses_read(patient: Patient) -> list[ReadAs]:
    out = []
    for fact in patient.conditions:
        reading = condition_reading(fact)
        concept = reading.concept if reading.recognized else None
        status = "ended" if fact.ended else "suspected" if fact.possible else None
        out.append(ReadAs(fact.name, concept.name if concept else None, concept.mesh_term if concept else None,
                          describe_qualifiers(fact_qualifiers(fact)) if concept else "", fact.negated, status))
    return out


def reading_json(patient: Patient) -> dict:
    """``{"read_as": [...], "not_understood": [...]}`` for ``match --json``."""
    read = []
    for r in diagnoses_read(patient):
        item = {"text": r.text, "concept": r.concept}
        if r.mesh_term:
            item["mesh_term"] = r.mesh_term
        if r.qualifiers:
            item["qualifiers"] = r.qualifiers
        if r.negated:
            item["negated"] = True
        elif r.status:
            item[r.status] = True
        read.append(item)
    return {"read_as": read, "not_understood": not_understood(patient)}


def not_understood_notice(patient: Patient) -> str | None:
    """One line for the top of every output, or None when everything was read."""
    unread = not_understood(patient)
    if not unread:
        return None
    listed = ", ".join(f"'{name}'" for name in unread)
    return (f"Not understood in the record: {listed}. Criteria these may bear on are unknown, "
            f"never failed for their absence: confirm by hand.")
