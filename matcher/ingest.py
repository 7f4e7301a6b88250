"""Bulk import: records from crawlers.bulk into the Store, in transactions of many records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from crawlers.bulk import ReadItem, Rejection, read_paths, read_paths_in_background

from .store import Store, WriteOutcome

BATCH_SIZE = 500


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
    reader = read_paths_in_background if parallel else read_paths
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
    batch = []
    for item in items:
        if isinstance(item, Rejection):
            summary.rejections.append(item)
            store.record_rejection(summary.run_id, item.location, item.reason)
            on_progress(1)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            summary.outcome.merge(store.write_trials(batch))
            on_progress(len(batch))
            batch = []
    if batch:
        summary.outcome.merge(store.write_trials(batch))
        on_progress(len(batch))
