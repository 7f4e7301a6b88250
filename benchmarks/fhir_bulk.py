"""Reading a FHIR Bulk Data export: the indexed reader of `trialmatch batch` against loading it all.

    python benchmarks/fhir_bulk.py [--patients N]

Writes a synthetic export of N patients (Patient, Condition, Observation, MedicationRequest,
Procedure and Encounter NDJSON, each resource pointing at its patient) in a temporary folder,
then reads it in two fresh processes, each turning every patient into a ``models.Patient``:

- indexed: ``matcher.batch.fhir_bulk.BulkExport``, what ``trialmatch batch`` reads (lines indexed by patient into a temporary SQLite
  file, patients assembled one at a time);
- baseline: every line parsed and grouped by patient in a dict, then the patients assembled.

Prints the time and the peak resident memory of each. The export is synthetic (no real FHIR
export is in ../shared/data) and is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import peak_rss_mb, run_phase  # noqa: E402

PER_PATIENT = {"Condition": 8, "Observation": 40, "MedicationRequest": 10, "Procedure": 5, "Encounter": 20}
LABS = [("777-3", "Platelets", "10*3/uL", 20, 400), ("718-7", "Hemoglobin", "g/dL", 7, 17),
        ("2160-0", "Creatinine", "mg/dL", 0.5, 3), ("62238-1", "eGFR", "mL/min/{1.73_m2}", 15, 120),
        ("4548-4", "Hemoglobin A1c", "%", 5, 12)]
CONDITIONS = [("E11.9", "Type 2 diabetes mellitus without complications"), ("I10", "Essential (primary) hypertension"),
              ("D69.3", "Immune thrombocytopenic purpura"), ("J45.909", "Unspecified asthma, uncomplicated"),
              ("C50.911", "Malignant neoplasm of unspecified site of right female breast")]
DRUGS = ["metformin", "lisinopril", "eltrombopag", "prednisone", "albuterol", "atorvastatin"]


def _resource(kind: str, patient: str, n: int, rng: random.Random) -> dict:
    base = {"resourceType": kind, "id": f"{kind[:3].lower()}-{patient}-{n}", "subject": {"reference": f"Patient/{patient}"},
            "meta": {"lastUpdated": "2026-11-20T10:00:00Z"}}
    if kind == "Condition":
        code, display = rng.choice(CONDITIONS)
        return {**base, "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                        "code": rng.choice(["active", "resolved"])}]},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": str(rng.randint(10**7, 10**8))},
                                    {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code, "display": display}]},
                "onsetDateTime": f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"}
    if kind == "Observation":
        loinc, display, unit, low, high = rng.choice(LABS)
        return {**base, "status": "final", "category": [{"coding": [{"code": "laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]},
                "effectiveDateTime": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
                "valueQuantity": {"value": round(rng.uniform(low, high), 1), "unit": unit,
                                  "system": "http://unitsofmeasure.org", "code": unit}}
    if kind == "MedicationRequest":
        return {**base, "status": rng.choice(["active", "completed", "stopped"]), "intent": "order",
                "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                          "code": str(rng.randint(10**5, 10**6)), "display": rng.choice(DRUGS)}]},
                "authoredOn": "2025-03-01"}
    if kind == "Procedure":
        return {**base, "status": "completed", "code": {"text": rng.choice(["appendectomy", "colonoscopy", "splenectomy"])},
                "performedDateTime": "2019-05-02"}
    return {**base, "status": "finished", "class": {"code": "AMB"}, "period": {"start": "2026-01-01", "end": "2026-01-01"}}


def write_export(folder: Path, patients: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    streams = {kind: (folder / f"{kind}.ndjson").open("w") for kind in ("Patient", *PER_PATIENT)}
    try:
        for p in range(patients):
            pid = f"pt{p:07d}"
            streams["Patient"].write(json.dumps({"resourceType": "Patient", "id": pid, "gender": rng.choice(["female", "male"]),
                                                 "birthDate": f"19{rng.randint(40, 99)}-06-15",
                                                 "address": [{"postalCode": "02114", "city": "Boston", "country": "US"}]}) + "\n")
            for kind, count in PER_PATIENT.items():
                for n in range(count):
                    streams[kind].write(json.dumps(_resource(kind, pid, n, rng)) + "\n")
    finally:
        for stream in streams.values():
            stream.close()
    return sum(f.stat().st_size for f in folder.glob("*.ndjson"))


def phase_indexed(folder: str) -> dict:
    from matcher.batch.fhir_bulk import BulkExport, Problem
    from matcher.patient import load_patient

    started = time.perf_counter()
    patients = resources = 0
    index_mb = 0.0
    with tempfile.TemporaryDirectory(prefix="trialmatch-bulk-work-") as work:
        # what `trialmatch batch` reads (matcher.batch.inputs.read_fhir_bulk), with the index where it can be weighed
        for item in BulkExport(Path(folder), work_dir=Path(work)).read():
            if isinstance(item, Problem):
                continue
            if not patients:
                index_mb = sum(f.stat().st_size for f in Path(work).rglob("*") if f.is_file()) / 2**20
            patient = load_patient(item.bundle)
            patients += 1
            resources += len(patient.conditions) + len(patient.labs) + len(patient.medications) + len(patient.procedures)
    return {"patients": patients, "facts": resources, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb(),
            "index_mb": index_mb}


def phase_baseline(folder: str) -> dict:
    from matcher.batch.fhir_bulk import READ_TYPES, patient_reference
    from matcher.patient import load_patient

    started = time.perf_counter()
    people: dict[str, dict] = {}
    others: dict[str, list] = defaultdict(list)
    for file in sorted(Path(folder).glob("*.ndjson")):
        with file.open() as stream:
            for line in stream:
                resource = json.loads(line)
                if resource["resourceType"] == "Patient":
                    people[resource["id"]] = resource
                elif resource["resourceType"] in READ_TYPES:
                    others[patient_reference(resource)].append(resource)
    patients = resources = 0
    for pid, resource in people.items():
        bundle = {"resourceType": "Bundle", "id": pid, "entry": [{"resource": r} for r in (resource, *others.get(pid, []))]}
        patient = load_patient(bundle)
        patients += 1
        resources += len(patient.conditions) + len(patient.labs) + len(patient.medications) + len(patient.procedures)
    return {"patients": patients, "facts": resources, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--phase", choices=["indexed", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("folder", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps({"indexed": phase_indexed, "baseline": phase_baseline}[args.phase](args.folder)))
        return
    with tempfile.TemporaryDirectory(prefix="trialmatch-bulk-bench-") as folder:
        size = write_export(Path(folder), args.patients)
        lines = args.patients * (1 + sum(PER_PATIENT.values()))
        print(f"synthetic export: {args.patients:,} patients, {lines:,} resources, {size / 2**20:.1f} MB of NDJSON")
        results = {phase: run_phase(Path(__file__), phase, folder) for phase in ("indexed", "baseline")}
    for phase, r in results.items():
        print(f"{phase:9s} {r['patients']:,} patients ({r['facts']:,} facts) in {r['seconds']:.1f} s "
              f"= {r['patients'] / r['seconds']:,.0f} patients/s, peak memory {r['peak_rss_mb']:.0f} MB")
    indexed, baseline = results["indexed"], results["baseline"]
    print(f"temporary index on disk: {indexed['index_mb']:.0f} MB (removed when read)")
    assert indexed["facts"] == baseline["facts"], "the two readers disagree"
    print(f"indexed / baseline: time {indexed['seconds'] / baseline['seconds']:.2f}x, "
          f"peak memory {indexed['peak_rss_mb'] / baseline['peak_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
