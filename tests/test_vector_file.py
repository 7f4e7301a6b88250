"""The vector file: float16 rows beside the database, memory-mapped read-only; retrieval as with
float32 within rounding; another model never read as this one; consistent with the database
whatever moment a writer stopped."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from matcher import vector_file
from matcher.embeddings import MODEL_NAME, VectorIndex, build_index
from matcher.ingest import import_paths
from matcher.store import Store
from registry_helpers import synthetic_studies

COUNT = 300


class RandomEncoder:
    """Unit vectors drawn per text (seeded by the text), remembered in float32 as given."""

    def __init__(self):
        self.given: dict[str, np.ndarray] = {}

    def __call__(self, texts):
        rows = []
        for text in texts:
            rng = np.random.default_rng(abs(hash(text)) % 2**32)
            vector = rng.normal(size=384).astype(np.float32)
            rows.append(vector / np.linalg.norm(vector))
            self.given[text] = rows[-1]
        return np.array(rows, dtype=np.float32)


@pytest.fixture
def indexed(tmp_path):
    source = tmp_path / "studies.jsonl"
    source.write_text("".join(json.dumps(s) + "\n" for s in synthetic_studies(COUNT)))
    store = Store(tmp_path / "trials.db")
    import_paths(store, [source])
    encoder = RandomEncoder()
    build_index(store, encode=encoder)
    return store, encoder


def files(store) -> list:
    return sorted(store.path.parent.glob(f"{store.path.name}.vectors-*"))


def float32_index(store, encoder) -> VectorIndex:
    """The vectors exactly as the model gave them, as they were kept before the vector file."""
    from matcher.embeddings import trial_text

    rows = sorted((r["nct_id"], trial_text(r)) for r in store.db.query("SELECT * FROM trials"))
    return VectorIndex([n for n, _ in rows], np.array([encoder.given[t] for _, t in rows], dtype=np.float32))


def test_the_file_is_float16_mapped_read_only_and_names_its_model(indexed):
    store, _ = indexed
    index = VectorIndex.load(Store(store.path, read_only=True))
    assert index.mapped and len(index) == COUNT
    assert isinstance(index.matrix, np.memmap) and index.matrix.dtype == np.float16 and not index.matrix.flags.writeable
    [path] = files(store)
    assert path.stat().st_size < COUNT * 384 * 2 + 256  # half the bytes of float32
    assert vector_file.model_key(MODEL_NAME, 384) in path.name and vector_file.model_key("another-model", 384) not in path.name


def test_retrieval_from_float16_equals_float32_within_rounding(indexed):
    store, encoder = indexed
    mapped = VectorIndex.load(Store(store.path, read_only=True))
    exact = float32_index(store, encoder)
    assert mapped.nct_ids == exact.nct_ids
    rng = np.random.default_rng(7)
    among = sorted(rng.choice(exact.nct_ids, size=120, replace=False).tolist())
    for _ in range(30):
        query = rng.normal(size=384).astype(np.float32)
        query /= np.linalg.norm(query)
        for subset in (None, among):
            got, want = mapped.search(query, 10, among=subset), exact.search(query, 10, among=subset)
            assert np.allclose([s for _, s in got], [s for _, s in want], atol=2e-3)
            scores = dict(exact.search(query, COUNT, among=subset))
            for (got_id, _), (want_id, want_score) in zip(got, want):
                # the same trials in the same order, but for two whose float32 scores are a rounding apart
                assert got_id == want_id or abs(scores[got_id] - want_score) < 2e-3
    ids = exact.nct_ids[:5]
    assert np.allclose(list(mapped.cosines(ids, query).values()), list(exact.cosines(ids, query).values()), atol=2e-3)


def test_a_writer_stopped_before_the_file_leaves_readers_the_database_rows(indexed):
    store, encoder = indexed
    before = VectorIndex.load(store)
    for path in files(store):  # as if killed after the database committed, before the rename
        path.unlink()
    fallback = VectorIndex.load(Store(store.path, read_only=True))
    assert not fallback.mapped and fallback.nct_ids == before.nct_ids
    assert np.array_equal(np.asarray(fallback.matrix), np.asarray(before.matrix))
    assert build_index(store, encode=encoder)["embedded"] == 0  # nothing to embed, the file written again
    again = VectorIndex.load(store)
    assert again.mapped and np.array_equal(np.asarray(again.matrix), np.asarray(before.matrix))


def test_a_damaged_or_foreign_file_is_never_read_as_the_vectors(indexed):
    store, encoder = indexed
    [path] = files(store)
    expected = np.array(VectorIndex.load(store).matrix)
    np.save(path, np.zeros((COUNT, 128), dtype=np.float16))  # another model's dimension under this name
    index = VectorIndex.load(Store(store.path, read_only=True))
    assert not index.mapped and np.array_equal(np.asarray(index.matrix), expected)
    path.write_bytes(b"not a numpy file")
    assert np.array_equal(np.asarray(VectorIndex.load(store).matrix), expected)
    build_index(store, encode=encoder)  # the next writer replaces it
    assert VectorIndex.load(store).mapped


def test_leftovers_of_killed_writers_are_removed_by_the_next_one(indexed):
    store, encoder = indexed
    [current] = files(store)
    stale = current.with_name(f"{store.path.name}.vectors-{vector_file.model_key(MODEL_NAME, 384)}-0000000000000000.npy")
    stale.write_bytes(current.read_bytes())
    with sqlite3.connect(store.path) as conn:  # a changed trial: a new generation, a new file
        conn.execute("UPDATE trials SET brief_title = 'Retitled' WHERE nct_id = 'NCT09100000'")
    assert build_index(store, encode=encoder)["embedded"] == 1
    left = files(store)
    assert len(left) == 1 and left[0] not in (current, stale)


def test_a_database_indexed_before_the_vector_file_still_ranks_and_gets_its_file(indexed):
    store, encoder = indexed
    expected = float32_index(store, encoder)
    with store.conn:  # as an earlier version left it: float32 blobs, no generation, no file
        store.conn.executemany("UPDATE trial_vectors SET vector = ? WHERE nct_id = ?",
                               [(expected.matrix[i].tobytes(), n) for i, n in enumerate(expected.nct_ids)])
        store.conn.execute("DROP TABLE vector_files")
    for path in files(store):
        path.unlink()
    old = VectorIndex.load(Store(store.path, read_only=True))
    assert not old.mapped and np.allclose(np.asarray(old.matrix, dtype=np.float32), expected.matrix, atol=1e-3)
    assert build_index(store, encode=encoder)["embedded"] == 0
    new = VectorIndex.load(store)
    assert new.mapped and np.allclose(np.asarray(new.matrix, dtype=np.float32), expected.matrix, atol=1e-3)
