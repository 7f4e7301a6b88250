"""Adult reference intervals (``data/lexicons/reference_ranges.tsv``) and the panels that report
each measure, for records that call a result normal without giving it ("CBC normal")."""

from __future__ import annotations

import re
from functools import lru_cache

from .lexicon import read_tsv, split_list


@lru_cache(maxsize=1)
def _table() -> tuple[dict[tuple[str, str], tuple[float, float]], dict[str, frozenset[str]]]:
    ranges: dict[tuple[str, str], tuple[float, float]] = {}
    panels: dict[str, set[str]] = {}
    for measure, sex, low, high, names in ((r + [""] * 5)[:5] for r in read_tsv("reference_ranges.tsv")):
        ranges[(measure, sex or "any")] = (float(low), float(high))
        for name in split_list(names):
            panels.setdefault(name.lower(), set()).add(measure)
    return ranges, {name: frozenset(m) for name, m in panels.items()}


def reference_range(measure: str, sex: str | None = None) -> tuple[float, float] | None:
    """The normal interval of ``measure`` in its canonical unit; without a sex, the union of both."""
    ranges, _ = _table()
    if (measure, "any") in ranges:
        return ranges[(measure, "any")]
    if sex in ("female", "male") and (measure, sex) in ranges:
        return ranges[(measure, sex)]
    both = [ranges[(measure, s)] for s in ("female", "male") if (measure, s) in ranges]
    return (min(lo for lo, _ in both), max(hi for _, hi in both)) if both else None


@lru_cache(maxsize=1)
def panel_pattern() -> re.Pattern:
    """Names of panels ("complete blood count", "liver function tests"), longest first."""
    _, panels = _table()
    names = sorted(panels, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.I)


def panel_measures(name: str) -> frozenset[str]:
    """The measures a panel reports ("CBC" → hemoglobin, hematocrit, platelets, …)."""
    return _table()[1].get(name.lower(), frozenset())


def decide(low: float, high: float, op: str | None, value: float | None, value_max: float | None = None) -> bool | None:
    """Does ``x op value`` hold for every x in [low, high] (True), for none (False), or for some (None)?"""
    if value is None or op is None:
        return None
    if op == "between":
        if value_max is None:
            return None
        if value <= low and high <= value_max:
            return True
        return False if high < value or low > value_max else None
    table = {"<": (high < value, low >= value), "<=": (high <= value, low > value),
             ">": (low > value, high <= value), ">=": (low >= value, high < value)}
    if op not in table:
        return None
    every, none = table[op]
    return True if every else False if none else None
