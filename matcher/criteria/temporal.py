"""Time windows: "within 14 days", "12 weeks prior to", "in the last 6 months", "at least 4
weeks since" → days."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD_NUMBERS = {"one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                 "fourteen": 14, "fifteen": 15, "eighteen": 18, "twenty": 20, "thirty": 30,
                 "sixty": 60, "ninety": 90}
_DURATION = re.compile(
    r"(?<![\w.])(?P<n>\d+(?:\.\d+)?|" + "|".join(_WORD_NUMBERS) + r")(?:\s*\(\d+\))?[\s-]*"
    r"(?P<unit>day|week|month|year|hour|hr|wk|mo|yr)s?\b"
    r"|(?:last|past|previous|preceding)\s+(?P<unit1>day|week|month|year)\b", re.I)
_BEFORE_WINDOW = re.compile(
    r"(?:within|in|during|over)\s+(?:the\s+)?(?:last|past|previous|preceding|prior|recent|"
    r"first)?\s*$|(?:last|past|previous|preceding|recent)\s*$", re.I)
_AFTER_WINDOW = re.compile(r"\s*(?:or\s+less\s+)?(?:prior|before|preceding|since|pre\b|pre-)", re.I)
_BEFORE_WASHOUT = re.compile(
    r"(?:at\s+least|≥|>=|>|more\s+than|greater\s+than|(?:a\s+)?minimum\s+of|over)\s*$", re.I)
_AFTER_WASHOUT = re.compile(
    r"\s*(?:must\s+have\s+)?(?:since|from|after|elapsed|passed|between|prior|before)\b", re.I)


@dataclass
class Window:
    days: int
    washout: bool  # "at least 4 weeks since X": X must NOT have happened within ``days``
    start: int
    end: int


def _count(word: str) -> float:
    word = word.lower()
    return _WORD_NUMBERS[word] if word in _WORD_NUMBERS else float(word)


def _unit_days(unit: str) -> float:
    unit = unit.lower()
    for key in ("hour", "hr"):
        if unit.startswith(key):
            return 1 / 24
    return {"d": 1, "w": 7, "m": 30, "y": 365}[unit[0]]


def find_windows(text: str) -> list[Window]:
    out = []
    for m in _DURATION.finditer(text):
        before = text[max(0, m.start() - 40):m.start()]
        after = text[m.end():m.end() + 30]
        if m.group("unit1"):
            n, unit = 1.0, m.group("unit1")
            washout, window = False, True
        else:
            n, unit = _count(m.group("n")), m.group("unit")
            washout = bool(_BEFORE_WASHOUT.search(before) and _AFTER_WASHOUT.match(after))
            window = washout or bool(_BEFORE_WINDOW.search(before) or _AFTER_WINDOW.match(after))
        if not window:
            continue
        days = n * _unit_days(unit)
        out.append(Window(max(1, round(days)), washout, m.start(), m.end()))
    return out
