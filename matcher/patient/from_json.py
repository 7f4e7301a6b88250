"""Patient JSON (the README's "Patients" format) → ``models.Patient``, validated field by field.

Every error names the field at fault, e.g. ``labs[0].value: expected a number, got "high"``.
"""

from __future__ import annotations

import math
import re
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
    THERAPY_OUTCOMES,
)

from ..criteria import merge_qualifiers
from ..criteria import qualifiers as written_qualifiers

MAX_AGE_YEARS = 130
MAX_NOTE_CHARS = 100_000  # about 40 pages: a longer note is refused, not read for minutes
KNOWN_FIELDS = {
    "id", "age", "birth_date", "sex", "as_of", "conditions", "labs", "medications", "procedures",
    "pregnant", "healthy", "will_consent", "location", "note", "candidates", "ecog", "weight_kg", "height_cm",
}
_SEXES = {"female": "female", "f": "female", "woman": "female", "male": "male", "m": "male", "man": "male"}
ECOG_GRADES = range(0, 6)  # 0 (fully active) to 5 (dead): the scale's own grades
WEIGHT_KG = (1, 500)
HEIGHT_CM = (30, 272)
BIOMARKER_EXAMPLE = "e.g. ER+, PR-, HER2-negative; EGFR mutation; KRAS wild-type"
NOT_BIOMARKERS = ("stage", "course", "severity", "control", "line")  # qualifier axes a biomarkers field does not give


class PatientError(ValueError):
    """A patient record that cannot be used; the message starts with the field at fault.

    ``others``: further problems of the same record, each a PatientError, in the order of the
    record's fields (the message is the first one's), so a form can show them all at once."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.others: list[PatientError] = []

    @property
    def all(self) -> list[PatientError]:
        return [self, *self.others]


class Problems:
    """Collects a record's problems field by field, to raise them together."""

    def __init__(self):
        self.found: list[PatientError] = []

    def attempt(self, parse, *args, default=None):
        """``parse(*args)``, or ``default`` with its PatientError noted."""
        try:
            return parse(*args)
        except PatientError as error:
            self.found.extend(error.all)
            return default

    def raise_if_any(self) -> None:
        if self.found:
            first, *others = self.found
            first.others = others
            raise first


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


def _text(value: Any, field: str, required: bool = True) -> str | None:
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


def _stage(value: Any, field: str) -> tuple:
    """A stage as written ("IV", "4", "stage IIIB", "metastatic") → its qualifier."""
    text = _text(value, field)
    written = f"stage {text}" if re.fullmatch(r"(?i)[1-4]|I{1,3}|IV|(?:[1-4]|I{1,3}|IV)[A-C]\d?", text) else text
    stage = tuple(q for q in written_qualifiers.qualifiers_of(written) if q[0] == "stage")
    if not stage:
        raise PatientError(field, f"expected a stage I to IV (or metastatic, locally advanced), got {_describe(value)}")
    return stage


def _biomarkers(value: Any, field: str) -> tuple:
    """Receptor status and mutations as clinicians write them, every part read or refused."""
    text = _text(value, field)
    found, unread = [], []
    for part in (p.strip() for p in re.split(r"[;,]", text)):
        if not part:
            continue
        part = re.sub(r"(?<=\w)\s*[-−–]$", " negative", re.sub(r"(?<=\w)\s*\+$", " positive", part))  # "PR-" alone
        markers = tuple(q for q in written_qualifiers.qualifiers_of(part) if q[0] not in NOT_BIOMARKERS)
        (found.append(markers) if markers else unread.append(part))
    if unread:
        raise PatientError(field, f"not understood: {', '.join(map(repr, unread))} ({BIOMARKER_EXAMPLE})")
    return merge_qualifiers(*found)


