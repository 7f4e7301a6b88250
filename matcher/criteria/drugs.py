"""Drugs and drug classes (``data/lexicons/drugs.tsv``, ``drug_classes.tsv``), plus the
generic drug names that the registry records index (``mesh_interventions.tsv``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .lexicon import PhraseMatcher, normalize_name, read_tsv, split_list


# The salt a MeSH heading names beside the drug ("Formoterol Fumarate", "Metoprolol Tartrate").
_SALT = re.compile(r"\s+(?:bromide|fumarate|hydrochloride|dihydrochloride|hydrobromide|sodium|potassium|acetate|"
                   r"citrate|sulfate|maleate|mesylate|tartrate|succinate|xinafoate|besylate|phosphate|"
                   r"propionate|furoate|dipropionate|calcium|magnesium|hyclate|monohydrate|dihydrate)$")


@dataclass(frozen=True)
class DrugMention:
    """What a phrase of criteria text names: one drug, or a whole class."""

    drug: str | None = None
    drug_class: str | None = None


class _Drugs:
    def __init__(self) -> None:
        self.parents: dict[str, list[str]] = {}
        self.classes_of: dict[str, set[str]] = {}
        self.generic: dict[str, str] = {}  # normalized name or synonym → generic
        self.matcher = PhraseMatcher()
        for cls, parents, phrases in ((r + [""] * 3)[:3] for r in read_tsv("drug_classes.tsv")):
            self.parents[cls] = split_list(parents)
            for phrase in split_list(phrases):
                self.matcher.add(phrase, DrugMention(drug_class=cls), plural=True)
        for drug, classes, synonyms in ((r + [""] * 3)[:3] for r in read_tsv("drugs.tsv")):
            self.classes_of[drug] = set(split_list(classes))
            for name in (drug, *split_list(synonyms)):
                self.generic.setdefault(normalize_name(name), drug)
                self.matcher.add(name, DrugMention(drug=drug))
        for row in read_tsv("mesh_interventions.tsv"):
            drug = row[0].lower()
            if normalize_name(drug) not in self.generic:
                self.generic[normalize_name(drug)] = drug
                self.classes_of.setdefault(drug, set())
                self.matcher.add(drug, DrugMention(drug=drug))
            base = _SALT.sub("", drug)  # "Tiotropium Bromide" is prescribed as tiotropium
            if base != drug and len(base) > 3 and normalize_name(base) not in self.generic:
                self.generic[normalize_name(base)] = self.generic[normalize_name(drug)]
                self.matcher.add(base, DrugMention(drug=self.generic[normalize_name(drug)]))

    def with_ancestors(self, classes: set[str]) -> set[str]:
        out, todo = set(), list(classes)
        while todo:
            c = todo.pop()
            if c not in out:
                out.add(c)
                todo.extend(self.parents.get(c, ()))
        return out


@lru_cache(maxsize=1)
def lexicon() -> _Drugs:
    return _Drugs()


def drug_matcher() -> PhraseMatcher:
    """Phrase matcher of drug names and class phrases (payload: DrugMention)."""
    return lexicon().matcher


@lru_cache(maxsize=65536)
def canonical_drug(name: str) -> str | None:
    """The generic name of a drug given by generic, brand or synonym ("Nplate" → "romiplostim",
    "ciclosporin" → "cyclosporine"), lower case; None when unknown."""
    if not isinstance(name, str):
        return None
    return lexicon().generic.get(normalize_name(name))


def drug_classes(drug_name: str) -> set[str]:
    """Every class of a drug, with the classes those belong to ("rituximab" → {"anti_cd20",
    "b_cell_depleting", "immunosuppressant", "monoclonal_antibody"}); empty when unknown."""
    drug = canonical_drug(drug_name)
    if drug is None:
        return set()
    lex = lexicon()
    return lex.with_ancestors(lex.classes_of.get(drug, set()))


def class_members(drug_class: str) -> set[str]:
    """Generic names of the drugs in a class or in any of its subclasses."""
    lex = lexicon()
    return {d for d, classes in lex.classes_of.items() if drug_class in lex.with_ancestors(classes)}



@lru_cache(maxsize=4096)
def classes_named(name: str) -> frozenset[str]:
    """The classes (with their parent classes) a name of a whole class denotes ("NSAIDs",
    "immunosuppressive drugs"); empty when ``name`` is not a class phrase."""
    lex = lexicon()
    found = {p.drug_class for p in lex.matcher.lookup(name) if p.drug_class}
    return frozenset(lex.with_ancestors(found)) if found else frozenset()
