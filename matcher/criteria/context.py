"""What the words around a mention say about it: negated, possible, hypothetical, a relative's,
historical or current. One lexicon for eligibility criteria and patient notes.

ConText (Harkema et al., J Biomed Inform 2009) as data: the English rules medspaCy ships
(``data/lexicons/context_rules.json``, MIT licence, copied unchanged) with trialmatch's
additions and narrowings (``data/lexicons/context_extra.tsv``). A cue has a category and a
direction: FORWARD cues cover the words after them ("no diabetes"), BACKWARD cues the words
before ("HIV negative", "diabetes was ruled out"); a scope ends at the end of its clause (". ",
"; ", ": "), at a TERMINATE cue ("but", "secondary to", "who"), at the next cue of its own
category, or after the cue's ``max_scope`` tokens. A PSEUDO phrase holds a cue word that is no
cue there ("no change in her diabetes", "not only", "no more than"). HISTORICAL and CURRENT
cues both set a time; the one nearest the mention wins.

``context_of(text, start, end)`` reads one mention; ``ContextScopes(text)`` reads a text once
for many mentions (``.at(start, end)``).
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache

from matcher.resources import data_path

from .lexicon import read_tsv, tokenize

NEGATED, POSSIBLE, HYPOTHETICAL, FAMILY, HISTORICAL, CURRENT = (
    "NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "FAMILY", "HISTORICAL", "CURRENT")
_BOUNDARY = frozenset(".;:!?")

# One element of a rule: the token sequences it may be, and whether it may be left out.
Element = tuple[tuple[tuple[str, ...], ...], bool]


@dataclass(frozen=True)
class Rule:
    category: str
    direction: str  # FORWARD, BACKWARD, TERMINATE, PSEUDO
    literal: str
    elements: tuple[Element, ...]
    max_scope: int | None = None


@dataclass(frozen=True)
class Context:
    """What the cues around a mention say. ``historical`` and ``current`` exclude each other."""

    negated: bool = False
    possible: bool = False
    hypothetical: bool = False
    family: bool = False
    historical: bool = False
    current: bool = False


_NONE = Context()


def words(text: str) -> list[tuple[str, int, int]]:
    """Lower-case tokens with their offsets, contractions as ConText writes them ("didn't" →
    "did", "n't"; "mother's" → "mother", "'s")."""
    return _contractions([(t.lower(), s, e) for t, s, e in tokenize(text)])


def _contractions(toks: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    if not any(t == "'" for t, _, _ in toks):
        return toks
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(toks):
        t, s, e = toks[i]
        nxt = toks[i + 1][0] if i + 1 < len(toks) else ""
        if nxt == "'" and i + 2 < len(toks) and toks[i + 2][0] == "t" and t.endswith("n"):
            if len(t) > 1:
                out.append((t[:-1], s, e - 1))
            out.append(("n't", e - 1, toks[i + 2][2]))
            i += 3
            continue
        if t == "'" and nxt == "s":
            out.append(("'s", s, toks[i + 1][2]))
            i += 2
            continue
        out.append((t, s, e))
        i += 1
    return out


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(t for t, _, _ in words(text))


def _from_spacy(pattern: list[dict]) -> tuple[Element, ...]:
    """A medspaCy token pattern ({"LOWER": x or {"IN": [...]}, "OP": "?"}) as elements."""
    out = []
    for token in pattern:
        lower = token["LOWER"]
        options = lower["IN"] if isinstance(lower, dict) else [lower]
        out.append((tuple(_phrase(o) for o in options), token.get("OP") == "?"))
    return tuple(out)


def _from_tsv(phrase: str) -> tuple[Element, ...]:
    """"no {change,increase} [in,of]": "{a,b}" one of, "[a,b]" optionally one of."""
    out = []
    for word in phrase.split():
        optional = word.startswith("[") and word.endswith("]")
        if optional or (word.startswith("{") and word.endswith("}")):
            options = [o for o in word[1:-1].split(",") if o]
        else:
            options = [word]
        out.append((tuple(_phrase(o) for o in options), optional))
    return tuple(out)


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    """medspaCy's rules less those context_extra.tsv disables, then the additions."""
    extra = [(r + [""] * 5)[:5] for r in read_tsv("context_extra.tsv")]
    disabled = {(cat, phrase) for cat, direction, phrase, _, _ in extra if direction == "DISABLED"}
    with open(data_path("lexicons", "context_rules.json"), encoding="utf-8") as f:
        base = json.load(f)["context_rules"]
    out = []
    for r in base:
        if (r["category"], r["literal"]) in disabled:
            continue
        elements = _from_spacy(r["pattern"]) if r.get("pattern") else _from_tsv(r["literal"].lower())
        out.append(Rule(r["category"], r["direction"], r["literal"], elements, r.get("max_scope")))
    for cat, direction, phrase, max_scope, _ in extra:
        if direction != "DISABLED":
            out.append(Rule(cat, direction, phrase, _from_tsv(phrase), int(max_scope) if max_scope else None))
    return tuple(out)


