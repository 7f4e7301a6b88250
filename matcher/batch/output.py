"""A run's matches → CSV, JSON lines, or FHIR R4 ResearchSubject NDJSON, one record per
patient–trial pair; a file is written atomically, ``-`` streams to standard output."""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..fhir import research_subject
from .results import MATCH_COLUMNS

# The documented columns (docs/batch.md); the criteria JSON goes only into the FHIR output.
OUTPUT_COLUMNS = ("patient", *(c for c in MATCH_COLUMNS if c != "criteria"), "is_new")
FORMATS = ("csv", "jsonl", "fhir")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
STDOUT = "-"


def output_format(out: str, chosen: str | None = None) -> str | None:
    """The format ``--format`` names, else the one of the file's extension (JSON lines for
    standard output); None for a file name whose extension says nothing."""
    if chosen:
        return chosen
    return "jsonl" if out == STDOUT else EXTENSIONS.get(Path(out).suffix.lower())


@contextmanager
def output_stream(out: str) -> Iterator[TextIO]:
    """Standard output for ``-``; else a temporary file beside ``out``, owner-only, renamed over
    it when the block ends without an error: readers see the old file or the whole new one."""
    if out == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    path = Path(out)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_matches(rows: Iterable[dict], out: str, kind: str) -> int:
    """Write the run's rows in ``kind`` (one of FORMATS) to ``out``; returns how many."""
    count = 0
    with output_stream(out) as stream:
        writer = csv.DictWriter(stream, OUTPUT_COLUMNS, extrasaction="ignore") if kind == "csv" else None
        if writer:
            writer.writeheader()
        for row in rows:
            if writer:
                writer.writerow(row)
            else:
                record = research_subject(row) if kind == "fhir" else {
                    **{c: row[c] for c in OUTPUT_COLUMNS}, "is_new": bool(row["is_new"])}
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
