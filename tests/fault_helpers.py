"""The fault suite's tools, shared by tests/test_faults.py (a few kill points, in CI) and
benchmarks/fault_soak.py (many): run a real `trialmatch` command, kill it with SIGKILL at a
chosen moment, check that nothing it started lives on, and compare databases by their counts.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import REPO
from processes import alive, children_of
from registry_helpers import synthetic_studies

# Every table a run writes, and what each holds: equal counts mean nothing was lost or repeated.
REGISTRY_TABLES = ("trials", "sites", "conditions", "interventions", "contacts", "raw_records", "criteria", "constraints")


def command(*args) -> list[str]:
    return [sys.executable, "-m", "matcher", *map(str, args)]


def environment(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **extra}


def run(*args, check: bool = True, **options) -> subprocess.CompletedProcess:
    result = subprocess.run(command(*args), cwd=REPO, env=environment(), capture_output=True, text=True, timeout=900, **options)
    if check:
        assert result.returncode == 0, f"trialmatch {' '.join(map(str, args))} exited {result.returncode}: {result.stderr[-2000:]}"
    return result


def descendants(pid: int) -> set[int]:
    found, pending = set(), [pid]
    while pending:
        for child in children_of(pending.pop()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


@dataclass
class Kill:
    """What one kill did: when it landed, what ran then, and whether it all ended."""

    after_seconds: float
    finished_first: bool  # the command ended on its own before the kill
    children: int  # processes the command had started, killed with it or not
    orphans: set[int]  # of those, the ones still running afterwards


def kill_after(args: list, seconds: float, *, wait_for_orphans: float = 20.0, **options) -> Kill:
    """Start ``trialmatch *args``, SIGKILL it (the main process only, as the OOM killer or a
    scheduler does) after ``seconds``, and wait for the processes it started to end."""
    process = subprocess.Popen(command(*args), cwd=REPO, env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, **options)
    deadline = time.monotonic() + seconds
    children: set[int] = set()
    while time.monotonic() < deadline and process.poll() is None:
        children |= descendants(process.pid)
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    finished = process.poll() is not None
    if not finished:
        children |= descendants(process.pid)
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    until = time.monotonic() + wait_for_orphans
    while alive(children) and time.monotonic() < until:
        time.sleep(0.1)
    return Kill(seconds, finished, len(children), alive(children))


def log_kill(kind: str, kill: Kill, db: Path, table: str = "trials") -> None:
    """One line per kill in ``$TRIALMATCH_FAULT_LOG`` (for benchmarks/fault_soak.py): when it
    landed, and how much the killed run had stored of ``table``."""
    if not os.environ.get("TRIALMATCH_FAULT_LOG"):
        return
    stored = None
    if db.exists():
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                stored = conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
        except sqlite3.Error:
            stored = None
    with open(os.environ["TRIALMATCH_FAULT_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"kind": kind, "after_seconds": kill.after_seconds, "finished_first": kill.finished_first,
                              "children": kill.children, "orphans": len(kill.orphans), "stored": stored}) + "\n")


def counts(db: Path, tables=REGISTRY_TABLES) -> dict:
    """Rows per table, and SQLite's own checks of the file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        found = {table: conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0] for table in tables}
        found["integrity_check"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
        found["foreign_key_errors"] = len(conn.execute("PRAGMA foreign_key_check").fetchall())
    return found


def registry_counts(db: Path) -> dict:
    found = counts(db)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        found["trials_not_parsed"] = conn.execute(
            "SELECT count(*) FROM trials WHERE criteria_parser IS NULL OR criteria_parser != "
            "(SELECT criteria_parser FROM trials GROUP BY criteria_parser ORDER BY count(*) DESC LIMIT 1)").fetchone()[0]
        found["sites_not_placed"] = conn.execute("SELECT count(*) FROM sites WHERE coordinates_source IS NULL").fetchone()[0]
    return found


def write_studies(path: Path, studies: list[dict]) -> Path:
    path.write_text("".join(json.dumps(study) + "\n" for study in studies))
    return path


def registry_source(folder: Path, count: int = 600) -> Path:
    """A JSONL file of ``count`` synthetic studies: enough that an import is seconds of work
    with its reader process and two criteria parsers."""
    return write_studies(folder / f"studies-{count}.jsonl", synthetic_studies(count))


def timed(*args) -> float:
    started = time.monotonic()
    run(*args)
    return time.monotonic() - started
