"""The learned ranking model, read from a JSON file and evaluated with numpy.

The file (``data/ranker.json``, written by ``benchmarks/train_ranker.py``) holds the feature
names and version it was trained on, what it was trained on and measured at, and two models:

- ``ranker``: gradient-boosted trees (LightGBM's LambdaRank, its trees copied into plain
  arrays) or a linear model; its output orders trials, higher first;
- ``eligibility``: a logistic model, the probability that a trial the patient's condition is
  relevant to is one the patient is eligible for (the judges' "eligible" against "excluded").

LightGBM is needed to train, not to rank: the trees are walked here, all candidates at once.
Each prediction can be split into the part each feature contributed (for trees, Saabas' method:
the change of the expected value along the path, credited to the split's feature).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .features import FEATURES, FEATURES_VERSION


class ModelError(ValueError):
    """The model file is unreadable, or was trained on other features than this code computes."""


@dataclass
class Trees:
    """Tree ensembles as flat node arrays: ``feature`` −1 marks a leaf; ``value`` is the leaf's
    output, or an inner node's expected output (for contributions)."""

    feature: list[np.ndarray]
    threshold: list[np.ndarray]
    left: list[np.ndarray]
    right: list[np.ndarray]
    value: list[np.ndarray]
    depth: int

    @classmethod
    def from_json(cls, trees: list[dict]) -> Trees:
        arrays = {key: [np.asarray(tree[key], dtype=float if key in ("threshold", "value") else np.int32)
                        for tree in trees] for key in ("feature", "threshold", "left", "right", "value")}
        return cls(**arrays, depth=max((tree["depth"] for tree in trees), default=0))

    def _paths(self, x: np.ndarray):
        """For each tree, the node of every row at each depth (root first)."""
        rows = np.arange(len(x))
        for feature, threshold, left, right in zip(self.feature, self.threshold, self.left, self.right):
            node = np.zeros(len(x), dtype=np.int32)
            path = [node]
            for _ in range(self.depth):
                split = feature[node]
                inner = split >= 0
                if not inner.any():
                    break
                go_left = x[rows, np.where(inner, split, 0)] <= threshold[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
                path.append(node)
            yield path

    def predict(self, x: np.ndarray) -> np.ndarray:
        total = np.zeros(len(x))
        for path, value in zip(self._paths(x), self.value):
            total += value[path[-1]]
        return total

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(rows, features): how much each feature moved each row's output from the expected one."""
        out = np.zeros(x.shape)
        rows = np.arange(len(x))
        for path, feature, value in zip(self._paths(x), self.feature, self.value):
            for parent, child in zip(path, path[1:]):
                moved = child != parent
                np.add.at(out, (rows[moved], feature[parent[moved]]), value[child[moved]] - value[parent[moved]])
        return out


@dataclass
class Linear:
    """``bias + Σ weight × (x − mean) / scale``."""

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: float

    @classmethod
    def from_json(cls, spec: dict) -> Linear:
        return cls(np.asarray(spec["mean"]), np.asarray(spec["scale"]), np.asarray(spec["weight"]), float(spec["bias"]))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        return self.weight * (x - self.mean) / self.scale

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.bias + self.contributions(x).sum(axis=1)


def part_from_json(spec: dict) -> Trees | Linear:
    if spec["kind"] == "trees":
        return Trees.from_json(spec["trees"])
    if spec["kind"] == "linear":
        return Linear.from_json(spec)
    raise ModelError(f"unknown model kind {spec['kind']!r}")


class RankingModel:
    """A trained ranker and eligibility model over ``FEATURES``."""

    def __init__(self, spec: dict, *, source: str = "model"):
        self.spec = spec
        self.source = source
        self.check()
        self.ranker = part_from_json(spec["ranker"])
        self.eligibility = part_from_json(spec["eligibility"]) if spec.get("eligibility") else None
        # the part of the model that makes orders: a new one is a new batch run
        self.version = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]

    def check(self) -> None:
        """Refuse a model trained on other features than this code computes."""
        if self.spec.get("features") != list(FEATURES) or self.spec.get("features_version") != FEATURES_VERSION:
            raise ModelError(f"{self.source} was trained on features version {self.spec.get('features_version')}, "
                             f"this code computes version {FEATURES_VERSION}: retrain it "
                             "(python benchmarks/train_ranker.py)")

    @classmethod
    def load(cls, path: str | Path) -> RankingModel:
        try:
            spec = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise ModelError(f"cannot read the ranking model {path}: {error}") from None
        return cls(spec, source=str(path))

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.ranker.predict(x)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        return self.ranker.contributions(x)

    def eligible_probability(self, x: np.ndarray) -> np.ndarray | None:
        if self.eligibility is None:
            return None
        return 1 / (1 + np.exp(-self.eligibility.predict(x)))


@cache
def shipped_model() -> RankingModel:
    """The model that ships in data/ranker.json, loaded once per process."""
    from ..resources import data_path

    return RankingModel.load(data_path("ranker.json"))
