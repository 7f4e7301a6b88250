"""Entity quality of the criteria parser on chia-dev (Chia corpus, Kury et al. 2020, Sci Data
7:281, CC BY 4.0): strict and relaxed F1 per entity type, micro-averaged, on the tuning part
(the tagger's training data) and on the held-out part (one trial in five by SHA-1 of the NCT id,
never used for training or tuning).

    python benchmarks/criteria_chia.py [--chia DIR] [--model FILE]

strict: same type, same start and end. relaxed: same type and overlapping spans, each gold
entity matched at most once. A discontinuous gold entity counts as its full extent. Overlapping
gold entities stay in the gold set, so a flat tagger cannot reach full recall."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.chia import CHIA_TYPES, f1, heldout, lines, read_corpus, score  # noqa: E402
from matcher.criteria.doc import Doc  # noqa: E402
from matcher.criteria.entities import tag_entities  # noqa: E402
from matcher.criteria.mentions import find_mentions  # noqa: E402


def default_chia() -> Path:
    shared = os.environ.get("TRIALMATCH_SHARED_DATA")
    base = Path(shared) if shared else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return base / "annotations" / "chia-dev"


def predict(text: str, kind: str) -> list[tuple[int, int, str]]:
    doc = Doc.from_text(text, kind)
    find_mentions(doc)
    tag_entities(doc)
    return [(e.start, e.end, e.type) for e in doc.entities]


def report(name: str, counts) -> dict[str, float]:
    print(f"\n== {name} ==")
    print(f"{'type':16} {'gold':>6} {'pred':>6}  {'strict P/R/F1':>20}  {'relaxed P/R/F1':>20}")
    tot = defaultdict(int)
    for t in CHIA_TYPES:
        k = counts[t]
        for key in ("gold", "pred", "strict", "relaxed"):
            tot[key] += k[key]
        s, r = f1(k["strict"], k["pred"], k["gold"]), f1(k["relaxed"], k["pred"], k["gold"])
        print(f"{t:16} {k['gold']:6d} {k['pred']:6d}  {s[0]:.3f}/{s[1]:.3f}/{s[2]:.3f}  "
              f"{r[0]:.3f}/{r[1]:.3f}/{r[2]:.3f}")
    s, r = f1(tot["strict"], tot["pred"], tot["gold"]), f1(tot["relaxed"], tot["pred"], tot["gold"])
    print(f"{'micro':16} {tot['gold']:6d} {tot['pred']:6d}  {s[0]:.3f}/{s[1]:.3f}/{s[2]:.3f}  "
          f"{r[0]:.3f}/{r[1]:.3f}/{r[2]:.3f}")
    return {"strict_f1": s[2], "relaxed_f1": r[2]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chia", type=Path, default=default_chia())
    ap.add_argument("--model", type=Path, default=None, help="tagger weights (default: shipped)")
    args = ap.parse_args(argv)
    if not args.chia.is_dir():
        print(f"chia-dev not found at {args.chia}", file=sys.stderr)
        return 2
    if args.model:
        from matcher.criteria import tagger

        model = tagger.Tagger.load(args.model)
        tagger.default_tagger.cache_clear()
        tagger.default_tagger = lambda: model  # type: ignore[assignment]
    docs = read_corpus(args.chia)
    results = {}
    for part, chosen in (("dev-tune", [d for d in docs if not heldout(d.nct_id)]),
                         ("held-out", [d for d in docs if heldout(d.nct_id)])):
        pairs, n_lines = [], 0
        t0 = time.perf_counter()
        for d in chosen:
            for s, e, ents in lines(d):
                if not d.text[s:e].strip():
                    continue
                n_lines += 1
                gold = [(x.start - s, x.end - s, x.type) for x in ents]
                pairs.append((gold, predict(d.text[s:e], d.kind)))
        dt = time.perf_counter() - t0
        print(f"\n{part}: {len({d.nct_id for d in chosen})} trials, {n_lines} criteria, "
              f"{n_lines / dt:.0f} criteria/s (mentions + tagging)")
        results[part] = report(part, score(pairs))
    print("\nsummary: " + "; ".join(f"{k}: strict F1 {v['strict_f1']:.3f}, relaxed F1 {v['relaxed_f1']:.3f}"
                                     for k, v in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
