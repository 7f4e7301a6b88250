"""Criteria parsed after the import (before) against parsed alongside it (after), same archive, same run.

    nice python benchmarks/build_overlap.py [--size 5000] [--rounds 2]

Each build runs in its own process, as `trialmatch import --no-index` does it (import in
transactions of 500 with the record reader in a second process, then the pipeline without the
embedding step); the two ways take turns ``--rounds`` times (the machine's other load falls on
both). Prints wall and CPU seconds (all processes) and checks both stored the same criteria.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import peak_rss_mb, run_phase, shared_data  # noqa: E402
from benchmarks.registry_archive import replicated, sample_records, write_archive  # noqa: E402


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def phase_build(archive: str, parse_workers: int, db: str) -> dict:
    from matcher.ingest import import_paths
    from matcher.pipeline import refresh_after_writing
    from matcher.store import Store

    store = Store(db)
    started = time.perf_counter()
    summary = import_paths(store, [archive], parallel=True, parse_workers=parse_workers)
    imported = time.perf_counter() - started
    done = refresh_after_writing(store, embed=False)
    seconds = time.perf_counter() - started
    criteria = store.conn.execute("SELECT count(*) FROM criteria").fetchone()[0]
    return {"seconds": seconds, "import_s": imported, "parse_after_s": done.seconds["parse criteria"],
            "parsed_alongside": summary.criteria_parsed, "criteria": criteria, "cpu_s": cpu_seconds(), "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--phase", choices=("build",))
    parser.add_argument("--archive")
    parser.add_argument("--parse-workers", type=int, default=0)
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase_build(args.archive, args.parse_workers, args.db)))
        return
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "registry.zip"
        write_archive(archive, replicated(sample_records(shared_data("ctgov", "AllPublicXML-sample.zip")), args.size))
        ways = {"before: parse after the import": 0, "after: parse alongside the import": 2}
        results: dict[str, list[dict]] = {name: [] for name in ways}
        for round_number in range(args.rounds):
            for name, workers in ways.items():
                db = Path(folder) / f"{workers}-{round_number}.db"
                results[name].append(run_phase(Path(__file__), "build", "--archive", str(archive),
                                               "--parse-workers", str(workers), "--db", str(db)))
        print(f"{args.size:,} records, {args.rounds} rounds each, taking turns")
        print(f"{'build':<36}{'wall s':>9}{'import s':>10}{'parse after s':>15}{'CPU s':>8}{'peak MB':>9}{'criteria':>10}")
        for name, runs in results.items():
            for r in runs:
                print(f"{name:<36}{r['seconds']:>9.1f}{r['import_s']:>10.1f}{r['parse_after_s']:>15.1f}{r['cpu_s']:>8.1f}"
                      f"{r['peak_rss_mb']:>9.0f}{r['criteria']:>10}")
        best = {name: min(r["seconds"] for r in runs) for name, runs in results.items()}
        before, after = best.values()
        same = len({r["criteria"] for runs in results.values() for r in runs}) == 1
        print(f"best wall: before {before:.1f} s, after {after:.1f} s ({before / after:.2f}x); same criteria stored: {same}")


if __name__ == "__main__":
    main()
