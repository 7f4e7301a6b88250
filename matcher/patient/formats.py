"""The patient formats, one registry: how each is recognised in a file, and how it is read.

``PATIENT_FORMATS`` in the order they are tried: a FHIR R4 Bundle (JSON with ``resourceType``),
the patient JSON of docs/design.md, a one-row CSV (the batch's columns, docs/batch.md), and a
free-text note (anything else). ``detect_format`` picks the format of a file's text (its name
helps: a ``.csv`` file is CSV); ``read_patient_text`` reads it. `trialmatch match` reads its
file through here; `trialmatch batch` reads each record with ``load_patient`` and its CSV rows
with ``from_csv``, the same readers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from crawlers.json_input import loads
from models.patient import Patient

from .from_csv import COLUMNS, CsvCellError, patient_from_row, unknown_columns
from .from_fhir import patient_from_fhir
from .from_json import PatientError, check_note_length, patient_from_json
from .from_note import patient_from_note


@dataclass(frozen=True)
class PatientFormat:
    name: str
    description: str
    detect: Callable[[str, str], bool]  # (file name or "-", text) → whether the text is in this format
    read: Callable[[str, date | None], Any]  # (text, today) → a Patient (JSON readers: the parsed data first)


def _json_data(text: str) -> Any:
    try:
        return loads(text)
    except ValueError as error:
        raise PatientError("patient", f"not valid JSON ({error})") from None


def _looks_like_json(name: str, text: str) -> bool:
    return text.lstrip().startswith(("{", "["))


def _is_bundle(name: str, text: str) -> bool:
    # a look before parsing; JSON that only mentions the word is read as the patient JSON
    return _looks_like_json(name, text) and '"resourceType"' in text


def _read_bundle(text: str, today: date | None) -> Patient:
    return _read_json_data(_json_data(text), today)  # load_patient tells a Bundle from the patient JSON


def _read_json(text: str, today: date | None) -> Patient:
    return _read_json_data(_json_data(text), today)


def _read_json_data(data: Any, today: date | None) -> Patient:
    if not isinstance(data, dict):
        return patient_from_json(data, today=today)  # refused with the reason
    return load_patient(data, today=today)


def load_patient(data: dict | str, *, today: date | None = None) -> Patient:
    """A Patient from the README's JSON (a dict), a FHIR R4 Bundle (a dict with
    ``"resourceType": "Bundle"``), or a free-text note (a str). A JSON patient's ``note`` adds
    the facts it states that the structured fields do not already give."""
    if isinstance(data, str):
        return _read_note(data, today)
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


def _header(text: str) -> list[str]:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    try:
        return next(csv.reader([first]), [])
    except csv.Error:
        return []


def _is_csv(name: str, text: str) -> bool:
    """A ``.csv`` file, or text whose first line names two or more of the CSV columns and
    nothing else (a note's first line does not)."""
    if name.lower().endswith(".csv"):
        return True
    header = [cell.strip().lower() for cell in _header(text)]
    return len(header) >= 2 and not unknown_columns(header) and len(set(header)) == len(header)


def read_csv_row(text: str, today: date | None) -> Patient:
    """The one patient of a CSV with a header row and one data row."""
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = rows.fieldnames or []
        unknown = unknown_columns(header)
        if not header or unknown:
            problem = f"unknown column {unknown[0]!r}" if unknown else "no header row"
            raise PatientError("csv", f"{problem} (the columns are: {', '.join(COLUMNS)})")
        found = [row for row in rows if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    except csv.Error as error:
        raise PatientError("csv", f"not readable as CSV ({error})") from None
    if not found:
        raise PatientError("csv", "a header row but no patient row")
    if len(found) > 1:
        raise PatientError("csv", f"{len(found)} patient rows: `match` takes one patient (use `trialmatch batch` for many)")
    try:
        data = patient_from_row(found[0])
    except CsvCellError as error:
        raise PatientError(f"column {error.column}", str(error).split(": ", 1)[1]) from None
    data.pop("candidates", None)  # a shortlist is the batch's; `match` has --candidates
    return _read_json_data(data, today)


def _read_note(text: str, today: date | None) -> Patient:
    check_note_length(text)
    return patient_from_note(text, as_of=today)


PATIENT_FORMATS: tuple[PatientFormat, ...] = (
    PatientFormat("fhir", "a FHIR R4 Bundle (JSON with \"resourceType\": \"Bundle\")", _is_bundle, _read_bundle),
    PatientFormat("json", "the patient JSON of docs/design.md", _looks_like_json, _read_json),
    PatientFormat("csv", "a CSV with a header row and one patient row (the columns of docs/batch.md)", _is_csv, read_csv_row),
    PatientFormat("note", "a free-text note", lambda name, text: True, _read_note),
)


def detect_format(name: str, text: str) -> PatientFormat:
    """The format of a patient file's text; ``name`` is its file name, or "-" for standard input."""
    return next(f for f in PATIENT_FORMATS if f.detect(name, text))


def read_patient_text(name: str, text: str, *, today: date | None = None) -> Patient:
    if not text.strip():
        raise PatientError("patient", "empty input")
    return detect_format(name, text).read(text, today)
