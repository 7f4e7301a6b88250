"""Components: age limits (in years) and sex."""

from __future__ import annotations

import re

from models import Constraint

from .doc import Doc
from .measures import known_unit

_YEARS = {"year": 1.0, "yr": 1.0, "y": 1.0, "month": 1 / 12, "mo": 1 / 12, "week": 7 / 365.25,
          "wk": 7 / 365.25, "day": 1 / 365.25}
_TIME_UNIT = re.compile(r"(year|yr|y|month|mo|week|wk|day)s?\.?$", re.I)
# Words that make a number of years an age.
_AGE_BEFORE = re.compile(
    r"(?:(?:\bages?\b|\baged\b|\bage\s*:|\bage\s+(?:of|at|between|range|group)\b)[^.;]{0,25}$|"
    r"^\W*(?:(?:male|female|men|women|boys|girls|adults?|children|adolescents|patients?|participants?|"
    r"subjects?|volunteers?|individuals?|persons?|people|infants|neonates)\b[\s,/]*)+"
    r"(?:(?:and|or)\s+(?:male|female|men|women|boys|girls)\b\s*)?(?:,\s*)?(?:aged|age|of|between|from|who\s+are)?"
    r"\s*(?:[≥≤<>=/]\s*)*(?:over|under|above|below|at\s+least|older\s+than|younger\s+than)?\s*$)", re.I)
_OLDER = re.compile(r"\s*(?:of\s+age|old|of\s+age\s+or\s+|)\s*(?:or|and)\s+(?P<dir>older|over|above|more|greater|"
                    r"younger|under|below|less)\b", re.I)
_AGE_AFTER = re.compile(r"^\s*(?:of\s+age|old|-old|\s*years?\s+old|\(inclusive\))|^\s*(?:at|on)\s+(?:the\s+)?"
                        r"(?:time|day|date)\s+of\s+(?:signing|consent|screening|enrol)", re.I)
_ONLY_AGE = re.compile(r"^\W*(?:age\W*)?[≥≤<>=\s]*(?:over|under|above|below|at\s+least|from)?\s*\d", re.I)


_NOT_THE_PATIENTS_AGE = re.compile(r"\b(?:gestation(?:al)?|fetal|foetal|pregnancy|post-?menstrual)\s+age\b[^.;]{0,15}$",
                                   re.I)


def _years(value: float, unit: str) -> float:
    m = _TIME_UNIT.match(unit.strip())
    return round(value * _YEARS[m.group(1).lower()], 2)


def extract_age(doc: Doc) -> None:
    text = doc.text
    for q in doc.quantities:
        unit = q.unit or ""
        after = text[q.end:q.end + 40]
        if not unit and re.match(r"\s*(?:years?|yrs?)\b", after, re.I):
            unit = "years"
        if unit and not _TIME_UNIT.match(unit.strip()) and re.fullmatch(r"[a-z]+", unit) \
                and not known_unit(unit):
            unit = ""  # an ordinary word after the number ("18 and over")
        if not _TIME_UNIT.match(unit.strip()):
            # "Age 18-65", "aged ≥ 18" with the unit left out
            if not (unit == "" and re.search(r"\bage[ds]?\s*[:=]?\s*[^\w\s]{0,3}\s*(?:between|from|over|under)?\s*$",
                                             text[max(0, q.start - 20):q.start], re.I)):
                continue
            unit = "years"
        before = text[max(0, q.start - 60):q.start]
        if ("estation" in before or "etal" in before or "regnancy" in before or "enstrual" in before) and \
                _NOT_THE_PATIENTS_AGE.search(before):
            continue  # "gestational age < 23 weeks" is the pregnancy's age, not the patient's
        is_age = bool(_AGE_BEFORE.search(before) or _AGE_AFTER.match(text[q.end:]) or
                      (len(text) < 40 and _ONLY_AGE.match(text) and unit.lower().startswith("y")))
        if not is_age or (q.op == "=" and not re.search(r"\bage", before, re.I) and not _OLDER.match(text, q.end)):
            continue
        op = q.op
        older = _OLDER.match(text, q.end)
        if op == "=" and older:
            op = ">=" if older.group("dir").lower() in ("older", "over", "above", "more", "greater") else "<="
        lo = _years(q.value, q.unit_low if q.unit_low and _TIME_UNIT.match(q.unit_low) else unit)
        if not 0 <= lo <= 120:
            continue
        c = Constraint(type="age", op=op, value=lo, unit="years")
        if q.op == "between":
            c.value_max = _years(q.value_max, unit)
        doc.add(c, q.start, q.end)


