"""Lexicon files (``data/lexicons/*.tsv``) and a fast phrase matcher over word tokens.

A phrase written in lower case matches case-insensitively; a phrase with an upper-case
letter ("ITP", "HIT", "Hb") matches only with that exact case, so short abbreviations do not
fire on ordinary words. Hyphens count as spaces: "anti-CD20" and "anti CD20" are the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from matcher.resources import data_path

# Words, numbers, and single punctuation marks; hyphens and whitespace separate tokens.
_TOKEN = re.compile(r"[^\W_]+|[^\w\s\-‐‑–]")


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) for every word or punctuation mark of ``text``."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(t.lower() for t, _, _ in tokenize(phrase))


def read_tsv(name: str) -> list[list[str]]:
    """Rows of a lexicon file; ``#`` lines are comments; missing trailing cells are ''."""
    rows = []
    with open(data_path("lexicons", name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                rows.append(line.split("\t"))
    return rows


def split_list(cell: str) -> list[str]:
    return [p.strip() for p in cell.split("|") if p.strip()]


@dataclass(frozen=True)
class PhraseMatch:
    start: int  # token index
    end: int  # token index, exclusive
    payload: Any


class PhraseMatcher:
    """Longest-first matching of many phrases over a token list (a dict keyed by first word)."""

    def __init__(self) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], tuple[str, ...] | None, Any]]] = {}
        self._seen: set[tuple[tuple[str, ...], Any]] = set()
        self._index: dict[str, tuple[list[int], dict]] = {}  # built on first use, for speed

    def add(self, phrase: str, payload: Any, plural: bool = False) -> None:
        tokens = [t for t, _, _ in tokenize(phrase)]
        if not tokens:
            return
        variants = [tokens]
        if plural and tokens[-1][-1:].isalpha() and not tokens[-1].endswith("s"):
            variants.append(tokens[:-1] + [tokens[-1] + "s"])
        for toks in variants:
            key = tuple(t.lower() for t in toks)
            exact = tuple(toks) if any(c.isupper() for c in phrase) else None
            if (key, exact, payload) in self._seen:
                continue
            self._seen.add((key, exact, payload))
            entries = self._by_first.setdefault(key[0], [])
            self._index.pop(key[0], None)
            entries.append((key, exact, payload))
            entries.sort(key=lambda e: -len(e[0]))

    def merge(self, other: PhraseMatcher, tag: str) -> None:
        """Add every entry of ``other`` with payload ``(tag, payload)``."""
        for first, entries in other._by_first.items():
            mine = self._by_first.setdefault(first, [])
            self._index.pop(first, None)
            mine.extend((key, exact, (tag, payload)) for key, exact, payload in entries)
            mine.sort(key=lambda e: -len(e[0]))

    def __contains__(self, phrase: str) -> bool:
        return bool(self.lookup(phrase))

    def lookup(self, phrase: str, ignore_case: bool = False) -> list[Any]:
        """Payloads of the entries that are exactly ``phrase`` (in any case if asked)."""
        toks = [t for t, _, _ in tokenize(phrase)]
        if not toks:
            return []
        low = tuple(t.lower() for t in toks)
        return [p for key, exact, p in self._by_first.get(low[0], ())
                if key == low and (ignore_case or exact is None or exact == tuple(toks))]

    def resolve(self, name: str, harmless, key=lambda payload: payload) -> Any | None:
        """The payload ``name`` denotes: an exact entry (in its case, else in any case), or the
        one entry found inside it when every other word is ``harmless`` ("serum platelet
        count" → platelet count); None otherwise. ``key`` tells which payloads are the same."""
        found = self.lookup(name) or self.lookup(name, ignore_case=True)
        if found:
            return found[0]
        toks = [t for t, _, _ in tokenize(name)]
        low = [t.lower() for t in toks]
        hits = list(self.finditer(toks, low))
        if not hits or len({key(h.payload) for h in hits}) != 1:
            return None
        covered = {i for h in hits for i in range(h.start, h.end)}
        if all(harmless(w) for i, w in enumerate(low) if i not in covered and w.isalnum()):
            return hits[0].payload
        return None

    def match_at(self, tokens: list[str], lowered: list[str], i: int) -> tuple[int, list[Any]]:
        """Longest match starting at token ``i``: (end, payloads), end == i when none."""
        entries = self._by_first.get(lowered[i])
        if not entries:
            return i, []
        best_len, payloads = 0, []
        n = len(lowered)
        for key, exact, payload in entries:
            k = len(key)
            if k < best_len:
                break
            if i + k > n or tuple(lowered[i:i + k]) != key:
                continue
            if exact is not None and tuple(tokens[i:i + k]) != exact:
                continue
            best_len = k
            payloads.append(payload)
        return i + best_len, payloads

    def _keyed(self, first: str) -> tuple[list[int], dict]:
        """The entries of a first word by their whole key, and their lengths, longest first."""
        index = self._index.get(first)
        if index is None:
            by_key: dict = {}
            for key, exact, payload in self._by_first.get(first, ()):
                by_key.setdefault(key, []).append((exact, payload))
            index = self._index[first] = (sorted({len(k) for k in by_key}, reverse=True), by_key)
        return index

    def longest_by_kind(self, tokens: list[str], lowered: list[str], i: int, kind_of) -> dict:
        """At token ``i``: for each kind (``kind_of(payload)``), the end and payload of the
        longest entry that matches there."""
        out: dict = {}
        if lowered[i] not in self._by_first:
            return out
        lengths, by_key = self._keyed(lowered[i])
        n = len(lowered)
        for k in lengths:  # longest first
            if i + k > n:
                continue
            for exact, payload in by_key.get(tuple(lowered[i:i + k]), ()):
                kind = kind_of(payload)
                if kind in out or (exact is not None and tuple(tokens[i:i + k]) != exact):
                    continue
                out[kind] = (i + k, payload)
        return out

    def finditer(self, tokens: list[str], lowered: list[str] | None = None) -> Iterator[PhraseMatch]:
        """Non-overlapping longest matches, left to right."""
        lowered = lowered if lowered is not None else [t.lower() for t in tokens]
        i, n = 0, len(tokens)
        while i < n:
            end, payloads = self.match_at(tokens, lowered, i)
            if payloads:
                yield PhraseMatch(i, end, payloads[0])
                i = end
            else:
                i += 1


def normalize_name(name: str) -> str:
    return " ".join(phrase_key(name))


@lru_cache(maxsize=None)
def stopwords() -> frozenset[str]:
    """Words that carry no meaning of their own in a condition or lab name ("history of")."""
    return frozenset(
        "a an the of with and history known confirmed diagnosis diagnosed documented "
        "established active current prior previous past chronic newly patient patients "
        "level levels value values serum plasma blood total count test result".split()
    )
