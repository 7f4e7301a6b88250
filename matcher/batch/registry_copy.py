"""The registry database as a file that can be shipped to machines without a shared filesystem.

On the machine that runs the batch command, ``snapshot()`` copies the registry (a live SQLite
database, perhaps with recent writes still in its WAL file) into one self-contained, read-only
file, through SQLite's backup API, and names it by the SHA-256 of its content. The embedding
index is a table of that database, so it travels with it. A snapshot is made once per registry
state (see ``registry_state``) and reused until the registry changes.

On a worker, copies are kept in a cache folder by content hash (``worker_cache()``): a worker
that already holds the same version uses it as it is; ``receive_part`` and ``finish_receiving``
write a new one in parts and check its hash before it is used. The functions that run on
workers take and return plain values only.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .registry_state import fingerprint

CACHE_ENV = "TRIALMATCH_CACHE_DIR"  # where snapshots (here) and shipped copies (on workers) are kept
KEEP_VERSIONS = 2  # copies a worker keeps: this night's and the previous one's
PART_BYTES = 16 * 1024 * 1024  # what one message carries when a copy is shipped
ABANDONED_AFTER_S = 3600  # a partial copy untouched this long belongs to a shipment that was cut off


@dataclass(frozen=True)
class RegistryCopy:
    """A snapshot of the registry: its file here, its content hash and size."""

    path: Path
    sha256: str
    size: int


def cache_root() -> Path:
    """``$TRIALMATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/trialmatch``, else ``~/.cache/trialmatch``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trialmatch"


def _folder(name: str) -> Path:
    folder = cache_root() / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _files_touched(registry: Path) -> list:
    """Size and modification time of the database and its WAL file: a write to any table
    changes them, even one ``registry_state`` does not count (site coordinates, say)."""
    found = []
    for path in (registry, registry.with_name(registry.name + "-wal")):
        if path.exists():
            found.append([path.stat().st_size, path.stat().st_mtime_ns])
    return found


def snapshot(registry: Path, state: dict) -> RegistryCopy:
    """The registry in this state as one file (made on first use, then reused until the
    registry's files are written to). Snapshots of earlier states of the same registry are
    removed. The same content gives the same bytes, so a new snapshot of an unchanged registry
    has the hash of the old one, and workers keep using their copy."""
    folder = _folder("snapshots")
    prefix = fingerprint(str(registry.resolve()))
    path = folder / f"{prefix}-{fingerprint(state, _files_touched(registry))}.db"
    hash_file = path.with_suffix(".sha256")
    if path.exists() and hash_file.exists():
        return RegistryCopy(path, hash_file.read_text().strip(), path.stat().st_size)
    partial = path.with_suffix(f".partial-{os.getpid()}")
    try:
        with closing(sqlite3.connect(f"file:{registry}?mode=ro", uri=True)) as source, closing(sqlite3.connect(partial)) as target:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")  # one file: no WAL beside it
        sha256 = file_sha256(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    hash_file.write_text(sha256 + "\n")
    for old in folder.glob(f"{prefix}-*"):
        if old.stem != path.stem:
            old.unlink(missing_ok=True)
    return RegistryCopy(path, sha256, path.stat().st_size)


# ---------------------------------------------------------------------- on a worker

def worker_cache() -> Path:
    """The folder of shipped copies on this worker: ``<cache>/registries``."""
    return _folder("registries")


def cached_copy(sha256: str) -> Path | None:
    """This worker's copy of that version, if it holds one (marked as just used)."""
    path = worker_cache() / f"{sha256}.db"
    try:
        os.utime(path)
    except FileNotFoundError:
        return None
    return path


def has_copy(sha256: str) -> bool:
    return cached_copy(sha256) is not None


def _partial(sha256: str, shipment: str) -> Path:
    return worker_cache() / f"{sha256}.partial-{shipment}"


def receive_part(sha256: str, shipment: str, offset: int, data: bytes) -> None:
    """Write one part of a copy being shipped (parts arrive in order). Each shipment writes its
    own partial file; the first part also removes partial files left by shipments cut off
    more than an hour ago."""
    partial = _partial(sha256, shipment)
    if offset == 0:
        for left in worker_cache().glob("*.partial-*"):
            try:
                if time.time() - left.stat().st_mtime > ABANDONED_AFTER_S:
                    left.unlink()
            except FileNotFoundError:
                pass
    with partial.open("r+b" if offset else "wb") as stream:
        stream.seek(offset)
        stream.write(data)


def finish_receiving(sha256: str, shipment: str, size: int) -> str:
    """Check the received copy against its size and hash and put it in the cache; keep the
    ``KEEP_VERSIONS`` most recently used copies. Returns what happened."""
    partial = _partial(sha256, shipment)
    try:
        if cached_copy(sha256) is not None:  # another worker on this machine finished it first
            return "already there"
        received = partial.stat().st_size if partial.exists() else 0
        if received != size or file_sha256(partial) != sha256:
            raise ValueError(f"registry copy {sha256[:12]}: received {received:,} bytes that do not match "
                             f"the {size:,} bytes sent")
        os.chmod(partial, 0o400)
        os.replace(partial, worker_cache() / f"{sha256}.db")
    finally:
        partial.unlink(missing_ok=True)
    copies = sorted(worker_cache().glob("*.db"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in copies[KEEP_VERSIONS:]:
        old.unlink(missing_ok=True)
    return "received"