def _expand(elements: tuple[Element, ...]) -> set[tuple[str, ...]]:
    """Every token sequence a rule matches."""
    seqs: set[tuple[str, ...]] = {()}
    for options, optional in elements:
        seqs = {s + o for s in seqs for o in options} | (seqs if optional else set())
    return {s for s in seqs if s}


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, tuple[int, ...]], dict[tuple[str, str], tuple[tuple[int, tuple[str, ...]], ...]],
                      frozenset[str]]:
    """Rules by their token sequences: one-word sequences by the word; longer ones by their
    first two words (rule numbers index ``rules()``); and every first word."""
    one: dict[str, list[int]] = {}
    two: dict[tuple[str, str], list[tuple[int, tuple[str, ...]]]] = {}
    for n, rule in enumerate(rules()):
        for seq in _expand(rule.elements):
            if len(seq) == 1:
                one.setdefault(seq[0], []).append(n)
            else:
                two.setdefault(seq[:2], []).append((n, seq))
    firsts = frozenset(one) | {a for a, _ in two}
    return ({w: tuple(v) for w, v in one.items()}, {k: tuple(v) for k, v in two.items()}, firsts)


@dataclass
class _Cue:
    rule: Rule
    start: int  # token indices
    end: int
    scope_start: int = 0
    scope_end: int = 0


class ContextScopes:
    """The cues of one text (a criterion or a note sentence) and the tokens each covers."""

    def __init__(self, text: str, toks: list[tuple[str, int, int]] | None = None) -> None:
        toks = tokenize(text) if toks is None else toks
        lowered = [t.lower() for t, _, _ in toks]
        one, two, firsts = _index()
        starts = firsts.intersection(lowered)  # most criteria hold few cue words, many none
        self.cues: list[_Cue] = []
        if not starts:
            return
        if "'" in lowered:
            self.toks = _contractions([(w, s, e) for w, (_, s, e) in zip(lowered, toks)])
            lowered = [t for t, _, _ in self.toks]
        else:
            self.toks = [(w, s, e) for w, (_, s, e) in zip(lowered, toks)]
        self._starts = [s for _, s, _ in self.toks]
        table = rules()
        found: list[_Cue] = []
        last = len(lowered) - 1
        for i, word in enumerate(lowered):
            if word not in firsts:
                continue
            ends: dict[int, int] = {n: i + 1 for n in one.get(word, ())}  # rule → end of its longest match
            if i < last:
                for n, seq in two.get((word, lowered[i + 1]), ()):
                    k = len(seq)
                    if (k == 2 or tuple(lowered[i:i + k]) == seq) and ends.get(n, 0) < i + k:
                        ends[n] = i + k
            found.extend(_Cue(table[n], i, end) for n, end in ends.items())
        self.cues = _resolve(found) if found else []
        if self.cues:
            boundaries = [i for i, (t, _, e) in enumerate(self.toks)
                          if t in _BOUNDARY and (e >= len(text) or text[e].isspace())]
            commas = [i for i, (t, _, _) in enumerate(self.toks) if t == ","]
            _set_scopes(self.cues, boundaries, commas, _closing_parentheses(lowered), len(self.toks))

    def at(self, start: int, end: int) -> Context:
        """The context of the mention at character offsets ``start``–``end``."""
        if not self.cues:
            return _NONE
        first = bisect_left(self._starts, start)
        last = max(first + 1, bisect_left(self._starts, end))
        flags: dict[str, int] = {}  # category → distance of the nearest cue covering the mention
        for cue in self.cues:
            if cue.rule.direction == "FORWARD":
                covers = cue.scope_start <= first < cue.scope_end
                distance = first - cue.end
            else:  # the mention's end is in the scope ("hepatitis B surface antigen negative")
                covers = cue.scope_start < last <= cue.scope_end
                distance = cue.start - last
            if covers:
                cat = cue.rule.category
                flags[cat] = min(flags.get(cat, distance), distance)
        if not flags:
            return _NONE
        historical, current = HISTORICAL in flags, CURRENT in flags
        if historical and current:
            historical = flags[HISTORICAL] < flags[CURRENT]
            current = not historical
        return Context(negated=NEGATED in flags, possible=POSSIBLE in flags, hypothetical=HYPOTHETICAL in flags,
                       family=FAMILY in flags, historical=historical, current=current)


