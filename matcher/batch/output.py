"""A run's matches → a CSV or JSONL file, one row per patient–trial pair, written atomically."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .results import MATCH_COLUMNS

OUTPUT_COLUMNS = ("patient", *MATCH_COLUMNS, "is_new")
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def output_format(path: Path) -> str | None:
    """``csv`` or ``jsonl`` by the file's extension; None for any other."""
    return OUTPUT_FORMATS.get(path.suffix.lower())


def write_matches(rows: Iterable[dict], path: Path) -> int:
    """Write the rows (OUTPUT_COLUMNS) to a temporary file beside ``path``, owner-only, then
    rename it over ``path``: readers see the old file or the whole new one. Returns the count."""
    kind = output_format(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    count = 0
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, OUTPUT_COLUMNS) if kind == "csv" else None
            if writer:
                writer.writeheader()
            for row in rows:
                if writer:
                    writer.writerow(row)
                else:
                    stream.write(json.dumps({**row, "is_new": bool(row["is_new"])}, ensure_ascii=False) + "\n")
                count += 1
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
