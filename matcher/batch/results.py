"""The results database of batch runs: runs, each patient's outcome, and the matches.

Results are derived from patients, so they never go in the registry database (which the public
browse view serves): they live in their own file, by default ``<registry>.results.db`` beside
it, readable by its owner only.

- ``batch_runs``: one row per run: input, registry state, options, when, and what it found.
- ``batch_patients``: one row per patient record of a run: matched or rejected (with the reason).
- ``matches``: one row per patient–trial pair, ``is_new`` when the trial was not among the
  patient's matches of the previous run that matched this patient.

A patient's matches are written in the same transaction as its ``matched`` row, so a run that is
killed resumes cleanly: what is marked matched is complete, the rest is matched again.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from .registry_state import fingerprint

# The columns of a match, as the runner computes them (without run, patient and is_new).
MATCH_COLUMNS = {
    "rank": int,
    "nct_id": str,
    "title": str,
    "trial_status": str,
    "score": float,
    "eligibility": str,
    "criteria_satisfied": int,
    "criteria_failed": int,
    "criteria_unknown": int,
    "criteria_to_confirm": int,
    "reasons": str,
    "nearest_site": str,
    "distance_km": float,
    "criteria": str,  # JSON: the criteria not satisfied, each {kind, text, verdict, outcome, reason} (FHIR output)
}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class PatientResult:
    """What matching one input record gave: its matches, or why it was rejected."""

    line: int
    where: str
    patient: str | None
    digest: str
    matches: list[dict] = field(default_factory=list)  # MATCH_COLUMNS rows, best first
    error: str | None = None
    internal_error: bool = False  # the error is a bug of ours, not of the record


@dataclass
class Run:
    id: int
    started_at: str
    resumed: bool


def _create_schema(db: sqlite_utils.Database) -> None:
    db["batch_runs"].create(
        {
            "id": int, "started_at": str, "finished_at": str, "status": str, "input": str, "registry": str,
            "registry_state": str, "options": str, "run_key": str, "attempts": int,
            "patients_matched": int, "patients_rejected": int, "matches": int, "new_matches": int,
        },
        pk="id", if_not_exists=True,
    )
    db["batch_patients"].create(
        {
            "run_id": int, "patient": str, "line": int, "record": str, "status": str, "reason": str,
            "record_sha1": str, "matches": int, "compared_with_run": int, "processed_at": str,
        },
        foreign_keys=[("run_id", "batch_runs", "id")], if_not_exists=True,
    )
    db["matches"].create(
        {"run_id": int, "run_started_at": str, "patient": str, **MATCH_COLUMNS, "is_new": int},
        pk=("run_id", "patient", "nct_id"), foreign_keys=[("run_id", "batch_runs", "id")], if_not_exists=True,
    )
    if "criteria" not in db["matches"].columns_dict:  # a results database from before the FHIR output
        db["matches"].add_column("criteria", str)
    db["batch_runs"].create_index(["run_key"], if_not_exists=True)
    db["batch_patients"].create_index(["run_id", "status"], if_not_exists=True)
    db["batch_patients"].create_index(["patient", "run_id"], if_not_exists=True)
    db["matches"].create_index(["patient", "run_id"], if_not_exists=True)


def owner_only(path: Path) -> list[Path]:
    """Make ``path`` readable by its owner alone: a new file is created so in one step (never
    readable by others, even for a moment); an existing one, and its write-ahead log and index,
    lose any access by others. Returns the files that had to be tightened."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return []
    except FileExistsError:
        pass
    tightened = []
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(file, mode & 0o700)
            tightened.append(file)
    return tightened


