"""Qualifiers of a diagnosis, as clinicians write them around it: stage ("stage IV",
"metastatic", "locally advanced"), receptor and biomarker status ("HER2-positive", "ER+/PR-",
"triple-negative", "EGFR-mutant", "MSI-H", "KRAS wild-type"), course ("relapsed or refractory",
"newly diagnosed"), severity ("moderate to severe"), control ("poorly controlled"), genotype
("genotype 1a") and line of therapy ("second-line").

A reading is a tuple of ``(axis, values)`` pairs, ``values`` a frozenset: several values are
alternatives ("locally advanced or metastatic" → stage {III, IV}). ``compare`` says whether a
patient's qualifier satisfies a criterion's: True, False, or None when it cannot tell.
Stage, biomarkers, course, severity and genotype decide; line of therapy is shown only.
"""

from __future__ import annotations

import re
from functools import lru_cache

from models import Constraint

Qualifiers = tuple[tuple[str, frozenset[str]], ...]

# Biomarkers: the name written → the axis. Short names that are also ordinary words or other
# abbreviations (ER, PR, HR, MET, RET, KIT) count only with a status beside them.
_MARKERS = {
    "her2": "HER2", "her-2": "HER2", "her2/neu": "HER2", "erbb2": "HER2", "her2neu": "HER2",
    "er": "ER", "estrogen receptor": "ER", "oestrogen receptor": "ER", "estrogen-receptor": "ER",
    "pr": "PR", "pgr": "PR", "progesterone receptor": "PR", "progesterone-receptor": "PR",
    "hr": "HR", "hormone receptor": "HR", "hormone-receptor": "HR",
    "egfr": "EGFR", "alk": "ALK", "ros1": "ROS1", "ros-1": "ROS1", "kras": "KRAS", "nras": "NRAS",
    "ras": "RAS", "braf": "BRAF", "pd-l1": "PD-L1", "pdl1": "PD-L1", "pd-l-1": "PD-L1", "msi": "MSI",
    "flt3": "FLT3", "flt-3": "FLT3", "npm1": "NPM1", "idh1": "IDH1", "idh2": "IDH2", "idh": "IDH",
    "brca": "BRCA", "brca1": "BRCA1", "brca2": "BRCA2", "brca1/2": "BRCA", "ntrk": "NTRK", "met": "MET",
    "ret": "RET", "pik3ca": "PIK3CA", "esr1": "ESR1", "kit": "KIT", "c-kit": "KIT", "jak2": "JAK2",
    "bcr-abl": "BCR-ABL", "bcr-abl1": "BCR-ABL", "tp53": "TP53", "p53": "TP53", "hpv": "HPV", "p16": "p16",
    "cd20": "CD20", "cd30": "CD30", "cd33": "CD33", "philadelphia chromosome": "BCR-ABL", "ph": "BCR-ABL",
    "hla-b27": "HLA-B27", "hbeag": "HBeAg", "fgfr2": "FGFR2", "fgfr3": "FGFR3", "her3": "HER3",
}
_NEEDS_SIGN = {"er", "pr", "hr", "met", "ret", "kit", "ph", "ras", "idh"}
_MARKER = "|".join(sorted((re.escape(k).replace(r"\-", "[- ]?").replace(r"\ ", "[- ]") for k in _MARKERS),
                          key=len, reverse=True))
# A status: written after the marker ("HER2-positive", "EGFR mutation", "ER+", "HER2 3+").
_STATUS = (r"(?:positive|pos\b|negative|neg\b|mutat\w*|mutant|mutations?|amplifi\w*|amplified|overexpress\w*|"
           r"wild[- ]?type|wt\b|low\b|high\b|rearrange\w*|fusions?|alteration|altered|expressing|"
           r"deficient|proficient|ITD\b|TKD\b|status\s+(?:is\s+)?(?:positive|negative)|"
           r"[0-3]\s*\+|\+(?!\w)|[-−–](?![\w])|\((?:\+|[-−–])\))")
