"""Import of the whole AllPublicXML sample into a fresh database, against parse-only floors.

    python benchmarks/import_speed.py [--archive PATH]

Phases, each in its own process: lxml parse of every member (nothing else); our reader
(lxml → Trial, nothing stored); the full import (reader in a second process, store in this one).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import peak_rss_mb, run_phase, shared_data  # noqa: E402


def phase_lxml(archive: str) -> dict:
    from lxml import etree

    started = time.perf_counter()
    with zipfile.ZipFile(archive) as z:
        count = sum(1 for info in z.infolist() if etree.fromstring(z.read(info)) is not None)
    return {"records": count, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def phase_reader(archive: str) -> dict:
    from crawlers.bulk import read_paths

    started = time.perf_counter()
    count = sum(1 for _ in read_paths([archive]))
    return {"records": count, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def phase_import(archive: str) -> dict:
    from matcher.ingest import import_paths
    from matcher.store import Store

    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "trials.db"
        store = Store(db_path)
        started = time.perf_counter()
        summary = import_paths(store, [archive], parallel=True)
        seconds = time.perf_counter() - started
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        trials = store.count_trials()
        size = db_path.stat().st_size
    return {
        "records": sum(summary.outcome.counts().values()) + len(summary.rejections),
        "trials": trials,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "db_bytes_per_trial": size / trials,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=None)
    parser.add_argument("--phase", choices=("lxml", "reader", "import"))
    args = parser.parse_args()
    archive = args.archive or str(shared_data("ctgov", "AllPublicXML-sample.zip"))
    if args.phase:
        print(json.dumps({"lxml": phase_lxml, "reader": phase_reader, "import": phase_import}[args.phase](archive)))
        return
    results = {phase: run_phase(Path(__file__), phase, "--archive", archive) for phase in ("lxml", "reader", "import")}
    print(f"archive: {archive}")
    print(f"{'phase':<34}{'records':>9}{'seconds':>9}{'records/s':>11}{'peak MB':>9}")
    labels = {"lxml": "lxml parse only (floor)", "reader": "reader → Trial, nothing stored", "import": "full import into fresh SQLite"}
    for phase, result in results.items():
        rate = result["records"] / result["seconds"]
        print(f"{labels[phase]:<34}{result['records']:>9}{result['seconds']:>9.2f}{rate:>11.0f}{result['peak_rss_mb']:>9.0f}")
    imported = results["import"]
    print(f"import / reader floor: {imported['seconds'] / results['reader']['seconds']:.2f}x   "
          f"import / lxml floor: {imported['seconds'] / results['lxml']['seconds']:.2f}x")
    print(f"database: {imported['trials']} trials, {imported['db_bytes_per_trial'] / 1024:.1f} KiB per trial")
    print(f"projected full registry (575,000 trials) at this rate: {575000 / (imported['records'] / imported['seconds']) / 60:.0f} min")


if __name__ == "__main__":
    main()
