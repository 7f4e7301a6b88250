"""Candidate trials for a patient: BM25 over the FTS5 index and embedding similarity, fused.

Both retrievers rank trials by how well their text matches the patient's text; reciprocal rank
fusion (Cormack et al. 2009) combines the two rankings without calibrating their scores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from .store import Store

# Weights of the trials_fts columns in bm25(): brief_title, official_title, brief_summary,
# conditions, condition_mesh_terms, keywords, eligibility_text.
FTS_WEIGHTS = (4.0, 2.0, 1.0, 6.0, 3.0, 2.0, 0.5)
# The fields scored one by one for ranking features: name → the trials_fts columns it covers.
FIELDS = {
    "title": (0, 1),
    "summary": (2,),
    "conditions": (3,),
    "mesh_terms": (4,),
    "keywords": (5,),
    "criteria": (6,),
}
RRF_K = 60

_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can did do does doing down during each few for from further had has have having he her here hers
    him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
    out over own same she should so some such than that the their them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with you your patient
    patients presents presented history year years old male female man woman boy girl day days week weeks month
    months ago also denies reports shows showed found noted currently without since prior""".split()
)


@dataclass
class Candidate:
    nct_id: str
    relevance: float  # fused score, higher is better
    bm25_rank: int | None = None
    vector_rank: int | None = None


def query_terms(text: str, limit: int = 64) -> list[str]:
    """Content words of a patient description, in order, without repeats or stopwords."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9\-']+|\d+[A-Za-z]+", re.sub(r"\d+[- ]years?[- ]old", " ", text.lower()))
    terms = [w.strip("-'") for w in words if w.strip("-'") not in _STOPWORDS and len(w) > 2]
    return list(dict.fromkeys(terms))[:limit]


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 OR-query in which every term is quoted, so no patient word is read as syntax."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def bm25_search(store: Store, text: str, limit: int, among: list[str] | None = None) -> list[tuple[str, float]]:
    """Trials by BM25 over titles, conditions, MeSH terms, keywords, summary and criteria."""
    return bm25_with_fields(store, text, limit, among)[0]


def bm25_with_fields(store: Store, text: str, limit: int, among: list[str] | None = None,
                     wanted: Iterable[str] = ()) -> tuple[list[tuple[str, float]], dict[str, dict[str, float]]]:
    """The ``limit`` best trials by BM25 (as ``bm25_search``), and the BM25 of the whole record
    ("all") and of each field (``FIELDS``) for those and for the ``wanted`` trials the text
    matches, in one pass over the index: scoring costs little beside matching. FTS5's bm25()
    normalises by the length of the whole record, not of the field alone."""
    terms = query_terms(text)
    if not terms or (among is not None and not among):
        return [], {}
    columns = [", ".join(str(w) for w in FTS_WEIGHTS)]
    columns += [", ".join("1.0" if i in covered else "0.0" for i in range(len(FTS_WEIGHTS))) for covered in FIELDS.values()]
    join = ""
    if among is not None:
        restrict_to(store, among)
        join = "JOIN temp.allowed_trials a ON a.nct_id = t.nct_id"
    sql = (
        f"SELECT t.nct_id, {', '.join(f'bm25(trials_fts, {weights})' for weights in columns)} FROM trials_fts "
        f"JOIN trials t ON t.rowid = trials_fts.rowid {join} WHERE trials_fts MATCH ? ORDER BY 2"
    )
    names = ("all", *FIELDS)
    ranking, fields, missing = [], {}, set(wanted)
    for row in store.conn.execute(sql, (fts_query(terms),)):
        if len(ranking) < limit:
            ranking.append((row[0], -row[1]))
        elif not missing:
            break
        elif row[0] not in missing:
            continue
        fields[row[0]] = {name: -value for name, value in zip(names, row[1:])}
        missing.discard(row[0])
    return ranking, fields


_restricted_to: WeakKeyDictionary[Store, list[str]] = WeakKeyDictionary()


def restrict_to(store: Store, nct_ids: list[str]) -> None:
    """Fill the connection's temporary table of allowed trials (any number of ids). Filling it
    again from the very same list (a ranker's cached filter result) is skipped: it costs more
    than the search when thousands of trials are open."""
    if _restricted_to.get(store) is nct_ids:
        return
    store.conn.execute("CREATE TEMP TABLE IF NOT EXISTS allowed_trials (nct_id TEXT PRIMARY KEY)")
    store.conn.execute("DELETE FROM temp.allowed_trials")
    store.conn.executemany("INSERT OR IGNORE INTO temp.allowed_trials VALUES (?)", ((n,) for n in nct_ids))
    _restricted_to[store] = nct_ids


def fuse(rankings: list[list[tuple[str, float]]], k: int = RRF_K) -> list[Candidate]:
    """Reciprocal rank fusion of several rankings (each best first)."""
    fused: dict[str, Candidate] = {}
    for which, ranking in enumerate(rankings):
        for rank, (nct_id, _) in enumerate(ranking, start=1):
            candidate = fused.setdefault(nct_id, Candidate(nct_id, 0.0))
            candidate.relevance += 1.0 / (k + rank)
            if which == 0:
                candidate.bm25_rank = rank
            else:
                candidate.vector_rank = rank
    return sorted(fused.values(), key=lambda c: (-c.relevance, c.nct_id))
