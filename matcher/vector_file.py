"""Trial vectors as one flat float16 ``.npy`` file beside the database, memory-mapped read-only.

Every ranker process (``serve --rankers N``, batch workers) maps the same file, so the pages of
the vectors are held once by the operating system's page cache and shared, instead of a private
float32 copy per process (at ~104,000 trials, 160 MB each).

The database stays the record of what is embedded: ``trial_vectors`` holds each trial's vector
(float16 bytes; float32 in databases indexed before) with the hash of its text, and
``vector_files`` the *generation* of each model's vectors, a token changed in the same
transaction as any vector. The file is named after the model and that generation::

    trials.db.vectors-<model key>-<generation>.npy

where the model key is a hash of the model's name, its dimension and the dtype: a file of
another model, dimension or generation is never read as this one's. Its rows are the model's
vectors in ``nct_id`` order, as ``trial_vectors`` holds them at that generation. It is written
to a temporary name and renamed, after the database commits; a process killed in between
leaves the database ahead of the file, and readers then read the vectors from the database
(correct, not shared) until the next ``index`` or import writes the file. Files of older
generations are removed by the next writer.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .store import Store
from .store.schema import create_vector_tables

DTYPE = np.float16
BLOCK_ROWS = 2048  # rows converted to float32 at a time: 3 MB of scratch, whatever the registry's size


class VectorFileError(Exception):
    """A vector file that is not what the database says it is (model, dimension, rows)."""


def model_key(model: str, dim: int) -> str:
    """A short hash of what a file's numbers mean: the model, its dimension and the dtype."""
    return hashlib.sha1(f"{model}\0{dim}\0{np.dtype(DTYPE).str}".encode()).hexdigest()[:10]


def file_path(db_path: Path, model: str, dim: int, generation: str) -> Path:
    return db_path.with_name(f"{db_path.name}.vectors-{model_key(model, dim)}-{generation}.npy")


def ensure_tables(store: Store) -> None:
    """The vector tables, in a database whose schema predates them (a writing ``Store`` creates
    them with the rest of its schema)."""
    found = {n for (n,) in store.conn.execute(
        "SELECT name FROM sqlite_master WHERE name IN ('trial_vectors', 'vector_files')")}
    if len(found) < 2 or "content_hash" not in store.db["trial_vectors"].columns_dict:
        create_vector_tables(store.db)


def new_generation(conn: sqlite3.Connection, model: str, dim: int) -> str:
    """Mark the model's vectors changed; call inside the transaction that changes them."""
    generation = uuid.uuid4().hex[:16]
    conn.execute("INSERT OR REPLACE INTO vector_files (model, dim, generation) VALUES (?, ?, ?)", (model, dim, generation))
    return generation


def as_float16(blob: bytes, dim: int) -> np.ndarray:
    """A stored vector: float16 bytes, or float32 in a database indexed before the vector file."""
    if len(blob) == 2 * dim:
        return np.frombuffer(blob, dtype=np.float16)
    if len(blob) == 4 * dim:
        return np.frombuffer(blob, dtype=np.float32).astype(np.float16)
    raise VectorFileError(f"a stored vector of {len(blob)} bytes is not {dim} numbers")


def dimension(conn: sqlite3.Connection, model: str) -> int | None:
    """The dimension of the model's stored vectors, as the database records it."""
    state = _state(conn, model)
    return state[0] if state else None


def _state(conn: sqlite3.Connection, model: str) -> tuple[int, str] | None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'vector_files'").fetchone():
        return None
    return conn.execute("SELECT dim, generation FROM vector_files WHERE model = ?", (model,)).fetchone()


@dataclass
class Vectors:
    """A model's trial vectors: ids in ``nct_id`` order and their float16 rows (memory-mapped
    from the file when it is there, else read from the database)."""

    nct_ids: list[str]
    matrix: np.ndarray
    mapped: bool


def publish(store: Store, model: str) -> Path | None:
    """Write the file of the model's current generation if it is missing; remove the files of
    other generations. Returns the file (None when the model has no vectors)."""
    conn = store.conn
    with conn:
        conn.execute("BEGIN")  # one snapshot: the generation and the rows it names
        state = _state(conn, model)
        if state is None:
            return None
        dim, generation = state
        target = file_path(store.path, model, dim, generation)
        count = conn.execute("SELECT count(*) FROM trial_vectors WHERE model = ?", (model,)).fetchone()[0]
        if not _readable(target, rows=count, dim=dim):  # missing (a writer killed before it), or damaged
            blobs = conn.execute("SELECT vector FROM trial_vectors WHERE model = ? ORDER BY nct_id", (model,))
            _write(target, blobs, count, dim)
    _remove_others(store.path, target)
    return target


def _readable(path: Path, *, rows: int, dim: int) -> bool:
    try:
        open_file(path, rows=rows, dim=dim)
    except (OSError, ValueError, VectorFileError):
        return False
    return True


