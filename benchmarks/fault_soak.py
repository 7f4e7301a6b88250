"""The fault suite, longer: many kill -9 points, and more writers at once.

    python benchmarks/fault_soak.py [--seed 1] [--kills import=30,crawl=30,parse=20,index=5,batch=10] [--writers 8]

Runs tests/test_faults.py with those settings (TRIALMATCH_FAULT_SEED, TRIALMATCH_FAULT_KILLS,
TRIALMATCH_FAULT_WRITERS) and prints, per command, the kill points, how many landed mid-run
(the command had stored part of its work), how many found it finished already, and the
processes left behind (none expected); then whether every rerun matched a clean run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO  # noqa: E402

DEFAULT_KILLS = "import=30,crawl=30,parse=20,index=5,batch=10"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", default=DEFAULT_KILLS, help=f"kill points per command (default {DEFAULT_KILLS})")
    parser.add_argument("--writers", type=int, default=8, help="writers at once (default 8: seven imports and a crawl)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "kills.jsonl"
        env = {**os.environ, "TRIALMATCH_FAULT_SEED": str(args.seed), "TRIALMATCH_FAULT_KILLS": args.kills,
               "TRIALMATCH_FAULT_WRITERS": str(args.writers), "TRIALMATCH_FAULT_LOG": str(log),
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "pytest", "tests/test_faults.py", "-q", "-p", "no:cacheprovider"],
                                cwd=REPO, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        kills = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    by_kind = defaultdict(list)
    for kill in kills:
        by_kind[kill["kind"]].append(kill)
    print(f"{'command':<10}{'kills':>7}{'mid-run':>9}{'finished first':>16}{'with children':>15}{'orphans':>9}")
    for kind, found in by_kind.items():
        mid = sum(1 for k in found if not k["finished_first"] and k["stored"])
        print(f"{kind:<10}{len(found):>7}{mid:>9}{sum(k['finished_first'] for k in found):>16}"
              f"{sum(1 for k in found if k['children']):>15}{sum(k['orphans'] for k in found):>9}")
    verdict = "every rerun equal to a clean run, integrity ok, no orphan" if result.returncode == 0 else \
        "FAILED:\n" + result.stdout[-4000:]
    print(f"{len(kills)} kill points, {args.writers} writers at once, seed {args.seed}, {seconds:.0f} s: {verdict}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
