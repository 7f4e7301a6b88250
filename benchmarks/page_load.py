"""Physician-page response times under 20 concurrent users, against a real `trialmatch serve`.

    python benchmarks/page_load.py [--db PATH] [--rankers N] [--users 20] [--requests-per-user 10] [--think-ms 1000]

Serves a copy of the XML-sample database (benchmarks/out/xml-sample.db, built as
benchmarks/match_latency.py builds it when missing: import, sites placed, criteria parsed,
embedding index) with the seed listing scraped into it, unless --db names a registry. Each
user (a thread with its own HTTP session) asks for results pages, in turn a patient given in
the form's fields (one of a few hand-written patients, with labs, therapies, location and
radius) and a patient given as a pasted note (one of the 58 SIGIR 2016 case descriptions),
pausing 0.5–1.5 × --think-ms before each request. A page that is not a 200 with results counts
as an error. Every results page ranks the patient afresh: nothing is cached between requests.
Prints p50/p95 per kind and overall. Target: p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, shared_data  # noqa: E402
from benchmarks.load_test import add_arguments, serve_and_load  # noqa: E402

SEED_LISTING = REPO / "data" / "examples" / "ianalumab-itp-listing.txt"
PAGE_KINDS = ("form patient", "note patient")
FORM_PATIENTS = (
    {"age": "45", "sex": "female", "diagnosis": "primary immune thrombocytopenia", "lab": "platelet count",
     "lab_value": "22", "lab_unit": "10^9/L", "therapy": ["prednisone", "eltrombopag"], "therapy_status": ["past", "current"],
     "therapy_start": ["2025-03", "2025-09"], "therapy_end": ["2025-06", ""], "zip": "02114", "radius_km": "100"},
    {"age": "62", "sex": "female", "diagnosis": "breast cancer", "lab": ["absolute neutrophil count", "hemoglobin"],
     "lab_value": ["2.1", "11.2"], "lab_unit": ["10^9/L", "g/dL"], "therapy": "tamoxifen", "therapy_status": "past",
     "zip": "10032", "radius_km": "200"},
    {"age": "55", "sex": "male", "diagnosis": "type 2 diabetes", "lab": "HbA1c", "lab_value": "8.1", "lab_unit": "%",
     "therapy": "metformin", "therapy_status": "current", "city": "Chicago", "country": "United States"},
    {"age": "71", "sex": "male", "diagnosis": ["heart failure", "atrial fibrillation"], "lab": "eGFR", "lab_value": "48",
     "lab_unit": "mL/min/1.73m2", "therapy": ["furosemide", "apixaban"], "therapy_status": ["current", "current"]},
    {"age": "34", "sex": "female", "pregnant": "no", "diagnosis": "asthma", "therapy": "salbutamol",
     "therapy_status": "current", "status": ""},  # any status
    {"age": "8", "sex": "male", "diagnosis": "acute lymphoblastic leukemia", "lab": "platelet count", "lab_value": "90",
     "lab_unit": "10^9/L", "zip": "94305"},
)


def registry_copy(folder: Path) -> Path:
    """The XML sample (built once if missing) copied, with the seed listing scraped into the copy."""
    from benchmarks.match_latency import ready_sample

    sample, _ = ready_sample()
    path = folder / "trials.db"
    shutil.copy(sample, path)
    subprocess.run([sys.executable, "-m", "matcher", "--db", str(path), "scrape", str(SEED_LISTING)], check=True,
                   cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL)
    return path


class PatientChooser:
    def __init__(self, seed: int):
        self.notes = [json.loads(line)["text"] for line in shared_data("benchmarks", "sigir2016", "queries.jsonl").open()]
        self.random = random.Random(seed)

    def url(self, kind: str) -> str:
        if kind == "form patient":
            return "/find?" + urlencode(self.random.choice(FORM_PATIENTS), doseq=True)
        return "/find?" + urlencode({"note": self.random.choice(self.notes)})


def results_page(response: requests.Response) -> bool:
    return response.status_code == 200 and 'id="results-title"' in response.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="registry database to serve (default: a copy of the XML sample + the seed listing)")
    parser.add_argument("--rankers", type=int, default=1, help="trialmatch serve --rankers N: ranker processes")
    add_arguments(parser, requests_per_user=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_path = args.db or registry_copy(Path(folder))
        # The first search of each kind waits for the model, the vectors and the lexicons.
        serve_and_load(db_path, PAGE_KINDS, PatientChooser(args.seed).url, results_page, args, warm_timeout=300,
                       serve_options=["--rankers", str(args.rankers)], warm_concurrency=2 * args.rankers)

if __name__ == "__main__":
    main()
