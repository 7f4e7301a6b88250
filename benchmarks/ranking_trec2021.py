"""Ranking quality on TREC 2021 (Clinical Trials track), cross-validated by patient.

    python benchmarks/ranking_trec2021.py [--rebuild] [--tuning-only]

Each of the 75 patients' judged trials (those with a record in the collection's corpus) are
re-ranked; NDCG@10 (grades 2/1/0 as gains), P@10 and MRR (grade 2 = eligible counts) by
``ir_measures``. Learned models are scored out of fold: 5 folds of patients, each model trained
on the other four. Every third patient (sorted by id) is held out from tuning: the features
and settings were chosen looking at the other two thirds only (``--tuning-only`` runs those
alone, as while tuning), and both parts are printed. In the same run: random order, BM25, BM25 +
embeddings (RRF), the hand-set score, the learned model on retrieval features only, and
LambdaRank trees (LightGBM) on the same features. Then the trial-level eligibility probability:
eligible against excluded among the relevant trials with criteria, AUC within each patient.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import ranking_learn as learn  # noqa: E402
from benchmarks.ranking_data import collection_pairs  # noqa: E402

RETRIEVAL = ["bm25_all", "bm25_title", "bm25_summary", "bm25_conditions", "bm25_mesh_terms", "bm25_keywords",
             "bm25_criteria", "cosine", "cosine_gap", "fused"]


def table(pairs, systems: dict, folds: dict[str, int], parts: dict[str, list[str]]) -> None:
    print(f"{'system':<44}{'NDCG@10 (folds: mean ± sd)':>28}" + "".join(f"{name:>20}" for name in parts)
          + f"{'P@10':>8}{'MRR':>8}")
    for name, runs in systems.items():  # each system: one or more runs (random: 20 shuffles)
        by_fold = [statistics.mean(learn.evaluate(pairs, s, [t for t in folds if folds[t] == f])["NDCG@10"] for s in runs)
                   for f in sorted(set(folds.values()))]
        whole = {key: statistics.mean(learn.evaluate(pairs, s, sorted(folds))[key] for s in runs) for key in ("P@10", "MRR")}
        part = [statistics.mean(learn.evaluate(pairs, s, topics)["NDCG@10"] for s in runs) for topics in parts.values()]
        print(f"{name:<44}{statistics.mean(by_fold):>20.3f} ± {statistics.stdev(by_fold):.3f}"
              + "".join(f"{value:>20.3f}" for value in part) + f"{whole['P@10']:>8.3f}{whole['MRR']:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the collection's database")
    parser.add_argument("--tuning-only", action="store_true", help="only the patients used for tuning")
    parser.add_argument("--embedding-model", choices=["minilm", "static"], default="minilm",
                        help="the model the trials and patients are embedded with (static: what it costs, docs/scale.md)")
    args = parser.parse_args()

    from matcher.embeddings import MODELS

    pairs = collection_pairs("trec2021", args.rebuild, MODELS[args.embedding_model])
    topics = learn.topics_with_eligible(pairs)
    heldout = learn.heldout_topics(topics)
    tuning = [t for t in topics if t not in heldout]
    if args.tuning_only:
        topics, heldout = tuning, set()
        pairs = [p for p in pairs if p.topic in topics]
    folds = learn.folds_of(topics)
    parts = {"tuned on": tuning} | ({"not tuned on": sorted(heldout)} if heldout else {})
    print(f"TREC 2021: {len(topics)} patients with an eligible trial ({len(tuning)} tuned on, {len(heldout)} not), "
          f"{len(pairs):,} judged pairs with a trial record ({sum(p.has_criteria for p in pairs):,} with criteria), "
          f"re-ranking each patient's judged trials; {learn.FOLDS} folds by patient")
    systems = {
        "random order (mean of 20)": [learn.random_scores(pairs, i) for i in range(20)],
        "BM25": [[p.baselines["bm25"] for p in pairs]],
        "BM25 + embeddings (RRF)": [[p.baselines["fused"] for p in pairs]],
        "hand-set score (before)": [[p.baselines["hand_set"] for p in pairs]],
        "learned, retrieval features only": [learn.cross_validate(pairs, learn.restricted(learn.learned, RETRIEVAL), folds)[0]],
        "learned (shipped kind: 2 logistic models)": [learn.cross_validate(pairs, learn.learned, folds)[0]],
    }
    try:
        systems["LambdaRank trees (LightGBM), same features"] = [learn.cross_validate(pairs, learn.lambdamart, folds)[0]]
    except ImportError:
        print("(LightGBM not installed: pip install -e '.[train]' to compare LambdaRank trees)")
    table(pairs, systems, folds, parts)

    print("\ntrial-level eligibility: eligible against excluded among relevant trials with criteria, "
          "AUC within each patient (mean over patients with both)")
    eligible, _ = learn.cross_validate(pairs, learn.learned_eligibility, folds)
    from matcher.ranking import FEATURES

    share = FEATURES.index("share_satisfied")
    for name, scores in (("label today (eligible > possible > ineligible)", [learn.label_score(p) for p in pairs]),
                         ("share of criteria satisfied", [p.features[share] for p in pairs]),
                         ("learned P(eligible | relevant), out of fold", eligible)):
        cells = "".join(f"   {part}: {learn.grouped_auc([p for p in pairs if p.topic in set(t)], [s for p, s in zip(pairs, scores) if p.topic in set(t)])[0]:.3f}"
                        for part, t in parts.items())
        auc, patients = learn.grouped_auc(pairs, scores)
        print(f"{name:<50} AUC {auc:.3f} ({patients} patients){cells}")


if __name__ == "__main__":
    main()
