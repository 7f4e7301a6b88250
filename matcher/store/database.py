"""The registry database: upserts by NCT id, raw records, parsed criteria, import runs."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from models.criteria import Criterion
from models.trial import RawRecord, Trial

from . import rows
from .criteria_rows import CONSTRAINT_ROW_COLUMNS, CRITERION_COLUMNS, ParsedRows, criterion_from_rows, parsed_rows
from .schema import create_schema

CHILD_TABLES = ("sites", "conditions", "interventions", "contacts")
_INSERT_CRITERION = (f"INSERT INTO criteria (id, nct_id, {', '.join(f'[{c}]' for c in CRITERION_COLUMNS)}) "
                     f"VALUES ({', '.join('?' * (len(CRITERION_COLUMNS) + 2))})")
_INSERT_CONSTRAINT = (f"INSERT INTO constraints (criterion_id, nct_id, {', '.join(f'[{c}]' for c in CONSTRAINT_ROW_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * (len(CONSTRAINT_ROW_COLUMNS) + 2))})")
# "criteria_parser IS NOT ?" in a form the index on criteria_parser answers (two ranges and NULL)
_NOT_PARSED_BY = "(criteria_parser IS NULL OR criteria_parser < ? OR criteria_parser > ?)"
WRITE_LOCK_WAIT_SECONDS = 600.0


def _prepare(db: sqlite_utils.Database) -> None:
    """WAL mode and the schema, when other processes may be doing the same at the same moment
    (several writers starting on a new file): what another made first is not an error, and a
    lock SQLite gives up on at once here (while the file changes journal mode or schema) is
    waited for, as the busy timeout waits for the others."""
    deadline = time.monotonic() + WRITE_LOCK_WAIT_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            create_schema(db)
            return
        except sqlite3.OperationalError as error:
            if not ("already exists" in str(error) or "locked" in str(error)) or time.monotonic() > deadline:
                raise
            if db.conn.in_transaction:
                db.conn.rollback()
            time.sleep(random.uniform(0.02, 0.2))


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class WriteOutcome:
    """What one write did, by NCT id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    older: list[str] = field(default_factory=list)  # the stored record is newer or fuller; kept

    def merge(self, other: WriteOutcome) -> None:
        for name in ("added", "updated", "unchanged", "older"):
            getattr(self, name).extend(getattr(other, name))

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("added", "updated", "unchanged", "older")}


def _is_newer(incoming: str | None, stored: str | None) -> bool | None:
    """True if incoming is newer, False if older, None if they are the same date (or both unknown)."""
    if incoming == stored:
        return None
    if stored is None:
        return True
    if incoming is None:
        return False
    return incoming > stored