def _condition(item: Any, field: str) -> ConditionFact:
    data = _named(item, field)
    problems = Problems()
    qualifiers = [problems.attempt(_stage, data["stage"], f"{field}.stage", default=()) if data.get("stage") else (),
                  problems.attempt(_biomarkers, data["biomarkers"], f"{field}.biomarkers", default=())
                  if data.get("biomarkers") else ()]
    fact = ConditionFact(
        name=data["name"].strip(),
        code=problems.attempt(_text, data.get("code"), f"{field}.code", False),
        system=problems.attempt(_text, data.get("system"), f"{field}.system", False),
        negated=bool(problems.attempt(_bool, data.get("negated"), f"{field}.negated")),
        onset=problems.attempt(_date, data.get("onset"), f"{field}.onset"),
        evidence=Evidence(field),
        qualifiers=merge_qualifiers(*qualifiers),
    )
    problems.raise_if_any()
    return fact


def _lab(item: Any, field: str) -> LabResult:
    if not isinstance(item, dict):
        raise PatientError(field, f"expected an object with name, value and unit, got {_describe(item)}")
    problems = Problems()
    name = problems.attempt(_text, item.get("name") or item.get("code"), f"{field}.name")
    value = None
    if "value" not in item:
        problems.found.append(PatientError(f"{field}.value", "missing"))
    else:
        value = problems.attempt(_number, item["value"], f"{field}.value")
        if value is not None and value < 0:
            problems.found.append(PatientError(f"{field}.value", f"a measurement cannot be negative, got {_describe(item['value'])}"))
    lab = LabResult(
        name=name or "",
        value=value or 0.0,
        unit=problems.attempt(_text, item.get("unit"), f"{field}.unit", False),
        date=problems.attempt(_date, item.get("date"), f"{field}.date"),
        loinc=problems.attempt(_text, item.get("loinc"), f"{field}.loinc", False),
        evidence=Evidence(field),
    )
    problems.raise_if_any()
    return lab


