"""Match latency and ranker memory: 7,461-trial XML sample and a ≥100,000-trial database.

    python benchmarks/match_latency.py [--size 100000] [--rebuild] [--rankers 2]

The large database replicates the real sample's trials (with their parsed criteria, sites and
vectors) under new NCT ids, for size only. Patients: the 58 SIGIR 2016 notes and the example
ITP patient. Warm timings (model and database open, one query run first): BM25 alone as the
floor, and the full `match` (BM25 + embeddings fused, filters, every criterion of the top 100
candidates evaluated, ranked); then, on the sample, the CPU time of each stage of a match.

Then the vectors, before and after the vector file, in the same run: ``--rankers`` ranker
processes at once (as ``serve --rankers N``), each matching every patient, hold the trial vectors
either as a private float32 copy (before: how every ranker held them) or as the float16 vector
file memory-mapped read-only and shared (after); their match latency (p50/p95 over every match of
every process) and each process's memory once warm (RSS, PSS: shared pages divided among the
processes that map them, and private pages; from /proc/PID/smaps_rollup, Linux).
"""

from __future__ import annotations

import argparse
import json
from contextlib import closing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, reparse_if_stale, shared_data  # noqa: E402

OUT = REPO / "benchmarks" / "out"
REPLICATED_TABLES = {
    "sites": "nct_id",
    "conditions": "nct_id",
    "interventions": "nct_id",
    "contacts": "nct_id",
    "trial_vectors": "nct_id",
}


def build_sample(path: Path) -> None:
    from matcher.ingest import import_paths
    from matcher.pipeline import refresh_after_writing
    from matcher.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path)
    import_paths(store, [shared_data("ctgov", "AllPublicXML-sample.zip")], parallel=True)
    refresh_after_writing(store)


def ready_sample(rebuild: bool = False) -> tuple[Path, bool]:
    """benchmarks/out/xml-sample.db, built when missing (or asked), its criteria parsed by this
    checkout's parser; and whether it changed."""
    sample = OUT / "xml-sample.db"
    if rebuild or not sample.exists():
        print(f"building {sample} (a few minutes) …", file=sys.stderr, flush=True)
        build_sample(sample)
        return sample, True
    return sample, reparse_if_stale(sample) > 0


def replicate(source: Path, target: Path, size: int) -> None:
    """Copy the sample, then add copies of its trials under new ids ("R01" + the NCT number)
    until there are at least ``size`` trials; FTS triggers index the copies as they land."""
    import sqlite3

    target.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copied:
        original.backup(copied)  # with what is still in the write-ahead log (a file copy would miss it)
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA journal_mode = WAL")
    base = conn.execute("SELECT count(*) FROM trials").fetchone()[0]
    columns = {t: [r[1] for r in conn.execute(f"PRAGMA table_info([{t}])")] for t in ("trials", *REPLICATED_TABLES, "criteria", "constraints")}
    copy = 1
    while base * copy < size:
        with conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS id_map (old TEXT PRIMARY KEY, new TEXT)")
            conn.execute("DELETE FROM id_map")
            conn.execute(f"INSERT INTO id_map SELECT nct_id, 'R{copy:02d}' || substr(nct_id, 4) FROM trials WHERE nct_id LIKE 'NCT%'")
            trial_columns = [c for c in columns["trials"] if c != "nct_id"]
            conn.execute(f"INSERT INTO trials (nct_id, {', '.join(trial_columns)}) SELECT m.new, {', '.join('t.' + c for c in trial_columns)} "
                         "FROM trials t JOIN id_map m ON m.old = t.nct_id")
            for table in REPLICATED_TABLES:
                cols = [c for c in columns[table] if c not in ("id", "nct_id")]
                conn.execute(f"INSERT INTO [{table}] (nct_id, {', '.join(cols)}) SELECT m.new, {', '.join('x.' + c for c in cols)} "
                             f"FROM [{table}] x JOIN id_map m ON m.old = x.nct_id")
            crit_cols = [c for c in columns["criteria"] if c not in ("id", "nct_id")]
            shift = conn.execute("SELECT max(id) FROM criteria").fetchone()[0]
            conn.execute(f"INSERT INTO criteria (id, nct_id, {', '.join(crit_cols)}) SELECT c.id + {shift}, m.new, "
                         f"{', '.join('c.' + x for x in crit_cols)} FROM criteria c JOIN id_map m ON m.old = c.nct_id")
            con_cols = [c for c in columns["constraints"] if c not in ("id", "nct_id", "criterion_id")]
            conn.execute(f"INSERT INTO constraints (criterion_id, nct_id, {', '.join(con_cols)}) SELECT k.criterion_id + {shift}, m.new, "
                         f"{', '.join('k.' + x for x in con_cols)} FROM constraints k JOIN id_map m ON m.old = k.nct_id")
        copy += 1
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    write_vector_file(target)


