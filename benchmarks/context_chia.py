"""Negation of the context lexicon against Chia's annotations.

    python benchmarks/context_chia.py [--chia DIR] [--show-errors N]

Chia (Kury et al. 2020, CC BY 4.0; the released half chia-dev) links a concept to the words that
negate it (``Has_negation``). For every Condition, Drug, Procedure, Observation, Measurement
and Device entity of a criterion, gold "negated" is such a link; ours is
``ContextScopes(criterion).at(entity).negated``. Chia also links exceptions ("other than",
"except", "unless") as negations; trialmatch reads those as carved-out exceptions
(``Constraint.excluding``), so concepts linked only to an exception phrase are left out of the
score. Reported for the tuning part and the held-out fifth (``tools.chia.heldout``: never looked
at while writing rules), next to a baseline in the same run: a negation word anywhere before the
concept in its criterion ("no", "not", "without", "never", "none", "negative", "denies").
``--show-errors`` prints errors of the tuning part only.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.criteria_common import shared_data  # noqa: E402
from matcher.criteria import ContextScopes  # noqa: E402
from tools.chia import CHIA_TYPES, heldout  # noqa: E402

CONCEPTS = ("Condition", "Drug", "Procedure", "Observation", "Measurement", "Device")
_EXCEPTION = re.compile(r"^\W*(?:other\s+than|except|excluding|exclusion\s+of|with\s+the\s+exception|apart\s+from|"
                        r"besides|unless|but\s+not|not\s+including)", re.I)
_BASELINE = re.compile(r"\b(?:no|not|without|never|none|negative|denies|denied)\b", re.I)


def read(path: Path) -> tuple[str, dict[str, tuple[str, int, int]], dict[str, set[str]]]:
    """Text, entities (id → type, start, end; contiguous ones) and negation links (concept → cue ids)."""
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    entities, links = {}, {}
    for line in open(path.with_suffix(".ann"), encoding="utf-8", newline=""):
        parts = line.rstrip("\r\n").split("\t")
        if line.startswith("T") and len(parts) >= 2:
            label, _, spans = parts[1].partition(" ")
            if label in CHIA_TYPES and ";" not in spans:
                start, end = (int(x) for x in spans.split())
                entities[parts[0]] = (label, start, end)
        elif line.startswith("R") and len(parts) >= 2 and parts[1].startswith("Has_negation"):
            args = dict(a.split(":") for a in parts[1].split()[1:])
            links.setdefault(args["Arg1"], set()).add(args["Arg2"])
    return text, entities, links


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chia", type=Path, default=shared_data() / "annotations" / "chia-dev")
    ap.add_argument("--show-errors", type=int, default=0)
    args = ap.parse_args()
    if not args.chia.is_dir():
        sys.exit(f"chia-dev not found at {args.chia} (set TRIALMATCH_SHARED_DATA)")
    counts = {part: Counter() for part in ("tuning", "held-out")}
    errors = []
    for txt in sorted(args.chia.glob("*.txt")):
        if not txt.with_suffix(".ann").exists():
            continue
        text, entities, links = read(txt)
        part = "held-out" if heldout(txt.stem.partition("_")[0]) else "tuning"
        pos = 0
        for line in text.split("\n"):
            end = pos + len(line)
            scopes = None
            for eid, (label, s, e) in entities.items():
                if label not in CONCEPTS or not (pos <= s and e <= end):
                    continue
                cues = [entities[c] for c in links.get(eid, ()) if c in entities]
                cue_texts = [text[cs:ce] for _, cs, ce in cues]
                if cue_texts and all(_EXCEPTION.match(t) for t in cue_texts):
                    continue
                gold = bool(cue_texts)
                scopes = scopes or ContextScopes(line)
                ours = scopes.at(s - pos, e - pos).negated
                base = bool(_BASELINE.search(line[:s - pos]))
                c = counts[part]
                c["n"] += 1
                c["gold"] += gold
                for name, guess in (("ours", ours), ("base", base)):
                    c[f"{name} pred"] += guess
                    c[f"{name} tp"] += guess and gold
                    c[f"{name} right"] += guess == gold
                if ours != gold and part == "tuning":
                    errors.append((gold, line.strip(), text[s:e]))
            pos = end + 1
    for part, c in counts.items():
        print(f"{part}: {c['n']} concepts, {c['gold']} negated in Chia")
        for name, label in (("ours", "context lexicon"), ("base", "baseline: a negation word before it")):
            p = c[f"{name} tp"] / c[f"{name} pred"] if c[f"{name} pred"] else 0.0
            r = c[f"{name} tp"] / c["gold"] if c["gold"] else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            print(f"  {label:<38} negated P {p:.3f}  R {r:.3f}  F1 {f:.3f}   accuracy {c[f'{name} right'] / c['n']:.3f}")
    for gold, line, concept in errors[:args.show_errors]:
        print(f"\n[{'negated' if gold else 'not negated'} in Chia] {concept!r}\n  {line[:220]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
