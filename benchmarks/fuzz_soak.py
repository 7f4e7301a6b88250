"""The fuzz suite, longer: random examples (not CI's fixed ones), many per reader.

    python benchmarks/fuzz_soak.py [--examples 5000]

Runs tests/test_fuzz_readers.py with TRIALMATCH_FUZZ_EXAMPLES=N and prints, per reader, the
examples run; then the total, the time, and whether every property held. CI runs the same
tests with their default counts (fuzz_strategies.fuzz_settings).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000, help="random examples per reader (default 5000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tally = Path(folder) / "counts.tsv"
        env = {**os.environ, "TRIALMATCH_FUZZ_EXAMPLES": str(args.examples), "TRIALMATCH_FUZZ_COUNTS": str(tally),
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "pytest", "tests/test_fuzz_readers.py", "-q", "-p", "no:cacheprovider"],
                                cwd=REPO, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        counts = [line.split("\t") for line in tally.read_text().splitlines()] if tally.exists() else []
    print(f"{'reader':<32}{'examples':>10}")
    for name, count in counts:
        print(f"{name:<32}{int(count):>10,}")
    total = sum(int(count) for _, count in counts)
    verdict = "every property held" if result.returncode == 0 else "FAILED:\n" + result.stdout[-4000:]
    print(f"{'total':<32}{total:>10,}   in {seconds:.0f} s: {verdict}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
