"""A bounded load test against a real `trialmatch serve` on 127.0.0.1, shared by the page benchmarks.

Each simulated user is a thread with its own HTTP session that requests ``count`` pages, the
page kinds in turn, pausing 0.5–1.5 × the think time before each request (so users do not move
in step). The report gives p50/p95/max per page kind and overall.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from benchmarks.common import REPO

Result = tuple[str, float, bool]  # page kind, milliseconds, ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_path: Path, port: int, options: Sequence[str] = ()) -> subprocess.Popen:
    """`trialmatch serve [options]` on 127.0.0.1:``port``, once it answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "matcher", "--db", str(db_path), "serve", "--port", str(port), *options],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"trialmatch serve exited: {server.stderr.read()}")
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=5)
            return server
        except requests.ConnectionError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("trialmatch serve did not answer within 60 s")


def peak_memory_mb(pid: int) -> list[float]:
    """Peak resident memory of a process, then of each of its children (ranker processes), from
    /proc (Linux; empty elsewhere)."""
    def peak(of: int) -> float | None:
        try:
            with open(f"/proc/{of}/status") as status:
                return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
        except (OSError, StopIteration):
            return None

    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            children = [int(child) for child in listing.read().split()]
    except OSError:
        return []
    return [mb for mb in map(peak, [pid, *children]) if mb is not None]


def run_user(base: str, kinds: Sequence[str], url_for: Callable[[str], str], is_ok: Callable[[requests.Response], bool],
             lock: threading.Lock, count: int, think_s: float, offset: int, results: list[Result]) -> None:
    """One user: ``count`` pages, kinds in turn, a pause of 0.5–1.5 × ``think_s`` before each."""
    session = requests.Session()
    pause = random.Random(offset)
    for number in range(count):
        time.sleep(think_s * pause.uniform(0.5, 1.5))
        kind = kinds[(number + offset) % len(kinds)]
        with lock:
            url = url_for(kind)
        started = time.perf_counter()
        try:
            ok = is_ok(session.get(base + url, timeout=60))
        except requests.RequestException:
            ok = False
        results.append((kind, (time.perf_counter() - started) * 1000, ok))


def run_load(base: str, kinds: Sequence[str], url_for: Callable[[str], str], is_ok: Callable[[requests.Response], bool],
             *, users: int, requests_per_user: int, think_ms: float) -> tuple[list[Result], float]:
    """Every user's results, and the seconds the whole run took. ``url_for`` is called under a lock."""
    results: list[Result] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=run_user, args=(base, kinds, url_for, is_ok, lock, requests_per_user, think_ms / 1000, n, results))
        for n in range(users)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def print_report(kinds: Sequence[str], results: list[Result], elapsed: float) -> None:
    print(f"{'page kind':<22}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'errors':>8}")
    for kind in (*kinds, "overall"):
        chosen = [r for r in results if kind in (r[0], "overall")]
        times = [r[1] for r in chosen]
        errors = sum(1 for r in chosen if not r[2])
        print(f"{kind:<22}{len(chosen):>9}{statistics.median(times):>9.0f}{percentile(times, 0.95):>9.0f}{max(times):>9.0f}{errors:>8}")
    print(f"throughput: {len(results) / elapsed:.1f} pages/s over {elapsed:.1f} s")


def add_arguments(parser: argparse.ArgumentParser, *, requests_per_user: int) -> None:
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests-per-user", type=int, default=requests_per_user)
    parser.add_argument("--think-ms", type=float, default=1000, help="mean pause of each user before each request")
    parser.add_argument("--seed", type=int, default=1)


def serve_and_load(db_path: Path, kinds: Sequence[str], url_for: Callable[[str], str],
                   is_ok: Callable[[requests.Response], bool], args: argparse.Namespace, *, warm_timeout: float = 30,
                   serve_options: Sequence[str] = (), warm_concurrency: int = 1) -> None:
    """Serve ``db_path``, request pages of each kind (connections, caches, models; ``warm_concurrency`` at once), run the
    users of ``args`` (see ``add_arguments``), stop the server and print the report."""
    port = free_port()
    server = start_server(db_path, port, serve_options)
    base = f"http://127.0.0.1:{port}"
    try:
        with ThreadPoolExecutor(warm_concurrency) as pool:  # each of the server's ranker processes gets some
            list(pool.map(lambda kind: requests.get(base + url_for(kind), timeout=warm_timeout), list(kinds) * warm_concurrency))
        load_before = os.getloadavg()[0]
        results, elapsed = run_load(base, kinds, url_for, is_ok, users=args.users,
                                    requests_per_user=args.requests_per_user, think_ms=args.think_ms)
        memory = peak_memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    trials = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True).execute("SELECT count(*) FROM trials").fetchone()[0]
    print(f"database: {trials:,} trials; trialmatch serve {' '.join(serve_options)} (read-only) on 127.0.0.1, {os.cpu_count()} cores, "
          f"load average before the run {load_before:.1f}")
    print(f"{args.users} concurrent users x {args.requests_per_user} requests, think time {args.think_ms:.0f} ms")
    print_report(kinds, results, elapsed)
    if memory:
        server_mb, *children_mb = memory
        print(f"peak memory: server {server_mb:.0f} MB" + "".join(f", child process {mb:.0f} MB" for mb in children_mb))
