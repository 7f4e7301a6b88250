"""Criterion-level accuracy on TrialGPT's expert labels (the half in ../shared/data).

    python benchmarks/criteria_accuracy.py [--show-errors N]

Each pair is a patient note, one trial criterion and the physicians' label, mapped to this
project's verdicts as the data README says. We load the note as a patient, parse the criterion
under its heading, evaluate it, and compare. Reported separately for the pairs TrialGPT marks
``training`` (the part we looked at while building rules) and the rest, next to the trivial
baseline (every exclusion not_met, every inclusion unknown).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data  # noqa: E402

LABELS = {
    ("inclusion", "included"): "met",
    ("inclusion", "not applicable"): "met",
    ("inclusion", "not included"): "not_met",
    ("exclusion", "excluded"): "met",
    ("exclusion", "not excluded"): "not_met",
    ("exclusion", "not applicable"): "not_met",
}
VERDICTS = ("met", "not_met", "unknown")


def expected(pair: dict) -> str:
    return LABELS.get((pair["criterion_type"], pair["expert_eligibility"]), "unknown")


def baseline(pair: dict) -> str:
    return "not_met" if pair["criterion_type"] == "exclusion" else "unknown"


def combine(kind: str, verdicts: list[str]) -> str:
    """One verdict for a criterion text the parser split into several criteria."""
    if not verdicts:
        return "unknown"
    if kind == "inclusion":
        if "not_met" in verdicts:
            return "not_met"
        return "met" if all(v == "met" for v in verdicts) else "unknown"
    if "met" in verdicts:
        return "met"
    return "not_met" if all(v == "not_met" for v in verdicts) else "unknown"


def predict(pair: dict, patients: dict) -> tuple[str, list]:
    from matcher.criteria import parse_criteria
    from matcher.eligibility import evaluate
    from matcher.patient import load_patient

    if pair["patient_id"] not in patients:
        patients[pair["patient_id"]] = load_patient(pair["note"])
    heading = "Inclusion Criteria:" if pair["criterion_type"] == "inclusion" else "Exclusion Criteria:"
    criteria = parse_criteria(f"{heading}\n- {pair['criterion_text']}")
    verdicts = evaluate(patients[pair["patient_id"]], criteria)
    return combine(pair["criterion_type"], [v.verdict for v in verdicts]), verdicts


def report(name: str, rows: list[tuple[str, str, str]]) -> None:
    if not rows:
        return
    accuracy = sum(gold == ours for gold, ours, _ in rows) / len(rows)
    trivial = sum(gold == base for gold, _, base in rows) / len(rows)
    print(f"\n{name}: {len(rows)} pairs   accuracy {accuracy:.3f}   trivial baseline {trivial:.3f}")
    confusion = Counter((gold, ours) for gold, ours, _ in rows)
    print(f"  {'expert → ours':<14}" + "".join(f"{v:>10}" for v in VERDICTS))
    for gold in VERDICTS:
        print(f"  {gold:<14}" + "".join(f"{confusion[(gold, ours)]:>10}" for ours in VERDICTS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", type=int, default=0, metavar="N")
    parser.add_argument("--part", choices=("all", "training", "rest"), default="all")
    args = parser.parse_args()
    pairs = [json.loads(line) for line in shared_data("benchmarks", "trialgpt-criteria-dev", "pairs.jsonl").open()]
    patients: dict = {}
    started = time.perf_counter()
    by_part: dict[str, list] = {"training": [], "rest": []}
    errors = []
    for pair in pairs:
        part = "training" if pair["training"] else "rest"
        if args.part not in ("all", part):
            continue
        ours, verdicts = predict(pair, patients)
        gold = expected(pair)
        by_part[part].append((gold, ours, baseline(pair)))
        if ours != gold:
            errors.append((pair, ours, verdicts))
    seconds = time.perf_counter() - started
    total = by_part["training"] + by_part["rest"]
    print(f"TrialGPT criterion-level labels: {len(total)} pairs, {len(patients)} patients, "
          f"{seconds:.2f} s ({1000 * seconds / max(1, len(total)):.2f} ms per pair, notes loaded once)")
    report("all pairs", total)
    report("pairs TrialGPT marks training (looked at while building)", by_part["training"])
    report("pairs not marked training (not looked at)", by_part["rest"])
    for pair, ours, verdicts in errors[: args.show_errors]:
        print(f"\n[{pair['criterion_type']}] expert {expected(pair)} ({pair['expert_eligibility']}), ours {ours}")
        print(f"  criterion: {pair['criterion_text'][:200]}")
        for v in verdicts:
            print(f"  → {v.verdict}: {v.reason[:160]}")


if __name__ == "__main__":
    main()