_MARKER_STATUS = re.compile(
    rf"(?<![\w-])(?P<markers>(?:(?:{_MARKER})\s*(?:[+\-−–])?\s*(?:/|,\s*|\s+(?:and|or)\s+)\s*)*(?:{_MARKER}))"
    rf"(?:\s*[-:]?\s*|\s+(?:gene\s+|receptor\s+)?(?:is\s+)?)(?P<status>{_STATUS})", re.I)
_STATUS_FIRST = re.compile(rf"\b(?P<status>positive|negative|mutated|mutant|amplified)\s+(?:for\s+)?(?P<markers>{_MARKER})\b", re.I)
_EACH_MARKER = re.compile(rf"(?<![\w-])(?P<marker>{_MARKER})\s*(?P<sign>[+\-−–](?![\w]))?", re.I)
_TRIPLE_NEGATIVE = re.compile(r"\btriple[- ]?negative\b|\bTNBC\b", re.I)
_MSI = re.compile(r"\b(?:MSI[- ]?H(?:igh)?|dMMR|mismatch[- ]repair[- ]deficien\w*|(?P<neg>MSS|pMMR|microsatellite[- ]stable|"
                  r"mismatch[- ]repair[- ]proficien\w*))\b", re.I)

_STAGE = re.compile(r"\bstage\s*(?P<n>IV|I{1,3}|[1-4])\s*(?:[A-C]\d?\b)?|\b(?P<meta>metasta(?:tic|ses|sis|sized)|mets\b|"
                    r"stage\s+IV|disseminated)|\b(?P<la>locally[- ]advanced)|\b(?P<adv>advanced)\b|"
                    r"\b(?P<early>early(?:[- ]stage)?(?![- ]onset)|localized|localised|non-?metastatic)\b", re.I)
# TNM categories ("cT1a/b", "pN0", "ypT2", "T2N0M0"): a distant metastasis (M1) is stage IV, none
# (M0) is stage I–III; a tumour or node category is a qualifier of its own, which a record giving a
# stage alone cannot decide. A bare "T2" needs a prefix or a partner ("T2 lesions" are MRI's).
_TNM = re.compile(r"(?<![\w/])(?:(?:yp|[cpy])?(?P<t>T(?:[0-4]|is|x))[a-d]?\s*(?P<n>N[0-3x])[a-c]?(?:\s*(?P<m>M[01x]))?|"
                  r"(?:yp|[cpy])(?P<cat>[TNM])(?P<v>[0-4]|is|x)[a-d]?(?:\s*/\s*[a-d]|\s*-\s*[0-4])?)(?![\w])")
# Histologic subtypes written beside an organ's cancer ("medullary thyroid carcinoma", "papillary
# renal cell carcinoma"): a cancer of another subtype is not it, one of unstated subtype may be.
_HISTOLOGY = re.compile(r"\b(?P<h>medullary|papillary|follicular|anaplastic|lobular|ductal|mucinous|serous|clear[- ]cell|"
                        r"endometrioid|squamous(?:[- ]cell)?|small[- ]cell|non[- ]small[- ]cell|adenoid[- ]cystic|"
                        r"signet[- ]ring|chromophobe|sarcomatoid|urothelial|transitional[- ]cell)\b"
                        r"(?=[\w\s,-]{0,40}?\b(?:cancer|carcinoma|adenocarcinoma|neoplasm|tumou?r|malignancy)s?\b)", re.I)
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV", "I": "I", "II": "II", "III": "III", "IV": "IV"}
_COURSE = re.compile(r"\b(?P<v>relapsed|relapsing|refractory|recurrent|recurring|recurrence|newly[- ]diagnosed|"
                     r"treatment[- ]na[iï]ve|untreated|in\s+(?:complete\s+)?remission|progressive|progressing)\b", re.I)
