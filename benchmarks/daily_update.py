"""The daily refresh at registry size: `trialmatch update` of a day's changes, and what it touched.

    nice python benchmarks/daily_update.py --db registry-575000.db [--changes 3000] [--embed]
    nice python benchmarks/daily_update.py --size 100000 [--base 7461] [--workdir DIR] [--keep]

On a database built by ``benchmarks/full_build.py --keep`` (or built here first: ``--base``
replicated records imported with the real command, then copied by SQL, raw records, sites and
parsed criteria with them, under the next ids up to ``--size`` trials), writes an archive of a day's changes — ``--changes`` stored
records with a newer last-update date, one in ten of them with a changed criterion, 1% new trials,
1% withdrawn — and runs ``trialmatch --db DB update --source CHANGES --timings --no-index`` (with
``--embed``, the embedding step too: only for a database that was embedded). Then the same
command again, when nothing changed: the fixed cost of the command at this size (the baseline).
Prints each step's wall time and what the update touched: trials rewritten, trials whose criteria
were parsed again, sites placed, set against the changes made. Also times
``embeddings.pending_trials`` (the embedding step's scan of every trial) on its own.
The database is modified (copy it first to keep it as built).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import zlib
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, shared_data  # noqa: E402
from benchmarks.full_build import run_build  # noqa: E402
from benchmarks.registry_archive import new_id, replicated, rewrite, sample_records, write_archive  # noqa: E402

def day_of_changes(db: Path, count: int, seed: int = 5) -> tuple[list[tuple[str, bytes]], dict[str, set[str]]]:
    """(archive members, the ids by kind of change): ``count`` records in all."""
    rng = random.Random(seed)
    day = f"December {seed}, 2026".encode()  # newer than the replicated records' dates (and a run of a smaller seed)
    with closing(sqlite3.connect(db)) as conn:
        ids = [nct_id for (nct_id,) in conn.execute("SELECT nct_id FROM trials WHERE nct_id LIKE 'NCT9%'")]
        highest = max(int(nct_id[3:]) for nct_id in ids) - 90_000_000
        chosen = rng.sample(ids, count)
        new, withdrawn = max(1, count // 100), max(1, count // 100)
        criteria = count // 10
        kinds = {
            "new": set(),
            "withdrawn": set(chosen[:withdrawn]),
            "criteria changed": set(chosen[withdrawn:withdrawn + criteria]),
            "date only": set(chosen[withdrawn + criteria:count - new]),
        }
        members = []
        for position, nct_id in enumerate(chosen):
            (blob,) = conn.execute("SELECT content_zlib FROM raw_records WHERE nct_id = ?", (nct_id,)).fetchone()
            record = zlib.decompress(blob)
            if position >= count - new:  # a new trial, made from a stored one
                target = new_id(highest + 1 + len(kinds["new"]))
                kinds["new"].add(target)
                members.append((target, rewrite(record, target, rng, last_update=day)))
                continue
            members.append((nct_id, rewrite(
                record, nct_id, rng, keep_status=nct_id not in kinds["withdrawn"],
                status="Withdrawn" if nct_id in kinds["withdrawn"] else None,
                last_update=day, vary_start=False,
                criteria_note=f"Able to attend visit {position} of the study" if nct_id in kinds["criteria changed"] else None,
            )))
    return members, kinds


def grow(db: Path, size: int) -> int:
    """Add copies of the database's trials (ids NCT90000000 onwards, as ``replicated`` gives them),
    with their raw records, sites, conditions, interventions, contacts and parsed criteria, under
    the next ids, until there are ``size``: a registry-sized database without parsing each copy
    again (the build's cost is ``full_build.py``'s to measure). Returns the number of trials."""
    copied = ("sites", "conditions", "interventions", "contacts")
    with closing(sqlite3.connect(db)) as conn:
        base, low, high = conn.execute("SELECT count(*), min(nct_id), max(nct_id) FROM trials").fetchone()
        assert low == new_id(0) and high == new_id(base - 1), "grow needs the ids full_build's archive gives"
        columns = {t: [r[1] for r in conn.execute(f"PRAGMA table_info([{t}])")]
                   for t in ("trials", "raw_records", *copied, "criteria", "constraints")}
        conn.execute("CREATE TEMP TABLE id_map (old TEXT PRIMARY KEY, new TEXT)")
        total = base
        while total < size:
            with conn:
                conn.execute("DELETE FROM id_map")
                conn.execute("INSERT INTO id_map SELECT nct_id, printf('NCT%08d', CAST(substr(nct_id, 4) AS INTEGER) + ?) "
                             "FROM trials WHERE nct_id <= ?", (total, high))
                for table in ("trials", "raw_records", *copied):
                    cols = [c for c in columns[table] if c not in ("id", "nct_id")]
                    conn.execute(f"INSERT INTO [{table}] (nct_id, {', '.join(f'[{c}]' for c in cols)}) SELECT m.new, "
                                 f"{', '.join(f'x.[{c}]' for c in cols)} FROM [{table}] x JOIN id_map m ON m.old = x.nct_id")
                shift = conn.execute("SELECT max(id) FROM criteria").fetchone()[0]
                cols = [c for c in columns["criteria"] if c not in ("id", "nct_id")]
                conn.execute(f"INSERT INTO criteria (id, nct_id, {', '.join(f'[{c}]' for c in cols)}) SELECT c.id + ?, m.new, "
                             f"{', '.join(f'c.[{x}]' for x in cols)} FROM criteria c JOIN id_map m ON m.old = c.nct_id", (shift,))
                cols = [c for c in columns["constraints"] if c not in ("id", "nct_id", "criterion_id")]
                conn.execute(f"INSERT INTO constraints (criterion_id, nct_id, {', '.join(f'[{c}]' for c in cols)}) "
                             f"SELECT k.criterion_id + ?, m.new, {', '.join(f'k.[{x}]' for x in cols)} "
                             "FROM constraints k JOIN id_map m ON m.old = k.nct_id", (shift,))
            total += base
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return total


def snapshot(db: Path) -> dict[str, dict]:
    """Per table, what says a row was rewritten: trials' update time, criteria's first row id and
    row count per trial, sites' placement per trial."""
    with closing(sqlite3.connect(db)) as conn:
        return {
            "trials": dict(conn.execute("SELECT nct_id, updated_at || content_hash FROM trials")),
            "criteria": {n: (first, rows) for n, first, rows in conn.execute("SELECT nct_id, min(id), count(*) FROM criteria GROUP BY nct_id")},
            "sites": {n: (first, placed) for n, first, placed in conn.execute(
                "SELECT nct_id, min(id), group_concat(coalesce(coordinates_source, '-')) FROM sites GROUP BY nct_id")},
        }


