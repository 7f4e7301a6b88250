"""The object each pipeline component reads and fills: one criterion being parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from models import Constraint, Entity

from .context import Context, ContextScopes
from .lexicon import tokenize
from .segment import Segment
from .text import CleanText


@dataclass
class Mention:
    """A lexicon phrase found in the criterion: ``type`` is measure / drug / condition /
    procedure; offsets are in ``Doc.text``."""

    type: str
    start: int
    end: int
    payload: Any


@dataclass
class Found:
    """A constraint with the span of text it was read from (offsets in ``Doc.text``)."""

    constraint: Constraint
    start: int
    end: int


@dataclass
class Doc:
    kind: str
    clean: CleanText
    context: str | None = None
    category: str = "other"
    mentions: list[Mention] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    skipped: list[tuple[int, int]] = field(default_factory=list)  # sentences stating no rule
    prefix_len: int = 0  # a field label carried from the parent ("Age: ") before the text
    _tokens: list[tuple[str, int, int]] | None = None
    _quantities: list | None = None
    _scopes: ContextScopes | None = None

    @classmethod
    def from_segment(cls, seg: Segment) -> Doc:
        """A criterion; under a bare field label ("Age:", "Hematopoietic:") the label is read
        as the start of its text ("Age: 18 and over")."""
        if seg.context and _FIELD_LABEL.match(seg.context) and len(seg.context.split()) <= 4:
            prefix = seg.context + ": "
            start = seg.clean.offsets[0] if seg.clean.offsets else seg.start
            clean = CleanText(prefix + seg.clean.text, [start] * len(prefix) + seg.clean.offsets)
            return cls(kind=seg.kind, clean=clean, context=seg.context, prefix_len=len(prefix))
        return cls(kind=seg.kind, clean=seg.clean, context=seg.context)

    @property
    def own_text(self) -> str:
        """The criterion's text without a carried field label."""
        return self.text[self.prefix_len:]

    @classmethod
    def from_text(cls, text: str, kind: str = "inclusion") -> Doc:
        return cls(kind=kind, clean=CleanText(text, list(range(len(text) + 1))))

    @property
    def text(self) -> str:
        return self.clean.text

    @property
    def tokens(self) -> list[tuple[str, int, int]]:
        if self._tokens is None:
            self._tokens = tokenize(self.text)
        return self._tokens

    @property
    def quantities(self) -> list:
        """Every number with its comparator and unit (``quantities.find_quantities``)."""
        if self._quantities is None:
            from .quantities import find_quantities

            text = self.text
            has_number = _DIGIT.search(text) is not None or (  # "five times the upper limit of normal"
                ("twice" in text or "times" in text) and ("ULN" in text or "upper" in text or "Upper" in text))
            self._quantities = find_quantities(text) if has_number else []
        return self._quantities

    def context_at(self, start: int, end: int) -> Context:
        """Negation, family, history… of the mention at ``start``–``end`` (``context.py``)."""
        if self._scopes is None:
            self._scopes = ContextScopes(self.text, self.tokens)
        return self._scopes.at(start, end)

    def is_skipped(self, start: int) -> bool:
        return any(s <= start < e for s, e in self.skipped)

    def add(self, constraint: Constraint, start: int, end: int) -> None:
        if self.is_skipped(start):
            return
        constraint.text = self.text[start:end]
        for f in self.found:
            if _same(f.constraint, constraint):
                return
        self.found.append(Found(constraint, start, end))

    def clause_before(self, pos: int) -> str:
        """Text from the start of the clause holding ``pos`` up to ``pos``."""
        head = self.text[:pos]
        cut = max(head.rfind(". "), head.rfind("; "), head.rfind(": "))
        return head[cut + 1:] if cut >= 0 else head

    def clause_after(self, pos: int) -> str:
        tail = self.text[pos:]
        m = re.search(r"[.;](?:\s|$)", tail)
        return tail[:m.start()] if m else tail


_DIGIT = re.compile(r"\d")
_FIELD_LABEL = re.compile(r"^[A-Za-z][A-Za-z/()\- ]{0,40}$")


def _same(a: Constraint, b: Constraint) -> bool:
    keys = ("type", "measure", "op", "value", "value_max", "unit", "drug", "drug_class", "name",
            "value_text", "timing", "within_days", "negated")
    return all(getattr(a, k) == getattr(b, k) for k in keys)