_COURSE_VALUES = {"relapsed": "relapsed", "relapsing": "relapsed", "recurrent": "relapsed", "recurring": "relapsed",
                  "recurrence": "relapsed", "refractory": "refractory", "newly diagnosed": "newly diagnosed",
                  "treatment naive": "newly diagnosed", "treatment naïve": "newly diagnosed", "untreated": "newly diagnosed",
                  "in remission": "remission", "in complete remission": "remission", "progressive": "progressive",
                  "progressing": "progressive"}
_SEVERITY = re.compile(r"\b(?P<v>mild|moderate|severe)(?:ly)?\b(?:\s*(?:to|-|or|/)\s*(?P<w>moderate|severe))?", re.I)
_CONTROL = re.compile(r"\b(?P<bad>uncontrolled|poorly[- ]controlled|not\s+(?:well\s+)?controlled|inadequately[- ]controlled|"
                      r"suboptimally[- ]controlled)|(?P<good>well[- ]controlled|(?<!un)controlled)\b", re.I)
_GENOTYPE = re.compile(r"\b(?:genotype|GT)\s*(?P<g>[1-7][a-e]?)\b", re.I)
_LINE = re.compile(r"\b(?P<n>first|second|third|fourth|1st|2nd|3rd|4th)[- ]line\b", re.I)
# A cheap test before the patterns above.
_ANY = re.compile(r"medullary|papillary|follicular|anaplastic|lobular|ductal|mucinous|serous|clear|endometrioid|"
                  r"squamous|small|adenoid|signet|chromophobe|sarcomatoid|urothelial|transitional|\b(?:yp|[cpy])?[TNM](?:[0-4]|is)|stage|metasta|mets\b|advanced|early|locali[sz]ed|positive|negative|\+|mutat|mutant|wild|amplif|"
                  r"overexpress|MSI|MSS|MMR|relaps|refractory|recurr|newly|na[iï]ve|untreated|remission|progress|"
                  r"mild|moderate|severe|controlled|genotype|\bGT\s*\d|line\b|low\b|high\b|rearrang|fusion|alter", re.I)

_ANY_DECIDING = re.compile(r"medullary|papillary|follicular|anaplastic|lobular|ductal|mucinous|serous|clear|"
                           r"endometrioid|squamous|small|adenoid|signet|chromophobe|sarcomatoid|urothelial|transitional|\b(?:yp|[cpy])?[TNM](?:[0-4]|is)|stage|metasta|mets\b|advanced|early|locali[sz]ed|positive|negative|\w\s*\+|[+\-−–]\s*/|"
                           r"mutat|mutant|wild|amplif|overexpress|MSI|MSS|MMR|relaps|refractory|recurr|newly|na[iï]ve|"
                           r"untreated|remission|progress|genotype|\bGT\s*\d|\blow\b|\bhigh\b|rearrang|fusion|ITD|TKD", re.I)
_POSITIVE_WORDS = ("itd", "tkd", "pos", "mutat", "mutant", "amplif", "overexpress", "rearrang", "fusion", "alter", "express", "deficient")


def _status_value(status: str, axis: str) -> str:
    s = status.lower().strip("() ")
    if re.fullmatch(r"[1-3]\s*\+", s):
        return {"1": "low", "2": "equivocal", "3": "positive"}[s[0]] if axis == "HER2" else "positive"
    if s.startswith("status"):
        s = s.split()[-1]
    if s in ("+",) or s.startswith(_POSITIVE_WORDS) or s == "high":
        return "positive"
    if s == "low":
        return "low"
    if s.startswith("proficient"):
        return "negative"
    return "negative"  # negative, neg, -, wild-type, wt


def _add(found: dict[str, set[str]], axis: str, value: str) -> None:
    found.setdefault(axis, set()).add(value)


def _marker_axis(written: str) -> tuple[str, str] | None:
    """(lexicon key, axis) of a marker as written ("HER-2", "estrogen receptor")."""
    name = re.sub(r"\s+", " ", written.lower())
    for key in (name, name.replace(" ", "-"), name.replace("-", " "), name.replace("-", "").replace(" ", "")):
        if key in _MARKERS:
            return key, _MARKERS[key]
    return None


