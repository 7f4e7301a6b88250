"""Word clusters for the entity tagger, learned without labels from the words of real
eligibility criteria: positive PMI of co-occurrence in a ±2 window → truncated SVD → k-means
at three granularities. Writes ``data/lexicons/word-clusters.tsv`` (an aggregate vocabulary:
word and cluster numbers, nothing per trial). Deterministic (fixed seeds).

    python -m tools.build_clusters ../shared/data/ctgov/criteria-corpus.jsonl.gz
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from matcher.criteria.lexicon import tokenize
from matcher.resources import data_path

MIN_COUNT = 5
DIMS = 100
GRANULARITY = (64, 256, 1024)


def _documents(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield [t.lower() for t, _, _ in tokenize(json.loads(line)["criteria_text"])]


def embeddings(path: Path) -> tuple[list[str], np.ndarray]:
    from scipy.sparse import coo_matrix
    from sklearn.decomposition import TruncatedSVD

    docs = list(_documents(path))
    counts = Counter(w for d in docs for w in d)
    vocab = sorted(w for w, n in counts.items() if n >= MIN_COUNT)
    index = {w: i for i, w in enumerate(vocab)}
    rows, cols, vals = [], [], []
    for d in docs:
        ids = np.array([index.get(w, -1) for w in d], dtype=np.int64)
        for k, weight in ((1, 1.0), (2, 0.5)):
            a, b = ids[:-k], ids[k:]
            ok = (a >= 0) & (b >= 0)
            rows += [a[ok], b[ok]]
            cols += [b[ok], a[ok]]
            vals += [np.full(ok.sum() * 2, weight, dtype=np.float32)]
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = coo_matrix((np.concatenate(vals), (r, c)), shape=(len(vocab), len(vocab))).tocsr()
    total = m.sum()
    row = np.asarray(m.sum(axis=1)).ravel()
    col = np.asarray(m.sum(axis=0)).ravel() ** 0.75
    col = col / col.sum() * total
    m = m.tocoo()
    pmi = np.log(m.data * total / (row[m.row] * col[m.col]))
    keep = pmi > 0
    ppmi = coo_matrix((pmi[keep], (m.row[keep], m.col[keep])), shape=m.shape).tocsr()
    vectors = TruncatedSVD(DIMS, random_state=0, algorithm="arpack").fit_transform(ppmi)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    return vocab, vectors


def main(argv: list[str]) -> int:
    from sklearn.cluster import MiniBatchKMeans

    corpus = Path(argv[0]) if argv else Path("../shared/data/ctgov/criteria-corpus.jsonl.gz")
    vocab, vectors = embeddings(corpus)
    columns = []
    for k in GRANULARITY:
        km = MiniBatchKMeans(k, random_state=0, n_init=3, batch_size=4096).fit(vectors)
        columns.append(km.labels_)
    out = data_path("lexicons", "word-clusters.tsv")
    with open(out, "w", encoding="utf-8") as f:
        f.write("# word\t" + "\t".join(f"cluster of {k}" for k in GRANULARITY) + "\n")
        for i, w in enumerate(vocab):
            if "\t" in w or "\n" in w:
                continue
            f.write(w + "\t" + "\t".join(str(c[i]) for c in columns) + "\n")
    print(f"{len(vocab)} words → {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
