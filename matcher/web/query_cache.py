"""A read-only Datasette database that remembers query results until another process writes.

The registry is served while imports, crawls and nightly updates write to it, so it is opened
read-only (``mode=ro``), never ``immutable``: SQLite then reads through the write-ahead log and
its locks, and a page never sees a half-written checkpoint ("database disk image is
malformed"). Between writes, the same SQL with the same parameters gives the same rows, so
facet counts, row counts and pages are computed once and answered from memory; any commit by
another process (seen in the database file, its write-ahead log and the log's index, whose
header counts transactions) empties the cache. Least recently used results go first once the
estimated size passes the budget. Nothing is ever written through this view.
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict

from datasette.database import Database

from .sql_limits import BoundedConnection

DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024
WAL_INDEX_HEADER_BYTES = 48  # the -shm file's first header: its change counter, frame count and salts


def _frozen(params) -> tuple:
    if params is None:
        return ()
    if isinstance(params, dict):
        return tuple(sorted(params.items()))
    return tuple(params)


def _estimated_size(results) -> int:
    return 64 + sum(64 + sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in row) for row in results.rows)


def file_state(path: str) -> tuple:
    """What changes whenever a process commits to the database at ``path``."""
    state: list = []
    for suffix in ("", "-wal"):
        try:
            stat = os.stat(path + suffix)
            state.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        except FileNotFoundError:
            state.append(None)
    try:
        with open(path + "-shm", "rb") as index:
            state.append(index.read(WAL_INDEX_HEADER_BYTES))
    except OSError:
        state.append(None)
    return tuple(state)


class QueryCachingDatabase(Database):
    def __init__(self, ds, path: str, *, budget_bytes: int = DEFAULT_BUDGET_BYTES):
        super().__init__(ds, path=path, is_mutable=True)
        self.budget_bytes = budget_bytes
        self.cached_bytes = 0
        self._results: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._state: tuple | None = None

    def connect(self, write=False):
        """A read-only connection whose results are bounded in size (``sql_limits``)."""
        if write:
            raise PermissionError("the registry is served read-only")
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, factory=BoundedConnection)
        self._all_file_connections.append(conn)
        return conn

    def _forget(self) -> None:
        self._results.clear()
        self.cached_bytes = 0

    async def execute(self, sql, params=None, truncate=False, custom_time_limit=None, page_size=None, log_sql_errors=True):
        state = file_state(self.path)
        if state != self._state:
            self._forget()
            self._state = state
        key = (sql, _frozen(params), truncate, page_size)
        if key in self._results:
            self._results.move_to_end(key)
            return self._results[key][0]
        results = await super().execute(
            sql, params, truncate=truncate, custom_time_limit=custom_time_limit, page_size=page_size,
            log_sql_errors=log_sql_errors,
        )
        size = _estimated_size(results)
        if state == self._state and size <= self.budget_bytes // 16 and key not in self._results:
            self._results[key] = (results, size)
            self.cached_bytes += size
            while self.cached_bytes > self.budget_bytes:
                _, (_, dropped) = self._results.popitem(last=False)
                self.cached_bytes -= dropped
        return results
