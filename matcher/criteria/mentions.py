"""Component: find lexicon phrases (measures, drugs and drug classes, conditions, procedures)
in a criterion, longest first, resolving overlaps and elided heads ("platelet or whole blood
transfusion" → platelet transfusion + blood transfusion; "hepatitis B or C")."""

from __future__ import annotations

import re
from functools import lru_cache

from .conditions import conditions, procedures
from .doc import Doc, Mention
from .drugs import drug_matcher
from .lexicon import PhraseMatcher
from .measures import name_matcher

_CONNECTORS = {"or", "and", ",", "/", "nor"}
# Lower number wins a tie between mentions of the same length.
_PRIORITY = {"procedure": 0, "measure": 1, "drug": 2, "condition": 3}


def _matchers() -> list[tuple[str, PhraseMatcher]]:
    return [("measure", name_matcher()), ("drug", drug_matcher()),
            ("condition", conditions().matcher), ("procedure", procedures().matcher)]


@lru_cache(maxsize=1)
def _combined() -> tuple[PhraseMatcher, dict[str, PhraseMatcher]]:
    """All four lexicons in one matcher (payload: (kind, payload)), for a single pass."""
    combined = PhraseMatcher()
    for kind, matcher in _matchers():
        combined.merge(matcher, kind)
    return combined, dict(_matchers())


def _kind(payload) -> str:
    return payload[0]


def lexicon_mentions(text: str) -> list[Mention]:
    """Measures, drugs and drug classes, conditions and procedures named in ``text``, left to
    right, longest first (``Mention.type``: measure / drug / condition / procedure; ``payload``:
    ``MeasureInfo``, ``DrugMention`` or ``ConditionInfo``)."""
    doc = Doc.from_text(text)
    find_mentions(doc)
    return doc.mentions


def find_mentions(doc: Doc) -> None:
    """Component: ``doc.mentions`` from the lexicons."""
    toks = doc.tokens
    words = [t for t, _, _ in toks]
    lowered = [w.lower() for w in words]
    combined, by_kind = _combined()
    candidates: list[tuple[int, int, str, object]] = []  # token start, end, type, payload
    next_free = {kind: 0 for kind in by_kind}  # matches of one lexicon do not overlap
    for i in range(len(words)):
        for kind, (end, (_, payload)) in combined.longest_by_kind(words, lowered, i, _kind).items():
            if i < next_free[kind]:
                continue
            next_free[kind] = end
            candidates.append((i, end, kind, payload))
            candidates.extend(_elided(by_kind[kind], kind, words, lowered, i, end))
    candidates.sort(key=lambda c: (-(c[1] - c[0]), _PRIORITY[c[2]], c[0]))
    taken = [False] * len(toks)
    chosen = []
    for s, e, kind, payload in candidates:
        if any(taken[s:e]):
            continue
        for i in range(s, e):
            taken[i] = True
        chosen.append(Mention(kind, toks[s][1], toks[e - 1][2], payload))
    chosen.sort(key=lambda m: m.start)
    text = doc.text
    doc.mentions = [m for m in chosen if not _other_sense(text, m)]


# An abbreviation takes the sense its context gives: after "by"/"using" it names a method ("HER2
# 3+ by ICH": immunohistochemistry, not intracranial hemorrhage); before "score", "staining",
# "criteria" a scale or a test ("ASA score > 2": the anaesthesiologists' physical status, not
# aspirin; "ICHD-III criteria").
_METHOD_BEFORE = re.compile(r"\b(?:by|via|using|per|with\s+(?:an?\s+)?(?:positive|negative)|according\s+to|"
                            r"in\s+accordance\s+with|compliant\s+with|following)\s*$", re.I)
# ... and before another body's name or a guideline code it is an institution ("according to
# ICH/EU/GCP", "ICH-GCP", "ICH E6"): the International Council for Harmonisation.
_SCALE_AFTER = re.compile(r"[\s-]*(?:physical\s+status|score|class(?:ification)?|grade|scale|stain(?:ing)?|assay|"
                          r"criteria|guidelines?)\b|\s*[/-]\s*(?:GCP|EU|FDA|EMA|WHO)\b|\s+(?:GCP|E6)\b", re.I)


def _other_sense(text: str, m: Mention) -> bool:
    if m.type not in ("drug", "condition"):
        return False
    word = text[m.start:m.end]
    if not (word.isupper() and word.isalpha() and len(word) <= 6):
        return False
    if m.type == "condition" and _METHOD_BEFORE.search(text, max(0, m.start - 30), m.start):
        return True
    return bool(_SCALE_AFTER.match(text, m.end))


def _elided(matcher: PhraseMatcher, kind: str, words: list[str], lowered: list[str],
            s: int, e: int) -> list[tuple[int, int, str, object]]:
    out = []
    # "A or B C" where "B C" matched: try "A C".
    if s >= 2 and lowered[s - 1] in _CONNECTORS and e - s >= 2:
        a = s - 2
        probe = [words[a], *words[e - 1:e]]
        payloads = matcher.lookup(" ".join(probe))
        if payloads:
            out.append((a, a + 1, kind, payloads[0]))
    # "A B or C" where "A B" matched: try "A C".
    if e + 1 < len(words) and lowered[e] in _CONNECTORS and e - s >= 2:
        probe = [*words[s:e - 1], words[e + 1]]
        payloads = matcher.lookup(" ".join(probe))
        if payloads:
            out.append((e + 1, e + 2, kind, payloads[0]))
    return out
