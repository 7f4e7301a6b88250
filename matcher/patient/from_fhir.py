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

from .from_json import MAX_AGE_YEARS, PatientError, _date, _describe, _number

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


def _text(value: Any, field: str) -> str | None:
    """A FHIR string (or code, uri, id) where one is read: text, or a PatientError naming the field."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PatientError(field, f"expected text, got {_describe(value)}")
    return value


def _list(value: Any, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PatientError(field, f"expected a list, got {_describe(value)}")
    return value


def _codings(concept: dict, field: str) -> list[dict]:
    codings = [c for c in _list(concept.get("coding"), f"{field}.coding") if isinstance(c, dict)]
    for i, coding in enumerate(codings):
        for key in ("system", "code", "display"):
            _text(coding.get(key), f"{field}.coding[{i}].{key}")
    return codings


def _concept_name(concept: Any, field: str) -> tuple[str | None, str | None, str | None]:
    """(name, code, system) of a CodeableConcept: its text, else the first coding's display."""
    if not isinstance(concept, dict):
        return None, None, None
    codings = _codings(concept, field)
    first = codings[0] if codings else {}
    name = _text(concept.get("text"), f"{field}.text") or next((c.get("display") for c in codings if c.get("display")), None)
    system = first.get("system")
    return name, first.get("code"), _SYSTEMS.get(system, system)


def _codes(concept: Any, field: str) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    found = {str(c.get("code", "")).lower() for c in _codings(concept, field)}
    if _text(concept.get("text"), f"{field}.text"):
        found.add(concept["text"].lower())
    return found


def _status_code(resource: dict, key: str) -> str:
    value = resource.get(key)
    if isinstance(value, dict):
        codings = _list(value.get("coding"), f"{key}.coding")
        return next((str(c.get("code", "")) for c in codings if isinstance(c, dict)), "")
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
    patient_entry = None
    for index, entry in enumerate(entries):
        field = f"entry[{index}].resource"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise PatientError(field, "missing")
        kind = resource.get("resourceType")
        reader = readers.get(kind) if isinstance(kind, str) else None
        if reader:
            reader(patient, resource, field)
            patient_entry = index if kind == "Patient" else patient_entry
    if patient.birth_date and patient.age is None:
        age = (patient.as_of - patient.birth_date).days / 365.25
        if not 0 <= age <= MAX_AGE_YEARS:
            problem = f"is after the record's date ({patient.as_of})" if age < 0 else f"gives an age of {age:.0f} years"
            raise PatientError(f"entry[{patient_entry}].resource.birthDate", problem)
        patient.age = round(age, 2)
    return patient


def _read_patient(patient: Patient, resource: dict, field: str) -> None:
    patient.id = str(resource.get("id") or patient.id)
    patient.birth_date = _date(resource.get("birthDate"), f"{field}.birthDate")
    gender = resource.get("gender")
    if gender not in (None, "female", "male", "other", "unknown"):
        raise PatientError(f"{field}.gender", f"expected female, male, other or unknown, got {_describe(gender)}")
    patient.sex = gender if gender in ("female", "male") else None
    addresses = _list(resource.get("address"), f"{field}.address")
    if addresses and isinstance(addresses[0], dict):
        address = {key: _text(addresses[0].get(key), f"{field}.address[0].{key}")
                   for key in ("postalCode", "city", "state", "country")}
        if address["postalCode"] or address["city"]:
            patient.location = Location(zip=address["postalCode"], city=address["city"],
                                        state=address["state"], country=address["country"])


def _read_condition(patient: Patient, resource: dict, field: str) -> None:
    name, code, system = _concept_name(resource.get("code"), f"{field}.code")
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
    name, code, system = _concept_name(resource.get("code"), f"{field}.code")
    codes = _codes(resource.get("code"), f"{field}.code")
    when, _ = _period(resource, field, "effectiveDateTime", "effectivePeriod")
    if codes & PREGNANCY_STATUS_LOINC:
        value = _codes(resource.get("valueCodeableConcept"), f"{field}.valueCodeableConcept")
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
    value = _number(quantity["value"], f"{field}.valueQuantity.value")
    if value < 0:
        raise PatientError(f"{field}.valueQuantity.value", f"a measurement cannot be negative, got {_describe(quantity['value'])}")
    patient.labs.append(LabResult(
        name=name or code,
        value=value,
        unit=_text(quantity.get("unit"), f"{field}.valueQuantity.unit") or _text(quantity.get("code"), f"{field}.valueQuantity.code"),
        date=when,
        loinc=code if system == "loinc" else None,
        evidence=Evidence(f"Observation/{resource.get('id', '?')}", name),
    ))


def _read_medication(patient: Patient, resource: dict, field: str) -> None:
    name, _, _ = _concept_name(resource.get("medicationCodeableConcept"), f"{field}.medicationCodeableConcept")
    if not name:
        reference = resource.get("medicationReference")
        name = _text(reference.get("display"), f"{field}.medicationReference.display") if isinstance(reference, dict) else None
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
    name, _, _ = _concept_name(resource.get("code"), f"{field}.code")
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
