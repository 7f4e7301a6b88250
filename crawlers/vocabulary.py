"""Translate the registry's many spellings into one vocabulary (the API v2 enumerations).

Legacy XML writes ``Recruiting``, ``Phase 1/Phase 2``, ``18 Years``, ``June 24, 2005``; the API
v2 writes ``RECRUITING``, ``["PHASE1", "PHASE2"]``, ``18 Years``, ``2005-06-24``. Everything
here is a pure function of a string.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from models.trial import PHASES, SEXES, SPONSOR_CLASSES, STATUSES, STUDY_TYPES

_LEGACY_STATUS = {
    "unknown status": "UNKNOWN",
    "available for expanded access": "AVAILABLE",
    "no longer available for expanded access": "NO_LONGER_AVAILABLE",
    "temporarily not available for expanded access": "TEMPORARILY_NOT_AVAILABLE",
    "approved for marketing": "APPROVED_FOR_MARKETING",
}


def _enum_key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.strip().upper()).strip("_")


def normalize_status(text: str | None) -> str | None:
    """``Recruiting`` / ``RECRUITING`` / ``Active, not recruiting`` → API v2 enumeration."""
    if not text or not text.strip():
        return None
    legacy = _LEGACY_STATUS.get(text.strip().lower())
    if legacy:
        return legacy
    key = _enum_key(text)
    return key if key in STATUSES else None


def normalize_phases(value: str | list[str] | None) -> list[str]:
    """``Phase 1/Phase 2`` → ``[PHASE1, PHASE2]``; ``N/A`` → ``[NA]``; v2 lists pass through."""
    if not value:
        return []
    parts = value if isinstance(value, list) else re.split(r"\s*/\s*(?=(?:early\s+)?phase)", value, flags=re.I)
    phases: list[str] = []
    for part in parts:
        key = _enum_key(part).replace("PHASE_", "PHASE")
        if key in ("N_A", "NOT_APPLICABLE"):
            key = "NA"
        if key in PHASES and key not in phases:
            phases.append(key)
    return phases


def normalize_study_type(text: str | None) -> str | None:
    """``Interventional`` / ``Observational [Patient Registry]`` → v2 enumeration."""
    if not text:
        return None
    key = _enum_key(re.sub(r"\[.*?\]", "", text))
    return key if key in STUDY_TYPES else None


def normalize_sex(text: str | None) -> str | None:
    if not text:
        return None
    key = _enum_key(text)
    if key == "BOTH":
        return "ALL"
    return key if key in SEXES else None


# Legacy agency_class spellings that are not the v2 enumeration with spaces for underscores.
_LEGACY_SPONSOR_CLASS = {"u.s. fed": "FED"}


def normalize_sponsor_class(text: str | None) -> str | None:
    """``Industry`` → ``INDUSTRY``; legacy ``U.S. Fed`` → ``FED``, as the API v2 writes it."""
    if not text or not text.strip():
        return None
    key = _LEGACY_SPONSOR_CLASS.get(text.strip().lower()) or _enum_key(text)
    return key if key in SPONSOR_CLASSES else None


def normalize_yes_no(value: str | bool | None) -> bool | None:
    """``Accepts Healthy Volunteers`` / ``Yes`` / ``true`` → True; ``No`` → False."""
    if value is None or isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in ("yes", "true", "accepts healthy volunteers", "y"):
        return True
    if text in ("no", "false", "n"):
        return False
    return None


_AGE_UNITS_IN_YEARS = {
    "year": 1.0,
    "month": 1 / 12,
    "week": 7 / 365.25,
    "day": 1 / 365.25,
    "hour": 1 / (365.25 * 24),
    "minute": 1 / (365.25 * 24 * 60),
}
MAX_AGE_YEARS = 150  # an age limit beyond it is not a person's age
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*(?:old)?\s*$", re.I)


def age_in_years(text: str | None) -> float | None:
    """``18 Years`` → 18.0, ``6 Months`` → 0.5; ``N/A`` or blank → None (no limit).

    Raises ValueError for text that is neither an age nor a recognised "no limit".
    """
    if text is None:
        return None
    stripped = text.strip()
    if not stripped or stripped.upper() in ("N/A", "NA", "NONE", "NO LIMIT"):
        return None
    match = _AGE.match(stripped)
    if not match or match.group(2).lower() not in _AGE_UNITS_IN_YEARS:
        raise ValueError(f"not an age: {text!r}")
    years = float(match.group(1)) * _AGE_UNITS_IN_YEARS[match.group(2).lower()]
    if years > MAX_AGE_YEARS:
        raise ValueError(f"not an age: {text!r}")
    return round(years, 4)


_DATE_FORMATS = (("%B %d, %Y", "%Y-%m-%d"), ("%B %Y", "%Y-%m"), ("%Y-%m-%d", "%Y-%m-%d"), ("%Y-%m", "%Y-%m"))


_ISO_DATE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?$")


def iso_date(text: str | None) -> str | None:
    """``June 24, 2005`` → ``2005-06-24``; ``June 2005`` → ``2005-06``; ISO passes through."""
    if not text or not text.strip():
        return None
    stripped = text.strip()
    if _ISO_DATE.match(stripped):  # the API v2 form: checked without strptime, which is slow
        try:
            date.fromisoformat(stripped if len(stripped) == 10 else f"{stripped}-01")
            return stripped
        except ValueError:
            pass
    for parse_format, out_format in _DATE_FORMATS:
        try:
            return datetime.strptime(stripped, parse_format).strftime(out_format)
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")
