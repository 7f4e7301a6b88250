"""Fitting and measuring rankers on judged pairs: shared by benchmarks/train_ranker.py,
ranking_trec2021.py and ranking_sigir.py.

Models: the two logistic models ``matcher.ranking.RankingModel`` reads (scikit-learn), and for
comparison LambdaRank on gradient-boosted trees (LightGBM, ``pip install -e '.[train]'``).
Measures come from ``ir_measures`` (trec_eval's definitions): NDCG@10 with the
grades as gains, P@10 and MRR counting grade 2 (eligible) as relevant.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from itertools import groupby

import numpy as np

from benchmarks.ranking_data import Pair

FOLDS = 5
SEED = 20211
# Chosen by cross-validation on the tuning topics only (see docs/ranking.md).
RELEVANCE_C = 0.1
ELIGIBILITY_C = 0.01
TREES = {"num_leaves": 7, "min_data_in_leaf": 80, "learning_rate": 0.05, "num_boost_round": 300,
         "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0}


def measures():
    import ir_measures
    from ir_measures import RR, P, nDCG

    return ir_measures, (nDCG @ 10, P(rel=2) @ 10, RR(rel=2))


def topics_with_eligible(pairs: list[Pair]) -> list[str]:
    """The topics scored: those with at least one trial judged eligible (grade 2)."""
    return sorted({p.topic for p in pairs if p.grade == 2})


def heldout_topics(topics: list[str]) -> set[str]:
    """Every third topic (sorted): never looked at while choosing features or settings."""
    return set(sorted(topics)[2::3])


def folds_of(topics: list[str], folds: int = FOLDS) -> dict[str, int]:
    """Topics dealt round-robin into folds, in a seeded shuffled order: every split is by
    patient, and the same on every run."""
    order = sorted(topics)
    random.Random(SEED).shuffle(order)
    return {topic: i % folds for i, topic in enumerate(order)}


def evaluate(pairs: list[Pair], scores, topics: list[str] | None = None) -> dict[str, float]:
    """Mean NDCG@10, P@10 and MRR over ``topics`` (default: those with an eligible trial)."""
    ir_measures, wanted = measures()
    topics = set(topics if topics is not None else topics_with_eligible(pairs))
    qrels = [ir_measures.Qrel(p.topic, p.nct_id, p.grade) for p in pairs if p.topic in topics]
    run = [ir_measures.ScoredDoc(p.topic, p.nct_id, float(s)) for p, s in zip(pairs, scores) if p.topic in topics]
    found = ir_measures.calc_aggregate(wanted, qrels, run)
    return {"NDCG@10": found[wanted[0]], "P@10": found[wanted[1]], "MRR": found[wanted[2]]}


def random_scores(pairs: list[Pair], shuffle: int) -> list[float]:
    rng = random.Random(SEED + shuffle)
    return [rng.random() for _ in pairs]


def matrix(pairs: list[Pair]) -> np.ndarray:
    return np.array([p.features for p in pairs], dtype=float).reshape(len(pairs), -1)


# ----------------------------------------------------------------------------- rankers

Predictor = Callable[[list[Pair]], np.ndarray]


def fit_linear(pairs: list[Pair], target: Callable[[Pair], int], c: float) -> dict:
    """A logistic model of ``target`` on standardised features (L2, deterministic solver)."""
    from sklearn.linear_model import LogisticRegression

    x = matrix(pairs)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, [target(p) for p in pairs])
    return {"mean": mean.tolist(), "scale": scale.tolist(), "weight": model.coef_[0].tolist(),
            "bias": float(model.intercept_[0])}


def fit_model(pairs: list[Pair]) -> dict:
    """The two models of ``matcher.ranking.model``: relevance on every pair (grade 1 or 2
    against 0), eligibility on the relevant pairs whose trial has criteria (2 against 1)."""
    from matcher.ranking import FEATURES, FEATURES_VERSION

    relevant = [p for p in pairs if p.grade > 0 and p.has_criteria]
    return {"features": list(FEATURES), "features_version": FEATURES_VERSION,
            "relevance": fit_linear(pairs, lambda p: int(p.grade > 0), RELEVANCE_C),
            "eligibility": fit_linear(relevant, lambda p: int(p.grade == 2), ELIGIBILITY_C)}


def learned(pairs: list[Pair]) -> Predictor:
    from matcher.ranking import RankingModel

    model = RankingModel(fit_model(pairs))
    return lambda test: model.score(matrix(test))


def learned_eligibility(pairs: list[Pair]) -> Predictor:
    from matcher.ranking import RankingModel

    model = RankingModel(fit_model(pairs))
    return lambda test: model.eligible_probability(matrix(test))


def lambdamart(pairs: list[Pair]) -> Predictor:
    """LambdaRank on gradient-boosted trees (LightGBM), the alternative measured beside."""
    import lightgbm

    pairs = sorted(pairs, key=lambda p: (p.topic, p.nct_id))
    groups = [len(list(members)) for _, members in groupby(pairs, key=lambda p: p.topic)]
    params = {**TREES}
    rounds = params.pop("num_boost_round")
    data = lightgbm.Dataset(matrix(pairs), label=[p.grade for p in pairs], group=groups)
    booster = lightgbm.train({"objective": "lambdarank", "deterministic": True, "force_row_wise": True,
                              "num_threads": 2, "seed": SEED, "verbosity": -1, **params}, data, num_boost_round=rounds)
    return lambda test: booster.predict(matrix(test))


def restricted(fit: Callable[[list[Pair]], Predictor], names: list[str]) -> Callable[[list[Pair]], Predictor]:
    """``fit`` on the named features only (the others set to 0): what the rest adds."""
    from matcher.ranking import FEATURES

    keep = [name in names for name in FEATURES]

    def masked(pairs: list[Pair]) -> list[Pair]:
        return [replace(p, features=[v if k else 0.0 for v, k in zip(p.features, keep)]) for p in pairs]

    def fitted(pairs: list[Pair]) -> Predictor:
        predict = fit(masked(pairs))
        return lambda test: predict(masked(test))
    return fitted


def cross_validate(pairs: list[Pair], fit: Callable[[list[Pair]], Predictor],
                   folds: dict[str, int]) -> tuple[np.ndarray, list[dict]]:
    """Out-of-fold scores of every pair whose topic is in ``folds``, and each fold's measures."""
    scores = np.zeros(len(pairs))
    measured = []
    for fold in sorted(set(folds.values())):
        train = [p for p in pairs if p.topic in folds and folds[p.topic] != fold]
        test = [i for i, p in enumerate(pairs) if folds.get(p.topic) == fold]
        scores[test] = fit(train)([pairs[i] for i in test])
        measured.append(evaluate([pairs[i] for i in test], scores[test]))
    return scores, measured


