"""Component: the category of a criterion (``models.criteria.CATEGORIES``).

The constraints read from a criterion decide first; without any, keyword rules do."""

from __future__ import annotations

import re
from functools import lru_cache

from .doc import Doc

_SCORES = {"ecog", "karnofsky"}
# Order of precedence when a criterion states several kinds of constraint.
_PRECEDENCE = ("age", "sex", "performance_status", "measurement", "reproductive", "therapy",
               "procedure", "condition")
_RULES = [
    ("administrative", re.compile(
        r"\b(?:consent(?:s|ed|ing)?\b|informed\s+consent|consent\s+form|written\s+consent|sign(?:ed|s)?\b|willing|willingness|"
        r"able\s+to\s+(?:understand|comply|read|follow|communicate|attend|give)|comply|compliance|"
        r"complian|protocol[-\s]defined|investigator'?s?\s+(?:opinion|judg)|in\s+the\s+(?:opinion|judg)|"
        r"participat\w+\s+in\s+(?:another|other|any)|enrolled\s+in\s+(?:another|other)|"
        r"other\s+clinical\s+(?:trial|study)|legally\s+(?:authorized|acceptable)|language|"
        r"follow[-\s]up\s+visits|study\s+(?:visits|procedures|requirements)|employee|"
        r"criteria\s+(?:may|will)\s+apply|geographic|travel|reside|residence|available\s+for|"
        r"insurance|incarcerat|prisoner|unable\s+to\s+(?:provide|give|consent|comply))", re.I)),
    ("reproductive", re.compile(r"pregnan|lactat|breast[-\s]?feed|nursing|contracept|childbearing|"
                                r"child-bearing|birth\s+control|fertil|menopaus|sterili|reproductive", re.I)),
    ("performance_status", re.compile(r"\becog\b|karnofsky|performance\s+(?:status|score)|lansky|"
                                      r"zubrod|\bkps\b|\bwho\s+ps\b", re.I)),
    ("age", re.compile(r"\bage[ds]?\b|years?\s+old|year-old|\badults?\b|\bchildren\b|pediatric|paediatric", re.I)),
    ("sex", re.compile(r"^\W*(?:males?|females?|men|women)\W*$|\bgender\b|\bsex\b", re.I)),
    ("measurement", re.compile(r"laborator|haematolog|hematolog|\brenal\s+function|hepatic\s+function|"
                               r"liver\s+function|organ\s+function|marrow\s+function|\bcounts?\b|"
                               r"\blevels?\b|\bvalues?\b|blood\s+pressure|\bqtc?\b|ejection\s+fraction|"
                               r"life\s+expectancy|\bbmi\b|body\s+mass|weight|\bscore\b|\bmmhg\b", re.I)),
    ("therapy", re.compile(r"\btherap|\btreat|\bmedicat|\bdrugs?\b|chemotherap|vaccin|\bdose|\bagents?\b|"
                           r"inhibitor|antibod|\bregimen|\buse\s+of\b|\breceiv|\btaking\b", re.I)),
    ("procedure", re.compile(r"surg|transplant|resect|\w+ectomy\b|\w+otomy\b|\w+plasty\b|procedure|"
                             r"biopsy|transfus|dialysis|radiation|radiotherap|implant|catheter|"
                             r"ventilat|intubat", re.I)),
    ("condition", re.compile(r"diseas|disorder|syndrome|infect|diagnos|history\s+of|cancer|tumou?r|"
                             r"malignan|carcinom|lymphoma|leukemia|failure|insufficien|dysfunction|"
                             r"illness|condition|abnormalit|lesion|metasta|hepatitis|\bhiv\b|stroke|"
                             r"seizure|depress|psychiatr|allerg|hypersensitiv|injur|pain|positive|"
                             r"impairment|stage\b|grade\b|histolog|cytolog|confirmed", re.I)),
]


# The categories single words point to (cached by word); keywords of several words are looked
# for in one pass of a combined pattern over the start of the text. Precedence picks one.
# What a criterion is about shows in its first words.
_KEYWORD_SPAN = 300
_KEYWORD_TOKENS = 60


@lru_cache(maxsize=100_000)
def _word_categories(word: str) -> frozenset[str]:
    return frozenset(name for name, pattern in _RULES if pattern.search(word))
_ALL_RULES = re.compile("|".join(f"(?P<{name}>{p.pattern})" for name, p in _RULES), re.I)


def _category_of(constraint) -> str:
    if constraint.type == "measurement":
        return "performance_status" if constraint.measure in _SCORES else "measurement"
    return constraint.type


def _states_no_rule(doc: Doc) -> bool:
    """Every sentence of the criterion was found to state no requirement ("… are allowed")."""
    covered = sum(end - start for start, end in doc.skipped)
    return bool(doc.skipped) and not doc.found and covered >= len(doc.text.strip()) * 0.9


# "Participants must be willing to have tumor biopsies": what the patient will do is asked at
# screening, whatever the sentence names after it.
_WILLING_LEAD = re.compile(r"^\W*(?:(?:patients?|participants?|subjects?)\s+)?(?:must\s+be\s+|should\s+be\s+|is\s+|are\s+|be\s+)?"
                           r"(?:willing|agrees?|agreeing)\s+to\b", re.I)


def classify(doc: Doc) -> None:
    if _states_no_rule(doc):
        doc.category = "informational"
        return
    if _WILLING_LEAD.match(doc.text) and not any(f.constraint.type == "reproductive" for f in doc.found):
        doc.category = "administrative"  # contraception keeps its own rule: not for who cannot conceive
        return
    kinds = {_category_of(f.constraint) for f in doc.found
             if not (f.constraint.type == "measurement" and f.constraint.timing == "prior")}
    if not kinds:
        kinds = {_category_of(f.constraint) for f in doc.found}
    for category in _PRECEDENCE:
        if category in kinds:
            doc.category = category
            return
    named: set[str] = set()
    for word, _, _ in doc.tokens[:_KEYWORD_TOKENS]:
        named |= _word_categories(word.lower())
    if not named:  # keywords of several words ("able to understand", "history of")
        named = {m.lastgroup for m in _ALL_RULES.finditer(doc.text, 0, _KEYWORD_SPAN)}
    for category, _ in _RULES:
        if category in named:
            doc.category = category
            return
    if re.search(r"\b(?:within|during|in\s+the\s+(?:last|past))\s+\d+\s+(?:days?|weeks?|months?|years?)",
                 doc.text, re.I):
        doc.category = "time_window"
        return
    kinds_mentioned = {m.type for m in doc.mentions}
    for mention_type, category in (("drug", "therapy"), ("procedure", "procedure"),
                                   ("condition", "condition"), ("measure", "measurement")):
        if mention_type in kinds_mentioned:
            doc.category = category
            return
    doc.category = "other"
