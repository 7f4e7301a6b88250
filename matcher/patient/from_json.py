"""Patient JSON (the README's "Patients" format) → ``models.Patient``, validated field by field.

Every error names the field at fault, e.g. ``labs[0].value: expected a number, got "high"``.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from models.patient import (
    ConditionFact,
    Evidence,
    LabResult,
    Location,
    MedicationFact,
    Patient,
    ProcedureFact,
)

MAX_AGE_YEARS = 130
MAX_NOTE_CHARS = 100_000  # about 40 pages: a longer note is refused, not read for minutes
KNOWN_FIELDS = {
    "id", "age", "birth_date", "sex", "as_of", "conditions", "labs", "medications", "procedures",
    "pregnant", "healthy", "will_consent", "location", "note", "candidates",
}
_SEXES = {"female": "female", "f": "female", "woman": "female", "male": "male", "m": "male", "man": "male"}


class PatientError(ValueError):
    """A patient record that cannot be used; the message starts with the field at fault."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_note_length(note: str | None, field: str = "note") -> None:
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise PatientError(field, f"{len(note):,} characters, more than the {MAX_NOTE_CHARS:,} read: "
                                  "give the part that describes the patient now")


def _date(value: Any, field: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PatientError(field, f"expected a date as YYYY-MM-DD, got {_describe(value)}")
    text = value.strip()
    try:
        if len(text) == 7:  # YYYY-MM: the first of the month
            return date.fromisoformat(text + "-01")
        if len(text) == 4 and text.isdigit():
            return date(int(text), 1, 1)
        return date.fromisoformat(text[:10])
    except ValueError:
        raise PatientError(field, f"not a date (expected YYYY-MM-DD): {_describe(value)}") from None


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value.replace(",", ""))
            except ValueError:
                raise PatientError(field, f"expected a number, got {_describe(value)}") from None
        else:
            raise PatientError(field, f"expected a number, got {_describe(value)}")
    try:
        value = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise PatientError(field, "expected a number, got one too large to use") from None
    if not math.isfinite(value):
        raise PatientError(field, f"expected a finite number, got {_describe(value)}")
    return value