def _outcome(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in THERAPY_OUTCOMES:
        raise PatientError(field, f"expected one of {', '.join(THERAPY_OUTCOMES)}, got {_describe(value)}")
    return value.strip().lower()


def _medication(item: Any, field: str) -> MedicationFact:
    data = _named(item, field)
    problems = Problems()
    start = problems.attempt(_date, data.get("start"), f"{field}.start")
    end = problems.attempt(_date, data.get("end"), f"{field}.end")
    if start and end and end < start:
        problems.found.append(PatientError(f"{field}.end", f"ends ({end}) before it starts ({start})"))
    current = problems.attempt(_bool, data.get("current"), f"{field}.current")
    outcome = problems.attempt(_outcome, data.get("outcome"), f"{field}.outcome")
    if outcome == "ongoing" and current is False:
        problems.found.append(PatientError(f"{field}.outcome", "ongoing, but the therapy is said to be past"))
    fact = MedicationFact(
        name=data["name"].strip(),
        start=start,
        end=end,
        current=True if current is None and outcome == "ongoing" else current,
        negated=bool(problems.attempt(_bool, data.get("negated"), f"{field}.negated")),
        evidence=Evidence(field),
        outcome=outcome,
    )
    problems.raise_if_any()
    return fact


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


def _in_range(value: Any, field: str, low: float, high: float, unit: str) -> float:
    number = _number(value, field)
    if not low <= number <= high:
        raise PatientError(field, f"expected {low:g} to {high:g} {unit}, got {_describe(value)}")
    return number


def _ecog(value: Any) -> float:
    grade = _number(value, "ecog")
    if grade not in ECOG_GRADES:
        raise PatientError("ecog", f"expected an ECOG grade, 0 to 5, got {_describe(value)}")
    return grade


def _body_labs(data: dict, problems: Problems) -> list[LabResult]:
    """ECOG, weight and height as the labs criteria compare (and the body mass index of both)."""
    labs = []
    if data.get("ecog") is not None:
        grade = problems.attempt(_ecog, data["ecog"])
        if grade is not None:
            labs.append(LabResult("ECOG performance status", grade, evidence=Evidence("ecog")))
    weight = problems.attempt(_in_range, data["weight_kg"], "weight_kg", *WEIGHT_KG, "kg") if data.get("weight_kg") is not None else None
    height = problems.attempt(_in_range, data["height_cm"], "height_cm", *HEIGHT_CM, "cm") if data.get("height_cm") is not None else None
    if weight is not None:
        labs.append(LabResult("body weight", weight, "kg", evidence=Evidence("weight_kg")))
    if height is not None:
        labs.append(LabResult("height", height, "cm", evidence=Evidence("height_cm")))
    if weight is not None and height is not None:
        bmi = round(weight / (height / 100) ** 2, 1)
        labs.append(LabResult("body mass index", bmi, "kg/m2",
                              evidence=Evidence("weight_kg, height_cm", f"{weight:g} kg, {height:g} cm")))
    return labs


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


def _items(data: dict, key: str, parse, problems: Problems) -> list:
    parsed = [problems.attempt(parse, item, f"{key}[{i}]") for i, item in enumerate(problems.attempt(_list, data, key, default=[]))]
    return [item for item in parsed if item is not None]


def patient_from_json(data: Any, *, today: date | None = None) -> Patient:
    """Validate a patient dict and build the Patient. ``today`` is the default ``as_of``.
    Every problem is found before raising: the PatientError raised names the first, and holds
    the others."""
    if not isinstance(data, dict):
        raise PatientError("patient", f"expected a JSON object, got {_describe(data)}")
    problems = Problems()
    for name in sorted(set(data) - KNOWN_FIELDS):
        shown = name if name.isidentifier() else _describe(name)
        problems.found.append(PatientError(shown, f"unknown field (known: {', '.join(sorted(KNOWN_FIELDS))})"))
    as_of = problems.attempt(_date, data.get("as_of"), "as_of") or today or date.today()
    birth_date = problems.attempt(_date, data.get("birth_date"), "birth_date")
    age = problems.attempt(_number, data["age"], "age") if data.get("age") is not None else None
    if age is not None and not 0 <= age <= MAX_AGE_YEARS:
        problems.found.append(PatientError("age", f"must be between 0 and {MAX_AGE_YEARS} years, got {_describe(data['age'])}"))
        age = None
    if birth_date is not None:
        if birth_date > as_of:
            problems.found.append(PatientError("birth_date", f"is after as_of ({as_of})"))
        age_from_birth = (as_of - birth_date).days / 365.25
        if age_from_birth > MAX_AGE_YEARS:
            problems.found.append(PatientError(
                "birth_date", f"gives an age of {age_from_birth:.0f} years on {as_of}, more than {MAX_AGE_YEARS}"))
        if age is not None and abs(age - age_from_birth) > 1:
            problems.found.append(PatientError("age", f"{age:g} disagrees with birth_date {birth_date} (about {age_from_birth:.0f})"))
        age = age if age is not None else round(age_from_birth, 2)
    sex = data.get("sex")
    if sex is not None:
        if not isinstance(sex, str) or sex.strip().lower() not in _SEXES:
            problems.found.append(PatientError("sex", f"expected \"female\" or \"male\", got {_describe(sex)}"))
            sex = None
        else:
            sex = _SEXES[sex.strip().lower()]
    pregnant = problems.attempt(_bool, data.get("pregnant"), "pregnant")
    if pregnant and sex == "male":
        problems.found.append(PatientError("pregnant", "true for a male patient"))
    identifier = data.get("id", "patient")
    if not isinstance(identifier, (str, int)) or isinstance(identifier, bool):
        problems.found.append(PatientError("id", f"expected text, got {_describe(identifier)}"))
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        problems.found.append(PatientError("note", f"expected text, got {_describe(note)}"))
    elif note is not None:
        problems.attempt(check_note_length, note)
    patient = Patient(
        id=str(identifier),
        as_of=as_of,
        age=age,
        birth_date=birth_date,
        sex=sex,
        conditions=_items(data, "conditions", _condition, problems),
        labs=_items(data, "labs", _lab, problems) + _body_labs(data, problems),
        medications=_items(data, "medications", _medication, problems),
        procedures=_items(data, "procedures", _procedure, problems),
        pregnant=pregnant,
        healthy=problems.attempt(_bool, data.get("healthy"), "healthy"),
        will_consent=problems.attempt(_bool, data.get("will_consent"), "will_consent"),
        location=problems.attempt(_location, data.get("location")),
        note=note,
    )
    problems.raise_if_any()
    return patient
