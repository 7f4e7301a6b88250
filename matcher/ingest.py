"""Bulk import: records from crawlers.bulk into the Store, in transactions of many records."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from crawlers.bulk import ReadItem, Rejection, read_paths, read_paths_in_background

from .derive import ParseAlongside
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
    criteria_parsed: int = 0  # trials whose criteria were parsed during the import

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
    parse_workers: int = 0,
) -> ImportSummary:
    """Import every record under ``paths``. Unreadable records are reported and skipped.

    ``parallel`` parses in a second process while this one writes (worth it for archives).
    ``parse_workers`` > 0 parses the criteria of the trials written in that many processes while
    the import goes on (``derive.ParseAlongside``); ``summary.criteria_parsed`` says how many.
    """
    paths = [str(p) for p in paths]
    summary = ImportSummary(run_id=store.start_run("import", " ".join(paths)))
    status = "failed"
    reader = partial(read_paths_in_background, child_setup=end_with_parent) if parallel else read_paths
    alongside = ParseAlongside(store, workers=parse_workers) if parse_workers > 0 else None
    written = alongside.add if alongside else lambda nct_ids: None
    try:
        write_items(store, reader(paths), summary, on_progress=on_progress, batch_size=batch_size, on_written=written)
        status = "finished"
    finally:
        store.finish_run(summary.run_id, summary.outcome, len(summary.rejections), status=status)
        if alongside is not None:
            if status == "finished":
                summary.criteria_parsed = alongside.finish()
            else:
                alongside.close()
    return summary


def write_items(
    store: Store,
    items: Iterable[ReadItem],
    summary: ImportSummary,
    *,
    on_progress: Callable[[int], None] = lambda n: None,
    batch_size: int = BATCH_SIZE,
    on_written: Callable[[list[str]], None] = lambda nct_ids: None,
) -> None:
    """Write the items in transactions of ``batch_size``; ``on_written`` is given the ids each
    transaction added or changed. When reading fails part-way, what was read before is written,
    then the error is raised."""
    write = partial(_write_batch, on_written=on_written)
    batch: list = []
    items = iter(items)
    while True:
        try:
            item = next(items, None)
        except BaseException:
            write(store, batch, summary, on_progress)
            raise
        if item is None:
            break
        if isinstance(item, Rejection):
            _reject(store, summary, item)
            on_progress(1)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            write(store, batch, summary, on_progress)
            batch = []
    write(store, batch, summary, on_progress)


def _write_batch(store: Store, batch: list, summary: ImportSummary, on_progress: Callable[[int], None],
                 on_written: Callable[[list[str]], None] = lambda nct_ids: None) -> None:
    """One transaction; if a record of the batch cannot be stored (a value SQLite refuses), the
    batch is written record by record and that record alone is rejected."""
    if not batch:
        return
    outcome = WriteOutcome()
    try:
        outcome.merge(store.write_trials(batch))
    except UNSTORABLE:
        for trial, raw in batch:
            try:
                outcome.merge(store.write_trials([(trial, raw)]))
            except UNSTORABLE as error:
                _reject(store, summary, Rejection(raw.provenance.location, f"cannot be stored: {type(error).__name__}: {error}"))
    summary.outcome.merge(outcome)
    on_written(outcome.added + outcome.updated)
    on_progress(len(batch))


def _reject(store: Store, summary: ImportSummary, rejection: Rejection) -> None:
    summary.rejections.append(rejection)
    store.record_rejection(summary.run_id, rejection.location, rejection.reason)
