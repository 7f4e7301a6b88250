"""Patients from JSON, FHIR R4 Bundles and free-text notes: ``load_patient``."""

from __future__ import annotations

from datetime import date

from crawlers.json_input import loads
from models.patient import Patient

from ..criteria import find_measure, unit_understood
from .from_fhir import patient_from_fhir
from .from_json import MAX_NOTE_CHARS, PatientError, check_note_length, patient_from_json
from .from_note import patient_from_note

__all__ = ["MAX_NOTE_CHARS", "PatientError", "lab_notices", "load_patient", "read_patient_file"]

MAX_PATIENT_FILE_BYTES = 64 * 1024 * 1024  # a FHIR Bundle of years of observations fits


def load_patient(data: dict | str, *, today: date | None = None) -> Patient:
    """A Patient from the README's JSON (a dict), a FHIR R4 Bundle (a dict with
    ``"resourceType": "Bundle"``), or a free-text note (a str). A JSON patient's ``note`` adds
    the facts it states that the structured fields do not already give."""
    if isinstance(data, str):
        check_note_length(data)
        return patient_from_note(data, as_of=today)
    if isinstance(data, dict) and "resourceType" in data:
        if data["resourceType"] != "Bundle":
            raise PatientError("resourceType", f"expected a FHIR \"Bundle\", got {data['resourceType']!r}")
        return patient_from_fhir(data, today=today)
    patient = patient_from_json(data, today=today)
    if patient.note:
        add_note_facts(patient, patient_from_note(patient.note, patient_id=patient.id, as_of=patient.as_of))
    return patient


def add_note_facts(patient: Patient, from_note: Patient) -> None:
    """Facts of the note that the structured record does not state already."""
    patient.age = patient.age if patient.age is not None else from_note.age
    patient.sex = patient.sex or from_note.sex
    patient.pregnant = patient.pregnant if patient.pregnant is not None else from_note.pregnant
    patient.menopausal = patient.menopausal if patient.menopausal is not None else from_note.menopausal
    patient.will_consent = patient.will_consent if patient.will_consent is not None else from_note.will_consent
    for measure, evidence in from_note.normal_results.items():
        patient.normal_results.setdefault(measure, evidence)
    for field in ("conditions", "medications", "procedures", "labs"):
        present = {fact.name.lower() for fact in getattr(patient, field)}
        getattr(patient, field).extend(f for f in getattr(from_note, field) if f.name.lower() not in present)


def read_patient_file(path: str, *, stdin_text: str | None = None, today: date | None = None) -> Patient:
    """A patient file (JSON, FHIR Bundle, or a plain-text note); ``-`` reads ``stdin_text``."""
    if path == "-":
        text = stdin_text or ""
    else:
        try:
            with open(path, "rb") as stream:
                content = stream.read(MAX_PATIENT_FILE_BYTES + 1)
            text = content.decode("utf-8")
        except FileNotFoundError:
            raise PatientError("patient", f"no such file: {path}") from None
        except IsADirectoryError:
            raise PatientError("patient", f"{path} is a folder, not a patient file") from None
        except OSError as error:
            raise PatientError("patient", f"cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise PatientError("patient", f"{path} is not UTF-8 text") from None
        if len(content) > MAX_PATIENT_FILE_BYTES:
            raise PatientError("patient", f"{path} is larger than {MAX_PATIENT_FILE_BYTES // (1024 * 1024)} MB")
    if not text.strip():
        raise PatientError("patient", "empty input")
    if text.lstrip().startswith(("{", "[")):
        try:
            data = loads(text)
        except ValueError as error:
            raise PatientError("patient", f"not valid JSON ({error})") from None
        return load_patient(data, today=today)
    return load_patient(text, today=today)


def lab_notices(patient: Patient) -> list[str]:
    """Labs of the record that no criterion can be compared with: a test trialmatch does not
    know, or a unit it does not understand ("furlongs"). Kept in the record, and said."""
    notices = []
    for lab in patient.labs:
        info = find_measure(lab.measure or lab.loinc or lab.name) or find_measure(lab.name)
        if info is None:
            notices.append(f"Lab “{lab.name}” is not a test trialmatch knows: it is not compared with any criterion.")
        elif not unit_understood(info.id, lab.unit):
            notices.append(f"Lab “{lab.name}”: unit '{lab.unit}' not understood; criteria on it are unknown.")
    return notices