def _resolve(found: list[_Cue]) -> list[_Cue]:
    """Drop cues that overlap a PSEUDO phrase of their category ("with no" in "with no more
    than"), and cues inside a longer cue of their category ("no" inside "no evidence of")."""
    pseudo = [c for c in found if c.rule.direction == "PSEUDO"]
    kept = []
    for cue in sorted(found, key=lambda c: (c.start, -(c.end - c.start))):
        if cue.rule.direction == "PSEUDO":
            continue
        cat = cue.rule.category
        if any(p.rule.category == cat and p.start < cue.end and cue.start < p.end for p in pseudo):
            continue
        if any(k.rule.category == cat and k.rule.direction == cue.rule.direction and
               k.start <= cue.start and cue.end <= k.end for k in kept):
            continue
        kept.append(cue)
    return kept


def _closing_parentheses(toks: list[str]) -> dict[int, int]:
    """For each token inside parentheses, the index of the ")" that closes them."""
    out: dict[int, int] = {}
    if "(" not in toks:
        return out
    open_at: list[int] = []
    for i, t in enumerate(toks):
        if t == "(":
            open_at.append(i)
        elif t == ")" and open_at:
            for j in range(open_at.pop() + 1, i):
                out.setdefault(j, i)
    return out


def _set_scopes(cues: list[_Cue], boundaries: list[int], commas: list[int], closing: dict[int, int], n: int) -> None:
    """Scopes end at clause boundaries, terminators and cues of the same category; a cue inside
    parentheses stops at their end ("(except if medically contraindicated) brain tumor"); a short
    BACKWARD cue (one with a ``max_scope``) also stops at a comma ("breast cancer, HER2 negative")."""
    terminators = sorted(c.start for c in cues if c.rule.direction == "TERMINATE")
    for cue in cues:
        direction = cue.rule.direction
        if direction == "TERMINATE":
            continue
        same = [c for c in cues if c is not cue and c.rule.category == cue.rule.category
                and c.rule.direction != "TERMINATE"]
        if direction == "FORWARD":
            stops = [n, cue.end + (cue.rule.max_scope or n), closing.get(cue.start, n)]
            k = bisect_left(boundaries, cue.end)
            if k < len(boundaries):
                stops.append(boundaries[k])
            k = bisect_left(terminators, cue.end)
            if k < len(terminators):
                stops.append(terminators[k])
            stops += [c.start for c in same if c.start >= cue.end]
            cue.scope_start, cue.scope_end = cue.end, min(stops)
        else:  # BACKWARD
            starts = [0, cue.start - (cue.rule.max_scope or n)]
            for marks in (boundaries, commas) if cue.rule.max_scope else (boundaries,):
                k = bisect_right(marks, cue.start - 1)
                if k:
                    starts.append(marks[k - 1] + 1)
            ends = [c.end for c in cues if c.rule.direction == "TERMINATE" and c.end <= cue.start]
            starts += ends + [c.end for c in same if c.end <= cue.start]
            cue.scope_start, cue.scope_end = max(starts), cue.start


def context_of(text: str, start: int, end: int) -> Context:
    """The context of the mention ``text[start:end]``: ``context_of("HIV negative", 0, 3).negated``."""
    return ContextScopes(text).at(start, end)
