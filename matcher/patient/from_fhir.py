"""FHIR R4 Bundle → ``models.Patient``.

Reads Patient (birthDate, gender, address), Condition (codes and text; refuted or entered in
error → absent), Observation (LOINC code, valueQuantity; pregnancy status), MedicationStatement
and MedicationRequest (with periods; not-taken → absent), and Procedure (with dates; not-done →
absent). Errors name the entry and field, e.g. ``entry[3].resource.valueQuantity.value: …``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from models.patient import ConditionFact, Evidence, LabResult, Location, MedicationFact, Patient, ProcedureFact

from .from_json import PatientError, _date, _describe, _number

LOINC = "http://loinc.org"
PREGNANCY_STATUS_LOINC = {"82810-3", "11449-6"}
PREGNANT_CODES = {"77386006", "pregnant"}
NOT_PREGNANT_CODES = {"60001007", "not pregnant"}
_SYSTEMS = {
    "http://snomed.info/sct": "snomed",
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10",
    LOINC: "loinc",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
}


def _concept_name(concept: Any) -> tuple[str | None, str | None, str | None]:
    """(name, code, system) of a CodeableConcept: its text, else the first coding's display."""
    if not isinstance(concept, dict):
        return None, None, None
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    first = codings[0] if codings else {}
    name = concept.get("text") or next((c.get("display") for c in codings if c.get("display")), None)
    system = first.get("system")
    return name, first.get("code"), _SYSTEMS.get(system, system)


def _codes(concept: Any) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    found = {str(c.get("code", "")).lower() for c in concept.get("coding") or [] if isinstance(c, dict)}
    if concept.get("text"):
        found.add(concept["text"].lower())
    return found


def _status_code(resource: dict, key: str) -> str:
    value = resource.get(key)
    if isinstance(value, dict):
        return next((str(c.get("code", "")) for c in value.get("coding") or [] if isinstance(c, dict)), "")
    return str(value or "")


def _period(resource: dict, field: str, *keys: str) -> tuple[date | None, date | None]:
    for key in keys:
        value = resource.get(key)
        if isinstance(value, dict):
            return _date(value.get("start"), f"{field}.{key}.start"), _date(value.get("end"), f"{field}.{key}.end")
        if isinstance(value, str):
            return _date(value, f"{field}.{key}"), None
    return None, None


def patient_from_fhir(bundle: dict, *, today: date | None = None) -> Patient:
    if bundle.get("resourceType") != "Bundle":
        raise PatientError("resourceType", f"expected \"Bundle\", got {_describe(bundle.get('resourceType'))}")
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        raise PatientError("entry", "a Bundle needs a list of entries")
    patient = Patient(id=str(bundle.get("id") or "patient"), as_of=today or date.today())
    if isinstance(bundle.get("timestamp"), str):
        patient.as_of = _date(bundle["timestamp"], "timestamp") or patient.as_of
    readers = {
        "Patient": _read_patient,
        "Condition": _read_condition,
        "Observation": _read_observation,
        "MedicationStatement": _read_medication,
        "MedicationRequest": _read_medication,
        "Procedure": _read_procedure,
    }
    for index, entry in enumerate(entries):
        field = f"entry[{index}].resource"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise PatientError(field, "missing")
        reader = readers.get(resource.get("resourceType"))
        if reader:
            reader(patient, resource, field)
    if patient.birth_date and patient.age is None:
        patient.age = round((patient.as_of - patient.birth_date).days / 365.25, 2)
    return patient


def _read_patient(patient: Patient, resource: dict, field: str) -> None:
    patient.id = str(resource.get("id") or patient.id)
    patient.birth_date = _date(resource.get("birthDate"), f"{field}.birthDate")
    gender = resource.get("gender")
    if gender not in (None, "female", "male", "other", "unknown"):
        raise PatientError(f"{field}.gender", f"expected female, male, other or unknown, got {_describe(gender)}")
    patient.sex = gender if gender in ("female", "male") else None
    addresses = resource.get("address") or []
    if addresses and isinstance(addresses[0], dict):
        address = addresses[0]
        if address.get("postalCode") or address.get("city"):
            patient.location = Location(zip=address.get("postalCode"), city=address.get("city"),
                                        state=address.get("state"), country=address.get("country"))


def _read_condition(patient: Patient, resource: dict, field: str) -> None:
    name, code, system = _concept_name(resource.get("code"))
    if not name:
        raise PatientError(f"{field}.code", "a Condition needs code.text or a coding with a display")
    verification = _status_code(resource, "verificationStatus")
    if verification == "entered-in-error":
        return
    onset, _ = _period(resource, field, "onsetDateTime", "onsetPeriod")
    patient.conditions.append(ConditionFact(
        name=name, code=code, system=system, negated=verification == "refuted", onset=onset,
        evidence=Evidence(f"Condition/{resource.get('id', '?')}", name),
    ))


def _read_observation(patient: Patient, resource: dict, field: str) -> None:
    if resource.get("status") in ("entered-in-error", "cancelled"):
        return
    name, code, system = _concept_name(resource.get("code"))
    codes = _codes(resource.get("code"))
    when, _ = _period(resource, field, "effectiveDateTime", "effectivePeriod")
    if codes & PREGNANCY_STATUS_LOINC:
        value = _codes(resource.get("valueCodeableConcept"))
        if value & PREGNANT_CODES:
            patient.pregnant = True
        elif value & NOT_PREGNANT_CODES:
            patient.pregnant = False
        return
    quantity = resource.get("valueQuantity")
    if quantity is None:
        return  # a finding without a number: not a lab value
    if not isinstance(quantity, dict) or "value" not in quantity:
        raise PatientError(f"{field}.valueQuantity", "expected an object with a value")
    if not name and not code:
        raise PatientError(f"{field}.code", "an Observation needs a code")
    patient.labs.append(LabResult(
        name=name or code,
        value=_number(quantity["value"], f"{field}.valueQuantity.value"),
        unit=quantity.get("unit") or quantity.get("code"),
        date=when,
        loinc=code if system == "loinc" else None,
        evidence=Evidence(f"Observation/{resource.get('id', '?')}", name),
    ))


def _read_medication(patient: Patient, resource: dict, field: str) -> None:
    name, _, _ = _concept_name(resource.get("medicationCodeableConcept"))
    if not name:
        reference = resource.get("medicationReference")
        name = reference.get("display") if isinstance(reference, dict) else None
    if not name:
        raise PatientError(f"{field}.medicationCodeableConcept", "a medication needs a text or a coding display")
    status = resource.get("status")
    if status == "entered-in-error":
        return
    start, end = _period(resource, field, "effectivePeriod", "effectiveDateTime", "authoredOn")
    patient.medications.append(MedicationFact(
        name=name, start=start, end=end,
        current=True if status == "active" else (False if status in ("completed", "stopped") else None),
        negated=status == "not-taken",
        evidence=Evidence(f"{resource['resourceType']}/{resource.get('id', '?')}", name),
    ))


def _read_procedure(patient: Patient, resource: dict, field: str) -> None:
    name, _, _ = _concept_name(resource.get("code"))
    if not name:
        raise PatientError(f"{field}.code", "a Procedure needs code.text or a coding with a display")
    status = resource.get("status")
    if status == "entered-in-error":
        return
    when, _ = _period(resource, field, "performedDateTime", "performedPeriod")
    patient.procedures.append(ProcedureFact(
        name=name, date=when, negated=status == "not-done",
        evidence=Evidence(f"Procedure/{resource.get('id', '?')}", name),
    ))