def _write(target: Path, blobs, count: int, dim: int) -> None:
    """The ``count`` stored vectors, in order, to ``target`` atomically: a temporary file beside
    it, flushed to disk, then renamed."""
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        matrix = np.empty((count, dim), dtype=DTYPE)
        written = 0
        for (blob,) in blobs:
            matrix[written] = as_float16(blob, dim)
            written += 1
        if written != count:
            raise VectorFileError(f"{written} vectors read, {count} expected")
        with open(temporary, "wb") as out:
            np.save(out, matrix, allow_pickle=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _remove_others(db_path: Path, keep: Path) -> None:
    """Files of other generations of any model of this database, and temporary files left by a
    writer killed mid-write (older than a minute: one being written now is left alone). A reader
    that mapped a removed file keeps its pages until it lets go."""
    for path in db_path.parent.glob(f"{db_path.name}.vectors-*"):
        if path == keep:
            continue
        try:
            if path.suffix == ".tmp" and time.time() - path.stat().st_mtime < 60:
                continue
            if path.suffix == ".npy" and _is_current(db_path, path):
                continue
            path.unlink()
        except FileNotFoundError:
            pass


def _is_current(db_path: Path, path: Path) -> bool:
    """Whether ``path`` is the current file of one of the database's models (several models may
    each have one)."""
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=60)) as conn:
            current = conn.execute("SELECT model, dim, generation FROM vector_files").fetchall()
    except sqlite3.Error:
        return True  # when in doubt, keep it
    return any(file_path(db_path, model, dim, generation) == path for model, dim, generation in current)


def load(store: Store, model: str, default_dim: int) -> Vectors:
    """The model's vectors as the database holds them now: the file of the current generation,
    memory-mapped read-only, with the ids of its rows; the rows from the database when the file
    is missing (a writer killed before it wrote it, a database copied alone). ``default_dim``:
    the model's dimension when the database does not say it (indexed before the vector file)."""
    conn = store.conn
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'trial_vectors'").fetchone():
        return Vectors([], np.zeros((0, default_dim), dtype=DTYPE), mapped=False)
    began = not conn.in_transaction
    if began:
        conn.execute("BEGIN")  # the generation, the ids and (if need be) the rows of one snapshot
    try:
        state = _state(conn, model)
        ids = [n for (n,) in conn.execute("SELECT nct_id FROM trial_vectors WHERE model = ? ORDER BY nct_id", (model,))]
        dim = state[0] if state is not None else default_dim
        if state is not None:
            path = file_path(store.path, model, dim, state[1])
            try:
                matrix = open_file(path, rows=len(ids), dim=dim)
                return Vectors(ids, matrix, mapped=True)
            except (OSError, ValueError, VectorFileError):
                pass  # missing (not yet written, or replaced meanwhile) or damaged: the database's rows
        blobs = conn.execute("SELECT vector FROM trial_vectors WHERE model = ? ORDER BY nct_id", (model,))
        vectors = [as_float16(blob, dim) for (blob,) in blobs]
        matrix = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=DTYPE)
        return Vectors(ids, matrix, mapped=False)
    finally:
        if began:
            conn.execute("COMMIT")


def open_file(path: Path, *, rows: int, dim: int) -> np.ndarray:
    """The file memory-mapped read-only, checked to hold ``rows`` × ``dim`` float16 numbers."""
    matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    if matrix.dtype != DTYPE or matrix.shape != (rows, dim) or not matrix.flags.c_contiguous:
        raise VectorFileError(f"{path.name} holds {matrix.shape} {matrix.dtype}, not ({rows}, {dim}) float16")
    return matrix


def similarities(matrix: np.ndarray, query: np.ndarray, rows: list[int] | np.ndarray | None = None) -> np.ndarray:
    """Dot products of ``query`` with the matrix's rows (all, or the given ones), accumulated in
    float32. A float16 matrix is converted a block at a time (torch's conversion uses the CPU's
    half-precision instructions; numpy's, at numpy 2.4, is ~8 times slower), never copied whole:
    at ~104,000 trials, ~15 ms on one core against ~4 ms for a private float32 copy."""
    query = np.asarray(query, dtype=np.float32)
    if matrix.dtype == np.float32:
        return (matrix if rows is None else matrix[rows]) @ query
    import torch

    source = torch.from_numpy(np.asarray(matrix)) if matrix.flags.writeable else _read_only_tensor(matrix)
    picked = None if rows is None else torch.as_tensor(np.asarray(rows, dtype=np.int64))
    count = source.shape[0] if picked is None else len(picked)
    scores = torch.empty(count, dtype=torch.float32)
    vector = torch.from_numpy(query)
    for start in range(0, count, BLOCK_ROWS):
        block = source[start : start + BLOCK_ROWS] if picked is None else source.index_select(0, picked[start : start + BLOCK_ROWS])
        torch.mv(block.float(), vector, out=scores[start : start + len(block)])
    return scores.numpy()


def _read_only_tensor(matrix: np.ndarray):
    """A tensor over a read-only memory map, without a copy. torch warns that it cannot protect
    read-only memory; nothing here writes to it."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(matrix)
