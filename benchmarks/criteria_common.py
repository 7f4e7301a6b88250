"""Shared by the criteria benchmarks: where the real data is, and the corpus reader."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def shared_data() -> Path:
    env = os.environ.get("TRIALMATCH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def corpus_texts(limit: int | None = None) -> list[str]:
    path = shared_data() / "ctgov" / "criteria-corpus.jsonl.gz"
    if not path.exists():
        sys.exit(f"criteria corpus not found at {path} (set TRIALMATCH_SHARED_DATA)")
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["criteria_text"] or "")
            if limit and len(out) >= limit:
                break
    return out