def write_vector_file(path: Path) -> None:
    """The vector file of a database whose vector rows were copied in by SQL."""
    from matcher import vector_file
    from matcher.embeddings import MODEL_NAME
    from matcher.store import Store

    store = Store(path)
    with store.conn:
        store.conn.execute("BEGIN IMMEDIATE")
        vector_file.new_generation(store.conn, MODEL_NAME, vector_file.dimension(store.conn, MODEL_NAME) or 384)
    vector_file.publish(store, MODEL_NAME)
    store.close()


def patients():
    from matcher.patient import load_patient, read_patient_file

    notes = [json.loads(line)["text"] for line in shared_data("benchmarks", "sigir2016", "queries.jsonl").open()]
    return [read_patient_file(str(REPO / "data" / "examples" / "itp-patient.json"))] + [load_patient(n) for n in notes]


def measure(db_path: Path, people) -> dict:
    from matcher.rank import Ranker, patient_text
    from matcher.retrieve import bm25_search
    from matcher.store import Store

    store = Store(db_path, read_only=True)
    trials = store.count_trials()
    ranker = Ranker(store)
    ranker.rank(people[0], top=10)  # warm: model, vectors, lexicons
    floor, full = [], []
    for person in people:
        started = time.perf_counter()
        bm25_search(store, patient_text(person), 100)
        floor.append(time.perf_counter() - started)
        started = time.perf_counter()
        ranker.rank(person, top=10)
        full.append(time.perf_counter() - started)
    return {"trials": trials, "floor": floor, "full": full}


def stage_costs(db_path: Path, people) -> dict[str, float]:
    """Mean CPU ms per patient of the stages of a warm match, as ``Ranker.rank`` runs them
    (default filters: open trials): the query embedding, BM25 among the open trials (with BM25 by
    field, for the learned ranker's features), the similarity of the candidates, evaluating every
    criterion of the candidates, the features and the learned score, and the whole match."""
    from matcher.eligibility import evaluate_trial, trial_label
    from matcher.embeddings import embed_query
    from matcher.rank import Assessed, Filters, Ranker, patient_text
    from matcher.ranking import pair_features, text_stems
    from matcher.retrieve import bm25_with_fields
    from matcher.store import Store

    ranker = Ranker(Store(db_path, read_only=True))
    ranker.rank(people[0], top=10)
    among = ranker.allowed(Filters(), None)[1]
    totals = dict.fromkeys(("query embedding", "BM25 (whole record and by field)", "similarity", "criteria evaluation",
                            "features and learned score", "whole match"), 0.0)

    def timed(stage, work):
        started = time.process_time()
        result = work()
        totals[stage] += time.process_time() - started
        return result

    for person in people:
        text = patient_text(person)
        query = timed("query embedding", lambda: embed_query(text))
        timed("BM25 (whole record and by field)", lambda: bm25_with_fields(ranker.store, text, ranker.pool, among=among))
        candidates, by_field = ranker.candidates(text, query, among, None)
        retrieval = timed("similarity", lambda: ranker.retrieval(query, candidates, by_field))
        found = [ranker.prepared(c.nct_id) for c in candidates]  # as rank does: with each trial's rules, kept
        verdicts = timed("criteria evaluation", lambda: [evaluate_trial(person, trial, criteria, rules)
                                                          for trial, criteria, rules in found])
        timed("features and learned score", lambda: ranker.scored([
            Assessed(trial, criteria, v, label, 0.5, None,
                     pair_features(person, text_stems(text), trial, len(criteria), v, label, retrieval[trial.nct_id]))
            for (trial, criteria, _), v, label in ((f, v, trial_label(v)) for f, v in zip(found, verdicts))], 10))
        timed("whole match", lambda: ranker.rank(person, top=10))
    return {stage: 1000 * total / len(people) for stage, total in totals.items()}


