"""Values and units of FHIR R4 Observations, and the choice of a coding among several.

- ``pick_coding``: the coding of a preferred code system (ICD-10-CM for a diagnosis, LOINC for an
  observation), wherever it stands in ``coding``; else the first.
- ``ucum_unit``: a Quantity's unit, its UCUM ``code`` before its display ``unit``; UCUM
  annotations in braces are dropped (``{cells}/uL`` → ``/uL``) except the body-surface one of
  the eGFR unit (``mL/min/{1.73_m2}`` → ``mL/min/1.73m2``).
- ``observation_value``: (value, unit) of ``valueQuantity``, ``valueInteger``, a numeric
  ``valueString``, or the LOINC answer code of an ECOG grade (``LA9622-7`` … ``LA9627-6``).
"""

from __future__ import annotations

import math
import re
from typing import Any

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_OIDS = ("urn:oid:2.16.840.1.113883.6.90", "urn:oid:2.16.840.1.113883.6.3")  # ICD-10-CM, ICD-10 (WHO)
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# The code systems' short names (ConditionFact.system), and how a missing display is shown.
SYSTEM_NAMES = {ICD10CM: "icd10", ICD10: "icd10", ICD10_OIDS[0]: "icd10", ICD10_OIDS[1]: "icd10",
                SNOMED: "snomed", LOINC: "loinc", RXNORM: "rxnorm"}
SYSTEM_LABELS = {"icd10": "ICD-10", "snomed": "SNOMED CT", "loinc": "LOINC", "rxnorm": "RxNorm"}
DIAGNOSIS_SYSTEMS = (ICD10CM, *ICD10_OIDS, ICD10)

ECOG_LOINC = "89247-1"
# LOINC answer list LL529-9 of 89247-1: the ECOG grade each answer code stands for.
ECOG_ANSWERS = {"LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4, "LA9627-6": 5}

_ANNOTATION = re.compile(r"\{[^{}]*\}")
_BODY_SURFACE = re.compile(r"\{\s*1\.73[\s_]*m(?:2|\^2)\s*\}", re.I)
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


class ValueProblem(ValueError):
    """A value element that cannot be read: ``field`` names it (``valueQuantity.value``)."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field
        self.problem = problem


def system_name(system: str | None) -> str | None:
    """The short name of a code system ("icd10", "snomed", …), else the system as given."""
    if system is None:
        return None
    return SYSTEM_NAMES.get(system.strip(), system.strip())


def pick_coding(codings: list[dict], preferred: tuple[str, ...]) -> dict:
    """The first coding of the most preferred system that has a code, else the first with a code,
    else the first; {} when there is none."""
    for system in preferred:
        for coding in codings:
            if coding.get("system") == system and coding.get("code"):
                return coding
    return next((c for c in codings if c.get("code")), codings[0] if codings else {})


def ucum_unit(quantity: dict) -> str | None:
    """The unit of a Quantity as trialmatch's units table reads it (None when it has none)."""
    for key in ("code", "unit"):
        raw = quantity.get(key)
        if key == "code" and quantity.get("system") not in (None, UCUM):
            continue  # a code of another unit system: its display says more
        if isinstance(raw, str) and raw.strip():
            unit = _BODY_SURFACE.sub("1.73m2", raw.strip())
            unit = _ANNOTATION.sub("", unit).strip()
            if unit in ("", "1"):
                return None  # "{score}", "{count}": a pure number
            return unit
    return None


def _finite(value: Any, field: str) -> float:
    if isinstance(value, str) and numeric_string(value) is not None:
        return numeric_string(value)  # "22": a number written as text
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueProblem(field, f"expected a number, got {'text' if isinstance(value, str) else type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise ValueProblem(field, "expected a number, got one too large to use") from None
    if not math.isfinite(number):
        raise ValueProblem(field, "expected a finite number")
    return number


def numeric_string(text: str) -> float | None:
    """The number a valueString holds ("7.2", " 140 "), None for any other text ("<5", "positive")."""
    stripped = text.strip().replace(",", "") if isinstance(text, str) else ""
    if not _NUMBER.fullmatch(stripped):
        return None
    number = float(stripped)
    return number if math.isfinite(number) else None


def ecog_answer(concept: Any) -> int | None:
    """The ECOG grade of a valueCodeableConcept: a LOINC answer code, or a bare grade 0–5."""
    if not isinstance(concept, dict):
        return None
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    for coding in codings:
        code = coding.get("code")
        if isinstance(code, str) and code.strip() in ECOG_ANSWERS:
            return ECOG_ANSWERS[code.strip()]
    for coding in codings:
        code = coding.get("code")
        if isinstance(code, str) and code.strip() in {"0", "1", "2", "3", "4", "5"}:
            return int(code)
    return None


def value_field(resource: dict) -> str:
    """The element an Observation's number was read from, as errors name it."""
    if resource.get("valueQuantity") is not None:
        return "valueQuantity.value"
    return next((key for key in ("valueInteger", "valueString") if key in resource), "valueCodeableConcept")


def observation_value(resource: dict, loinc: str | None) -> tuple[float, str | None] | None:
    """(value, unit) of an Observation, None when it holds no number (a coded finding, a text).
    Raises ValueProblem naming the element when a value is there but broken."""
    quantity = resource.get("valueQuantity")
    if quantity is not None:
        if not isinstance(quantity, dict) or "value" not in quantity:
            raise ValueProblem("valueQuantity", "expected an object with a value")
        for key in ("unit", "code", "system"):
            if quantity.get(key) is not None and not isinstance(quantity[key], str):
                raise ValueProblem(f"valueQuantity.{key}", f"expected text, got {type(quantity[key]).__name__}")
        return _finite(quantity["value"], "valueQuantity.value"), ucum_unit(quantity)
    if "valueInteger" in resource:
        return _finite(resource["valueInteger"], "valueInteger"), None
    if isinstance(resource.get("valueString"), str):
        number = numeric_string(resource["valueString"])
        return (number, None) if number is not None else None
    if loinc == ECOG_LOINC:
        grade = ecog_answer(resource.get("valueCodeableConcept"))
        return (float(grade), None) if grade is not None else None
    return None
