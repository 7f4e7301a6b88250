"""Lab tests and clinical measures: names, LOINC codes, units and conversion to one canonical
unit per measure (``data/lexicons/measures.tsv`` and ``units.tsv``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .lexicon import PhraseMatcher, read_tsv, split_list, stopwords

ULN = "x ULN"


@dataclass(frozen=True)
class MeasureInfo:
    id: str  # e.g. "platelet_count"
    loinc: str | None
    unit: str  # canonical unit, e.g. "10^9/L"
    unit_group: str
    kept_units: tuple[str, ...] = ()  # relative scales kept as such ("x ULN", "% predicted")
    plausible: tuple[float, float] = (float("-inf"), float("inf"))
    synonyms: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class _Unit:
    factor: float
    offset: float
    unitless: bool


class _Measures:
    def __init__(self) -> None:
        self.by_id: dict[str, MeasureInfo] = {}
        self.by_loinc: dict[str, MeasureInfo] = {}
        self.names = PhraseMatcher()
        self.units: dict[str, dict[str, _Unit]] = {}
        for row in read_tsv("units.tsv"):
            group, unit, factor, offset, unitless = (row + [""] * 5)[:5]
            self.units.setdefault(group, {})[unit] = _Unit(
                float(factor), float(offset or 0), unitless == "y")
        for row in read_tsv("measures.tsv"):
            mid, loinc, group, unit, kept, plausible, synonyms = (row + [""] * 7)[:7]
            lo, _, hi = plausible.partition("-")
            info = MeasureInfo(
                id=mid, loinc=loinc or None, unit=unit, unit_group=group,
                kept_units=tuple(split_list(kept)),
                plausible=(float(lo), float(hi)) if plausible else (float("-inf"), float("inf")),
                synonyms=tuple(split_list(synonyms)))
            self.by_id[mid] = info
            if info.loinc:
                self.by_loinc[info.loinc] = info
            for name in (*info.synonyms, mid.replace("_", " ")):
                self.names.add(name, info, plural=name.islower())


@lru_cache(maxsize=1)
def measures() -> _Measures:
    return _Measures()


def all_measures() -> list[MeasureInfo]:
    """Every measure the lexicon knows, in file order."""
    return list(measures().by_id.values())


def name_matcher() -> PhraseMatcher:
    """Phrase matcher of every measure name (payload: MeasureInfo)."""
    return measures().names


def find_measure(name: str) -> MeasureInfo | None:
    """The measure a lab name, abbreviation, measure id or LOINC code denotes, else None.

    "Platelets", "PLT", "platelet count", "777-3" → platelet_count; words like "serum",
    "blood", "level", "total count" around a known name are ignored."""
    if not isinstance(name, str) or not name.strip():
        return None
    m = measures()
    key = name.strip()
    if key in m.by_id:
        return m.by_id[key]
    if key in m.by_loinc:
        return m.by_loinc[key]
    # also a known name inside a longer one ("serum platelet count (PLT)")
    return m.names.resolve(key, lambda w: w in stopwords(), key=lambda info: info.id)


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_UNIT_REWRITES = [
    (re.compile(r"[µμ]|mc(?=[lgm])|micro(?=[lgm])"), "u"),
    (re.compile(r"(?:x|\*)?10(?:\^|\*\*|\*|e)?\(?(\d{1,2})\)?"), r"10^\1"),
    (re.compile(r"^[x×*]"), ""),
    (re.compile(r"mm3$|mm\^3$|cu\.?mm$|cmm$"), "mm^3"),
    (re.compile(r"m2$|m\^2$"), "m^2"),
    (re.compile(r"cells?/"), "cells/"),
    (re.compile(r"^(?:per)"), "/"),
    (re.compile(r"(?<=[a-z])s$"), ""),  # "cells/mm3s", "mls"
]


def normalize_unit(unit: str) -> str:
    """Spelling-neutral key of a unit: "x 10⁹/L" → "10^9/l", "cells/mm³" → "cells/mm^3"."""
    u = unit.translate(_SUPERSCRIPTS).strip().lower().replace("×", "x")
    u = re.sub(r"\s+", "", u).rstrip(".")
    for pattern, repl in _UNIT_REWRITES:
        u = pattern.sub(repl, u)
    return u


def _lookup_unit(table: dict[str, _Unit], unit: str) -> _Unit | None:
    key = normalize_unit(unit)
    if key in table:
        return table[key]
    for variant in (key + "s", key.replace("cells/", "/"), key.replace("/", "cells/", 1)):
        if variant in table:
            return table[variant]
    return None


@lru_cache(maxsize=1)
def _all_units() -> frozenset[str]:
    return frozenset(u for table in measures().units.values() for u in table)


def known_unit(unit: str) -> bool:
    """Whether ``unit`` is a unit of any measure (not an ordinary word after a number)."""
    key = normalize_unit(unit)
    return key in _all_units() or key.rstrip("s") in _all_units()


def is_relative_unit(unit: str | None) -> str | None:
    """"x ULN" for "× ULN", "times the upper limit of normal", …; "% predicted"; else None."""
    if not unit:
        return None
    u = unit.lower()
    if "uln" in u or "upper limit" in u or "normal upper" in u:
        return ULN
    if "predicted" in u:
        return "% predicted"
    return None


def unit_understood(measure: str, unit: str | None) -> bool:
    """Whether ``unit`` is one ``measure`` can be read in (no unit, a kept relative scale, or a
    unit of its group); "furlongs" for a platelet count is not."""
    info = find_measure(measure) if isinstance(measure, str) else None
    if info is None:
        return False
    if unit is None or not unit.strip():
        return True
    relative = is_relative_unit(unit)
    if relative:
        return relative in info.kept_units
    return _lookup_unit(measures().units.get(info.unit_group, {}), unit) is not None


def to_canonical(measure: str, value: float, unit: str | None) -> tuple[float, str] | None:
    """``value unit`` of ``measure`` (an id or any name find_measure knows) in the measure's
    canonical unit, e.g. platelets 22000 "/µL" → (22.0, "10^9/L"); None when the unit is
    unknown for that measure or the result is implausible. Without a unit, the canonical unit
    is assumed, or the measure's usual alternative ("ANC 1500" → 1.5 10^9/L). Relative scales
    ("1.5 x ULN", "% predicted") come back unchanged with their scale as unit."""
    info = find_measure(measure) if isinstance(measure, str) else None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    if info is None or value != value:
        return None
    relative = is_relative_unit(unit)
    if relative:
        return (value, relative) if relative in info.kept_units else None
    lo, hi = info.plausible
    table = measures().units.get(info.unit_group, {})
    if unit and unit.strip():
        conv = _lookup_unit(table, unit)
        if conv is None:
            return None
        result = value * conv.factor + conv.offset
        return (_round(result), info.unit) if lo <= result <= hi else None
    if lo <= value <= hi:
        return _round(value), info.unit
    for conv in table.values():
        if conv.unitless:
            result = value * conv.factor + conv.offset
            if lo <= result <= hi:
                return _round(result), info.unit
    return None


def _round(x: float) -> float:
    """Four significant digits (conversion factors carry no more), whole numbers above 10^4."""
    return float(round(x)) if abs(x) >= 1e4 else float(f"{x:.4g}")
