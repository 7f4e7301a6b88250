"""The learned ranking: features of a (patient, trial) pair, the model that orders trials by
them, and the words that explain an order. ``matcher.rank.Ranker`` uses it."""

from .explain import WORDS, explain
from .features import FEATURES, FEATURES_VERSION, FIELDS, Retrieval, pair_features, text_stems
from .model import ModelError, RankingModel, shipped_model

__all__ = ["FEATURES", "FEATURES_VERSION", "FIELDS", "ModelError", "RankingModel", "Retrieval", "WORDS", "explain",
           "pair_features", "shipped_model", "text_stems"]
