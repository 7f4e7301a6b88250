"""Component: which constraints of a criterion are alternatives (``any_of``).

Constraints joined by "or" or "/" are alternatives. In an exclusion, items of a list joined by
"," or "and" are alternatives too ("HIV, hepatitis B and hepatitis C" excludes on any one);
in an inclusion they hold together ("a corticosteroid and a TPO-RA")."""

from __future__ import annotations

import re

from .doc import Doc

_OR = re.compile(r"\b(?:or|either|nor)\b|/", re.I)
_AND = re.compile(r"\band\b|[,;]", re.I)


def _join(gap: str) -> str | None:
    """How two constraints whose texts are ``gap`` apart are joined: "or", "and" or None."""
    if len(gap) > 70 or re.search(r"\.(?:\s|$)", gap):
        return None
    if _OR.search(gap):
        return "or"
    if _AND.search(gap) and len(gap) <= 40:
        return "and"
    return None


# "one or more risk factors, such as A, B, C", "at least one of the following": whatever follows
# is a list of alternatives, however it is joined.
_ANY_OF_CUE = re.compile(r"\b(?:one\s+or\s+more|at\s+least\s+one|any\s+(?:one\s+)?of\s+the\s+following|"
                         r"(?:≥|>=)\s*1\s+of)\b", re.I)
# "Diagnosed rheumatic disease: rheumatoid arthritis, lupus, systemic sclerosis": the diseases
# listed after a category and a colon are its members, any one of which will do.
_CATEGORY_LIST = re.compile(r"\b(?:diseases?|disorders?|diagnos[ie]s|conditions?|syndromes?|illness(?:es)?)\s*"
                            r"(?:\([^)]*\)\s*)?:", re.I)
_NOT_IN_LISTS = ("age", "sex", "ethnicity", "reproductive", "healthy_volunteer")


def group_alternatives(doc: Doc) -> None:
    text = doc.text
    cue = _ANY_OF_CUE.search(text) if doc.found and ("one" in text or "One" in text or "ONE" in text or "1 of" in text) \
        else None
    if cue:
        listed = [f for f in doc.found if f.start >= cue.end() and f.constraint.type not in _NOT_IN_LISTS]
        if len(listed) >= 2:
            group = max((f.constraint.any_of or 0 for f in doc.found), default=0) + 1
            for f in listed:
                f.constraint.any_of = group
            return
    category = _CATEGORY_LIST.search(text) if doc.found and ":" in text else None
    if category:
        listed = [f for f in doc.found if f.start >= category.end() and f.constraint.type == "condition"]
        if len(listed) >= 2:
            group = max((f.constraint.any_of or 0 for f in doc.found), default=0) + 1
            for f in listed:
                f.constraint.any_of = group
    found = sorted(doc.found, key=lambda f: f.start)
    groups: list[list] = []
    for prev, cur in zip(found, found[1:]):
        join = _join(doc.text[prev.end:cur.start])
        alternative = join == "or" or (join == "and" and doc.kind == "exclusion")
        if alternative:
            if groups and groups[-1][-1] is prev:
                groups[-1].append(cur)
            else:
                groups.append([prev, cur])
    first = max((f.constraint.any_of or 0 for f in found), default=0) + 1  # after groups set already
    for n, group in enumerate(groups, start=first):
        for f in group:
            f.constraint.any_of = n