_SIGN_LIKE = re.compile(r"(?i)[+\-−–(]|pos|neg|mutat|mutant|amplif|[0-3]\s*\+|status")


def _markers(text: str, found: dict[str, set[str]]) -> list[tuple[int, int]]:
    spans = []
    for m in _MARKER_STATUS.finditer(text):
        status = m.group("status")
        for each in _EACH_MARKER.finditer(m.group("markers")):
            known = _marker_axis(each.group("marker"))
            if known is None:
                continue
            key, axis = known
            own = each.group("sign") or status  # "ER+/PR-/HER2-negative": a sign of its own, else the status
            if key in _NEEDS_SIGN and not _SIGN_LIKE.match(own):
                continue  # "ER visit", "HR high": not a receptor status
            _add(found, axis, _status_value(own, axis))
        spans.append(m.span())
    for m in _STATUS_FIRST.finditer(text):
        known = _marker_axis(m.group("markers"))
        if known:
            _add(found, known[1], _status_value(m.group("status"), known[1]))
            spans.append(m.span())
    for m in _TRIPLE_NEGATIVE.finditer(text):
        for axis in ("ER", "PR", "HER2"):
            _add(found, axis, "negative")
        spans.append(m.span())
    for m in _MSI.finditer(text):
        _add(found, "MSI", "negative" if m.group("neg") else "positive")
        spans.append(m.span())
    return spans


def find_qualifiers(text: str, everything: bool = True) -> tuple[Qualifiers, list[tuple[int, int]]]:
    """The qualifiers written in ``text``, and the character spans they were read from
    (without ``everything``, only those that decide a criterion's condition)."""
    if not text or not (_ANY if everything else _ANY_DECIDING).search(text):
        return (), []
    found: dict[str, set[str]] = {}
    spans = _markers(text, found)
    for m in _STAGE.finditer(text):
        if m.group("n"):
            _add(found, "stage", _ROMAN[m.group("n").upper()])
        elif m.group("meta"):
            if re.search(r"\b(?:no|without|non)[\s-]*$", text[:m.start()], re.I):
                continue
            _add(found, "stage", "IV")
        elif m.group("la"):
            _add(found, "stage", "III")
        elif m.group("adv"):
            found.setdefault("stage", set()).update(("III", "IV"))
        elif m.group("early").lower().startswith("non"):
            found.setdefault("stage", set()).update(("I", "II", "III"))
        else:
            found.setdefault("stage", set()).update(("I", "II"))
        spans.append(m.span())
    for m in _TNM.finditer(text):
        categories = [m.group("cat") + m.group("v")] if m.group("cat") else \
            [g for g in (m.group("t"), m.group("n"), m.group("m")) if g]
        for value in categories:
            if value[0] == "M":
                if value[1] != "x":
                    found.setdefault("stage", set()).update(("IV",) if value == "M1" else ("I", "II", "III"))
            elif value[1] != "x":
                _add(found, "TNM", value)
        spans.append(m.span())
    for m in _HISTOLOGY.finditer(text):
        value = re.sub(r"[\s-]+", "-", m.group("h").lower())
        _add(found, "histology", "squamous" if value == "squamous-cell" else value)
        spans.append(m.span())
    for m in _COURSE.finditer(text):
        _add(found, "course", _COURSE_VALUES[re.sub(r"[\s-]+", " ", m.group("v").lower())])
        spans.append(m.span())
    if not everything:
        for m in _GENOTYPE.finditer(text):
            _add(found, "genotype", m.group("g").lower())
        return tuple(sorted((axis, frozenset(values)) for axis, values in found.items())), spans
    for m in _SEVERITY.finditer(text):
        _add(found, "severity", m.group("v").lower())
        if m.group("w"):
            _add(found, "severity", m.group("w").lower())
            if m.group("v").lower() == "mild" and m.group("w").lower() == "severe":
                _add(found, "severity", "moderate")
        spans.append(m.span())
    for m in _CONTROL.finditer(text):
        _add(found, "control", "uncontrolled" if m.group("bad") else "controlled")
        spans.append(m.span())
    for m in _GENOTYPE.finditer(text):
        _add(found, "genotype", m.group("g").lower())
        spans.append(m.span())
    for m in _LINE.finditer(text):
        _add(found, "line", {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth"}.get(
            m.group("n").lower(), m.group("n").lower()))
        spans.append(m.span())
    return tuple(sorted((axis, frozenset(values)) for axis, values in found.items())), spans


