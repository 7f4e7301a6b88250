"""Component: find lexicon phrases (measures, drugs and drug classes, conditions, procedures)
in a criterion, longest first, resolving overlaps and elided heads ("platelet or whole blood
transfusion" → platelet transfusion + blood transfusion; "hepatitis B or C")."""

from __future__ import annotations

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


def find_mentions(doc: Doc) -> None:
    toks = doc.tokens
    words = [t for t, _, _ in toks]
    lowered = [w.lower() for w in words]
    candidates: list[tuple[int, int, str, object]] = []  # token start, end, type, payload
    for kind, matcher in _matchers():
        for m in matcher.finditer(words, lowered):
            candidates.append((m.start, m.end, kind, m.payload))
            candidates.extend(_elided(matcher, kind, words, lowered, m.start, m.end))
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
    doc.mentions = chosen


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
