"""The learned ranking model, read from a JSON file and evaluated with numpy.

The file (``data/ranker.json``, written by ``benchmarks/train_ranker.py``) holds the feature
names and version it was trained on, what it was trained on and measured at, and two logistic
models over the same features:

- ``relevance``: the probability that the trial is relevant to the patient (judged eligible or
  excluded, rather than not relevant);
- ``eligibility``: the probability that a relevant trial is one the patient is eligible for
  (judged eligible rather than excluded), learned from trials with criteria.

The learned score is the expected judgement, ``P(relevant) × (1 + P(eligible | relevant)) / 2``
(0 to 1: 1 is a sure "eligible", ½ a sure "excluded"). What each feature contributed is its
term in the two models' log-odds, summed.
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


class RankingModel:
    """The relevance and eligibility models over ``FEATURES`` (see the module's doc)."""

    def __init__(self, spec: dict, *, source: str = "model"):
        self.spec = spec
        self.source = source
        self.check()
        try:
            self.relevance = Linear.from_json(spec["relevance"])
            self.eligibility = Linear.from_json(spec["eligibility"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"{source} is not a ranking model: {error!r}") from None
        for part in (self.relevance, self.eligibility):
            if not part.mean.shape == part.scale.shape == part.weight.shape == (len(FEATURES),):
                raise ModelError(f"{source} is not a ranking model: its weights are not one per feature")
        # a new model is a new batch run: the version is a hash of what orders the trials
        self.version = hashlib.sha256(json.dumps([spec["relevance"], spec["eligibility"]]).encode()).hexdigest()[:12]

    def check(self) -> None:
        """Refuse a model trained on other features than this code computes."""
        if not isinstance(self.spec, dict):
            raise ModelError(f"{self.source} is not a ranking model: not a JSON object")
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

    def relevant_probability(self, x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-self.relevance.predict(x)))

    def eligible_probability(self, x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-self.eligibility.predict(x)))

    def score(self, x: np.ndarray) -> np.ndarray:
        """The expected judgement, 0 to 1 (see the module's doc)."""
        return self.relevant_probability(x) * (1 + self.eligible_probability(x)) / 2

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(rows, features): each feature's term in the two models' log-odds, summed."""
        return self.relevance.contributions(x) + self.eligibility.contributions(x)


@cache
def shipped_model() -> RankingModel:
    """The model that ships in data/ranker.json, loaded once per process."""
    from ..resources import data_path

    return RankingModel.load(data_path("ranker.json"))
