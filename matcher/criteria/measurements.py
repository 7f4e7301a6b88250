"""Component: lab values, vital signs, scores (ECOG, Karnofsky) and life expectancy, each as
``{measure, loinc, op, value[, value_max], unit}`` in the measure's canonical unit."""

from __future__ import annotations

import re

from models import Constraint

from .doc import Doc, Mention
from .measures import ULN, MeasureInfo, find_measure, known_unit, to_canonical
from .quantities import Quantity

# What may stand between a measure's name and its value: "count", "level", "(ANC)", "of", ":".
_GAP = re.compile(
    r"^(?:[\s:=,\-–()]|\([^()]{0,25}\)|\b(?:counts?|levels?|values?|concentrations?|of|is|are|must|"
    r"should|be|to|has|have|at|screening|baseline|results?|scores?|ps|status|performance|in|the|"
    r"serum|plasma|blood|total|absolute|a|an|measured|by|documented|grade|class|who|ecog|"
    r"index|with|than|equal|or|and|fasting|calculated|estimated|cockcroft-gault|formula|"
    r"mdrd|ckd-epi|rate|range|time|expected|estimated|within|normal|limits?|ratio)\b)*$", re.I)
_MAX_GAP = 45


def _convert(info: MeasureInfo, q: Quantity, value: float) -> tuple[float, str] | None:
    unit = q.unit
    if unit and unit not in (ULN, "%", "% predicted") and not known_unit(unit):
        unit = None  # an ordinary word after the number ("<30 and assessed")
    if info.unit_group == "score":
        if unit not in (None, "%"):
            return None
        unit = None
    result = to_canonical(info.id, value, unit)
    if result and info.unit_group == "score":
        return result[0], "score"
    return result


def _constraint(info: MeasureInfo, q: Quantity) -> Constraint | None:
    lo = _convert(info, q, q.value)
    if lo is None:
        return None
    c = Constraint(type="measurement", measure=info.id, loinc=info.loinc, op=q.op,
                   value=lo[0], unit=lo[1])
    if q.op == "between":
        hi = _convert(info, q, q.value_max)
        if hi is None or hi[1] != lo[1]:
            return None
        c.value_max = hi[0]
    elif q.op == "=" and info.unit_group not in ("score",):
        return None  # "hemoglobin 9 g/dL" states no direction
    return c


def _history_value(doc: Doc, start: int) -> bool:
    """A value in parentheses after "prior response…", "history of…": a past value."""
    before = doc.clause_before(start)
    opened = before.rfind("(")
    if opened < 0 or ")" in before[opened:]:
        return bool(re.search(r"\b(?:history\s+of|at\s+diagnosis|previously\s+documented)\b[^,]{0,30}$",
                              before, re.I))
    return bool(re.search(r"\b(?:prior|previous|previously|history|response|responded|documented|"
                          r"at\s+diagnosis)\b", before[:opened], re.I))


_PAIR = re.compile(r"\s*(?P<op>[<>≤≥]=?|(?:greater|higher|more|less|lower)\s+than(?:\s+or\s+equal\s+to)?|"
                   r"at\s+least|above|below|under|over|no\s+more\s+than|not\s+(?:more|higher)\s+than)?\s*"
                   r"(?P<sys>\d{2,3})\s*/\s*(?P<dia>\d{2,3})\s*(?:mm\s*(?:of\s*)?hg)?", re.I)
_WORD_OPS = {"greater than": ">", "higher than": ">", "more than": ">", "less than": "<",
             "lower than": "<", "at least": ">=", "above": ">", "below": "<", "under": "<",
             "over": ">", "no more than": "<=", "not more than": "<=", "not higher than": "<="}


def _blood_pressure(doc: Doc, mention: Mention) -> None:
    """"BP > 150/100 mmHg" → systolic > 150 and diastolic > 100; a limit from above ("<", the
    patient's pressure must be controlled) needs both, from below ("elevated") either."""
    gap = doc.text[mention.end:mention.end + 40]
    m = re.match(r"[\s:(),]*(?:of|is|must\s+be|should\s+be|level|reading)?", gap, re.I)
    pair = _PAIR.match(gap, m.end())
    if not pair or not pair.group("op"):
        return
    op = re.sub(r"\s+", " ", pair.group("op").lower())
    op = _WORD_OPS.get(op.replace(" or equal to", ""), op)
    if "or equal" in pair.group("op").lower():
        op = op + "=" if len(op) == 1 else op
    op = {"≤": "<=", "≥": ">="}.get(op, op)
    infos = [find_measure("systolic_blood_pressure"), find_measure("diastolic_blood_pressure")]
    group = max((f.constraint.any_of or 0 for f in doc.found), default=0) + 1 if op.startswith(">") else None
    for info, value in zip(infos, (pair.group("sys"), pair.group("dia"))):
        c = Constraint(type="measurement", measure=info.id, loinc=info.loinc, op=op,
                       value=float(value), unit=info.unit, any_of=group)
        doc.add(c, mention.start, mention.end + pair.end())


def extract_measurements(doc: Doc) -> None:
    for mention in doc.mentions:
        if mention.type == "condition" and mention.payload.name == "hypertension":
            _blood_pressure(doc, mention)  # "hypertension of > 170/100 mmHg": the pressures are the rule
    measures_found = [m for m in doc.mentions if m.type == "measure"]
    if not measures_found:
        return
    quantities = doc.quantities
    if not quantities:
        return
    sharing: dict[int, list[tuple[Mention, Constraint]]] = {}
    for i, mention in enumerate(measures_found):
        if mention.payload.id == "blood_pressure":
            _blood_pressure(doc, mention)
            continue
        q = _value_after(doc, mention, quantities, measures_found[i + 1:])
        if q is None:
            continue
        c = _constraint(mention.payload, q)
        if c is None:
            continue
        if _history_value(doc, mention.start):
            c.timing = "prior"
        doc.add(c, mention.start, q.end)
        sharing.setdefault(q.start, []).append((mention, c))
    _shared_value_alternatives(doc, sharing)


def _shared_value_alternatives(doc: Doc, sharing: dict[int, list[tuple[Mention, Constraint]]]) -> None:
    """"ALT or AST > 5 x ULN": measures sharing one value are alternatives when joined by "or"
    (in an exclusion also by "," / "and", as lists are there)."""
    from .grouping import _join

    for group in sharing.values():
        if len(group) < 2:
            continue
        joins = [_join(doc.text[a.end:b.start]) for (a, _), (b, _) in zip(group, group[1:])]
        if all(j in ("or", "and") for j in joins) and ("or" in joins or doc.kind == "exclusion"):
            number = max((f.constraint.any_of or 0 for f in doc.found), default=0) + 1
            for _, c in group:
                c.any_of = number


def _value_after(doc: Doc, mention: Mention, quantities: list[Quantity],
                 later: list[Mention]) -> Quantity | None:
    for q in quantities:
        if q.start < mention.end:
            continue
        if q.start - mention.end > _MAX_GAP:
            return None
        gap = doc.text[mention.end:q.start]
        # Another measure in between takes the value, unless it is joined to this one by
        # "and"/"or" ("AST and ALT ≤ 2.5 x ULN").
        between = [m for m in later if m.start < q.start]
        if between:
            joined = all(re.fullmatch(r"[\s,/]*(?:and|or|and/or|,|/)?[\s,/]*(?:\([^()]{0,20}\))?\s*",
                                      doc.text[a.end:b.start], re.I)
                         for a, b in zip([mention, *between], between))
            if not joined:
                return None
            gap = doc.text[between[-1].end:q.start]
        if _GAP.match(gap):
            return q
        return None
    return None
