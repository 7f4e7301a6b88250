"""Helpers shared by the benchmark scripts: where the real data is, and measuring a phase."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data(*parts: str) -> Path:
    base = Path(os.environ.get("TRIALMATCH_SHARED_DATA") or REPO.parent / "shared" / "data")
    path = base.joinpath(*parts)
    if not path.exists():
        sys.exit(f"benchmark needs the real registry data: {path} is missing (set TRIALMATCH_SHARED_DATA)")
    return path


def reparse_if_stale(path: Path) -> int:
    """Parse again the criteria of trials parsed by an older parser: a benchmark database kept
    between runs must measure this checkout's parser. Returns how many trials were parsed."""
    from matcher.derive import parse_trials
    from matcher.store import Store

    store = Store(path)
    try:
        count = parse_trials(store, workers=2)
    finally:
        store.close()
    if count:
        print(f"{path.name}: criteria of {count:,} trials parsed again with this checkout's parser", file=sys.stderr)
    return count


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of its finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def run_phase(script: Path, phase: str, *args: str) -> dict:
    """Run one phase of a benchmark in a fresh process (so memory is its own); it prints JSON."""
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, str(script), "--phase", phase, *args],
        check=True, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result.setdefault("wall_s", time.perf_counter() - started)
    return result
