"""Computability report: the share of criteria, and of trials, that the parser turns into at
least one structured constraint, by category and by kind, over the whole criteria corpus.

    python benchmarks/criteria_computability.py [--workers 2] [--limit N]

"Clinical" criteria leave out the administrative ones (consent, compliance, investigator's
judgement), which no record can answer and which matching lists as "to confirm"."""

from __future__ import annotations

import argparse
import os
from collections import Counter
from multiprocessing import Pool

from criteria_common import corpus_texts

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _summarize(text: str) -> list[tuple[str, str, bool, tuple[str, ...]]]:
    from matcher.criteria import parse_criteria

    return [(c.kind, c.category, bool(c.constraints), tuple(sorted({k.type for k in c.constraints})))
            for c in parse_criteria(text)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    texts = corpus_texts(args.limit)
    with Pool(args.workers) as pool:
        trials = pool.map(_summarize, texts, chunksize=64)
    total, done = Counter(), Counter()
    kinds_total, kinds_done = Counter(), Counter()
    types = Counter()
    trials_any = trials_clinical_all = trials_half = 0
    for crits in trials:
        clinical = [c for c in crits if c[1] != "administrative"]
        if any(c[2] for c in crits):
            trials_any += 1
        if clinical and sum(c[2] for c in clinical) >= len(clinical) / 2:
            trials_half += 1
        for kind, category, has, ctypes in crits:
            total[category] += 1
            done[category] += has
            kinds_total[kind] += 1
            kinds_done[kind] += has
            types.update(ctypes)
    n = sum(total.values())
    n_done = sum(done.values())
    n_clin = n - total["administrative"]
    nonempty = sum(1 for t in trials if t)
    print(f"corpus: {len(texts)} trials ({nonempty} with criteria), {n} criteria")
    print(f"criteria with >= 1 structured constraint: {n_done / n:.1%} of all, "
          f"{(n_done - done['administrative']) / n_clin:.1%} of clinical (non-administrative)")
    for kind in ("inclusion", "exclusion"):
        print(f"  {kind:10} {kinds_done[kind] / max(1, kinds_total[kind]):.1%} of {kinds_total[kind]}")
    print(f"trials with >= 1 structured constraint: {trials_any / nonempty:.1%}; "
          f"trials with at least half of their clinical criteria structured: {trials_half / nonempty:.1%}")
    print("\nby category (share of all criteria / share structured):")
    for category, count in total.most_common():
        print(f"  {category:20} {count / n:6.1%}  {done[category] / count:6.1%}")
    print("\nconstraints by type (criteria carrying one):")
    for t, count in types.most_common():
        print(f"  {t:14} {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
