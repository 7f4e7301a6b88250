"""Conditions and procedures: canonical names, MeSH headings and ancestors, synonyms.

Hand-curated entries (``conditions.tsv``, ``procedures.tsv``) come first; the MeSH headings
that registry records index conditions with (``mesh_conditions.tsv``) fill in, each under its
own name and its natural word order ("Purpura, Thrombocytopenic, Idiopathic" → "idiopathic
thrombocytopenic purpura"; "Lung Neoplasms" → "lung cancer")."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .lexicon import PhraseMatcher, read_tsv, split_list, stopwords


@dataclass(frozen=True)
class ConditionInfo:
    """A condition (or procedure): ``name`` is canonical, lower case."""

    name: str
    mesh_term: str | None = None
    ancestors: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = field(default=(), compare=False)
    kind: str = "condition"  # or "procedure"


def _natural_orders(term: str) -> list[str]:
    """Plain-English spellings of a MeSH heading."""
    out = [term]
    parts = [p.strip() for p in term.split(",")]
    if len(parts) > 1:
        out.append(" ".join(reversed(parts)))
    words = term.split()
    if len(words) >= 2 and words[-1] == "Neoplasms" and "," not in term:
        stem = " ".join(words[:-1])
        out += [f"{stem} cancer", f"{stem} neoplasm", f"{stem} tumor", f"{stem} tumour"]
    return out


class _Vocabulary:
    def __init__(self, kind: str, curated_file: str, mesh_file: str | None) -> None:
        self.matcher = PhraseMatcher()
        self.by_name: dict[str, ConditionInfo] = {}
        self.by_mesh: dict[str, ConditionInfo] = {}
        for name, mesh, ancestors, synonyms in ((r + [""] * 4)[:4] for r in read_tsv(curated_file)):
            info = ConditionInfo(name, mesh or None, tuple(split_list(ancestors)),
                                 tuple(split_list(synonyms)), kind)
            self.by_name[name] = info
            self.by_mesh.setdefault(mesh, info)
            for phrase in (name, *info.synonyms):
                self.matcher.add(phrase, info, plural=phrase.islower())
        if mesh_file:
            for term, ancestors in ((r + [""] * 2)[:2] for r in read_tsv(mesh_file)):
                if term in self.by_mesh:
                    continue
                info = ConditionInfo(term.lower(), term, tuple(split_list(ancestors)), (), kind)
                self.by_mesh[term] = info
                for phrase in _natural_orders(term):
                    if not self.matcher.lookup(phrase.lower()):
                        self.matcher.add(phrase.lower(), info)

    def find(self, name: str) -> ConditionInfo | None:
        if not isinstance(name, str) or not name.strip():
            return None
        key = name.strip()
        if key in self.by_mesh:
            return self.by_mesh[key]
        return self.matcher.resolve(key, lambda w: w in stopwords() or w in _MILD)


# Words that do not change which condition a name denotes ("severe chronic ITP").
_MILD = frozenset("severe mild moderate persistent refractory relapsed recurrent acute "
                  "uncontrolled controlled stable untreated treated ongoing".split())


@lru_cache(maxsize=1)
def conditions() -> _Vocabulary:
    return _Vocabulary("condition", "conditions.tsv", "mesh_conditions.tsv")


@lru_cache(maxsize=1)
def procedures() -> _Vocabulary:
    return _Vocabulary("procedure", "procedures.tsv", None)


@lru_cache(maxsize=65536)
def find_condition(name: str) -> ConditionInfo | None:
    """The condition a name, abbreviation or MeSH heading denotes ("ITP", "immune
    thrombocytopenic purpura" → primary immune thrombocytopenia, MeSH "Purpura,
    Thrombocytopenic, Idiopathic"); a qualified name resolves only when the qualifier is
    harmless ("chronic ITP"), never to a different disease ("secondary thrombocytopenia")."""
    return conditions().find(name)


@lru_cache(maxsize=16384)
def find_procedure(name: str) -> ConditionInfo | None:
    """The procedure a name denotes ("splenectomy", "HSCT", "plasma exchange")."""
    return procedures().find(name)
