"""Comparisons in criteria text: "<30 G/L", "≥ 1.5 x 10^9/L", "between 18 and 75",
"18–75", "at least 3 months", "no more than 1.5 x ULN", "0, 1 or 2"."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

_GE = (r"≥|>\s*=|=\s*>|>\s*/\s*=|=\s*/\s*>|≧|⩾|\+?greater\s+than\s+or\s+equal(?:\s+to)?|"
       r"(?:more|higher|larger)\s+than\s+or\s+equal(?:\s+to)?|equal\s+to\s+or\s+(?:greater|more|higher)\s+than|"
       r"equal\s+or\s+(?:greater|superior|more)\s+(?:than|to)|at\s+least|no\s+(?:less|fewer|lower)\s+than|"
       r"not\s+(?:less|fewer|lower)\s+than|a\s+minimum\s+of|minimum(?:\s+of)?|min\.?|over\s+or\s+equal\s+to")
_LE = (r"≤|<\s*=|=\s*<|<\s*/\s*=|=\s*/\s*<|≦|⩽|less\s+than\s+or\s+equal(?:\s+to)?|"
       r"(?:lower|fewer|smaller)\s+than\s+or\s+equal(?:\s+to)?|equal\s+to\s+or\s+(?:less|lower|below)\s+(?:than)?|"
       r"equal\s+or\s+(?:less|lower|inferior)\s+(?:than|to)|no\s+(?:more|greater|higher)\s+than|"
       r"not\s+(?:more|greater|higher)\s+than|not\s+(?:to\s+)?exceed(?:ing)?|up\s+to|a\s+maximum\s+of|"
       r"maximum(?:\s+of)?|max\.?|at\s+most|under\s+or\s+equal\s+to")
_GT = r">|greater\s+than|older\s+than|more\s+than|higher\s+than|larger\s+than|above|over|exceed(?:s|ing)?|in\s+excess\s+of|superior\s+to|>>"
_LT = r"<|less\s+than|younger\s+than|lower\s+than|fewer\s+than|smaller\s+than|below|under|inferior\s+to"
_EQ = r"=|equal\s+to|of"
OPS = [(">=", _GE), ("<=", _LE), (">", _GT), ("<", _LT)]
_OP_RE = re.compile("|".join(f"(?P<op{i}>{p})" for i, (_, p) in enumerate(OPS)), re.I)

NUMBER = (r"(?<![\w.,])(?<![A-Za-z]-)(?:\d+,\d{1,2}(?=\s*(?:[x×*]|g|mg|mmol|µ|μ|u|/|%|10))|\d{1,3}(?:,\d{3})+(?:\.\d+)?|"
          r"\d{1,3}(?:'\d{3})+|\d{1,3}(?:\s\d{3})+(?![\d.])|\d+(?:\.\d+)?)")
_SCI = (r"(?:[x×*]\s*)?10\s*(?:\^|\*\*|e|E|\*)?\s*[\(\[]?\s*-?\d{1,2}\s*[\)\]]?\s*|"
        r"(?:[x×*]\s*)?10[⁰¹²³⁴⁵⁶⁷⁸⁹]+\s*")
_PER_VOLUME = r"(?:cells?\s*)?/\s*(?:[µμu]\s*l|mcl|microliter|mm\s*3|mm³|mm\^3|cu\s*mm|cumm|cmm|ml|l|nl|dl)\b"
_ULN = (r"(?:[x×*]|times|fold)\s*(?:the\s+)?(?:institutional\s+|local\s+)?(?:ULN|IULN|LLN|"
        r"upper\s+limits?\s+of\s+(?:the\s+)?(?:institutional\s+)?normal(?:\s+range)?(?:\s*\(\s*ULN\s*\))?|"
        r"(?:upper|normal)\s+(?:normal|upper)\s+limits?|N)\b|ULN\b|(?:the\s+)?upper\s+limit\s+of\s+normal")
_UNIT = re.compile(
    rf"\s*(?P<uln>{_ULN})|"
    rf"\s*(?P<sci>(?:{_SCI})(?:{_PER_VOLUME}|(?:cells?\s*)?per\s+(?:[µμu]l|mm3|l)\b))|"
    rf"\s*(?P<vol>{_PER_VOLUME})|"
    r"\s*(?P<gfr>m[lL]\s*/\s*min(?:ute)?(?:\s*/\s*1[.,]73\s*m\s*(?:2|²|\^2)|\s*(?:per|/)\s*1[.,]73\s*m\s*(?:2|²|\^2))?)|"
    r"\s*(?P<pct>%|percent)(?:\s*(?P<pred>predicted|of\s+predicted))?|"
    r"\s*(?!(?:and|or|to|of|in|at|on|with|over|under|above|below|the|for|from|than|but|if|as|by|"
    r"is|are|be|was|were|who|which|that|after|before|within|during|since|until|prior|more|less|"
    r"greater|higher|lower|older|younger|plus|inclusive)\b)"
    r"(?P<word>[a-zA-Zµμ][a-zA-Zµμ0-9\.\^³²]*(?:\s*/\s*[a-zA-Zµμ0-9\.\^³²]+)*)", re.I)
_NUM_RE = re.compile(NUMBER)


def parse_number(s: str) -> float:
    s = s.replace(" ", "").replace("'", "")
    if re.fullmatch(r"\d+,\d{1,2}", s):
        return float(s.replace(",", "."))
    return float(s.replace(",", ""))


@dataclass
class Quantity:
    op: str  # one of "<", "<=", ">", ">=", "=", "between"
    value: float
    value_max: float | None
    unit: str | None  # as written, or "x ULN" / "% predicted"
    start: int  # offsets in the text searched
    end: int
    unit_low: str | None = None  # a range's own unit for its lower bound ("6 months to 17 years")


def read_unit(text: str, pos: int) -> tuple[str | None, int]:
    """The unit written at ``pos`` (after a number), and where it ends."""
    m = _UNIT.match(text, pos)
    if not m:
        return None, pos
    if m.group("uln"):
        return "x ULN", m.end()
    if m.group("pct"):
        return ("% predicted" if m.group("pred") else "%"), m.end()
    for name in ("sci", "vol", "gfr"):
        if m.group(name):
            return m.group(name).strip(), m.end()
    return m.group("word"), m.end()


_RANGE_SEP = r"\s*(?:-|–|—|to|and|through|until)\s*"
_QUANTITY = re.compile(
    rf"(?P<between>between|from|range\s+of|ranging\s+from)?\s*(?P<a>{NUMBER})(?P<ua>\s*(?!(?:to|and|through|until)\b)[%a-zA-Zµμ/][^\s\d,;]*)?"
    rf"{_RANGE_SEP}(?P<b>{NUMBER})|"
    rf"(?P<op>{_OP_RE.pattern})\s*(?P<n>{NUMBER})|"
    rf"(?P<list>(?<![\d.,])\d(?:\s*[,/]\s*\d)*\s*(?:,?\s*(?:or|and)|/)\s*\d)(?!\d|\.\d)|"
    rf"(?P<bare>{NUMBER})", re.I)
_DIGIT = re.compile(r"\d+")
_LONGEST_LEAD = 50  # "between", "greater than or equal to", "no more than" … before a number
_POST_GE = re.compile(r"\s*(?:or|and)\s+(?:more|greater|higher|above|over|older)\b|\s*\+(?!\d)", re.I)
_POST_LE = re.compile(r"\s*(?:or|and)\s+(?:less|fewer|lower|below|under|younger)\b", re.I)
_SECOND_BOUND = re.compile(
    rf"\s*(?:and|,|but|-|to)?\s*(?:{_LE}|{_LT})\s*(?P<n>{NUMBER})", re.I)


def _op_of(m: re.Match) -> str:
    for i, (op, _) in enumerate(OPS):
        if m.group(f"op{i}"):
            return op
    return "="


def find_quantities(text: str, start: int = 0, end: int | None = None) -> list[Quantity]:
    """Every comparison or bare number with its unit, left to right."""
    end = len(text) if end is None else end
    out: list[Quantity] = []
    digits = [m.start() for m in _DIGIT.finditer(text, start, end)]
    pos = start
    while pos < end:
        # Every quantity has a digit, and its comparator is at most ~50 characters before it:
        # jump over the text with no digit ahead.
        k = bisect_left(digits, pos)
        if k == len(digits):
            break
        pos = max(pos, digits[k] - _LONGEST_LEAD)
        m = _QUANTITY.search(text, pos, end)
        if not m:
            break
        q_end = m.end()
        if m.group("a") and (m.group("between") or _looks_like_range(m)):
            lo, hi = parse_number(m.group("a")), parse_number(m.group("b"))
            unit, q_end = read_unit(text, m.end())
            if lo > hi:
                pos = m.end()
                continue
            ua = (m.group("ua") or "").strip() or None
            out.append(Quantity("between", lo, hi, unit, m.start(), q_end, unit_low=ua))
        elif m.group("op"):
            op_m = _OP_RE.fullmatch(m.group("op"))
            op = _op_of(op_m) if op_m else "="
            value = parse_number(m.group("n"))
            unit, q_end = read_unit(text, m.end())
            second = _SECOND_BOUND.match(text, q_end)
            if op in (">=", ">") and second:
                hi = parse_number(second.group("n"))
                unit2, q_end2 = read_unit(text, second.end())
                if hi >= value:
                    out.append(Quantity("between", value, hi, unit2 or unit, m.start(), q_end2))
                    pos = q_end2
                    continue
            out.append(Quantity(op, value, None, unit, m.start(), q_end))
        elif m.group("list"):
            nums = [int(d) for d in re.findall(r"\d", m.group("list"))]
            out.append(Quantity("between", min(nums), max(nums), None, m.start(), m.end()))
        else:
            bare_end = m.end("bare") if m.group("bare") else m.end("a")
            value = parse_number(m.group("bare") or m.group("a"))
            unit, q_end = read_unit(text, bare_end)
            after = text[q_end:end]
            ge, le = _POST_GE.match(after), _POST_LE.match(after)
            op = ">=" if ge else "<=" if le else "="
            if ge or le:
                q_end += (ge or le).end()
            out.append(Quantity(op, value, None, unit, m.start(), q_end))
        pos = max(q_end, m.end())
    if (text.find("imes", start, end) >= 0 or text.find("wice", start, end) >= 0) and \
            (text.find("ULN", start, end) >= 0 or text.find("pper", start, end) >= 0):
        words = _words_times_uln(text, start, end)
        if words:
            out = sorted(out + words, key=lambda q: q.start)
    return out


_WORD_TIMES = {"twice": 2.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0, "eight": 8.0,
               "ten": 10.0, "one and a half": 1.5, "two and a half": 2.5}
# "greater than five times the upper limit of normal", "more than twice the ULN"
_WORDS_ULN = re.compile(
    r"\b(?P<n>one[\s-]and[\s-]a[\s-]half|two[\s-]and[\s-]a[\s-]half|twice|two|three|four|five|six|eight|ten)"
    r"(?:\s+times)?\s+(?:the\s+)?(?:institutional\s+|local\s+)?(?:ULN|upper\s+limits?\s+of\s+"
    r"(?:the\s+)?(?:institutional\s+)?normal(?:\s+range)?|upper\s+normal\s+limits?)\b", re.I)
_OP_BEFORE = re.compile(rf"(?:{_OP_RE.pattern})\s*$", re.I)


def _words_times_uln(text: str, start: int, end: int) -> list[Quantity]:
    out = []
    for m in _WORDS_ULN.finditer(text, start, end):
        word = re.sub(r"[\s-]+", " ", m.group("n").lower())
        if word != "twice" and not re.search(r"\btimes\b", m.group(), re.I):
            continue  # "two upper limits" is not a multiple
        op = _OP_BEFORE.search(text, max(start, m.start() - 40), m.start())
        op_m = _OP_RE.search(op.group()) if op else None
        out.append(Quantity(_op_of(op_m) if op_m else "=", _WORD_TIMES[word], None, "x ULN",
                            op.start() if op else m.start(), m.end()))
    return out


def _looks_like_range(m: re.Match) -> bool:
    """"18-75", "0 to 2" are ranges; "1.5 and 2" without "between" is not."""
    left = m.end("ua") if m.group("ua") else m.end("a")
    sep = m.string[left:m.start("b")]
    return bool(re.fullmatch(r"\s*(?:-|–|—|to|through)\s*", sep))