def spread(measured: list[dict], name: str = "NDCG@10") -> tuple[float, float]:
    values = [m[name] for m in measured]
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


# -------------------------------------------------------------------------- eligibility


def grouped_auc(pairs: list[Pair], scores) -> tuple[float, int]:
    """Eligible (grade 2) against excluded (grade 1) among relevant pairs with criteria: the
    area under the ROC curve within each patient, averaged over patients that have both."""
    from sklearn.metrics import roc_auc_score

    by_topic = defaultdict(lambda: ([], []))
    for pair, score in zip(pairs, scores):
        if pair.grade > 0 and pair.has_criteria:
            by_topic[pair.topic][0].append(int(pair.grade == 2))
            by_topic[pair.topic][1].append(float(score))
    aucs = [roc_auc_score(y, s) for y, s in by_topic.values() if 0 < sum(y) < len(y)]
    return (statistics.mean(aucs) if aucs else float("nan")), len(aucs)


def label_score(pair: Pair) -> float:
    """Today's label as an order: eligible 2, possible 1, ineligible 0."""
    from matcher.ranking import FEATURES

    eligible = pair.features[FEATURES.index("label_eligible")]
    ineligible = pair.features[FEATURES.index("label_ineligible")]
    return 2.0 if eligible else 0.0 if ineligible else 1.0