def touched(before: dict, after: dict) -> dict[str, set[str]]:
    return {table: {n for n in set(before[table]) | set(after[table]) if before[table].get(n) != after[table].get(n)}
            for table in before}


def time_pending_trials(db: Path) -> tuple[float, int]:
    from matcher.embeddings import pending_trials
    from matcher.store import Store

    store = Store(db)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        pending, _ = pending_trials(store)
        return time.perf_counter() - started, time.process_time() - cpu, len(pending)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a database built by full_build.py --keep (it is modified)")
    parser.add_argument("--size", type=int, default=100_000, help="without --db: build one of this many trials first")
    parser.add_argument("--base", type=int, default=7461, help="without --db: records imported (the rest are SQL copies of them)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--changes", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=5, help="which trials change (1-28; run again on the same database with a larger one)")
    parser.add_argument("--embed", action="store_true", help="the embedding step too (the database must be embedded)")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="trialmatch-daily-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    try:
        db = args.db
        if db is None:
            base = min(args.size, args.base)
            db, archive = workdir / f"registry-{args.size}.db", workdir / f"registry-{base}.zip"
            write_archive(archive, replicated(sample_records(shared_data("ctgov", "AllPublicXML-sample.zip")), base))
            _, _, _, wall = run_build([sys.executable, "-m", "matcher", "--db", str(db), "import", "--no-index", str(archive)], env)
            started = time.perf_counter()
            trials = grow(db, args.size)
            print(f"built {db}: {base:,} records imported in {wall / 60:.1f} min, copied to {trials:,} trials by SQL "
                  f"in {(time.perf_counter() - started) / 60:.1f} min", flush=True)
        from matcher.store import Store

        Store(db).close()  # a database made by an older checkout gets this one's indexes now, not in the timed run
        members, kinds = day_of_changes(db, args.changes, args.seed)
        changes = workdir / "daily-changes.zip"
        write_archive(changes, iter(members))
        with closing(sqlite3.connect(db)) as conn:
            trials = conn.execute("SELECT count(*) FROM trials").fetchone()[0]
        print(f"database: {trials:,} trials; changes: {len(members):,} records "
              + ", ".join(f"{len(ids)} {kind}" for kind, ids in kinds.items()), flush=True)
        command = [sys.executable, "-m", "matcher", "--db", str(db), "update", "--source", str(changes), "--timings",
                   *([] if args.embed else ["--no-index"])]
        before = snapshot(db)
        runs = {}
        for name in ("day of changes", "same again (nothing changed: baseline)"):
            seconds, peaks, lines, wall = run_build(command, env)
            runs[name] = (seconds, peaks, lines, wall)
            if name == "day of changes":
                after = snapshot(db)
        pending_seconds, pending_cpu, pending = time_pending_trials(db)
        report(runs, touched(before, after), kinds, (pending_seconds, pending_cpu), pending, trials, args.embed)
    finally:
        if not args.keep and args.db is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.db is not None:
            (workdir / "daily-changes.zip").unlink(missing_ok=True)


