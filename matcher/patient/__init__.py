"""Patients from JSON, FHIR R4 Bundles, a CSV row and free-text notes: ``load_patient``, ``read_patient_file``
(the formats: ``formats.PATIENT_FORMATS``)."""

from __future__ import annotations

from datetime import date

from models.patient import Patient

from ..criteria import find_measure, unit_understood
from .formats import PATIENT_FORMATS, add_note_facts, detect_format, load_patient, read_patient_text
from .from_json import MAX_NOTE_CHARS, PatientError
from .from_note import patient_from_note

__all__ = ["MAX_NOTE_CHARS", "PATIENT_FORMATS", "PatientError", "add_note_facts", "detect_format", "lab_notices",
           "load_patient", "patient_from_note", "read_patient_file", "read_patient_text"]

MAX_PATIENT_FILE_BYTES = 64 * 1024 * 1024  # a FHIR Bundle of years of observations fits


def read_patient_file(path: str, *, stdin_text: str | None = None, today: date | None = None) -> Patient:
    """A patient file (JSON, FHIR Bundle, a one-row CSV, or a plain-text note); ``-`` reads ``stdin_text``."""
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
    return read_patient_text(path, text, today=today)


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
