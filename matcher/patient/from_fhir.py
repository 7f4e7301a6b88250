"""FHIR R4 Bundle → ``models.Patient``, honouring what FHIR says (docs/fhir.md, "FHIR input").

Reads Patient (birthDate, gender, address); Condition (every coding, ICD-10-CM first; a code
without a display read through the ICD-10-CM vocabulary; clinicalStatus resolved, inactive or
remission → ended; verificationStatus refuted → absent, entered-in-error → skipped, unconfirmed,
provisional or differential → suspected); Observation (LOINC first; valueQuantity with its UCUM
code, valueInteger, a numeric valueString, ECOG answer codes; pregnancy status);
MedicationStatement and MedicationRequest (status, intent, doNotPerform; periods); Procedure
(with dates; not-done → absent). A code trialmatch cannot read is kept as a fact not
understood, never dropped. Errors name the entry and field, e.g.
``entry[3].resource.valueQuantity.value: …``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from models.patient import ConditionFact, Evidence, LabResult, Location, MedicationFact, Patient, ProcedureFact

from ..criteria import find_condition_code
from .fhir_values import (
    DIAGNOSIS_SYSTEMS, LOINC, RXNORM, SNOMED, SYSTEM_LABELS, ValueProblem, observation_value, value_field, pick_coding, system_name,
)
from .from_json import MAX_AGE_YEARS, PatientError, _date, _describe

PREGNANCY_STATUS_LOINC = {"82810-3", "11449-6"}
PREGNANT_CODES = {"77386006", "pregnant"}
NOT_PREGNANT_CODES = {"60001007", "not pregnant"}
ENDED_STATUSES = {"inactive", "remission", "resolved"}  # Condition.clinicalStatus: over, history now
SUSPECTED_STATUSES = {"unconfirmed", "provisional", "differential"}  # Condition.verificationStatus
# MedicationRequest: no medication taken (withdrawn before any was given, an error, not yet started)
NOT_GIVEN_REQUESTS = {"cancelled", "entered-in-error", "draft"}
NOT_YET_INTENTS = {"proposal", "plan"}  # a suggestion or a plan: not taken yet
NOT_TAKEN_STATEMENTS = {"entered-in-error", "intended"}  # MedicationStatement: nothing taken (yet)
PAST_STATUSES = {"completed", "stopped"}


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


def _concept_name(concept: Any, field: str, preferred: tuple[str, ...] = ()) -> tuple[str | None, str | None, str | None]:
    """(name, code, system) of a CodeableConcept: the coding of the most preferred system (any
    position in ``coding``), and as name the text, else that coding's display, else any display."""
    if not isinstance(concept, dict):
        return None, None, None
    codings = _codings(concept, field)
    chosen = pick_coding(codings, preferred)
    name = _text(concept.get("text"), f"{field}.text") or chosen.get("display") or \
        next((c.get("display") for c in codings if c.get("display")), None)
    return (name.strip() or None) if name else None, chosen.get("code"), system_name(chosen.get("system"))


def _code_label(code: str | None, system: str | None) -> str | None:
    """How a code without a display is named: "SNOMED CT 44054006" (read as not understood)."""
    if not code:
        return None
    return f"{SYSTEM_LABELS.get(system or '', system or 'code')} {code}"


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
    verification = _status_code(resource, "verificationStatus")
    if verification == "entered-in-error":
        return
    name, code, system = _concept_name(resource.get("code"), f"{field}.code", DIAGNOSIS_SYSTEMS)
    if not name and code and system == "icd10":
        known = find_condition_code(code, system)  # E11.9 → type 2 diabetes mellitus
        name = known.name if known else None
    name = name or _code_label(code, system) or "a condition without a code"
    onset, _ = _period(resource, field, "onsetDateTime", "onsetPeriod")
    patient.conditions.append(ConditionFact(
        name=name, code=code, system=system, negated=verification == "refuted", onset=onset,
        possible=verification in SUSPECTED_STATUSES,
        ended=_ended(resource),
        evidence=Evidence(f"Condition/{resource.get('id', '?')}", name),
    ))


