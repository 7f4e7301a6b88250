"""Segmentation quality on the real criteria corpus: how many criteria are fragments, and how
many still hold a run of their own list.

    python benchmarks/criteria_segmentation.py [--limit N] [--workers 2]

Counted per criterion of ``parse_criteria`` (no labels exist; these are symptoms a reader of the
checklist would see):
- dangling: ends with a word that needs more ("aged", "of", "with", "prior to", ",") and the
  next criterion goes on with it;
- not a criterion: a lone connector ("OR"), an empty section ("None", "Not specified"), an
  amendment's label ("PER AMENDMENT 4/5/95:"), a heading left over ("INCLUSION /");
- inline list: holds two or more list markers that follow each other ("… 5. LVEF … 6. ECOG …").
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from multiprocessing import Pool

from criteria_common import corpus_texts

_DANGLING = re.compile(r"(?:\b(?:aged?|of|with|and|or|the|to|in|for|by|a|an|than|from|at|between|including|"
                       r"prior\s+to|within)|[,(/])$", re.I)
_NOT_A_CRITERION = re.compile(
    r"^\W*(?:or|and|and/or|none|nil|n/?a|not\s+(?:applicable|specified)|(?:(?:as\s+)?per\s+)?(?:[\d/.-]+\s+)?"
    r"(?:protocol\s+)?(?:amendment|amended)(?:\s+[\d/.-]+)?|(?:inclusion|exclusion)(?:\s*(?:/|and|or))?)\W*$", re.I)
_MARKER = re.compile(r"(?<=\S)\s+(\d{1,2})[.)]\s+[A-Z]")


def _inline_run(text: str) -> bool:
    numbers = [int(m.group(1)) for m in _MARKER.finditer(text)]
    return any(b == a + 1 for a, b in zip(numbers, numbers[1:]))


def _count(text: str) -> Counter:
    from matcher.criteria import parse_criteria

    criteria = parse_criteria(text)
    c = Counter(trials=1, criteria=len(criteria))
    for i, crit in enumerate(criteria):
        t = crit.text.strip()
        if _DANGLING.search(t) and i + 1 < len(criteria) and criteria[i + 1].kind == crit.kind:
            c["dangling"] += 1
        if _NOT_A_CRITERION.match(t):
            c["not a criterion"] += 1
        if _inline_run(t):
            c["inline list"] += 1
    return c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    texts = corpus_texts(args.limit)
    total = Counter()
    with Pool(args.workers) as pool:
        for c in pool.imap_unordered(_count, texts, chunksize=64):
            total.update(c)
    n = total["criteria"]
    print(f"{total['trials']} trials, {n} criteria ({n / total['trials']:.2f} per trial)")
    for key in ("dangling", "not a criterion", "inline list"):
        print(f"  {key:<16} {total[key]:>6}  {1000 * total[key] / n:.2f} per 1,000 criteria")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
