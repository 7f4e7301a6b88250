"""Train the learned ranker on TREC 2021's judgements and write data/ranker.json.

    python benchmarks/train_ranker.py [--rebuild] [--out data/ranker.json]

One command, deterministic: builds (or reuses) benchmarks/out/trec2021.db from the
collection's judged trial records, assesses every judged (patient, trial) pair with this
checkout's engine (cached while the code and the registry are unchanged), fits the relevance and
eligibility models on all 75 patients, and writes them with the features they use, what they
were trained on and how they measured: 5-fold cross-validation grouped by patient on TREC 2021,
and the model as written on SIGIR 2016, a collection it never saw. Rerun it after any change
to the engine: the test suite fails when data/ranker.json no longer matches the features.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import ranking_learn as learn  # noqa: E402
from benchmarks.common import REPO  # noqa: E402
from benchmarks.ranking_data import collection_pairs  # noqa: E402


def rounded(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def measure(trec, sigir) -> dict:
    """What the written file reports: TREC cross-validation and SIGIR, unseen."""
    from matcher.ranking import RankingModel

    topics = learn.topics_with_eligible(trec)
    heldout = learn.heldout_topics(topics)
    scores, folds = learn.cross_validate(trec, learn.learned, learn.folds_of(topics))
    mean, sd = learn.spread(folds)
    eligible, _ = learn.cross_validate(trec, learn.learned_eligibility, learn.folds_of(topics))
    model = RankingModel(learn.fit_model(trec))
    x = learn.matrix(sigir)
    return {
        "trec2021_cv": {"NDCG@10": mean, "NDCG@10_sd_across_folds": sd, "folds": learn.FOLDS,
                        "tuned_on": learn.evaluate(trec, scores, [t for t in topics if t not in heldout]),
                        "not_tuned_on": learn.evaluate(trec, scores, sorted(heldout)),
                        "eligibility_auc_by_patient": learn.grouped_auc(trec, eligible)[0]},
        "sigir2016_unseen": {**learn.evaluate(sigir, model.score(x)),
                             "eligibility_auc_by_patient": learn.grouped_auc(sigir, model.eligible_probability(x))[0]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the collections' databases")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "ranker.json")
    args = parser.parse_args()
    from matcher.derive import parser_version
    from matcher.ranking import RankingModel

    started = time.perf_counter()
    trec = collection_pairs("trec2021", args.rebuild)
    sigir = collection_pairs("sigir2016", args.rebuild)
    spec = learn.fit_model(trec)
    spec = {
        "name": "trialmatch learned ranker",
        **rounded(spec),
        "trained_on": {
            "collection": "TREC 2021 Clinical Trials track (75 patient notes; qrels 2 eligible, 1 excluded, "
                          "0 not relevant), judged trials with a record in its corpus",
            "patients": len({p.topic for p in trec}), "pairs": len(trec),
            "eligibility_pairs": sum(1 for p in trec if p.grade > 0 and p.has_criteria),
            "criteria_parser": parser_version(), "command": "python benchmarks/train_ranker.py",
        },
        "metrics": rounded(measure(trec, sigir)),
    }
    spec["version"] = RankingModel(spec).version
    args.out.write_text(json.dumps(spec, indent=1) + "\n")
    metrics = spec["metrics"]
    print(f"wrote {args.out} (version {spec['version']}, {len(trec):,} TREC 2021 pairs, "
          f"{time.perf_counter() - started:.0f} s)")
    cv = metrics["trec2021_cv"]
    print(f"TREC 2021, {learn.FOLDS}-fold CV by patient: NDCG@10 {cv['NDCG@10']:.3f} ± {cv['NDCG@10_sd_across_folds']:.3f}; "
          f"tuned-on patients {cv['tuned_on']['NDCG@10']:.3f}, not tuned on {cv['not_tuned_on']['NDCG@10']:.3f}; "
          f"eligibility AUC {cv['eligibility_auc_by_patient']:.3f}")
    unseen = metrics["sigir2016_unseen"]
    print(f"SIGIR 2016, unseen: NDCG@10 {unseen['NDCG@10']:.3f}, P@10 {unseen['P@10']:.3f}, MRR {unseen['MRR']:.3f}; "
          f"eligibility AUC {unseen['eligibility_auc_by_patient']:.3f}")


if __name__ == "__main__":
    main()