def _ended(resource: dict) -> bool:
    """A condition that is over: clinicalStatus resolved, inactive or remission; without a
    clinicalStatus, an abatement (FHIR's con-4: an abated condition is one of those)."""
    status = _status_code(resource, "clinicalStatus")
    if status:
        return status in ENDED_STATUSES
    return any(resource.get(key) not in (None, False) for key in
               ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString", "abatementBoolean"))


def _read_observation(patient: Patient, resource: dict, field: str) -> None:
    if resource.get("status") in ("entered-in-error", "cancelled"):
        return
    name, code, system = _concept_name(resource.get("code"), f"{field}.code", (LOINC,))
    codes = _codes(resource.get("code"), f"{field}.code")
    when, _ = _period(resource, field, "effectiveDateTime", "effectivePeriod")
    if codes & PREGNANCY_STATUS_LOINC:
        value = _codes(resource.get("valueCodeableConcept"), f"{field}.valueCodeableConcept")
        if value & PREGNANT_CODES:
            patient.pregnant = True
        elif value & NOT_PREGNANT_CODES:
            patient.pregnant = False
        return
    try:
        read = observation_value(resource, code if system == "loinc" else None)
    except ValueProblem as problem:
        raise PatientError(f"{field}.{problem.field}", problem.problem) from None
    if read is None:
        return  # a finding without a number: not a lab value
    if not name and not code:
        raise PatientError(f"{field}.code", "an Observation needs a code")
    value, unit = read
    if value < 0:
        raise PatientError(f"{field}.{value_field(resource)}", "a measurement cannot be negative")
    patient.labs.append(LabResult(
        name=name or code,
        value=value,
        unit=unit,
        date=when,
        loinc=code if system == "loinc" else None,
        evidence=Evidence(f"Observation/{resource.get('id', '?')}", name),
    ))


def _medication_taken(resource: dict) -> tuple[bool, bool | None]:
    """(whether the resource says a medication was or is taken, whether it is current)."""
    status = resource.get("status")
    if resource["resourceType"] == "MedicationRequest":
        if status in NOT_GIVEN_REQUESTS or resource.get("doNotPerform") is True or resource.get("intent") in NOT_YET_INTENTS:
            return False, False
    elif status in NOT_TAKEN_STATEMENTS:
        return False, False
    return True, True if status == "active" else (False if status in PAST_STATUSES else None)


def _read_medication(patient: Patient, resource: dict, field: str) -> None:
    taken, current = _medication_taken(resource)
    if not taken:
        return  # cancelled, in error, not to be given, only proposed or planned: not a medication of the record
    name, code, system = _concept_name(resource.get("medicationCodeableConcept"), f"{field}.medicationCodeableConcept", (RXNORM,))
    if not name:
        reference = resource.get("medicationReference")
        name = _text(reference.get("display"), f"{field}.medicationReference.display") if isinstance(reference, dict) else None
    name = name or _code_label(code, system)
    if not name:
        raise PatientError(f"{field}.medicationCodeableConcept", "a medication needs a text, a coding, or a medicationReference display")
    start, end = _period(resource, field, "effectivePeriod", "effectiveDateTime", "authoredOn")
    patient.medications.append(MedicationFact(
        name=name, start=start, end=end, current=current,
        negated=resource.get("status") == "not-taken",
        evidence=Evidence(f"{resource['resourceType']}/{resource.get('id', '?')}", name),
    ))


def _read_procedure(patient: Patient, resource: dict, field: str) -> None:
    status = resource.get("status")
    if status == "entered-in-error":
        return
    name, code, system = _concept_name(resource.get("code"), f"{field}.code", (SNOMED,))
    name = name or _code_label(code, system)
    if not name:
        raise PatientError(f"{field}.code", "a Procedure needs code.text or a coding")
    when, _ = _period(resource, field, "performedDateTime", "performedPeriod")
    patient.procedures.append(ProcedureFact(
        name=name, date=when, negated=status == "not-done",
        evidence=Evidence(f"Procedure/{resource.get('id', '?')}", name),
    ))