class Store:
    """A registry database file. Open it, write trials in batches, read them back.

    Derived data (parsed criteria, site coordinates) is written by ``matcher.derive`` after
    the trials land; ``trials.criteria_parser`` and ``sites.coordinates_source`` say what has
    been derived, so a re-run only does what is missing or stale.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False):
        self.path = Path(path)
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"no database at {self.path}")
            # autocommit: a reader must not hold a transaction open between queries, which would keep
            # it on an old snapshot and stop every checkpoint (the write-ahead log then grows without end)
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
            self.db = sqlite_utils.Database(conn)
        else:
            # another writer (an import, a crawl, a parse) may hold the write lock for a while: wait for it
            self.db = sqlite_utils.Database(sqlite3.connect(self.path, timeout=WRITE_LOCK_WAIT_SECONDS))
            _prepare(self.db)
        self.db.execute("PRAGMA foreign_keys = ON")

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ writing trials

    def write_trials(
        self,
        records: Iterable[tuple[Trial, RawRecord]],
        *,
        also: Callable[[sqlite3.Connection, WriteOutcome], None] | None = None,
    ) -> WriteOutcome:
        """Upsert a batch of trials in one transaction.

        A record whose last-update date is older than the stored one never overwrites it; a
        record identical to the stored one writes nothing. Two different records with the same
        last-update date (e.g. a full study and a search-page extract of it) settle on the
        larger raw record, whatever the order they arrive in, so re-imports change nothing.

        ``also(conn, outcome)`` runs after the trials are written, inside the same transaction
        (even for an empty batch): what it writes commits with them or not at all.
        """
        batch = list(records)
        outcome = WriteOutcome()
        if not batch and also is None:
            return outcome
        with self.conn:
            # the write lock first: versions read before it could be stale by the time this writes
            self.conn.execute("BEGIN IMMEDIATE")
            stored = self._stored_versions({t.nct_id for t, _ in batch})
            for trial, raw in batch:
                digest = rows.content_hash(trial)
                previous = stored.get(trial.nct_id)
                if previous is None:
                    self._insert_trial(trial, raw, digest, first_imported_at=None)
                    outcome.added.append(trial.nct_id)
                else:
                    newer = _is_newer(trial.last_update_posted, previous["last_update_posted"])
                    if newer is None:  # same version date: keep the more complete record
                        if digest == previous["content_hash"]:
                            outcome.unchanged.append(trial.nct_id)
                            continue
                        newer = (len(raw.content), digest) > (previous["raw_size"], previous["content_hash"])
                    if not newer:
                        outcome.older.append(trial.nct_id)
                        continue
                    # criteria parsed from the same text stay (a new date or status needs no parse)
                    same_text = (trial.eligibility_text or "") == previous["eligibility_text"]
                    parsed_by = previous["criteria_parser"] if same_text else None
                    self._delete_children(trial.nct_id, keep_criteria=same_text)
                    self._insert_trial(trial, raw, digest, first_imported_at=previous["first_imported_at"],
                                       criteria_parser=parsed_by)
                    outcome.updated.append(trial.nct_id)
                stored[trial.nct_id] = {
                    "last_update_posted": trial.last_update_posted,
                    "content_hash": digest,
                    "raw_size": len(raw.content),
                    "first_imported_at": (previous or {}).get("first_imported_at") or utc_now(),
                    "eligibility_text": trial.eligibility_text or "",
                    "criteria_parser": None,  # a record of the same batch written again: parse it (it may differ)
                }
            if also is not None:
                also(self.conn, outcome)
        return outcome

    def _stored_versions(self, nct_ids: set[str]) -> dict[str, dict]:
        ids = list(nct_ids)
        found = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for nct_id, last_update, digest, first, raw_size, text, parsed_by in self.conn.execute(
                "SELECT t.nct_id, t.last_update_posted, t.content_hash, t.first_imported_at, r.size, "
                "coalesce(t.eligibility_text, ''), t.criteria_parser "
                f"FROM trials t LEFT JOIN raw_records r USING (nct_id) WHERE t.nct_id IN ({marks})",
                chunk,
            ):
                found[nct_id] = {
                    "last_update_posted": last_update,
                    "content_hash": digest,
                    "first_imported_at": first,
                    "raw_size": raw_size or 0,
                    "eligibility_text": text,
                    "criteria_parser": parsed_by,
                }
        return found

    def _delete_children(self, nct_id: str, *, keep_criteria: bool = False) -> None:
        if not keep_criteria:
            self._delete_criteria(nct_id)
        for table in (*CHILD_TABLES, "raw_records"):
            self.conn.execute(f"DELETE FROM [{table}] WHERE nct_id = ?", (nct_id,))

    def _insert_trial(self, trial: Trial, raw: RawRecord, digest: str, first_imported_at: str | None,
                      criteria_parser: str | None = None) -> None:
        now = utc_now()
        row = rows.trial_row(trial)
        row.update(
            source_format=raw.provenance.format,
            content_hash=digest,
            first_imported_at=first_imported_at or now,
            updated_at=now,
            criteria_parser=criteria_parser,  # None: its criteria were deleted with the old text, parse them again
        )
        self._upsert("trials", row, "nct_id")
        for table, table_rows in (
            ("sites", rows.site_rows(trial)),
            ("conditions", rows.condition_rows(trial)),
            ("interventions", rows.intervention_rows(trial)),
            ("contacts", rows.contact_rows(trial)),
        ):
            self._insert_many(table, table_rows)
        self._insert_many("raw_records", [_raw_row(trial.nct_id, raw)])

    def _upsert(self, table: str, row: dict, pk: str) -> None:
        columns = list(row)
        updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in columns if c != pk)
        self.conn.execute(
            f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT([{pk}]) DO UPDATE SET {updates}",
            list(row.values()),
        )

    def _insert_many(self, table: str, table_rows: list[dict]) -> None:
        if not table_rows:
            return
        columns = list(table_rows[0])
        self.conn.executemany(
            f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({', '.join('?' * len(columns))})",
            [list(r.values()) for r in table_rows],
        )

    # ------------------------------------------------------------------ parsed criteria

    def _delete_criteria(self, nct_id: str) -> None:
        self.conn.execute("DELETE FROM constraints WHERE nct_id = ?", (nct_id,))
        self.conn.execute("DELETE FROM criteria WHERE nct_id = ?", (nct_id,))

    def trials_needing_parse(self, parser_version: str) -> list[tuple[str, str]]:
        """(nct_id, eligibility text) of trials never parsed, or parsed by another version."""
        return sorted(self.conn.execute(  # sorted here: ORDER BY would make SQLite read every trial in id order
            f"SELECT nct_id, coalesce(eligibility_text, '') FROM trials WHERE {_NOT_PARSED_BY}",
            (parser_version, parser_version),
        ).fetchall())

    def count_needing_parse(self, parser_version: str) -> int:
        """How many trials ``trials_needing_parse`` would give (without reading their text)."""
        return self.conn.execute(
            f"SELECT count(*) FROM trials WHERE {_NOT_PARSED_BY}", (parser_version, parser_version)
        ).fetchone()[0]

    def eligibility_texts(self, nct_ids: Iterable[str]) -> list[tuple[str, str]]:
        found = []
        for nct_id in nct_ids:
            row = self.conn.execute("SELECT coalesce(eligibility_text, '') FROM trials WHERE nct_id = ?", (nct_id,)).fetchone()
            if row is None:
                raise KeyError(nct_id)
            found.append((nct_id, row[0]))
        return found

    def texts_to_parse(self, nct_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(nct_id, eligibility text) of those of the given trials that have no parsed criteria."""
        ids = list(nct_ids)
        found = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found += self.conn.execute(
                "SELECT nct_id, coalesce(eligibility_text, '') FROM trials "
                f"WHERE nct_id IN ({','.join('?' * len(chunk))}) AND criteria_parser IS NULL",
                chunk,
            ).fetchall()
        return found

    def replace_criteria(self, parsed: Iterable[tuple[str, list[Criterion]]], parser_version: str,
                         *, texts: dict[str, str] | None = None) -> int:
        """Store parsed criteria for many trials in one transaction, replacing what was there.
        With ``texts`` (nct_id → the text that was parsed), a trial whose stored text is no
        longer that one is skipped (it was written again meanwhile). Returns how many were stored."""
        return self.store_parsed(((nct_id, parsed_rows(criteria)) for nct_id, criteria in parsed), parser_version, texts=texts)

    def store_parsed(self, parsed: Iterable[tuple[str, ParsedRows]], parser_version: str,
                     *, texts: dict[str, str] | None = None) -> int:
        """``replace_criteria`` for criteria already turned into rows (``criteria_rows.parsed_rows``,
        as the parsing processes send them): a few statements for the whole batch."""
        parsed = list(parsed)
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")  # the row ids and texts read here are the ones this writes over
            if texts is not None:
                current = dict(self._texts_of([nct_id for nct_id, _ in parsed]))
                parsed = [(nct_id, rows) for nct_id, rows in parsed if current.get(nct_id, None) == texts[nct_id]]
            ids = [(nct_id,) for nct_id, _ in parsed]
            self.conn.executemany("DELETE FROM constraints WHERE nct_id = ?", ids)
            self.conn.executemany("DELETE FROM criteria WHERE nct_id = ?", ids)
            next_id = (self.conn.execute("SELECT max(id) FROM criteria").fetchone()[0] or 0) + 1
            criteria, constraints = [], []
            for nct_id, rows in parsed:
                for values, constraint_values in rows:
                    criteria.append((next_id, nct_id, *values))
                    constraints += [(next_id, nct_id, *c) for c in constraint_values]
                    next_id += 1
            self.conn.executemany(_INSERT_CRITERION, criteria)
            self.conn.executemany(_INSERT_CONSTRAINT, constraints)
            self.conn.executemany("UPDATE trials SET criteria_parser = ? WHERE nct_id = ?",
                                  [(parser_version, nct_id) for nct_id, _ in parsed])
        return len(parsed)

    def _texts_of(self, nct_ids: list[str]) -> list[tuple[str, str]]:
        found = []
        for start in range(0, len(nct_ids), 500):
            chunk = nct_ids[start : start + 500]
            found += self.conn.execute(
                f"SELECT nct_id, coalesce(eligibility_text, '') FROM trials WHERE nct_id IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
        return found

    def criteria(self, nct_id: str, *, with_entities: bool = True) -> list[Criterion]:
        """The stored parsed criteria of one trial, in order (entities are skipped on request:
        matching does not need them)."""
        return read_criteria(self.conn, nct_id, with_entities=with_entities)

    # ------------------------------------------------------------------ reading trials

    def trial(self, nct_id: str) -> Trial | None:
        return read_trial(self.conn, nct_id)

    def raw_record(self, nct_id: str) -> tuple[str, bytes] | None:
        """The record exactly as received: (format, bytes)."""
        row = self.conn.execute("SELECT format, content_zlib FROM raw_records WHERE nct_id = ?", (nct_id,)).fetchone()
        return (row[0], zlib.decompress(row[1])) if row else None

    def count_trials(self) -> int:
        return self.conn.execute("SELECT count(*) FROM trials").fetchone()[0]

    # ------------------------------------------------------------------ import runs

    def start_run(self, kind: str, source: str) -> int:
        with self.conn:
            return self.db["import_runs"].insert(
                {"kind": kind, "source": source, "started_at": utc_now(), "status": "running"}
            ).last_pk

    def record_rejection(self, run_id: int, location: str, reason: str) -> None:
        with self.conn:
            self.db["import_rejections"].insert({"run_id": run_id, "location": location, "reason": reason})

    def finish_run(self, run_id: int, outcome: WriteOutcome, rejected: int, status: str = "finished") -> None:
        with self.conn:
            self.db["import_runs"].update(
                run_id, {"finished_at": utc_now(), "status": status, "rejected": rejected, **outcome.counts()}
            )


def read_criteria(conn: sqlite3.Connection, nct_id: str, *, with_entities: bool = True) -> list[Criterion]:
    """One trial's parsed criteria through any connection to a registry database (a Store's,
    or a server's read-only one)."""
    constraint_rows: dict[int, list[dict]] = {}
    for c in _dict_rows(conn.execute("SELECT * FROM constraints WHERE nct_id = ? ORDER BY id", (nct_id,))):
        constraint_rows.setdefault(c["criterion_id"], []).append(c)
    return [
        criterion_from_rows(r, constraint_rows.get(r["id"], []), with_entities=with_entities)
        for r in _dict_rows(conn.execute("SELECT * FROM criteria WHERE nct_id = ? ORDER BY position", (nct_id,)))
    ]


def read_trial(conn: sqlite3.Connection, nct_id: str) -> Trial | None:
    """One trial with its sites, interventions and contacts, through any connection."""
    found = _dict_rows(conn.execute("SELECT * FROM trials WHERE nct_id = ?", (nct_id,)))
    if not found:
        return None
    children = {
        table: _dict_rows(conn.execute(f"SELECT * FROM [{table}] WHERE nct_id = ? ORDER BY id", (nct_id,)))
        for table in ("sites", "interventions", "contacts")
    }
    return rows.trial_from_rows(found[0], children["sites"], children["interventions"], children["contacts"])


def _dict_rows(cursor: sqlite3.Cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _raw_row(nct_id: str, raw: RawRecord) -> dict:
    return {
        "nct_id": nct_id,
        "format": raw.provenance.format,
        "location": raw.provenance.location,
        "retrieved": raw.provenance.retrieved,
        "media_type": raw.media_type,
        "sha256": hashlib.sha256(raw.content).hexdigest(),
        "size": len(raw.content),
        "content_zlib": zlib.compress(raw.content, 1),
    }