_SEX_WORD = r"(?:males?|females?|men|women|boys|girls|man|woman)"
_SEX_SUBJECT = re.compile(
    rf"^\W*(?:(?:adult|healthy|post-?menopausal|pre-?menopausal|ambulatory|caucasian|asian|black)\s+)*"
    rf"(?P<first>{_SEX_WORD})(?:\s*(?:and|or|&|/)\s*(?P<second>(?:non-pregnant\s+|nonpregnant\s+)?{_SEX_WORD}))?"
    r"(?:\s+(?:patients?|subjects?|participants?|volunteers?|individuals?|adults?|only|sex|gender))?"
    r"(?P<tail>\s*$|\s*[,;.(]|\s+(?:aged?|between|from|over|under|of\s+age|\d|≥|>|who\s+(?:are|is)\s+\d|"
    r"with|diagnosed|must\s+be\s+\d|at\s+least|older|younger|\d+\s*(?:-|to)))", re.I)
_SEX_FIELD = re.compile(r"^\W*(?:sex|gender)\s*:\s*(?P<first>male|female|men|women)\b", re.I)
_NOT_A_SEX_RULE = re.compile(r"childbearing|child-bearing|reproductive|pregnan|lactat|breast-?feed|"
                             r"partner|contracept|fertile", re.I)


def _sex(word: str) -> str:
    w = word.lower()
    return "female" if w.startswith(("fem", "wom", "girl")) else "male"


def extract_sex(doc: Doc) -> None:
    m = _SEX_FIELD.match(doc.text) or _SEX_SUBJECT.match(doc.text)
    if not m:
        return
    sexes = {_sex(m.group("first"))}
    if "second" in m.groupdict() and m.group("second"):
        sexes.add(_sex(m.group("second").split()[-1]))
    if len(sexes) != 1:
        return  # "male or female": no restriction
    clause = doc.clause_after(0)
    if _NOT_A_SEX_RULE.search(clause[:m.end() + 40]):
        return
    doc.add(Constraint(type="sex", value_text=sexes.pop()), m.start("first"), m.end("first"))


_PREGNANT = re.compile(r"\b(?:pregnan(?:t|cy|cies)|gravid)\b", re.I)
_LACTATING = re.compile(r"\b(?:lactat(?:ing|ion)|breast[-\s]?feed(?:ing)?|breast[-\s]?fed|nursing)\b", re.I)
_CONTRACEPTION = re.compile(r"\b(?:contracepti(?:on|ve|ves)|birth\s+control|abstinen(?:ce|t))\b", re.I)
_NEGATIVE_TEST = re.compile(r"\bnegative\b[^.;]{0,40}\bpregnancy\s+test|\bpregnancy\s+test\b[^.;]{0,30}\bnegative\b|"
                            r"\bnon-?pregnant\b|\bnot\s+(?:be\s+)?pregnant\b|\bnon-?lactating\b", re.I)
_DURING_PREGNANCY = re.compile(r"\b(?:(?:course|beginning|start|end|rest|remainder|duration|time)\s+of|"
                               r"during|throughout)\s+(?:the|her|this)\s+$", re.I)
_PLANNING = re.compile(r"\b(?:plan(?:s|ning)?|intend(?:s|ing)?|wish(?:es|ing)?|desire)\b[^.;]{0,30}$", re.I)


_REPRODUCTIVE_HINTS = ("pregn", "gravid", "lactat", "breast", "nursing", "contracep", "birth control",
                       "abstinen", "menopaus")
# Menopausal status as who the patient is ("Premenopausal", "postmenopausal women"), not as a
# qualifier of a finding ("postmenopausal bleeding", "postmenopausal osteoporosis").
_MENOPAUSAL = re.compile(r"\b(?P<pre>pre|peri|post)[-\s]?menopausal\b(?=\s*(?:$|[,.;:(/]|and\b|or\b|"
                         r"(?:status|state|women|woman|females?|patients?|subjects?|participants?|volunteers?)\b))",
                         re.I)


