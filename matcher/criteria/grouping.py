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


def group_alternatives(doc: Doc) -> None:
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
