"""A fast sequence tagger for Chia entity types: a linear model over word, affix, shape and
lexicon features of a five-token window, decoded greedily under BIO constraints.

Trained on the tuning part of chia-dev by ``python -m tools.train_tagger``; the
weights live in ``data/lexicons/chia-tagger.npz`` (derived from Chia, CC BY 4.0, Kury et al.
2020). Scoring is a sum of per-word vectors cached by word, so tagging costs a few dictionary
look-ups and one small matrix sum per criterion."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from matcher.resources import data_path

from .doc import Doc

MODEL_FILE = "chia-tagger.npz"
OFFSETS = (-2, -1, 0, 1, 2)
PAD_LEFT, PAD_RIGHT = "<s>", "</s>"
_WORD_CACHE_LIMIT = 300_000  # words whose vectors are kept (~55 MB)
_NEGATION = {"no", "not", "without", "never", "none", "neither", "nor", "absence", "negative",
             "free", "lack", "denies", "non", "except", "other", "than", "excluding"}
_TEMPORAL = {"day", "days", "week", "weeks", "month", "months", "year", "years", "hour", "hours",
             "within", "prior", "previous", "previously", "past", "last", "since", "before",
             "after", "during", "current", "currently", "recent", "recently", "history", "ago",
             "screening", "baseline", "enrollment", "randomization", "onset", "duration"}


def shape(word: str) -> str:
    s = re.sub(r"[A-Z]", "X", word)
    s = re.sub(r"[a-z]", "x", s)
    s = re.sub(r"[0-9]", "d", s)
    return re.sub(r"(.)\1{2,}", r"\1\1", s)


@lru_cache(maxsize=1)
def word_clusters() -> dict[str, tuple[str, ...]]:
    """word → its cluster numbers at each granularity (``build_clusters``)."""
    out = {}
    try:
        with open(data_path("lexicons", "word-clusters.tsv"), encoding="utf-8") as f:
            for line in f:
                if not line.startswith("#"):
                    word, *clusters = line.rstrip("\n").split("\t")
                    out[word] = tuple(clusters)
    except OSError:
        pass
    return out


def word_features(word: str) -> list[str]:
    """Features of a token that depend on the token alone (cached by word at run time)."""
    low = word.lower()
    feats = [f"w={low}", f"shape={shape(word)}"]
    clusters = word_clusters().get(low)
    if clusters:
        feats += [f"c{n}={c}" for n, c in enumerate(clusters)]
    if len(low) > 3:
        feats += [f"s3={low[-3:]}", f"p3={low[:3]}", f"s4={low[-4:]}"]
    if low in _NEGATION:
        feats.append("cue=neg")
    if low in _TEMPORAL:
        feats.append("cue=time")
    if word[:1].isupper():
        feats.append("title")
    return feats


def lexicon_tags(doc: Doc) -> list[str]:
    """Per token: the lexicon mention type it falls in, with B/I ("B-drug", "I-condition"), or O."""
    tags = ["O"] * len(doc.tokens)
    j = 0
    for m in doc.mentions:
        first = True
        while j < len(doc.tokens) and doc.tokens[j][1] < m.start:
            j += 1
        k = j
        while k < len(doc.tokens) and doc.tokens[k][2] <= m.end:
            tags[k] = ("B-" if first else "I-") + m.type
            first = False
            k += 1
    return tags


def _at(seq: list[str], k: int, pad: tuple[str, str]) -> str:
    return seq[k] if 0 <= k < len(seq) else (pad[0] if k < 0 else pad[1])


def pair_features(words: list[str], lex: list[str], i: int) -> list[str]:
    """Features of token ``i`` that combine neighbours: word bigrams, lexicon tag trigram."""
    w = [_at(words, k, (PAD_LEFT, PAD_RIGHT)).lower() for k in (i - 1, i, i + 1)]
    t = [_at(lex, k, ("pad", "pad")) for k in (i - 1, i, i + 1)]
    return [f"b-1={w[0]}|{w[1]}", f"b+1={w[1]}|{w[2]}", f"lex3={t[0]}|{t[1]}|{t[2]}"]


def _pair_keys(words: list[str], lex: list[str], kind: int) -> list[tuple[str, ...]]:
    """Per token, the key of one kind of pair feature: the word bigram to the left (0), to the
    right (1), or the lexicon tag trigram (2)."""
    if kind == 2:
        tags = ["pad", *lex, "pad"]
        return list(zip(tags, tags[1:], tags[2:]))
    low = [PAD_LEFT, *(w.lower() for w in words), PAD_RIGHT]
    return list(zip(low, low[1:])) if kind == 0 else list(zip(low[1:], low[2:]))


def window_features(words: list[str], lex: list[str], i: int) -> list[str]:
    """All features of token ``i`` (training form)."""
    out = []
    for o in OFFSETS:
        w = _at(words, i + o, (PAD_LEFT, PAD_RIGHT))
        for f in word_features(w):
            out.append(f"{o}:{f}")
        out.append(f"{o}:lex={_at(lex, i + o, ('pad', 'pad'))}")
    return out + pair_features(words, lex, i)


class Tagger:
    def __init__(self, labels: list[str], features: list[str], weights: np.ndarray,
                 bias: np.ndarray) -> None:
        self.labels = labels
        self.index = {f: i for i, f in enumerate(features)}
        self.weights = weights.astype(np.float32)
        # pair features by kind, keyed by tuples of words / tags (no string formatting at run time)
        self._pairs: list[dict[tuple[str, ...], int]] = [{}, {}, {}]
        for f, i in self.index.items():
            for kind, prefix in enumerate(("b-1=", "b+1=", "lex3=")):
                if f.startswith(prefix):
                    self._pairs[kind][tuple(f[len(prefix):].split("|"))] = i
        self.bias = bias.astype(np.float32)
        # Per-word contributions at each window position, one row per word seen so far.
        self._word_rows: dict[str, int] = {}
        self._word_table = np.zeros((1024, len(OFFSETS), len(labels)), dtype=np.float32)
        self._lex_rows: dict[str, int] = {}
        self._lex_table = np.zeros((64, len(OFFSETS), len(labels)), dtype=np.float32)
        n = len(labels)
        # allowed[prev, cur]: I-X only after B-X or I-X
        self.allowed = np.ones((n + 1, n), dtype=bool)  # row n: sentence start
        for j, cur in enumerate(labels):
            if cur.startswith("I-"):
                for i, prev in enumerate(labels):
                    self.allowed[i, j] = prev[2:] == cur[2:] and prev != "O"
                self.allowed[n, j] = False
        # allowed labels after each label (row n: at the start), as sets for the decoder
        self._allowed_after = [set(np.flatnonzero(row).tolist()) for row in self.allowed]
        self._label_index = {label: i for i, label in enumerate(labels)}

    @classmethod
    def load(cls, path=None) -> Tagger:
        data = np.load(path or data_path("lexicons", MODEL_FILE), allow_pickle=False)
        return cls(list(data["labels"]), list(data["features"]), data["weights"], data["bias"])

    def _sum(self, feats: list[str]) -> np.ndarray:
        rows = [self.index[f] for f in feats if f in self.index]
        if not rows:
            return np.zeros(len(self.labels), dtype=np.float32)
        return self.weights[rows].sum(axis=0)

    def _word_vectors(self, word: str) -> np.ndarray:
        """(len(OFFSETS), n_labels): this word's contribution at each window position."""
        out = np.zeros((len(OFFSETS), len(self.labels)), dtype=np.float32)
        feats = word_features(word)
        positions, rows = [], []
        for k, o in enumerate(OFFSETS):
            for f in feats:
                r = self.index.get(f"{o}:{f}")
                if r is not None:
                    positions.append(k)
                    rows.append(r)
        if rows:
            np.add.at(out, positions, self.weights[rows])
        return out

    def _lex_vectors(self, tag: str) -> np.ndarray:
        return np.stack([self._sum([f"{o}:lex={tag}"]) for o in OFFSETS])

    def _rows(self, items: list[str], rows: dict[str, int], attr: str, make) -> list[int]:
        """Row numbers of ``items`` in a growing table of per-item vectors."""
        out = []
        for item in items:
            r = rows.get(item)
            if r is None:
                table = getattr(self, attr)
                r = len(rows)
                if r >= len(table):
                    table = np.concatenate([table, np.zeros_like(table)])
                    setattr(self, attr, table)
                table[r] = make(item)
                rows[item] = r
            out.append(r)
        return out

    def scores(self, words: list[str], lex: list[str]) -> np.ndarray:
        return self.scores_many([(words, lex)])[0]

    def scores_many(self, sequences: list[tuple[list[str], list[str]]]) -> list[np.ndarray]:
        """Label scores of several token sequences, computed in one pass."""
        padded: list[str] = []
        padded_lex: list[str] = []
        starts = []
        for words, lex in sequences:
            starts.append(len(padded) + 2)
            padded += [PAD_LEFT, PAD_LEFT, *words, PAD_RIGHT, PAD_RIGHT]
            padded_lex += ["pad", "pad", *lex, "pad", "pad"]
        if len(self._word_rows) > _WORD_CACHE_LIMIT:  # start the cache afresh, between batches
            self._word_rows.clear()
        word_rows = self._rows(padded, self._word_rows, "_word_table", self._word_vectors)
        lex_rows = self._rows(padded_lex, self._lex_rows, "_lex_table", self._lex_vectors)
        w = self._word_table[word_rows] + self._lex_table[lex_rows]  # after the tables grew
        total = len(padded)
        s = np.broadcast_to(self.bias, (total, len(self.labels))).copy()
        for j, o in enumerate(OFFSETS):
            # token i sees token i+o at window position j
            lo, hi = max(0, -o), total - max(0, o)
            s[lo:hi] += w[lo + o:hi + o, j]
        for kind in range(3):  # each pair feature kind adds at most once per token
            table = self._pairs[kind]
            rows, targets = [], []
            for start, (words, lex) in zip(starts, sequences):
                for k, key in enumerate(_pair_keys(words, lex, kind)):
                    r = table.get(key)
                    if r is not None:
                        rows.append(r)
                        targets.append(start + k)
            if rows:
                s[targets] += self.weights[rows]
        return [s[start:start + len(words)] for start, (words, _) in zip(starts, sequences)]

    def decode(self, scores: np.ndarray, beam: int = 3) -> list[str]:
        """Best label sequence allowed by BIO (Viterbi over each token's ``beam`` best labels,
        log-softmax scores); the plain best labels when they already form a valid sequence."""
        n, n_labels = scores.shape
        best = scores.argmax(axis=1)
        if self.allowed[n_labels, best[0]] and (n == 1 or self.allowed[best[:-1], best[1:]].all()):
            return [self.labels[j] for j in best]
        beam = min(beam, n_labels)
        top = np.argpartition(-scores, beam - 1, axis=1)[:, :beam].tolist()
        peak = scores.max(axis=1, keepdims=True)
        logp = (scores - peak - np.log(np.exp(scores - peak).sum(axis=1, keepdims=True))).tolist()
        allowed = self._allowed_after
        # states: label → (score, back-pointer index into the previous step's states)
        prev = {j: (logp[0][j], -1) for j in top[0] if j in allowed[n_labels]}
        if not prev:
            prev = {int(best[0]): (0.0, -1)}
        steps = [prev]
        for i in range(1, n):
            cur = {}
            for j in top[i]:
                cands = [(score, p) for p, (score, _) in prev.items() if j in allowed[p]]
                if cands:
                    score, p = max(cands)
                    cur[j] = (score + logp[i][j], p)
            if not cur:  # nothing allowed among the beam: begin an entity afresh
                j = top[i][0]
                label = self.labels[j]
                if label.startswith("I-") and "B-" + label[2:] in self._label_index:
                    j = self._label_index["B-" + label[2:]]
                p = max(prev, key=lambda q: prev[q][0])
                cur = {j: (prev[p][0] + logp[i][j], p)}
            steps.append(cur)
            prev = cur
        j = max(prev, key=lambda q: prev[q][0])
        path = []
        for step in reversed(steps):
            path.append(j)
            j = step[j][1]
        return [self.labels[j] for j in reversed(path)]

    def tag_tokens(self, words: list[str], lex: list[str]) -> list[str]:
        if not words:
            return []
        return self.decode(self.scores(words, lex))

    def tag(self, doc: Doc) -> list[tuple[int, int, str]]:
        """(start, end, type) spans in ``doc.text``."""
        return self.tag_many([doc])[0]

    def tag_many(self, docs: list[Doc]) -> list[list[tuple[int, int, str]]]:
        sequences = [([t for t, _, _ in d.tokens], lexicon_tags(d)) for d in docs]
        nonempty = [seq for seq in sequences if seq[0]]
        scores = self.scores_many(nonempty) if nonempty else []
        if scores:
            # The best label of every token at once; Viterbi only where they break BIO.
            best_all = np.concatenate([s.argmax(axis=1) for s in scores])
            ok_all = self.allowed[best_all[:-1], best_all[1:]]
        out, k, pos = [], 0, 0
        for d, (words, _) in zip(docs, sequences):
            if not words:
                out.append([])
                continue
            n = len(words)
            best = best_all[pos:pos + n]
            if self.allowed[len(self.labels), best[0]] and ok_all[pos:pos + n - 1].all():
                labels = [self.labels[j] for j in best]
            else:
                labels = self.decode(scores[k])
            k += 1
            pos += n
            out.append(bio_spans(labels, [(s, e) for _, s, e in d.tokens]))
        return out


def bio_spans(labels: list[str], offsets: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    spans = []
    cur = None
    for label, (s, e) in zip(labels, offsets):
        if label.startswith("B-") or (label.startswith("I-") and (cur is None or cur[2] != label[2:])):
            if cur:
                spans.append(tuple(cur))
            cur = [s, e, label[2:]]
        elif label.startswith("I-") and cur:
            cur[1] = e
        else:
            if cur:
                spans.append(tuple(cur))
            cur = None
    if cur:
        spans.append(tuple(cur))
    return spans


@lru_cache(maxsize=1)
def default_tagger() -> Tagger | None:
    """The shipped model, or None when its file is missing."""
    try:
        return Tagger.load()
    except (OSError, KeyError, ValueError):
        return None

