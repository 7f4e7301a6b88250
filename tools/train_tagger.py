"""Train the Chia entity tagger on the tuning part of chia-dev and write
``data/lexicons/chia-tagger.npz``. Deterministic (fixed solver, no sampling).

    python -m tools.train_tagger ../shared/data/annotations/chia-dev [--c 0.5]

The held-out part (``chia.heldout``) is never read for training or tuning."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from matcher.criteria.doc import Doc
from matcher.criteria.mentions import find_mentions
from matcher.criteria.tagger import MODEL_FILE, lexicon_tags, window_features
from matcher.resources import data_path
from tools.chia import ChiaDocument, f1, heldout, lines, read_corpus, score

MIN_COUNT = 2
CLASS_WEIGHT_POWER = 0.25


def token_labels(doc: Doc, entities, offset: int) -> list[str]:
    """BIO labels of the tokens; where gold entities overlap, the longer one wins."""
    labels = ["O"] * len(doc.tokens)
    for ent in sorted(entities, key=lambda e: -(e.end - e.start)):
        idx = [i for i, (_, s, e) in enumerate(doc.tokens)
               if s >= ent.start - offset and e <= ent.end - offset]
        if not idx or any(labels[i] != "O" for i in idx):
            continue
        for n, i in enumerate(idx):
            labels[i] = ("B-" if n == 0 else "I-") + ent.type
    return labels


def examples(docs: list[ChiaDocument]):
    """(words, lexicon tags, labels, token offsets) for every criterion line."""
    for d in docs:
        for s, e, ents in lines(d):
            text = d.text[s:e]
            if not text.strip():
                continue
            doc = Doc.from_text(text, d.kind)
            find_mentions(doc)
            yield ([t for t, _, _ in doc.tokens], lexicon_tags(doc), token_labels(doc, ents, s),
                   [(a, b) for _, a, b in doc.tokens])


def train(docs: list[ChiaDocument], c: float = 0.5):
    from sklearn.linear_model import LogisticRegression
    from scipy.sparse import csr_matrix

    rows, y = [], []
    for words, lex, labels, _ in examples(docs):
        for i in range(len(words)):
            rows.append(window_features(words, lex, i))
            y.append(labels[i])
    counts = Counter(f for r in rows for f in r)
    features = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    index = {f: i for i, f in enumerate(features)}
    indptr, indices = [0], []
    for r in rows:
        indices.extend(sorted({index[f] for f in r if f in index}))
        indptr.append(len(indices))
    x = csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                   shape=(len(rows), len(features)))
    # Rare entity labels weigh a little more: (most frequent entity label count / count)^0.25,
    # chosen on the validation fold like C.
    label_counts = Counter(y)
    top = max(n for label, n in label_counts.items() if label != "O")
    weights = np.array([1.0 if label == "O" else (top / label_counts[label]) ** CLASS_WEIGHT_POWER
                        for label in y])
    model = LogisticRegression(C=c, max_iter=300, tol=1e-4)
    model.fit(x, y, sample_weight=weights)
    return list(model.classes_), features, model.coef_.T.copy(), model.intercept_.copy()


def validate(docs: list[ChiaDocument], c: float) -> int:
    """Fit on the tuning part less one fold (SHA-1 of the NCT id, second digit) and score."""
    import hashlib

    def fold(d):
        return int(hashlib.sha1(d.nct_id.encode()).hexdigest(), 16) // 5 % 5 == 0

    from .tagger import Tagger, bio_spans

    labels, features, weights, bias = train([d for d in docs if not fold(d)], c)
    model = Tagger(labels, features, weights, bias)
    pairs = []
    for words, lex, gold_labels, offsets in examples([d for d in docs if fold(d)]):
        pred = bio_spans(model.tag_tokens(words, lex), offsets)
        pairs.append((bio_spans(gold_labels, offsets), pred))
    counts = score(pairs)
    tot = {k: sum(counts[t][k] for t in counts) for k in ("gold", "pred", "strict", "relaxed")}
    s = f1(tot["strict"], tot["pred"], tot["gold"])[2]
    r = f1(tot["relaxed"], tot["pred"], tot["gold"])[2]
    print(f"C={c}: validation fold strict F1 {s:.3f}, relaxed F1 {r:.3f} (gold = flattened labels)")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("chia_dir", type=Path)
    ap.add_argument("--c", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--validate", action="store_true",
                    help="train on 4/5 of the tuning part, print F1 on the other 1/5, write nothing")
    args = ap.parse_args(argv)
    docs = [d for d in read_corpus(args.chia_dir) if not heldout(d.nct_id)]
    if args.validate:
        return validate(docs, args.c)
    labels, features, weights, bias = train(docs, args.c)
    # Drop features whose weights are all near zero, store half precision.
    keep = np.abs(weights).max(axis=1) >= 0.01
    features = [f for f, k in zip(features, keep) if k]
    out = args.out or data_path("lexicons", MODEL_FILE)
    np.savez_compressed(out, labels=np.array(labels), features=np.array(features),
                        weights=weights[keep].astype(np.float16), bias=bias.astype(np.float32))
    print(f"{len(docs)} documents, {len(features)} features, {len(labels)} labels → {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
