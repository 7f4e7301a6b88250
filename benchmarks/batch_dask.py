"""The batch job on Dask against the local engine, and a model of the cluster for 1,000,000 patients.

    python benchmarks/batch_dask.py [--patients 2000] [--large-patients 200] [--full-registry 560000]

1. Patients/s of `trialmatch batch` over the same patients (the 58 SIGIR 2016 notes among
   synthetic ones, as in batch_throughput.py) against the 7,461-trial XML sample, embeddings on,
   default filters, top 10: the local engine with 1 and 2 workers (the reference), then the Dask
   engine on a cluster started with Dask's own commands on 127.0.0.1 with 1 and 2 workers, each
   with its own cache folder (as if on its own machine), so the registry is snapshotted and
   shipped as on a real cluster. Each configuration is timed from the command's start to its
   exit; CPU counts every process (batch command, scheduler, workers).
2. Per-partition overhead: a warm 1-worker cluster runs empty partitions, one at a time (round
   trip) and streamed (throughput); and the bytes one patient adds to a partition and to its results.
3. The steady cost: CPU per patient of 2 warm workers, against the sample and against the
   104,440-trial registry (benchmarks/out/replicated-100000.db, made by match_latency.py --large)
   when present, with the snapshot and shipping of its copy.
4. The model: from those measurements, the cores and machines to match 1,000,000 patients
   against the full registry (``--full-registry`` trials) in one hour.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchmarks.batch_throughput import benchmark_patients  # noqa: E402
from benchmarks.common import REPO  # noqa: E402
from benchmarks.match_latency import OUT, ready_sample  # noqa: E402
from dask_cluster import CommandLineCluster  # noqa: E402

from matcher.batch.dask_engine import DaskEngine  # noqa: E402
from matcher.batch.inputs import read_input  # noqa: E402
from matcher.batch.runner import MatchSettings  # noqa: E402

WORK = OUT / "batch-dask"
LARGE = OUT / "replicated-100000.db"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def batch(db: Path, patients: Path, name: str, *options: str, env: dict | None = None) -> dict:
    out = WORK / f"{name}.csv"
    command = [sys.executable, "-m", "matcher", "--db", str(db), "batch", str(patients), "--out", str(out),
               "--results-db", str(WORK / f"{name}.results.db"), "--new-run", *options]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "TRIALMATCH_CACHE_DIR": str(WORK / "cache-client"), **(env or {})}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, check=True)
    return {"seconds": time.perf_counter() - started, "stdout": result.stdout, "out": out}


def on_cluster(workers: int, run) -> tuple[object, float, float]:
    """``run(cluster)`` on a fresh cluster of ``workers`` workers with empty caches; returns its
    result, and the wall and CPU seconds of everything (cluster start and stop included)."""
    folder = WORK / f"cluster-{workers}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started, cpu = time.perf_counter(), children_cpu()
    cluster = CommandLineCluster(folder)
    try:
        for number in range(workers):
            cluster.add_worker(f"w{number}")
        cluster.wait_for_workers(workers)
        result = run(cluster)
    finally:
        cluster.close()
    return result, time.perf_counter() - started, children_cpu() - cpu


def shipping(stdout: str) -> str:
    found = re.search(r"registry: copy \w+ \(([\d,]+) MB\) shipped to (\d+) worker\(s\) in ([\d.]+) s", stdout)
    return f"{found[1]} MB to {found[2]} in {found[3]} s" if found else "-"


def throughput_table(sample: Path, patients: Path, count: int) -> None:
    print(f"\n1. {count:,} patients against {sample.name}, embeddings on; wall clock from start to exit; "
          "CPU of every process", flush=True)
    print(f"{'engine':<8}{'workers':>8}{'seconds':>9}{'patients/s':>12}{'CPU s':>8}{'CPU ms/patient':>16}  shipping")
    reference = None
    for engine, workers in (("local", 1), ("local", 2), ("dask", 1), ("dask", 2)):
        if engine == "local":
            cpu = children_cpu()
            result = batch(sample, patients, f"local-{workers}", "--workers", str(workers))
            wall, cpu = result["seconds"], children_cpu() - cpu
        else:
            shutil.rmtree(WORK / "cache-client", ignore_errors=True)  # the snapshot is part of the first night
            result, wall, cpu = on_cluster(workers, lambda cluster: batch(
                sample, patients, f"dask-{workers}", "--engine", "dask", "--scheduler", cluster.address))
        reference = reference or result["out"].read_bytes()
        same = result["out"].read_bytes() == reference
        print(f"{engine:<8}{workers:>8}{wall:>9.1f}{count / wall:>12.1f}{cpu:>8.0f}{1000 * cpu / count:>16.0f}  "
              f"{shipping(result['stdout']) if engine == 'dask' else '-'}"
              f"{'' if same else '   OUTPUT DIFFERS FROM local 1'}", flush=True)


def overhead(sample: Path, patients: Path) -> dict:
    print("\n2. per-partition overhead, 1 warm worker reading the registry where it is", flush=True)

    def measure(cluster):
        settings = MatchSettings(registry=str(sample))
        records = [r for r in read_input(patients) if r.error is None][:100]
        with DaskEngine(settings, scheduler=cluster.address, shared_registry=str(sample)) as engine:
            [results] = list(engine.match_partitions(iter([records])))  # loads the model and lexicons
            round_trips = []
            for _ in range(100):
                started = time.perf_counter()
                list(engine.match_partitions(iter([[]])))
                round_trips.append(time.perf_counter() - started)
            started = time.perf_counter()
            streamed = sum(1 for _ in engine.match_partitions(iter([[]] * 1000)))
            per_streamed = (time.perf_counter() - started) / streamed
        return {"round_trip_ms": 1000 * statistics.median(round_trips), "streamed_ms": 1000 * per_streamed,
                "in_bytes": len(pickle.dumps(records)) / len(records), "out_bytes": len(pickle.dumps(results)) / len(results)}

    found, _, _ = on_cluster(1, measure)
    print(f"empty partition, one at a time: {found['round_trip_ms']:.1f} ms round trip (median of 100)")
    print(f"empty partitions, streamed: {found['streamed_ms']:.2f} ms each (1,000)")
    print(f"one patient adds {found['in_bytes'] / 1000:.1f} kB to a partition sent, {found['out_bytes'] / 1000:.1f} kB "
          "(its 10 matches with reasons) to the results returned")
    return found


def worker_cpu() -> float:
    """On a worker: the CPU seconds of its process so far."""
    times = os.times()
    return times.user + times.system


def worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def steady_cost(db: Path, patients: Path, count: int, *, ship: bool) -> dict:
    """CPU per patient on 2 warm workers (model and trial vectors loaded by a first batch of 20
    patients, then kept: a worker keeps its matcher for the next batch of the same registry)."""
    from distributed import Client

    lines = patients.read_text().splitlines(keepends=True)
    warm, measured = WORK / f"warm-{db.stem}.jsonl", WORK / f"steady-{db.stem}.jsonl"
    warm.write_text("".join(lines[:20]))
    measured.write_text("".join(lines[20:20 + count]))
    shutil.rmtree(WORK / "cache-client", ignore_errors=True)

    def run(cluster):
        found = {}
        if ship:  # what the first batch command does before it sends any partition
            os.environ["TRIALMATCH_CACHE_DIR"] = str(WORK / "cache-client")
            started = time.perf_counter()
            with DaskEngine(MatchSettings(registry=str(db)), scheduler=cluster.address) as engine:
                found["report"] = engine.report
            found["snapshot_and_ship_s"] = time.perf_counter() - started
        where = [] if ship else ["--shared-registry", str(db)]
        batch(db, warm, f"warm-{db.stem}", "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "5", *where)
        with Client(cluster.address) as client:
            before = sum(client.run(worker_cpu).values())
            result = batch(db, measured, f"steady-{db.stem}", "--engine", "dask", "--scheduler", cluster.address,
                           "--partition-size", "20", *where)
            found["cpu_ms"] = 1000 * (sum(client.run(worker_cpu).values()) - before) / count
            found["peak_mb"] = max(client.run(worker_peak_mb).values())
        found["seconds"] = result["seconds"]
        return found

    found, _, _ = on_cluster(2, run)
    print(f"{db.name}: {count} patients in {found['seconds']:.1f} s ({count / found['seconds']:.1f} patients/s, "
          f"command start included); workers' CPU {found['cpu_ms']:.0f} ms per patient; "
          f"peak memory of a worker {found['peak_mb']:,.0f} MB", flush=True)
    if ship:
        report = found["report"]
        print(f"  first night: snapshot + shipping to 2 workers {found['snapshot_and_ship_s']:.1f} s, of which shipping "
              f"{report.seconds:.1f} s ({report.size / 1e9:.2f} GB; {2 * report.size / 1e6 / report.seconds:,.0f} MB/s "
              "out of the scheduler on this machine)", flush=True)
        found["size"] = report.size
    return found


def open_share(db: Path) -> float:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        open_trials, trials = conn.execute("SELECT sum(overall_status IN ('RECRUITING', 'NOT_YET_RECRUITING')), "
                                           "count(*) FROM trials").fetchone()
    return open_trials / trials


def model(small: dict, large: dict, full: int, share: float, overhead_found: dict) -> None:
    print(f"\n4. model: 1,000,000 patients against the full registry ({full:,} trials) in one hour", flush=True)
    small_trials, large_trials = 7461, 104440
    slope = (large["cpu_ms"] - small["cpu_ms"]) / (large_trials - small_trials)
    per_patient_ms = large["cpu_ms"] + slope * (full - large_trials)
    copy_gb = large["size"] / large_trials * full / 1e9
    work = 1_000_000 * per_patient_ms / 1000 + 10_000 * overhead_found["streamed_ms"] / 1000  # partitions of 100
    print(f"CPU per patient on warm workers: {small['cpu_ms']:.0f} ms at {small_trials:,} trials, {large['cpu_ms']:.0f} ms "
          f"at {large_trials:,} ({share:.0%} of them open, as in the sample); a straight line through both gives "
          f"{per_patient_ms:.0f} ms at {full:,}")
    print(f"work: {work / 3600:,.0f} core-hours (partition overhead included); one worker process per core, "
          f"{large['peak_mb']:,.0f} MB each at {large_trials:,} trials, more at {full:,} (the trial vectors alone: "
          f"{full * 384 * 4 / 1e9:.1f} GB per process)")
    print(f"registry copy at {full:,} trials: {copy_gb:.1f} GB")
    for bandwidth_gbit in (1, 10):
        ship_s = copy_gb * 8 / bandwidth_gbit  # the scheduler sends the copy to each machine that lacks it
        for cores in (16, 32):
            # every machine waits until the copy has reached all: machines * cores * (3600 - machines * ship_s) >= work
            machines = next((m for m in range(1, 1000) if m * cores * (3600 - m * ship_s) >= work), None)
            shared = -(-work // (cores * 3600))
            print(f"  {bandwidth_gbit:>2} Gbit/s out of the scheduler, {cores}-core machines: shipped, "
                  f"{f'{machines} machines ({machines * ship_s / 60:.0f} min of shipping)' if machines else 'not possible in the hour'}; "
                  f"from a shared path or a copy kept from the night before: {shared:.0f} machines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--large-patients", type=int, default=200)
    parser.add_argument("--full-registry", type=int, default=560_000, help="trials in the full registry (default 560,000)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    sample, _ = ready_sample()
    patients = WORK / "patients.jsonl"
    patients.write_text("".join(json.dumps(p) + "\n" for p in benchmark_patients(args.patients)))
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start")
    throughput_table(sample, patients, args.patients)
    found = overhead(sample, patients)
    print("\n3. steady cost: 2 warm workers, embeddings on", flush=True)
    small = steady_cost(sample, patients, 400, ship=False)
    if not LARGE.exists():
        print(f"{LARGE} is missing (python benchmarks/match_latency.py --large makes it): no model")
        return
    large = steady_cost(LARGE, patients, args.large_patients, ship=True)
    model(small, large, args.full_registry, open_share(sample), found)


if __name__ == "__main__":
    main()
