"""An immutable Datasette database that remembers query results.

The file cannot change while it is served, so the same SQL with the same parameters always
gives the same rows: facet counts, row counts and pages are computed once and then answered
from memory. Least recently used results go first once the estimated size passes the budget.
"""

from __future__ import annotations

from collections import OrderedDict

from datasette.database import Database

DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024


def _frozen(params) -> tuple:
    if params is None:
        return ()
    if isinstance(params, dict):
        return tuple(sorted(params.items()))
    return tuple(params)


def _estimated_size(results) -> int:
    return 64 + sum(64 + sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in row) for row in results.rows)


class QueryCachingDatabase(Database):
    def __init__(self, ds, path: str, *, budget_bytes: int = DEFAULT_BUDGET_BYTES):
        super().__init__(ds, path=path, is_mutable=False)
        self.budget_bytes = budget_bytes
        self.cached_bytes = 0
        self._results: OrderedDict[tuple, tuple[object, int]] = OrderedDict()

    async def execute(self, sql, params=None, truncate=False, custom_time_limit=None, page_size=None, log_sql_errors=True):
        key = (sql, _frozen(params), truncate, page_size)
        if key in self._results:
            self._results.move_to_end(key)
            return self._results[key][0]
        results = await super().execute(
            sql, params, truncate=truncate, custom_time_limit=custom_time_limit, page_size=page_size,
            log_sql_errors=log_sql_errors,
        )
        size = _estimated_size(results)
        if size <= self.budget_bytes // 16 and key not in self._results:
            self._results[key] = (results, size)
            self.cached_bytes += size
            while self.cached_bytes > self.budget_bytes:
                _, (_, dropped) = self._results.popitem(last=False)
                self.cached_bytes -= dropped
        return results
