"""Ranking quality on the SIGIR 2016 patient-to-trial collection (Koopman & Zuccon): a
collection the shipped model never saw.

    python benchmarks/ranking_sigir.py [--rebuild]

For each of the 58 patient notes, rank that patient's judged trials (re-ranking, as TrialGPT
did) and score NDCG@10 (graded 0/1/2), P@10 (label 2 = would refer) and MRR (first label 2) by
``ir_measures``. In the same run: a random order (mean of 20 shuffles), BM25 alone, BM25 +
embeddings fused, the hand-set score, the shipped model (data/ranker.json, trained on TREC
2021 only), and for reference the same kind of model cross-validated on SIGIR itself (5 folds
by patient). The trial database is built once under benchmarks/out/ from the collection's corpus.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import ranking_learn as learn  # noqa: E402
from benchmarks.ranking_data import collection_pairs, database, queries  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the benchmark database")
    parser.add_argument("--embedding-model", choices=["minilm", "static"], default="minilm",
                        help="the model the trials and patients are embedded with (static: what it costs, docs/scale.md)")
    args = parser.parse_args()
    from matcher.patient import load_patient
    from matcher.rank import Ranker
    from matcher.ranking import ModelError, shipped_model
    from matcher.store import Store

    try:
        model = shipped_model()
    except ModelError as error:
        sys.exit(str(error))
    from matcher.embeddings import MODELS

    pairs = collection_pairs("sigir2016", args.rebuild, MODELS[args.embedding_model])
    topics = learn.topics_with_eligible(pairs)
    folds = learn.folds_of(topics)
    x = learn.matrix(pairs)
    systems = {
        "random order (mean of 20)": [learn.random_scores(pairs, i) for i in range(20)],
        "BM25": [[p.baselines["bm25"] for p in pairs]],
        "BM25 + embeddings (RRF)": [[p.baselines["fused"] for p in pairs]],
        "hand-set score (before)": [[p.baselines["hand_set"] for p in pairs]],
        f"learned, shipped ({model.version}, TREC only)": [model.score(x)],
        "learned, 5-fold CV on SIGIR (reference)": [learn.cross_validate(pairs, learn.learned, folds)[0]],
    }
    print(f"SIGIR 2016: {len(topics)} patients with a label-2 trial, {len(pairs)} judged pairs, "
          "re-ranking each patient's judged trials")
    print(f"{'system':<48}{'NDCG@10':>9}{'P@10':>8}{'MRR':>8}")
    for name, runs in systems.items():
        found = [learn.evaluate(pairs, scores) for scores in runs]
        print(f"{name:<48}" + "".join(f"{statistics.mean(f[k] for f in found):>{w}.4f}"
                                      for k, w in (("NDCG@10", 9), ("P@10", 8), ("MRR", 8))))
    auc, patients = learn.grouped_auc(pairs, model.eligible_probability(x))
    label_auc, _ = learn.grouped_auc(pairs, [learn.label_score(p) for p in pairs])
    print(f"would refer (2) against would consider (1), relevant trials with criteria, AUC within each patient "
          f"({patients} patients): shipped P(eligible) {auc:.3f}, label today {label_auc:.3f}")

    store = Store(database("sigir2016"), read_only=True)
    ranker = Ranker(store)
    notes = queries("sigir2016")
    by_topic: dict[str, list[str]] = {}
    for pair in pairs:
        by_topic.setdefault(pair.topic, []).append(pair.nct_id)
    seconds = []
    for topic in topics:
        started = time.perf_counter()
        ranker.rank(load_patient(notes[topic]), top=len(by_topic[topic]), shortlist=by_topic[topic])
        seconds.append(time.perf_counter() - started)
    print(f"trialmatch time per patient (load note, retrieve, evaluate every judged trial, score): "
          f"p50 {1000 * statistics.median(seconds):.0f} ms, mean {1000 * statistics.mean(seconds):.0f} ms")


if __name__ == "__main__":
    main()
