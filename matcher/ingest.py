"""Bulk import: records from crawlers.bulk into the Store, in transactions of many records."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from crawlers.bulk import ReadItem, Rejection, read_paths, read_paths_in_background

from .process_guard import end_with_parent
from .store import Store, WriteOutcome

BATCH_SIZE = 500
# What a record's own values can make SQLite refuse; other errors (a full disk, a lock) stop the import.
UNSTORABLE = (sqlite3.IntegrityError, sqlite3.InterfaceError, OverflowError, ValueError)


@dataclass
class ImportSummary:
    run_id: int
    outcome: WriteOutcome = field(default_factory=WriteOutcome)
    rejections: list[Rejection] = field(default_factory=list)

    def line(self) -> str:
        c = self.outcome.counts()
        older = f", {c['older']} older than stored (kept stored)" if c["older"] else ""
        return (
            f"{c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged{older}, "
            f"{len(self.rejections)} rejected"
        )


def import_paths(
    store: Store,
    paths: Iterable[str | Path],
    *,
    on_progress: Callable[[int], None] = lambda n: None,
    batch_size: int = BATCH_SIZE,
    parallel: bool = False,
) -> ImportSummary:
    """Import every record under ``paths``. Unreadable records are reported and skipped.

    ``parallel`` parses in a second process while this one writes (worth it for archives).
    """
    paths = [str(p) for p in paths]
    summary = ImportSummary(run_id=store.start_run("import", " ".join(paths)))
    status = "failed"
    reader = partial(read_paths_in_background, child_setup=end_with_parent) if parallel else read_paths
    try:
        write_items(store, reader(paths), summary, on_progress=on_progress, batch_size=batch_size)
        status = "finished"
    finally:
        store.finish_run(summary.run_id, summary.outcome, len(summary.rejections), status=status)
    return summary


def write_items(
    store: Store,
    items: Iterable[ReadItem],
    summary: ImportSummary,
    *,
    on_progress: Callable[[int], None] = lambda n: None,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Write the items in transactions of ``batch_size``. When reading fails part-way, what was
    read before is written, then the error is raised."""
    batch: list = []
    items = iter(items)
    while True:
        try:
            item = next(items, None)
        except BaseException:
            _write_batch(store, batch, summary, on_progress)
            raise
        if item is None:
            break
        if isinstance(item, Rejection):
            _reject(store, summary, item)
            on_progress(1)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            _write_batch(store, batch, summary, on_progress)
            batch = []
    _write_batch(store, batch, summary, on_progress)


def _write_batch(store: Store, batch: list, summary: ImportSummary, on_progress: Callable[[int], None]) -> None:
    """One transaction; if a record of the batch cannot be stored (a value SQLite refuses), the
    batch is written record by record and that record alone is rejected."""
    if not batch:
        return
    try:
        summary.outcome.merge(store.write_trials(batch))
    except UNSTORABLE:
        for trial, raw in batch:
            try:
                summary.outcome.merge(store.write_trials([(trial, raw)]))
            except UNSTORABLE as error:
                _reject(store, summary, Rejection(raw.provenance.location, f"cannot be stored: {type(error).__name__}: {error}"))
    on_progress(len(batch))


def _reject(store: Store, summary: ImportSummary, rejection: Rejection) -> None:
    summary.rejections.append(rejection)
    store.record_rejection(summary.run_id, rejection.location, rejection.reason)
