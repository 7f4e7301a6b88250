"""Batch throughput: patients per second of `trialmatch batch` over the 7,461-trial XML sample.

    python benchmarks/batch_throughput.py [--patients 1000] [--rebuild]

Patients: the 58 SIGIR 2016 notes (real text, read at run time) spread among synthetic patients
of the tests' generator (structured conditions, labs, drugs, homes), 1,000 in all, the same on
every run. Each configuration is one `trialmatch batch` process, timed from start to exit (so
process start, model load and writing the output are included): 1 and 2 workers, with and
without embeddings, default filters (recruiting and not yet recruiting trials), top 10.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchmarks.common import REPO, shared_data  # noqa: E402
from benchmarks.match_latency import OUT, ready_sample  # noqa: E402
from patient_generator import synthetic_patients  # noqa: E402

CONDITIONS = (
    "breast cancer", "type 2 diabetes", "HIV infection", "asthma", "hypertension", "major depressive disorder",
    "rheumatoid arthritis", "COPD", "prostate cancer", "obesity", "schizophrenia", "hepatitis C", "heart failure",
    "stroke", "chronic kidney disease", "non-small cell lung cancer", "melanoma", "multiple sclerosis",
    "Parkinson disease", "psoriasis", "immune thrombocytopenia", "atrial fibrillation", "osteoarthritis",
)


def benchmark_patients(count: int) -> list[dict]:
    """SIGIR notes spread evenly among synthetic patients."""
    notes = [json.loads(line) for line in shared_data("benchmarks", "sigir2016", "queries.jsonl").open()]
    synthetic = synthetic_patients(count - len(notes), seed=2016, conditions=CONDITIONS)
    step = count // len(notes)
    patients = list(synthetic)
    for position, note in enumerate(notes):
        patients.insert(position * step, {"id": note["_id"], "note": note["text"]})
    return patients[:count]


def run_batch(db: Path, patients: Path, workers: int, embeddings: bool) -> dict:
    out = OUT / "batch-throughput.csv"
    command = [sys.executable, "-m", "matcher", "--db", str(db), "batch", str(patients), "--out", str(out),
               "--workers", str(workers), "--results-db", str(OUT / "batch-throughput.results.db"), "--new-run"]
    if not embeddings:
        command.append("--no-embeddings")
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    started, cpu_before = time.perf_counter(), _children_cpu()
    result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, check=True)
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _children_cpu() - cpu_before,
            "summary": result.stdout.strip().splitlines()[-1]}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--rebuild", action="store_true", help="rebuild benchmarks/out/xml-sample.db")
    args = parser.parse_args()
    sample, _ = ready_sample(args.rebuild)
    people = benchmark_patients(args.patients)
    patients = OUT / "batch-throughput-patients.jsonl"
    patients.write_text("".join(json.dumps(p) + "\n" for p in people))
    (OUT / "batch-throughput.results.db").unlink(missing_ok=True)
    load = os.getloadavg()[0]
    print(f"{len(people):,} patients (58 SIGIR notes + synthetic), {os.cpu_count()} cores, load {load:.1f} at start; "
          "wall clock incl. start-up; CPU = user + system of all processes")
    print(f"{'embeddings':<12}{'workers':>8}{'seconds':>9}{'patients/s':>12}{'CPU s':>8}{'CPU ms/patient':>16}  output")
    for embeddings in (False, True):
        for workers in (1, 2):
            result = run_batch(sample, patients, workers, embeddings)
            print(f"{'yes' if embeddings else 'no':<12}{workers:>8}{result['seconds']:>9.1f}"
                  f"{len(people) / result['seconds']:>12.1f}{result['cpu_seconds']:>8.0f}"
                  f"{1000 * result['cpu_seconds'] / len(people):>16.0f}  {result['summary'].split(';')[0].split(': ', 1)[1]}",
                  flush=True)


if __name__ == "__main__":
    main()
