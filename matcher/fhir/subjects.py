"""A batch match (one patient, one trial) → a FHIR R4 ResearchSubject.

The eligibility is the subject's ``status``, in the R4 value set research-subject-status:
``eligible`` ("met the eligibility criteria"), ``potential-candidate`` (nothing failed, something
unknown: "potentially eligible") and ``ineligible`` ("did not meet one or more criteria"). The
criterion-by-criterion reading travels in one extension on the ResearchSubject, never as
Observations: a verdict is a statement about the patient *against one trial's criterion*, made by
a program from the record, and an Observation would enter the patient's chart as a clinical fact.
"""

from __future__ import annotations

import json

from .common import EXTENSION_BASE, is_fhir_id, stable_id, study_reference

ASSESSMENT = EXTENSION_BASE + "match-assessment"
STATUS = {"eligible": "eligible", "possible": "potential-candidate", "ineligible": "ineligible"}
COUNTS = (("criteria_satisfied", "satisfied"), ("criteria_failed", "failed"), ("criteria_unknown", "unknown"),
          ("criteria_to_confirm", "toConfirm"))


def patient_reference(patient: str) -> dict:
    """``Patient/<id>`` when the batch input's id is a FHIR id (it is, from FHIR input), else
    the id as a logical identifier."""
    return {"reference": f"Patient/{patient}"} if is_fhir_id(patient) else {"identifier": {"value": patient}}


def _part(url: str, kind: str, value) -> dict | None:
    return None if value is None else {"url": url, f"value{kind}": value}


def _criterion(criterion: dict) -> dict:
    return {"url": "criterion", "extension": [
        {"url": "kind", "valueCode": criterion["kind"]},
        {"url": "text", "valueString": criterion["text"]},
        {"url": "verdict", "valueCode": criterion["verdict"]},
        {"url": "outcome", "valueCode": criterion["outcome"].replace("to_confirm", "to-confirm")},
        {"url": "reason", "valueString": criterion["reason"]},
    ]}


def assessment(row: dict) -> dict:
    """trialmatch's reading of the match: label, rank, score, counts, nearest site, and each
    criterion the patient does not satisfy (failed, unknown, to confirm at screening)."""
    parts = [
        _part("eligibility", "Code", row["eligibility"]),
        _part("rank", "PositiveInt", row["rank"]),
        _part("score", "Decimal", row["score"]),
        *(_part(name, "UnsignedInt", row[column]) for column, name in COUNTS),
        _part("nearestSite", "String", row.get("nearest_site")),
        _part("distanceKm", "Decimal", row.get("distance_km")),
        _part("new", "Boolean", bool(row["is_new"]) if row.get("is_new") is not None else None),
    ]
    criteria = json.loads(row["criteria"]) if row.get("criteria") else []
    return {"url": ASSESSMENT, "extension": [p for p in parts if p] + [_criterion(c) for c in criteria]}


def research_subject(row: dict) -> dict:
    """One ResearchSubject for a row of the batch output (patient, nct_id, eligibility, …)."""
    patient, nct_id = str(row["patient"]), row["nct_id"]
    return {
        "resourceType": "ResearchSubject",
        "id": stable_id(patient, nct_id),
        "extension": [assessment(row)],
        "status": STATUS[row["eligibility"]],
        "study": study_reference(nct_id, row.get("title")),
        "individual": patient_reference(patient),
    }