def _text(value: Any, field: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PatientError(field, f"expected non-empty text, got {_describe(value)}")
    return value.strip()


def _bool(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise PatientError(field, f"expected true or false, got {_describe(value)}")


def _list(data: dict, key: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PatientError(key, f"expected a list, got {_describe(value)}")
    return value


def _named(item: Any, field: str) -> dict:
    """List items may be a bare name or an object with "name"."""
    if isinstance(item, str):
        return {"name": _text(item, field)}
    if isinstance(item, dict):
        _text(item.get("name"), f"{field}.name")
        return item
    raise PatientError(field, f"expected a name or an object with \"name\", got {_describe(item)}")


def _condition(item: Any, field: str) -> ConditionFact:
    data = _named(item, field)
    return ConditionFact(
        name=data["name"].strip(),
        code=_text(data.get("code"), f"{field}.code", required=False),
        system=_text(data.get("system"), f"{field}.system", required=False),
        negated=bool(_bool(data.get("negated"), f"{field}.negated")),
        onset=_date(data.get("onset"), f"{field}.onset"),
        evidence=Evidence(field),
    )


def _lab(item: Any, field: str) -> LabResult:
    if not isinstance(item, dict):
        raise PatientError(field, f"expected an object with name, value and unit, got {_describe(item)}")
    name = _text(item.get("name") or item.get("code"), f"{field}.name")
    if "value" not in item:
        raise PatientError(f"{field}.value", "missing")
    value = _number(item["value"], f"{field}.value")
    if value < 0:
        raise PatientError(f"{field}.value", f"a measurement cannot be negative, got {_describe(item['value'])}")
    return LabResult(
        name=name,
        value=value,
        unit=_text(item.get("unit"), f"{field}.unit", required=False),
        date=_date(item.get("date"), f"{field}.date"),
        loinc=_text(item.get("loinc"), f"{field}.loinc", required=False),
        evidence=Evidence(field),
    )


def _medication(item: Any, field: str) -> MedicationFact:
    data = _named(item, field)
    start, end = _date(data.get("start"), f"{field}.start"), _date(data.get("end"), f"{field}.end")
    if start and end and end < start:
        raise PatientError(f"{field}.end", f"ends ({end}) before it starts ({start})")
    return MedicationFact(
        name=data["name"].strip(),
        start=start,
        end=end,
        current=_bool(data.get("current"), f"{field}.current"),
        negated=bool(_bool(data.get("negated"), f"{field}.negated")),
        evidence=Evidence(field),
    )


def _procedure(item: Any, field: str) -> ProcedureFact:
    data = _named(item, field)
    return ProcedureFact(
        name=data["name"].strip(),
        date=_date(data.get("date"), f"{field}.date"),
        negated=bool(_bool(data.get("negated"), f"{field}.negated")),
        evidence=Evidence(field),
    )


def _zip(value: Any) -> str | None:
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PatientError("location.zip", f"expected a postal code, got {_describe(value)}")
    return str(value).strip()


def _location(value: Any) -> Location | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PatientError("location", f"expected an object with lat/lon, zip, or city and country, got {_describe(value)}")
    lat, lon = value.get("lat"), value.get("lon")
    if (lat is None) != (lon is None):
        raise PatientError("location", "give both lat and lon, or neither")
    location = Location(
        lat=_number(lat, "location.lat") if lat is not None else None,
        lon=_number(lon, "location.lon") if lon is not None else None,
        zip=_zip(value.get("zip")),
        city=_text(value.get("city"), "location.city", required=False),
        state=_text(value.get("state"), "location.state", required=False),
        country=_text(value.get("country"), "location.country", required=False),
    )
    if location.lat is not None and not (-90 <= location.lat <= 90 and -180 <= location.lon <= 180):
        raise PatientError("location", f"lat/lon out of range: {location.lat}, {location.lon}")
    if location.lat is None and not location.zip and not location.city:
        raise PatientError("location", "expected lat and lon, a zip, or a city")
    return location


def patient_from_json(data: Any, *, today: date | None = None) -> Patient:
    """Validate a patient dict and build the Patient. ``today`` is the default ``as_of``."""
    if not isinstance(data, dict):
        raise PatientError("patient", f"expected a JSON object, got {_describe(data)}")
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        name = unknown[0] if unknown[0].isidentifier() else _describe(unknown[0])
        raise PatientError(name, f"unknown field (known: {', '.join(sorted(KNOWN_FIELDS))})")
    as_of = _date(data.get("as_of"), "as_of") or today or date.today()
    birth_date = _date(data.get("birth_date"), "birth_date")
    age = _number(data["age"], "age") if data.get("age") is not None else None
    if age is not None and not 0 <= age <= MAX_AGE_YEARS:
        raise PatientError("age", f"must be between 0 and {MAX_AGE_YEARS} years, got {_describe(data['age'])}")
    if birth_date is not None:
        if birth_date > as_of:
            raise PatientError("birth_date", f"is after as_of ({as_of})")
        age_from_birth = (as_of - birth_date).days / 365.25
        if age_from_birth > MAX_AGE_YEARS:
            raise PatientError("birth_date", f"gives an age of {age_from_birth:.0f} years on {as_of}, more than {MAX_AGE_YEARS}")
        if age is not None and abs(age - age_from_birth) > 1:
            raise PatientError("age", f"{age:g} disagrees with birth_date {birth_date} (about {age_from_birth:.0f})")
        age = age if age is not None else round(age_from_birth, 2)
    sex = data.get("sex")
    if sex is not None:
        if not isinstance(sex, str) or sex.strip().lower() not in _SEXES:
            raise PatientError("sex", f"expected \"female\" or \"male\", got {_describe(sex)}")
        sex = _SEXES[sex.strip().lower()]
    pregnant = _bool(data.get("pregnant"), "pregnant")
    if pregnant and sex == "male":
        raise PatientError("pregnant", "true for a male patient")
    identifier = data.get("id", "patient")
    if not isinstance(identifier, (str, int)) or isinstance(identifier, bool):
        raise PatientError("id", f"expected text, got {_describe(identifier)}")
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        raise PatientError("note", f"expected text, got {_describe(note)}")
    check_note_length(note)
    return Patient(
        id=str(identifier),
        as_of=as_of,
        age=age,
        birth_date=birth_date,
        sex=sex,
        conditions=[_condition(c, f"conditions[{i}]") for i, c in enumerate(_list(data, "conditions"))],
        labs=[_lab(lab, f"labs[{i}]") for i, lab in enumerate(_list(data, "labs"))],
        medications=[_medication(m, f"medications[{i}]") for i, m in enumerate(_list(data, "medications"))],
        procedures=[_procedure(p, f"procedures[{i}]") for i, p in enumerate(_list(data, "procedures"))],
        pregnant=pregnant,
        healthy=_bool(data.get("healthy"), "healthy"),
        will_consent=_bool(data.get("will_consent"), "will_consent"),
        location=_location(data.get("location")),
        note=note,
    )
