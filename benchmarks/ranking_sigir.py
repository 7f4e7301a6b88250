"""Ranking quality on the SIGIR 2016 patient-to-trial collection (Koopman & Zuccon).

    python benchmarks/ranking_sigir.py [--rebuild]

For each of the 58 patient notes, rank that patient's judged trials (re-ranking, as TrialGPT
did) and score NDCG@10 (graded 0/1/2), P@10 (label 2 = would refer) and MRR (first label 2).
In the same run: a random order (mean of 20 shuffles), BM25 alone, BM25 + embeddings fused, and
the full ranker (fused relevance with criterion-level eligibility). The trial database is built
once under benchmarks/out/ from the collection's corpus (import, parse, embed).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, reparse_if_stale, shared_data  # noqa: E402

OUT = REPO / "benchmarks" / "out"


def build_database(path: Path) -> None:
    from matcher.derive import parse_trials
    from matcher.embeddings import build_index
    from matcher.ingest import import_paths
    from matcher.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = Store(path)
    started = time.perf_counter()
    summary = import_paths(store, [shared_data("benchmarks", "sigir2016", "corpus.jsonl.gz")])
    parse_trials(store, workers=2)
    build_index(store)
    print(f"built {path.name}: {summary.line()} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def ndcg_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    """NDCG with the label as the gain (trec_eval's ndcg_cut, as TrialGPT reports it)."""
    dcg = sum(gains.get(n, 0) / math.log2(i + 2) for i, n in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def precision_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    return sum(1 for n in ranked[:k] if gains.get(n, 0) == 2) / k


def reciprocal_rank(ranked: list[str], gains: dict[str, int]) -> float:
    return next((1 / (i + 1) for i, n in enumerate(ranked) if gains.get(n, 0) == 2), 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the benchmark database")
    args = parser.parse_args()
    from matcher.embeddings import embed
    from matcher.patient import load_patient
    from matcher.rank import Ranker
    from matcher.retrieve import bm25_search, fuse
    from matcher.store import Store

    db_path = OUT / "sigir2016.db"
    if args.rebuild or not db_path.exists():
        build_database(db_path)
    else:
        reparse_if_stale(db_path)
    store = Store(db_path, read_only=True)
    stored = {r[0] for r in store.conn.execute("SELECT nct_id FROM trials")}
    queries = {q["_id"]: q["text"] for q in map(json.loads, shared_data("benchmarks", "sigir2016", "queries.jsonl").open())}
    judged: dict[str, dict[str, int]] = defaultdict(dict)
    for line in shared_data("benchmarks", "sigir2016", "qrels.tsv").open().read().splitlines()[1:]:
        query, trial, score = line.split("\t")
        if trial in stored:
            judged[query][trial] = int(score)

    ranker = Ranker(store)
    systems = {"random order (mean of 20)": [], "BM25": [], "BM25 + embeddings (RRF)": [], "trialmatch (relevance + eligibility)": []}
    seconds = []
    for query_id, note in sorted(queries.items()):
        gains = judged.get(query_id)
        if not gains or not any(g == 2 for g in gains.values()):
            continue
        ids = sorted(gains)
        rng = random.Random(query_id)
        shuffles = [rng.sample(ids, len(ids)) for _ in range(20)]
        systems["random order (mean of 20)"].append(tuple(statistics.mean(f(s, gains) for s in shuffles)
                                                          for f in (ndcg_at, precision_at, reciprocal_rank)))
        bm25 = [n for n, _ in bm25_search(store, note, len(ids), among=ids)]
        bm25 += [n for n in ids if n not in set(bm25)]
        vectors = ranker.index.search(embed([note])[0], len(ids), among=ids)
        fused = [c.nct_id for c in fuse([bm25_search(store, note, len(ids), among=ids), vectors])]
        fused += [n for n in ids if n not in set(fused)]
        started = time.perf_counter()
        patient = load_patient(note)
        ours = [m.nct_id for m in ranker.rank(patient, top=len(ids), shortlist=ids)]
        seconds.append(time.perf_counter() - started)
        for name, ranking in (("BM25", bm25), ("BM25 + embeddings (RRF)", fused), ("trialmatch (relevance + eligibility)", ours)):
            systems[name].append((ndcg_at(ranking, gains), precision_at(ranking, gains), reciprocal_rank(ranking, gains)))

    count = len(systems["BM25"])
    pairs = sum(len(judged[q]) for q in queries if q in judged)
    print(f"SIGIR 2016: {count} patients with a label-2 trial, {pairs} judged pairs, re-ranking each patient's judged trials")
    print(f"{'system':<40}{'NDCG@10':>9}{'P@10':>8}{'MRR':>8}")
    for name, rows in systems.items():
        means = [statistics.mean(r[i] for r in rows) for i in range(3)]
        print(f"{name:<40}{means[0]:>9.4f}{means[1]:>8.4f}{means[2]:>8.4f}")
    print(f"trialmatch time per patient (load note, retrieve, evaluate every judged trial): "
          f"p50 {1000 * statistics.median(seconds):.0f} ms, mean {1000 * statistics.mean(seconds):.0f} ms")


if __name__ == "__main__":
    main()
