"""The judged (patient, trial) pairs of TREC 2021 and SIGIR 2016, with what ranking knows of
each: shared by benchmarks/train_ranker.py, ranking_trec2021.py and ranking_sigir.py.

Each collection's judged trial records become a registry under benchmarks/out/ (import, parse
the criteria, embed), built once and refreshed when the parser or the embedding model changes. Every patient note is
then read and that patient's judged trials assessed by the real engine (`Ranker.assess`): the
features of every pair, and beside them the baselines (BM25, BM25 + embeddings, the hand-set
score). The pairs are cached in benchmarks/out/<collection>-pairs.json, under a key of
the code and lexicons that compute them (and that built the database from the corpus): any change
recomputes them; a new model does not, the pairs do not depend on it.
"""

from __future__ import annotations

import gzip
import sqlite3
from contextlib import closing
import hashlib
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO, shared_data

OUT = REPO / "benchmarks" / "out"
COLLECTIONS = ("trec2021", "sigir2016")


@dataclass
class Pair:
    topic: str
    nct_id: str
    grade: int  # 2 eligible / would refer, 1 excluded / would consider, 0 not relevant
    features: list[float]
    baselines: dict[str, float]  # bm25, fused (BM25 + embeddings, RRF), hand_set
    has_criteria: bool


def build_database(collection: str, path: Path) -> None:
    from matcher.ingest import import_paths
    from matcher.pipeline import refresh_after_writing
    from matcher.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = Store(path)
    started = time.perf_counter()
    summary = import_paths(store, [shared_data("benchmarks", collection, "corpus.jsonl.gz")])
    refresh_after_writing(store)
    store.close()
    print(f"built {path.name}: {summary.line()} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def database(collection: str, rebuild: bool = False, model: str | None = None) -> Path:
    """benchmarks/out/<collection>.db, built when missing (or asked), parsed by this checkout and
    embedded by the default model; with another ``model``, a copy of it embedded by that one
    (<collection>-<model>.db)."""
    from matcher.embeddings import MODEL_NAME

    path = OUT / f"{collection}.db"
    if rebuild or not path.exists():
        print(f"building {path} (import, parse, embed: a few minutes) …", file=sys.stderr, flush=True)
        build_database(collection, path)
    refresh(path, MODEL_NAME)
    if model in (None, MODEL_NAME):
        return path
    other = OUT / f"{collection}-{model}.db"
    if rebuild or not other.exists() or other.stat().st_mtime < path.stat().st_mtime:
        with closing(sqlite3.connect(path)) as original, closing(sqlite3.connect(other)) as copied:
            original.backup(copied)
    refresh(other, model)
    return other


def refresh(path: Path, model: str) -> None:
    """Criteria parsed by this checkout's parser, trials embedded by ``model``."""
    from matcher.embeddings import build_index
    from matcher.pipeline import refresh_after_writing
    from matcher.store import Store

    store = Store(path)
    try:
        done = refresh_after_writing(store, embed=False)
        embedded = build_index(store, model=model)["embedded"]
    finally:
        store.close()
    for line in done.lines() + ([f"{embedded} trials embedded by {model}"] if embedded else []):
        print(f"{path.name}: {line}", file=sys.stderr)


def queries(collection: str) -> dict[str, str]:
    with shared_data("benchmarks", collection, "queries.jsonl").open() as lines:
        return {q["_id"]: q["text"] for q in map(json.loads, lines)}


def judgements(collection: str) -> dict[str, dict[str, int]]:
    """topic → {trial: grade}, every judged pair whose trial has a record in the corpus."""
    with gzip.open(shared_data("benchmarks", collection, "corpus.jsonl.gz"), "rt") as lines:
        known = {json.loads(line)["nct_id"] for line in lines}
    judged: dict[str, dict[str, int]] = defaultdict(dict)
    for line in shared_data("benchmarks", collection, "qrels.tsv").read_text().splitlines()[1:]:
        topic, trial, grade = line.split("\t")
        if trial in known:
            judged[topic][trial] = int(grade)
    return dict(judged)


def code_key() -> str:
    """A hash of everything that computes a pair: the engine's code and lexicons."""
    digest = hashlib.sha256()
    for folder in ("matcher", "models", "data/lexicons", "data/embeddings"):
        for path in sorted((REPO / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def assess_collection(collection: str, db_path: Path) -> list[Pair]:
    from matcher.batch.registry_state import fingerprint
    from matcher.patient import load_patient
    from matcher.rank import Ranker, hand_set_score
    from matcher.ranking import FEATURES
    from matcher.store import Store

    key = fingerprint(code_key())  # the database derives from the corpus by the same code
    cache = OUT / f"{db_path.stem}-pairs.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached["key"] == key and cached["features"] == list(FEATURES):
            return [Pair(**row) for row in cached["pairs"]]
    started = time.perf_counter()
    ranker = Ranker(Store(db_path, read_only=True), model="hand-set")
    notes = queries(collection)
    pairs = []
    for topic, grades in sorted(judgements(collection).items()):
        patient = load_patient(notes[topic])
        for assessed in ranker.assess(patient, shortlist=sorted(grades)):
            baselines = {"bm25": assessed.features["bm25_all"], "fused": assessed.relevance,
                         "hand_set": hand_set_score(assessed.label, assessed.relevance, assessed.verdicts)}
            pairs.append(Pair(topic, assessed.trial.nct_id, grades[assessed.trial.nct_id],
                              [assessed.features[name] for name in FEATURES], baselines, bool(assessed.criteria)))
    ranker.store.close()
    cache.write_text(json.dumps({"key": key, "features": list(FEATURES), "pairs": [p.__dict__ for p in pairs]}))
    print(f"{collection}: {len(pairs):,} judged pairs assessed in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return pairs


def collection_pairs(collection: str, rebuild: bool = False, model: str | None = None) -> list[Pair]:
    """Every judged pair of the collection whose trial has a record, assessed (cached), with the
    trials embedded by ``model`` (default: the default model)."""
    return assess_collection(collection, database(collection, rebuild, model))
