"""What one browse request's SQL may cost: time, values, columns, rows and bytes.

The browse view runs arbitrary read-only SQL (``/trials?sql=…``), so one request could make
SQLite build values of any size (``randomblob(900000000)``, ``zeroblob``, ``printf('%.*c')``,
strings doubled by a recursive query) and hand them to Python row after row. Besides
Datasette's own limits (``sql_time_limit_ms``, ``max_returned_rows``):

- every connection refuses to build a value over ``MAX_VALUE_BYTES`` or a result of more than
  ``MAX_COLUMNS`` columns (the registry's largest stored value is far smaller);
- the rows Datasette fetches are counted, and a result past ``MAX_RESULT_BYTES`` is an error;
- ``trialmatch serve`` caps the heap SQLite may use in its process (``HEAP_LIMIT_BYTES``), so a
  single row cannot be made of many large values either.

Each refusal is an error page naming the limit; no memory is held once it is given.
"""

from __future__ import annotations

import sqlite3

MAX_VALUE_BYTES = 16 * 1024 * 1024
MAX_COLUMNS = 100
MAX_RESULT_BYTES = 64 * 1024 * 1024
HEAP_LIMIT_BYTES = 256 * 1024 * 1024


def limit_connection(conn: sqlite3.Connection) -> None:
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, MAX_COLUMNS)


def limit_process_heap() -> None:
    """Cap the memory SQLite may allocate in this process (all connections together)."""
    with sqlite3.connect(":memory:") as conn:
        conn.execute(f"PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}")


def _row_bytes(row) -> int:
    return sum(len(value) if isinstance(value, (str, bytes)) else 8 for value in row)


class BoundedCursor(sqlite3.Cursor):
    """A cursor whose fetches stop with an error once the rows fetched pass MAX_RESULT_BYTES."""

    fetched_bytes = 0

    def _counted(self, rows):
        for row in rows:
            self.fetched_bytes += _row_bytes(row)
            if self.fetched_bytes > MAX_RESULT_BYTES:
                raise sqlite3.OperationalError(
                    f"the result is larger than {MAX_RESULT_BYTES // (1024 * 1024)} MB: ask for fewer rows or columns")
            yield row

    def fetchmany(self, size: int | None = None):
        size = self.arraysize if size is None else size
        rows: list = []
        if size <= 0:
            return rows
        for row in self._counted(iter(self.fetchone, None)):
            rows.append(row)
            if len(rows) >= size:
                break
        return rows

    def fetchall(self):
        return list(self._counted(iter(self.fetchone, None)))


class BoundedConnection(sqlite3.Connection):
    def cursor(self, factory=BoundedCursor):
        return super().cursor(factory)