class ResultsStore:
    """The results database file: owner-only (created so, or made so when it was not), and so
    are the write-ahead log and index SQLite keeps beside it (it gives them the file's mode)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tightened = owner_only(self.path)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        _create_schema(self.db)

    @property
    def conn(self):
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ runs

    def open_run(self, *, input_path: str, registry: str, registry_state: dict, options: dict, new_run: bool = False) -> Run:
        """The run for this input, registry state and options: the last one, resumed, or a new one.
        A resumed run forgets its rejected records: they are read, and reported, again."""
        run_key = fingerprint(input_path, registry_state, options)
        with self.conn:
            found = None if new_run else self.conn.execute(
                "SELECT id, started_at FROM batch_runs WHERE run_key = ? ORDER BY id DESC LIMIT 1", (run_key,)
            ).fetchone()
            if found:
                self.conn.execute("UPDATE batch_runs SET status = 'running', finished_at = NULL, attempts = attempts + 1 "
                                  "WHERE id = ?", (found[0],))
                self.conn.execute("DELETE FROM batch_patients WHERE run_id = ? AND status = 'rejected'", (found[0],))
                return Run(found[0], found[1], resumed=True)
            started_at = utc_now()
            run_id = self.db["batch_runs"].insert({
                "started_at": started_at, "status": "running", "input": input_path, "registry": registry,
                "registry_state": json.dumps(registry_state), "options": json.dumps(options, sort_keys=True),
                "run_key": run_key, "attempts": 1,
            }).last_pk
        return Run(run_id, started_at, resumed=False)

    def finish_run(self, run: Run, status: str = "finished") -> dict[str, int]:
        """Close the run with its totals (over every attempt); returns them."""
        totals = self.run_totals(run.id)
        with self.conn:
            self.db["batch_runs"].update(run.id, {"finished_at": utc_now(), "status": status, **totals})
        return totals

    def run_totals(self, run_id: int) -> dict[str, int]:
        patients = dict(self.conn.execute(
            "SELECT status, count(*) FROM batch_patients WHERE run_id = ? GROUP BY status", (run_id,)))
        matches, new = self.conn.execute(
            "SELECT count(*), coalesce(sum(is_new), 0) FROM matches WHERE run_id = ?", (run_id,)).fetchone()
        return {"patients_matched": patients.get("matched", 0), "patients_rejected": patients.get("rejected", 0),
                "matches": matches, "new_matches": new}

    # ------------------------------------------------------------------ patients

    def matched_records(self, run_id: int, patients: list[str]) -> dict[str, str]:
        """Patient id → digest of the record that was matched, for those of ``patients`` done in this run."""
        found: dict[str, str] = {}
        for start in range(0, len(patients), 500):  # SQLite caps the parameters of one statement
            some = patients[start:start + 500]
            found.update(self.conn.execute(
                f"SELECT patient, record_sha1 FROM batch_patients WHERE run_id = ? AND status = 'matched' "
                f"AND patient IN ({', '.join('?' * len(some))})", (run_id, *some)))
        return found

    def save(self, run: Run, results: list[PatientResult]) -> None:
        """Record patients' outcomes in one transaction; each matched patient's rows replace what
        this run held for it, with ``is_new`` against the previous run that matched it."""
        now = utc_now()
        with self.conn:
            for result in results:
                if result.error is not None:
                    self._insert_patient(run, result, "rejected", now)
                    continue
                self.conn.execute("DELETE FROM matches WHERE run_id = ? AND patient = ?", (run.id, result.patient))
                self.conn.execute("DELETE FROM batch_patients WHERE run_id = ? AND patient = ? AND status = 'matched'",
                                  (run.id, result.patient))
                previous_run, previous = self._previous_matches(run.id, result.patient)
                self._insert_patient(run, result, "matched", now, compared_with_run=previous_run)
                self.db["matches"].insert_all(
                    {"run_id": run.id, "run_started_at": run.started_at, "patient": result.patient, **row,
                     "is_new": int(row["nct_id"] not in previous)}
                    for row in result.matches
                )

    def _insert_patient(self, run: Run, result: PatientResult, status: str, now: str, compared_with_run=None) -> None:
        self.db["batch_patients"].insert({
            "run_id": run.id, "patient": result.patient, "line": result.line, "record": result.where, "status": status,
            "reason": result.error, "record_sha1": result.digest, "matches": len(result.matches),
            "compared_with_run": compared_with_run, "processed_at": now,
        })

    def _previous_matches(self, run_id: int, patient: str) -> tuple[int | None, set[str]]:
        """The last earlier run that matched this patient, and the trials it found."""
        previous_run = self.conn.execute(
            "SELECT max(run_id) FROM batch_patients WHERE patient = ? AND status = 'matched' AND run_id < ?",
            (patient, run_id)).fetchone()[0]
        if previous_run is None:
            return None, set()
        trials = {n for (n,) in self.conn.execute(
            "SELECT nct_id FROM matches WHERE run_id = ? AND patient = ?", (previous_run, patient))}
        return previous_run, trials

    # ------------------------------------------------------------------ reading back

    def match_rows(self, run_id: int) -> Iterator[dict]:
        """Every match of the run, patients in input order, each patient's trials by rank."""
        columns = ", ".join(f"m.[{c}]" for c in MATCH_COLUMNS)
        yield from self.db.query(
            f"SELECT m.patient, {columns}, m.is_new FROM matches m "
            "JOIN batch_patients p ON p.run_id = m.run_id AND p.patient = m.patient AND p.status = 'matched' "
            "WHERE m.run_id = ? ORDER BY p.line, m.rank",
            [run_id],
        )