def report(runs: dict, changed: dict[str, set[str]], kinds: dict[str, set[str]], pending_time: tuple[float, float],
           pending: int, trials: int, embed: bool) -> None:
    steps = ("import records", "parse criteria", "place sites", "embed")
    print(f"command: nice trialmatch --db DB update --source CHANGES.zip --timings{'' if embed else ' --no-index'}")
    print(f"{'run':<42}" + "".join(f"{s:>16}" for s in steps) + f"{'wall s':>9}{'CPU s':>8}{'peak MB':>9}")
    for name, (seconds, peaks, lines, wall) in runs.items():
        cells = "".join(f"{seconds[s]:>16.1f}" if s in seconds else f"{'-':>16}" for s in steps)
        print(f"{name:<42}{cells}{wall:>9.1f}{seconds['cpu']:>8.1f}{max(peaks.values()):>9.0f}")
        for line in lines:
            if not line.startswith("time: "):
                print(f"  | {line}")
    expected = set().union(*kinds.values())
    reparsed_expected = kinds["criteria changed"] | kinds["new"]  # a new date or status keeps its parsed criteria
    print(f"trials rewritten: {len(changed['trials'])} (changed records: {len(expected)}; "
          f"outside them: {len(changed['trials'] - expected)})")
    print(f"trials whose criteria were stored again: {len(changed['criteria'])} "
          f"(new or with changed criteria: {len(reparsed_expected)}; outside them: {len(changed['criteria'] - reparsed_expected)})")
    print(f"trials whose sites were written or placed: {len(changed['sites'])} "
          f"(outside the changed records: {len(changed['sites'] - expected)})")
    print(f"embeddings.pending_trials over {trials:,} trials: {pending_time[0]:.1f} s, {pending_time[1]:.1f} CPU-s ({pending:,} pending: "
          f"{'the database was never embedded' if pending > len(expected) else 'changed trials'})")


if __name__ == "__main__":
    main()