def memory_mb() -> dict[str, float]:
    """This process's resident, proportional and private memory, in MB (Linux)."""
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"], "private": fields["Private_Clean"] + fields["Private_Dirty"]}


def ranker_process(db_path: str, shared: bool, people, ready, done, results) -> None:
    """One ranker: warm, match every patient, then report its timings and (once every ranker is
    warm and has matched, so the shared pages are shared) its memory."""
    from matcher.rank import Ranker
    from matcher.store import Store

    ranker = Ranker(Store(db_path, read_only=True), shared_vectors=shared)
    ranker.rank(people[0], top=10)
    ready.wait()
    times = []
    for person in people:
        started = time.perf_counter()
        ranker.rank(person, top=10)
        times.append(time.perf_counter() - started)
    done.wait()
    results.put({"times": times, "memory": memory_mb(), "mapped": ranker.index.mapped,
                 "vectors_mb": ranker.index.matrix.nbytes / 2**20})
    done.wait()  # stay alive until every process has read its memory


def rankers_at_once(db_path: Path, shared: bool, people, count: int) -> dict:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, done, results = context.Barrier(count), context.Barrier(count), context.Queue()
    processes = [context.Process(target=ranker_process, args=(str(db_path), shared, people, ready, done, results))
                 for _ in range(count)]
    for process in processes:
        process.start()
    found = [results.get(timeout=1800) for _ in processes]
    for process in processes:
        process.join()
    times = [1000 * t for one in found for t in one["times"]]
    memory = {key: statistics.mean(one["memory"][key] for one in found) for key in ("rss", "pss", "private")}
    return {"times": times, "memory": memory, "mapped": all(one["mapped"] for one in found),
            "vectors_mb": found[0]["vectors_mb"]}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--rankers", type=int, default=2, help="ranker processes at once for the memory comparison")
    args = parser.parse_args()
    sample, changed = ready_sample(args.rebuild)
    large = OUT / f"replicated-{args.size}.db"
    if changed or not large.exists():
        replicate(sample, large, args.size)
    people = patients()
    print(f"{len(people)} patients (58 SIGIR notes + the example ITP patient), warm, top 10")
    print(f"{'database':<28}{'trials':>9}{'BM25 p50':>10}{'p95':>8}{'match p50':>11}{'p95':>8}")
    for label, path in (("XML sample", sample), ("replicated sample", large)):
        result = measure(path, people)
        ms = {k: [1000 * v for v in result[k]] for k in ("floor", "full")}
        print(f"{label:<28}{result['trials']:>9,}{statistics.median(ms['floor']):>9.0f}ms{percentile(ms['floor'], 95):>6.0f}ms"
              f"{statistics.median(ms['full']):>9.0f}ms{percentile(ms['full'], 95):>6.0f}ms")
    print(f"\n{args.rankers} ranker processes at once, each matching every patient (warm, top 10); memory per process, MB")
    print(f"{'database':<20}{'vectors':<34}{'match p50':>10}{'p95':>8}{'RSS':>8}{'PSS':>8}{'private':>9}")
    for label, path in (("XML sample", sample), ("replicated sample", large)):
        for shared, how in ((False, "private float32 copy (before)"), (True, "float16 file, mapped (after)")):
            result = rankers_at_once(path, shared, people, args.rankers)
            if shared and not result["mapped"]:
                print(f"  (the vector file of {path.name} was not found: the rankers read the database's rows)")
            m = result["memory"]
            print(f"{label:<20}{how:<34}{statistics.median(result['times']):>8.0f}ms{percentile(result['times'], 95):>6.0f}ms"
                  f"{m['rss']:>8.0f}{m['pss']:>8.0f}{m['private']:>9.0f}")
    costs = stage_costs(sample, people)
    print("XML sample, mean CPU per patient: " + ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in costs.items()))
    from matcher.ranking import RankingModel
    from matcher.resources import data_path

    started = time.perf_counter()
    RankingModel.load(data_path("ranker.json"))
    print(f"loading the learned model (data/ranker.json): {1000 * (time.perf_counter() - started):.1f} ms")


if __name__ == "__main__":
    main()