@lru_cache(maxsize=65536)
def qualifiers_of(text: str, everything: bool = True) -> Qualifiers:
    return find_qualifiers(text, everything)[0]


def merge(*readings: Qualifiers) -> Qualifiers:
    out: dict[str, set[str]] = {}
    for reading in readings:
        for axis, values in reading:
            out.setdefault(axis, set()).update(values)
    return tuple(sorted((axis, frozenset(values)) for axis, values in out.items()))


# Axes whose values decide a criterion; the line of therapy is only shown.
DECIDING = ("stage", "TNM", "histology", "course", "severity", "genotype", "HER2", "ER", "PR", "HR", "EGFR", "ALK", "ROS1", "KRAS",
            "NRAS", "RAS", "BRAF", "PD-L1", "MSI", "FLT3", "NPM1", "IDH1", "IDH2", "IDH", "BRCA", "BRCA1", "BRCA2",
            "NTRK", "MET", "RET", "PIK3CA", "ESR1", "KIT", "JAK2", "BCR-ABL", "TP53", "HPV", "p16", "CD20", "CD30",
            "CD33", "HLA-B27", "HBeAg", "FGFR2", "FGFR3", "HER3")


def _value_of(patient: Qualifiers, axis: str) -> frozenset[str] | None:
    found = dict(patient)
    if axis in found:
        return found[axis]
    if axis == "HR" and ("ER" in found or "PR" in found):  # hormone receptor: ER or PR
        values = found.get("ER", frozenset()) | found.get("PR", frozenset())
        return frozenset({"positive"}) if "positive" in values else values
    if axis in ("BRCA", "IDH", "RAS"):
        members = [found[a] for a in found if a.startswith(axis) and a != axis]
        return frozenset().union(*members) if members else None
    return None


def _holds(have: frozenset[str], wanted: frozenset[str], axis: str) -> bool | None:
    if axis == "TNM":  # alternatives within a category (T1 or T2), every category asked must hold
        verdicts = []
        for category in sorted({w[0] for w in wanted}):
            mine = {h for h in have if h[0] == category}
            verdicts.append(None if not mine else mine <= {w for w in wanted if w[0] == category})
        return False if False in verdicts else None if None in verdicts else True
    if have <= wanted:
        return True
    if axis == "genotype":  # genotype 1a is a genotype 1; a genotype 1 may or may not be 1a
        if all(any(h.startswith(w) for w in wanted) for h in have):
            return True
        return None if any(w.startswith(h) for w in wanted for h in have) else False
    if axis == "HER2" and "negative" in wanted and have <= {"low", "negative"}:
        return True  # HER2-low is HER2-negative by the old rule
    if axis == "course" and have & wanted:
        return None
    if have & wanted or "equivocal" in have | wanted:
        return None
    if axis == "course" and not ({"newly diagnosed"} & (have | wanted)):
        return None  # relapsed and refractory can both hold; one said does not deny the other
    if axis == "severity" and len(have) > 1:
        return None
    return False


def compare(patient: Qualifiers, wanted: Qualifiers) -> tuple[bool | None, str]:
    """Whether the patient's qualifiers satisfy the criterion's: (truth, the reason in words)."""
    missing = []
    for axis, values in wanted:
        if axis not in DECIDING:
            continue
        have = _value_of(patient, axis)
        if have is None:
            missing.append(describe(((axis, values),)))
            continue
        holds = _holds(have, values, axis)
        if holds is False:
            return False, f"{describe(((axis, have),))}, not {describe(((axis, values),))}"
        if holds is None:
            missing.append(describe(((axis, values),)))
    if missing:
        return None, "confirm whether " + ", ".join(missing)
    return True, describe(tuple((a, v) for a, v in wanted if a in DECIDING))


