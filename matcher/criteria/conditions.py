"""Conditions and procedures: canonical names, MeSH headings and ancestors, synonyms; and the
reading of a diagnosis as clinicians write it.

Hand-curated entries (``conditions.tsv``, ``procedures.tsv``) come first; the MeSH disease and
mental-disorder headings (``mesh_conditions.tsv``: ancestors from the tree, entry terms) fill
in, each under its own name, its natural word order ("Purpura, Thrombocytopenic, Idiopathic" →
"idiopathic thrombocytopenic purpura"; "Diabetes Mellitus, Type 2" → "diabetes mellitus type
2"; "Lung Neoplasms" → "lung cancer") and its entry terms; ``condition_terms.tsv`` adds ICD-10-CM
inclusion terms and registry condition strings; ``icd10cm_conditions.tsv`` maps ICD-10-CM codes.

``read_condition("poorly controlled HER2-positive metastatic breast cancer")`` finds the longest
concept in the phrase, in any word order, and keeps the rest as qualifiers (``qualifiers.py``);
words it cannot read are kept too, and a word that changes what the name means ("suspected",
"family history of", "rule out") leaves the phrase unrecognized."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

from .lexicon import PhraseMatcher, read_tsv, split_list, stopwords, tokenize
from .qualifiers import Qualifiers, find_qualifiers, from_text, merge


@dataclass(frozen=True)
class ConditionInfo:
    """A condition (or procedure): ``name`` is canonical, lower case. ``implied`` are the
    qualifiers the name itself carries ("triple-negative breast cancer": ER, PR, HER2 negative)."""

    name: str
    mesh_term: str | None = None
    ancestors: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = field(default=(), compare=False)
    kind: str = "condition"  # or "procedure"
    implied: Qualifiers = field(default=(), compare=False)


def _natural_orders(term: str) -> list[str]:
    """Plain-English spellings of a MeSH heading."""
    out = [term]
    parts = [p.strip() for p in term.split(",")]
    if len(parts) > 1:
        out.append(" ".join(reversed(parts)))
        out.append(" ".join(parts))  # "Diabetes Mellitus, Type 2" → "diabetes mellitus type 2"
    words = term.split()
    if len(words) >= 2 and words[-1] == "Neoplasms" and "," not in term:
        stem = " ".join(words[:-1])
        out += [f"{stem} cancer", f"{stem} neoplasm", f"{stem} tumor", f"{stem} tumour"]
    return out


def _plain_name(term: str) -> str:
    """A MeSH heading as a physician reads it: "Shock, Septic" → "septic shock"."""
    return _natural_orders(term)[1 if "," in term else 0].lower()


# Words a bag of words treats as one ("breast carcinoma", "breast cancer", "breast neoplasm").
_SAME_WORD = {"cancers": "cancer", "carcinoma": "cancer", "carcinomas": "cancer", "neoplasm": "cancer",
              "neoplasms": "cancer", "tumor": "cancer", "tumors": "cancer", "tumour": "cancer", "tumours": "cancer",
              "malignancy": "cancer", "malignancies": "cancer", "ii": "2", "i": "1", "diseases": "disease",
              "disorders": "disorder", "syndromes": "syndrome", "s": ""}
_BAG_FILLER = frozenset("of the a an with and in to for by , ' ’ ( ) - / : ; .".split())


def _bag_words(tokens: list[str]) -> list[str]:
    out = []
    for t in tokens:
        w = t.lower()
        w = _SAME_WORD.get(w, w)
        if w and w not in _BAG_FILLER:
            out.append(w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith(("ss", "is", "us")) else w)
    return out


class _Vocabulary:
    def __init__(self, kind: str, curated_file: str, mesh_file: str | None) -> None:
        self.matcher = PhraseMatcher()
        self.by_name: dict[str, ConditionInfo] = {}
        self.by_mesh: dict[str, ConditionInfo] = {}
        self.by_bag: dict[frozenset[str], ConditionInfo | None] = {}  # None: two concepts share the words
        self._bag_level: dict[frozenset[str], int] = {}
        mesh_rows = [(r + [""] * 3)[:3] for r in read_tsv(mesh_file)] if mesh_file else []
        tree = {term: tuple(split_list(ancestors)) for term, ancestors, _ in mesh_rows}
        for name, mesh, ancestors, synonyms, implied in ((r + [""] * 5)[:5] for r in read_tsv(curated_file)):
            known = tuple(dict.fromkeys([*split_list(ancestors), *tree.get(mesh, ())]))
            info = ConditionInfo(name, mesh or None, known, tuple(split_list(synonyms)), kind, from_text(implied))
            self.by_name[name] = info
            if mesh and mesh not in self.by_mesh and any(_words(n) == _words(mesh) for n in (name, *info.synonyms)):
                self.by_mesh[mesh] = info  # the concept that IS its heading, not one filed under it
            for phrase in (name, *info.synonyms):
                self._add(phrase, info, plural=phrase.islower())
        for term, _, entry_terms in mesh_rows:
            info = self.by_mesh.get(term)
            if info is None:
                info = ConditionInfo(_plain_name(term), term, tree[term], tuple(split_list(entry_terms)), kind)
                self.by_mesh[term] = info
            for phrase in (*_natural_orders(term), *split_list(entry_terms)):
                self._add(phrase if phrase.isupper() else phrase.lower(), info, only_new=True)
        if kind == "condition":
            for term, heading, _ in ((r + [""] * 3)[:3] for r in read_tsv("condition_terms.tsv")):
                if heading in self.by_mesh:
                    self._add(term if re.search(r"[A-Z].*[A-Z]", term) else term.lower(), self.by_mesh[heading],
                              only_new=True)
            self.icd10 = {code: heading for code, heading in ((r + [""])[:2] for r in read_tsv("icd10cm_conditions.tsv"))}
        else:
            self.icd10 = {}

    def _add(self, phrase: str, info: ConditionInfo, plural: bool = False, only_new: bool = False) -> None:
        if only_new and (self.matcher.lookup(phrase) or self.matcher.lookup(phrase, ignore_case=True)):
            return
        self.matcher.add(phrase, info, plural=plural)
        bag = frozenset(_bag_words([t for t, _, _ in tokenize(phrase)]))
        if len(bag) >= 2 and not phrase.isupper():
            level = 1 if only_new else 0  # curated entries outrank the MeSH vocabulary
            before = self._bag_level.get(bag)
            if before is None or level < before:
                self.by_bag[bag], self._bag_level[bag] = info, level
            elif level == before and self.by_bag[bag] != info:
                self.by_bag[bag] = None  # two concepts of the same rank share these words

    def is_heading(self, info: ConditionInfo) -> bool:
        """The concept that IS its MeSH heading ("thrombocytopenia"), not a narrower one filed
        under it ("secondary thrombocytopenia", "brain metastases" under Brain Neoplasms)."""
        return bool(info.mesh_term) and self.by_mesh.get(info.mesh_term) == info

    def find(self, name: str) -> ConditionInfo | None:
        if not isinstance(name, str) or not name.strip():
            return None
        key = name.strip()
        if key in self.by_mesh:
            return self.by_mesh[key]
        if key.lower() in self.by_name:
            return self.by_name[key.lower()]
        return self.matcher.resolve(key, lambda w: w in stopwords() or w in _MILD)

    def concepts_in(self, text: str) -> list[tuple[ConditionInfo, set[int]]]:
        """The concepts named in ``text`` (a field, a clause), most words first, each with the
        token positions it covers: contiguous phrases, and words in any order ("diabetes
        mellitus type 2", "cancer of the left breast")."""
        toks = [t for t, _, _ in tokenize(text)]
        low = [t.lower() for t in toks]
        found = [(m.payload, set(range(m.start, m.end)), m.end - m.start, 1)
                 for m in self.matcher.finditer(toks, low)]
        bag_positions: dict[str, list[int]] = {}
        for i, t in enumerate(toks):
            for w in _bag_words([t]):
                bag_positions.setdefault(w, []).append(i)
        words = sorted(bag_positions)
        if 2 <= len(words) <= 12:
            for size in range(len(words), 1, -1):
                for combo in combinations(words, size):
                    info = self.by_bag.get(frozenset(combo))
                    if info is not None:
                        found.append((info, {p for w in combo for p in bag_positions[w]}, size, 0))
        found.sort(key=lambda f: (-f[2], -f[3]))
        taken: set[int] = set()
        out = []
        for info, positions, _, _ in found:
            if positions & taken or any(o is info for o, _ in out):
                continue
            taken |= positions
            out.append((info, positions))
        return out


def _words(text: str) -> list[str]:
    return sorted(_bag_words([t for t, _, _ in tokenize(text)]))


# Words that do not change which condition a name denotes ("severe chronic ITP").
_MILD = frozenset("severe mild moderate persistent refractory relapsed recurrent acute "
                  "uncontrolled controlled stable untreated treated ongoing".split())
# Words that change what a diagnosis means: not (certainly) the patient's disease.
_CHANGES_MEANING = re.compile(
    r"\b(?:suspected|suspicion|possible|possibly|probable|presumed|questionable|query|r/o|rule[sd]?\s+out|"
    r"family\s+history|fh|risk|at[- ]risk|screening|prevention|prophylaxis|carrier|borderline|pre|"
    r"no|not|denies|denied|without|negative\s+for|absence|excluded|resolved)\b|\?", re.I)
# Words that say nothing about the disease itself; left out of the "not read" words.
_HARMLESS = frozenset("history known confirmed diagnosis diagnosed documented established active current prior "
                      "previous past chronic newly patient with and of the a an in on by for type grade disease "
                      "disorder condition left right bilateral primary biopsy proven histologically cytologically "
                      "stage status positive negative dx hx pmh".split())


_EPONYM = re.compile(r"\b[A-Z][a-z]+['’]s\b(?!\s+(?:disease|syndrome|disorder|sarcoma|lymphoma|palsy))")
# Abbreviations read as a whole diagnosis field only.
_FIELD_ABBREVIATIONS = {"ALL": "acute lymphoblastic leukemia", "B-ALL": "acute lymphoblastic leukemia",
                        "T-ALL": "acute lymphoblastic leukemia", "CD": "crohn's disease"}


@dataclass(frozen=True)
class ConditionReading:
    """What a diagnosis as written was read as: its concepts (the main one first), its
    qualifiers (the concept's implied ones included), the words left unread, and the word that
    made it unrecognizable, if any."""

    text: str
    concepts: tuple[ConditionInfo, ...] = ()
    qualifiers: Qualifiers = ()
    unread: tuple[str, ...] = ()
    blocked_by: str | None = None

    @property
    def concept(self) -> ConditionInfo | None:
        return self.concepts[0] if self.concepts else None

    @property
    def recognized(self) -> bool:
        return bool(self.concepts) and self.blocked_by is None


@lru_cache(maxsize=65536)
def read_condition(text: str) -> ConditionReading:
    """Read a diagnosis as clinicians write it ("HER2-positive metastatic breast cancer",
    "diabetes mellitus type 2", "HFrEF", "poorly controlled T2DM")."""
    if not isinstance(text, str) or not text.strip():
        return ConditionReading(text or "")
    clean = text.strip()
    qualifiers, spans = find_qualifiers(clean)
    exact = conditions().find(clean)
    if exact is not None:
        return ConditionReading(clean, (exact,), merge(exact.implied, qualifiers))
    blocked = _CHANGES_MEANING.search(clean)
    tokens = tokenize(clean)
    found = conditions().concepts_in(clean)
    if not found and _EPONYM.search(clean):  # "Crohn's", "Parkinson's": the disease of that name
        found = conditions().concepts_in(_EPONYM.sub(r"\g<0> disease", clean))
    if not found and clean in _FIELD_ABBREVIATIONS:  # too common a word to look for in running text
        found = [(conditions().by_name[_FIELD_ABBREVIATIONS[clean]], {0})]
    covered = {i for _, positions in found for i in positions}
    in_qualifier = {i for i, (_, s, e) in enumerate(tokens) if any(a <= s and e <= b for a, b in spans)}
    # a concept read only from a qualifier's words ("metastatic", "triple negative") is the qualifier
    concepts = [info for info, positions in found if not positions <= in_qualifier]
    unread = tuple(t for i, (t, _, _) in enumerate(tokens)
                   if i not in covered and i not in in_qualifier and t[0].isalnum() and t.lower() not in _HARMLESS
                   and t.lower() not in _MILD and t.lower() not in stopwords() and not t.isdigit())
    implied = merge(*(c.implied for c in concepts))
    return ConditionReading(clean, tuple(concepts), merge(implied, qualifiers), unread,
                            blocked.group().strip() if blocked and concepts else None)


@lru_cache(maxsize=1)
def conditions() -> _Vocabulary:
    return _Vocabulary("condition", "conditions.tsv", "mesh_conditions.tsv")


@lru_cache(maxsize=1)
def procedures() -> _Vocabulary:
    return _Vocabulary("procedure", "procedures.tsv", None)


@lru_cache(maxsize=65536)
def find_condition(name: str) -> ConditionInfo | None:
    """The condition a name, abbreviation or MeSH heading denotes ("ITP", "immune
    thrombocytopenic purpura" → primary immune thrombocytopenia, MeSH "Purpura, Thrombocytopenic,
    Idiopathic"); a qualified name resolves only when the qualifier is harmless ("chronic ITP"),
    never to a different disease ("secondary thrombocytopenia"). For a phrase as clinicians write
    it, with stage and receptor status, use ``read_condition``."""
    return conditions().find(name)


@lru_cache(maxsize=16384)
def is_heading_concept(info: ConditionInfo) -> bool:
    """A concept that IS its MeSH heading ("thrombocytopenia"), not a narrower concept filed
    under a broader heading ("secondary thrombocytopenia" under Thrombocytopenia)."""
    return (conditions() if info.kind == "condition" else procedures()).is_heading(info)


def find_condition_code(code: str, system: str | None = None) -> ConditionInfo | None:
    """The condition an ICD-10-CM code denotes (``E11.65`` → type 2 diabetes, ``C50.911`` →
    breast cancer), walking up the code to the nearest one mapped; a MeSH code system takes the
    heading itself. None for other systems and unknown codes."""
    if not isinstance(code, str) or not code.strip():
        return None
    kind = (system or "icd10").lower().replace("-", "").replace(" ", "")
    if kind in ("mesh",):
        return conditions().by_mesh.get(code.strip())
    if not (kind.startswith("icd10") or "icd10" in kind or kind.endswith("icd10cm")):
        return None
    key = code.strip().upper()
    if "." not in key and len(key) > 3:
        key = key[:3] + "." + key[3:]
    vocabulary = conditions()
    while key:
        heading = vocabulary.icd10.get(key)
        if heading:
            return vocabulary.by_mesh.get(heading)
        key = key[:-1].rstrip(".")
    return None


@lru_cache(maxsize=16384)
def find_procedure(name: str) -> ConditionInfo | None:
    """The procedure a name denotes ("splenectomy", "HSCT", "plasma exchange")."""
    return procedures().find(name)


_CONTEXT_END = re.compile(r"[.;:]|\s(?:and|but|who|which|presents?|presented|is|was|has|had)\s", re.I)


def read_in_context(text: str, start: int, end: int, before_limit: int = 0,
                    after_limit: int | None = None) -> tuple[ConditionInfo | None, Qualifiers]:
    """The diagnosis a condition found at ``text[start:end]`` is, read with the words around it
    in its clause ("diabetes mellitus type 2" where "diabetes mellitus" was found; "HER2-positive
    breast cancer with liver metastases"): a narrower concept the words give, if any, and the
    qualifiers written around it. ``before_limit``/``after_limit`` stop at neighbouring findings."""
    after_limit = len(text) if after_limit is None else after_limit
    lead = text[max(before_limit, start - 60):start]
    cuts = list(_CONTEXT_END.finditer(lead))
    a = max(before_limit, start - 60) + (cuts[-1].end() if cuts else 0)
    tail = text[end:min(after_limit, end + 60)]
    stop = re.search(r"[.;:]|\s(?:but|who|which|presents?|presented)\s", tail)
    b = end + (stop.start() if stop else len(tail))
    window = text[a:b]
    qualifiers = find_qualifiers(window)[0]
    here = conditions().find(text[start:end])
    narrower = None
    for info, positions in conditions().concepts_in(window):
        if here is None or info == here or not here.mesh_term:
            continue
        if here.mesh_term in info.ancestors and (narrower is None or narrower.mesh_term in info.ancestors):
            narrower = info
    return narrower, merge(narrower.implied if narrower else (), qualifiers)