def extract_reproductive(doc: Doc) -> None:
    text = doc.text
    low = text.lower()
    if not any(hint in low for hint in _REPRODUCTIVE_HINTS):
        return
    negative = _NEGATIVE_TEST.search(text)
    for pattern, value in ((_PREGNANT, "pregnant"), (_LACTATING, "lactating")):
        for m in pattern.finditer(text):
            if value == "pregnant" and _DURING_PREGNANCY.search(text[max(0, m.start() - 30):m.start()]):
                continue  # "during the pregnancy", "at the beginning of the pregnancy": when, not who
            if value == "pregnant" and re.match(r"\s*(?:test|prevention|potential)", text[m.end():], re.I):
                if not (negative and negative.start() <= m.start() <= negative.end()):
                    continue
            before = text[max(0, m.start() - 40):m.start()]
            if _PLANNING.search(before) and value == "pregnant":
                c = Constraint(type="reproductive", value_text="pregnant", timing="planned")
            else:
                neg = bool(negative and negative.start() <= m.start() < negative.end()) or bool(
                    re.search(r"\bnon[-\s]*$", before, re.I)) or doc.context_at(m.start(), m.end()).negated
                c = Constraint(type="reproductive", value_text=value, negated=neg)
            doc.add(c, m.start(), m.end())
            break
    drugs = [(d.start, d.end) for d in doc.mentions if d.type == "drug"]
    for m in _CONTRACEPTION.finditer(text):
        if any(s <= m.start() < e for s, e in drugs):
            continue  # "hormonal contraception", "oral contraceptives": a drug, read as a therapy
        doc.add(Constraint(type="reproductive", value_text="contraception",
                           negated=doc.context_at(m.start(), m.end()).negated), m.start(), m.end())
        break
    m = _MENOPAUSAL.search(text)
    if m and m.group("pre").lower() != "peri":
        doc.add(Constraint(type="reproductive", value_text="postmenopausal", negated=m.group("pre").lower() == "pre"),
                m.start(), m.end())


# "Healthy volunteers", "in good health": the trial takes people without disease. Not when the
# health is qualified ("in good health other than their asthma") or denied.
_HEALTHY = re.compile(
    r"^\W*(?:(?:adult|normal|male|female)\s+)?healthy\s+(?:adult\s+|male\s+|female\s+)?(?:volunteers?|subjects?|"
    r"individuals?|participants?|adults?|men|women|males?|females?|persons?|people|children)\b|"
    r"\b(?:in\s+good\s+(?:general\s+)?health|generally\s+healthy|healthy\s+as\s+(?:determined|judged|assessed))\b",
    re.I)
_HEALTH_QUALIFIED = re.compile(r"\b(?:other\s+than|except|apart\s+from|aside\s+from|besides|exception|not|no|"
                               r"without|otherwise|stable)\b", re.I)


def extract_healthy(doc: Doc) -> None:
    if doc.kind != "inclusion" or "health" not in doc.text.lower():
        return
    m = _HEALTHY.search(doc.text)
    if m and not _HEALTH_QUALIFIED.search(doc.text) and not doc.is_skipped(m.start()):
        doc.add(Constraint(type="healthy_volunteer"), m.start(), m.end())


# Race or ethnicity a criterion asks for ("Self-identifies as Black", "African American women"):
# no record field says it, so it is to confirm with the patient, never met by the rest of the
# criterion (its age, its sex).
_GROUP = (r"African[\s-]+Americans?|Black|Hispanic|Latin[oax]s?|Asians?(?:[\s-]+Americans?)?|Caucasians?|"
          r"Native\s+(?:Americans?|Hawaiians?)|American\s+Indians?|Alaska(?:n)?\s+Natives?|Pacific\s+Islanders?|"
          r"non-Hispanic\s+White|White|Chinese|Japanese|Korean|Filipinos?|Indigenous|Aboriginal|Arab")
_ETHNICITY = re.compile(
    rf"\bself[\s-]*identif\w*\s+(?:themselves\s+|himself\s+|herself\s+)?as\s+(?:an?\s+|being\s+)?(?P<said>[^.;,()]+)|"
    rf"\b(?P<group>{_GROUP})\s+(?:men|women|males?|females?|adults?|participants?|subjects?|patients?|individuals?|"
    rf"people|persons?|volunteers?|youths?|adolescents?|children|girls|boys|descent|ancestry|origin|race|ethnicity)\b|"
    rf"\b(?:race|ethnicity|ethnic\s+group)\s*(?::|of|as|is|must\s+be)\s+(?P<named>{_GROUP})\b", re.I)
_ANY_RACE = re.compile(r"\b(?:any|all|every)\s+(?:races?|ethnicit\w+)|regardless\s+of\s+(?:race|ethnicity)", re.I)
# Cheap test first (substrings are ~5x faster than one case-blind pattern of them).
_ETHNICITY_HINTS = ("identif", "americ", "black", "hispanic", "latin", "asian", "caucasian", "native", "islander",
                    "white", "chinese", "japanese", "korean", "filipin", "indigenous", "aboriginal", "arab", "race", "ethnic")


def extract_ethnicity(doc: Doc) -> None:
    low = doc.text.lower()
    if not any(hint in low for hint in _ETHNICITY_HINTS) or _ANY_RACE.search(doc.text):
        return
    m = _ETHNICITY.search(doc.text)
    if m:
        said = (m.group("said") or m.group("group") or m.group("named")).strip()
        doc.add(Constraint(type="ethnicity", value_text=said), m.start(), m.end())