_ORDER = ("I", "II", "III", "IV", "mild", "moderate", "severe")


def describe(qualifiers: Qualifiers) -> str:
    """"HER2 positive, stage IV" — for reasons and for the patient summary."""
    parts = []
    for axis, values in qualifiers:
        shown = " or ".join(sorted(values, key=lambda v: (_ORDER.index(v) if v in _ORDER else 9, v)))
        if axis == "stage":
            parts.append(f"stage {shown}")
        elif axis == "TNM":
            parts.append(" ".join(sorted(values, key=lambda v: ("TNM".index(v[0]), v))))
        elif axis in ("course", "severity", "control"):
            parts.append(shown)
        elif axis == "line":
            parts.append(f"{shown} line")
        elif axis == "genotype":
            parts.append(f"genotype {shown}")
        else:
            parts.append(f"{axis} {shown}")
    return ", ".join(parts)


def to_text(qualifiers: Qualifiers) -> str | None:
    """The stored form: ``HER2=positive; stage=III|IV``."""
    return "; ".join(f"{axis}={'|'.join(sorted(values))}" for axis, values in qualifiers) or None


@lru_cache(maxsize=16384)
def from_text(text: str | None) -> Qualifiers:
    if not text:
        return ()
    out = []
    for part in text.split(";"):
        axis, _, values = part.strip().partition("=")
        if axis and values:
            out.append((axis, frozenset(values.split("|"))))
    return tuple(sorted(out))


# ---------------------------------------------------------------------------- criteria

# Qualifiers that belong to a criterion's condition: stage, biomarkers, course, genotype
# (severity and control are the condition constraint's ``value_text``).
_CRITERION_AXES = frozenset(DECIDING) - {"severity"}
_CLAUSE_END = re.compile(r"[.;:]|\b(?:and|or)\s+(?:no|not|without|patients?|subjects?)\b", re.I)


def _window(text: str, start: int, end: int, before_limit: int, after_limit: int) -> str:
    before = text[max(before_limit, start - 60):start]
    cut = list(_CLAUSE_END.finditer(before))
    if cut:
        before = before[cut[-1].end():]
    after = text[end:min(after_limit, end + 60)]
    stop = _CLAUSE_END.search(after)
    return before + text[start:end] + (after[:stop.start()] if stop else after)


def attach_qualifiers(doc) -> None:
    """Pipeline component: the stage, receptor status, course and genotype written around each
    condition of a criterion ("HER2-negative, hormone receptor-positive breast cancer",
    "NSCLC with an EGFR mutation"); a criterion naming qualifiers but no disease ("HER2-negative
    disease") gets a condition constraint without a name that asks them of the patient's."""
    text = doc.text
    if not _ANY_DECIDING.search(text):
        return
    conditions = sorted((f for f in doc.found if f.constraint.type == "condition"), key=lambda f: f.start)
    for i, f in enumerate(conditions):
        before_limit = conditions[i - 1].end if i else 0
        after_limit = conditions[i + 1].start if i + 1 < len(conditions) else len(text)
        found = tuple((a, v) for a, v in qualifiers_of(_window(text, f.start, f.end, before_limit, after_limit), False)
                      if a in _CRITERION_AXES)
        implied_here = qualifiers_of(text[f.start:f.end], False)  # "triple-negative breast cancer" is its concept already
        found = tuple(q for q in found if q not in implied_here or f.constraint.name is None)
        if found:
            f.constraint.qualifiers = to_text(merge(from_text(f.constraint.qualifiers), found))
    if conditions:
        return
    found, spans = find_qualifiers(text, False)
    markers = tuple((a, v) for a, v in found if a in _CRITERION_AXES and a not in ("stage", "course", "line"))
    if markers and spans:
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        doc.add(Constraint(type="condition", qualifiers=to_text(markers), negated=doc.context_at(start, end).negated),
                start, end)
