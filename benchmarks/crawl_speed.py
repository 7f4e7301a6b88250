"""Crawl of the AllPublicXML sample (7,461 studies, served as API v2 JSON) from a loopback registry.

    python benchmarks/crawl_speed.py [--archive PATH]

Two loopback servers run in their own processes, one clean and one failing 10% of requests
(429 with Retry-After: 1, 500, 503, connections dropped mid-body, truncated JSON). Each crawl
runs in a fresh process into a fresh database with the rate limit off and the crawler's
default retry policy (first retry after 0.5-1 s, doubling). Reported: studies/s; the crawler's
own CPU time per study (HTTP client, JSON, Trial, SQLite: everything in its process) and its
share of the wall time; the share of wall time with a request out to the server; backing off.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, peak_rss_mb, shared_data  # noqa: E402

FULL_REGISTRY = 575_000


def phase_crawl(base_url: str, page_size: int) -> dict:
    from crawlers.ctgov_api import RegistryClient, StudyQuery
    from matcher.crawl import crawl
    from matcher.store import Store

    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "trials.db")
        client = RegistryClient(base_url, rate=0)
        cpu, wall = time.process_time(), time.perf_counter()
        report = crawl(store, client, StudyQuery(), page_size=page_size)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        trials = store.count_trials()
    return {
        "studies": report.studies, "trials": trials, "pages": report.pages, "wall_s": wall, "cpu_s": cpu,
        "waiting_s": client.stats.seconds_in_requests, "backoff_s": client.stats.seconds_backing_off,
        "retries": report.retries, "requests": client.stats.requests, "peak_rss_mb": peak_rss_mb(),
    }


def start_server(paths: list[str], *fault_options: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "matcher", "serve-registry", *paths, "--port", "0", *fault_options],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    line = process.stdout.readline()  # "serving N studies at URL (Ctrl-C to stop)"
    if " at " not in line:
        process.kill()
        sys.exit(f"loopback registry did not start: {line!r}")
    return process, line.split(" at ")[1].split()[0]


def run_crawl(base_url: str, page_size: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--phase", "crawl", "--base-url", base_url, "--page-size", str(page_size)],
        check=True, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=None)
    parser.add_argument("--phase", choices=("crawl",))
    parser.add_argument("--base-url")
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase_crawl(args.base_url, args.page_size)))
        return
    paths = [args.archive or str(shared_data("ctgov", "AllPublicXML-sample.zip"))]
    started = time.perf_counter()
    clean, clean_url = start_server(paths)
    faulty, faulty_url = start_server(paths, "--fault-rate", "0.1", "--seed", "1", "--retry-after", "1")
    print(f"loopback registries ready in {time.perf_counter() - started:.0f} s, serving {paths[0]}")
    try:
        runs = [
            ("page size 1000, no faults", run_crawl(clean_url, 1000)),
            ("page size 100, no faults", run_crawl(clean_url, 100)),
            ("page size 100, 10% faulted", run_crawl(faulty_url, 100)),
        ]
    finally:
        for process in (clean, faulty):
            process.terminate()
            process.wait()
    print(f"{'crawl':<28}{'studies':>8}{'pages':>6}{'retries':>8}{'wall s':>8}{'studies/s':>10}"
          f"{'CPU ms/study':>13}{'CPU/wall':>9}{'in flight':>10}{'backoff':>8}")
    for label, r in runs:
        print(f"{label:<28}{r['studies']:>8}{r['pages']:>6}{r['retries']:>8}{r['wall_s']:>8.2f}{r['studies'] / r['wall_s']:>10.0f}"
              f"{1000 * r['cpu_s'] / r['studies']:>13.3f}{r['cpu_s'] / r['wall_s']:>9.0%}{r['waiting_s'] / r['wall_s']:>10.0%}"
              f"{r['backoff_s'] / r['wall_s']:>8.0%}")
    print("CPU/wall: share of the time the crawler's process computed (HTTP client, JSON, Trial, SQLite); in flight: "
          "share with a request out to the server (the next page is fetched while one is stored, so the two overlap)")
    clean100, faulted = runs[1][1], runs[2][1]
    print(f"10% faults: {faulted['wall_s'] / clean100['wall_s']:.2f}x the wall time ({faulted['retries']} retries, "
          f"{faulted['backoff_s']:.1f} s backing off); every run stored {runs[0][1]['trials']} trials exactly once: "
          f"{all(r['trials'] == runs[0][1]['trials'] for _, r in runs)}")
    per_study_ms = 1000 * runs[0][1]["cpu_s"] / runs[0][1]["studies"]
    print(f"full registry ({FULL_REGISTRY:,} studies, {FULL_REGISTRY // 1000} pages of 1000): at the API's 1 request/s the "
          f"rate limit alone takes {FULL_REGISTRY / 1000 / 60:.0f} min; our own CPU time at {per_study_ms:.2f} ms/study "
          f"is {FULL_REGISTRY * per_study_ms / 1000 / 60:.0f} min")


if __name__ == "__main__":
    main()
