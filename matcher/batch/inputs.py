"""Batch input → one ``InputRecord`` per patient: JSONL, CSV, a folder of FHIR Bundles, or a FHIR
Bulk Data export (a folder of NDJSON, ``fhir_bulk``).

Reading only checks what the batch itself needs (valid JSON, the CSV columns, the patient's id,
the shortlist); the patient is loaded, and fully validated, where it is matched. A record that
cannot be used carries its ``error`` and the reading goes on: a line that is not JSON or not
UTF-8, nested too deeply, longer than ``MAX_RECORD_BYTES``, a bundle that is a folder or cannot
be read. Two records with the same patient id: the later one is an error.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crawlers.json_input import bounded_lines, loads

from ..patient.from_csv import COLUMNS, CsvCellError, patient_from_row, unknown_columns
from .fhir_bulk import BulkExport, Problem, count_patients, is_bulk_export

MAX_RECORD_BYTES = 1024 * 1024  # a JSONL line or a CSV row: a patient with a 100,000-character note fits
MAX_BUNDLE_BYTES = 64 * 1024 * 1024  # a FHIR Bundle file


class BatchInputError(ValueError):
    """The input as a whole cannot be read (missing, unknown format, bad CSV header)."""


@dataclass
class InputRecord:
    line: int  # line number in the file; for a folder, the file's position in name order
    where: str  # what messages name: "line 12", or the bundle's file name
    digest: str  # of the record as given: a changed record is matched again on a rerun
    patient: str | None = None  # the patient's id; "line 12" when the record has none
    data: dict | str | None = None  # what ``load_patient`` takes
    candidates: list[str] | None = None  # the record's shortlist of NCT ids
    error: str | None = None  # "field: reason" when the record cannot be matched
    sources: list[str] | None = None  # of a bulk export's patient: where each Bundle entry came from ("Condition.ndjson:12")


def _digest(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


def input_format(path: Path) -> str:
    if path.is_dir():
        return "fhir bulk" if is_bulk_export(path) else "fhir folder"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise BatchInputError(f"{path.name}: expected a .jsonl or .csv file, a folder of FHIR Bundle .json files, "
                          "or a FHIR Bulk Data export (a folder of .ndjson files)")


def count_records(path: Path) -> int:
    """How many records the input holds, roughly (for the progress bar)."""
    kind = input_format(path)
    if kind == "fhir folder":
        return sum(1 for _ in path.glob("*.json"))
    if kind == "fhir bulk":
        return count_patients(path)
    with path.open("rb") as stream:
        lines = sum(1 for line in bounded_lines(stream, MAX_RECORD_BYTES) if line is None or line.strip())
    return max(0, lines - 1) if kind == "csv" else lines


def _patient_id(data, fallback: str) -> str:
    """The id of a patient JSON or of a FHIR Bundle's Patient resource; ``fallback`` if none."""
    if not isinstance(data, dict):
        return fallback
    identifier = data.get("id")
    if data.get("resourceType") == "Bundle" and isinstance(data.get("entry"), list):
        for entry in data["entry"]:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "Patient" and resource.get("id"):
                identifier = resource["id"]
    if identifier is None:
        return fallback
    if isinstance(identifier, bool) or not isinstance(identifier, (str, int)) or not str(identifier).strip():
        raise ValueError("id: expected text")
    return str(identifier).strip()


def _candidates(data) -> list[str] | None:
    if not isinstance(data, dict) or data.get("candidates") is None:
        return None
    ids = data["candidates"]
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.strip() for i in ids):
        raise ValueError("candidates: expected a list of NCT ids")
    return [i.strip().upper() for i in ids]


def _record(line: int, where: str, content: bytes, data, fallback_id: str) -> InputRecord:
    record = InputRecord(line=line, where=where, digest=_digest(content), data=data)
    try:
        record.patient = _patient_id(data, fallback_id)
        record.candidates = _candidates(data)
    except ValueError as error:
        record.error = str(error)
    return record


def _too_long(limit: int) -> str:
    return f"longer than {limit // (1024 * 1024)} MB, the most read for one patient"


def read_jsonl(path: Path) -> Iterator[InputRecord]:
    with path.open("rb") as stream:
        for number, raw in enumerate(bounded_lines(stream, MAX_RECORD_BYTES), start=1):
            where = f"line {number}"
            if raw is None:
                yield InputRecord(number, where, _digest(str(number).encode()), error=_too_long(MAX_RECORD_BYTES))
                continue
            if not raw.strip():
                continue
            text = raw.strip()
            try:
                data = loads(text)
            except ValueError as error:
                yield InputRecord(number, where, _digest(text), error=f"not valid JSON ({str(error).replace(' at line 1,', ' at')})")
                continue
            yield _record(number, where, text, data, fallback_id=where)


def _not_utf8(row: dict) -> str | None:
    """The first column whose cell held bytes that are not UTF-8 (read as surrogate escapes)."""
    for key, value in row.items():
        for text in (key, *(value if isinstance(value, list) else [value])):
            if isinstance(text, str) and not text.isascii():
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    return key if isinstance(key, str) else "(extra)"
    return None


def _csv_rows(reader: csv.DictReader) -> Iterator[tuple[int, dict | None, str | None]]:
    """(first line, row, problem) of each row: a row the csv module cannot read (a quoted cell
    running past the limit) is a problem, and reading goes on at the next line."""
    first_line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield first_line, None, f"a cell longer than {MAX_RECORD_BYTES // (1024 * 1024)} MB (a quote never closed?)"
            first_line = reader.line_num + 1
            continue
        yield first_line, row, None
        first_line = reader.line_num + 1


def read_csv(path: Path) -> Iterator[InputRecord]:
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, MAX_RECORD_BYTES))  # the module's default (128 KB) is shorter than a note
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as stream:
            reader = csv.DictReader(stream)
            reader.fieldnames  # reads the header row
            for number, row, problem in _csv_rows(reader):
                where = f"line {number}"
                if problem is not None:
                    yield InputRecord(number, where, _digest(where.encode()), error=problem)
                    continue
                if not any((value or "").strip() for key, value in row.items() if isinstance(value, str)):
                    continue
                content = json.dumps(list(row.items())).encode()
                column = _not_utf8(row)
                try:
                    if column is not None:
                        raise CsvCellError(column, "not UTF-8 text")
                    data = patient_from_row(row)
                except CsvCellError as error:
                    yield InputRecord(number, where, _digest(content), error=str(error))
                    continue
                yield _record(number, where, content, data, fallback_id=where)
    finally:
        csv.field_size_limit(limit)


def _bundle_bytes(file: Path) -> bytes:
    """The file's content; OSError with the reason when it is not a readable file of bounded size."""
    if file.is_dir():
        raise OSError("a folder, not a file")
    with file.open("rb") as stream:
        content = stream.read(MAX_BUNDLE_BYTES + 1)
    if len(content) > MAX_BUNDLE_BYTES:
        raise OSError(_too_long(MAX_BUNDLE_BYTES))
    return content


def read_fhir_folder(path: Path) -> Iterator[InputRecord]:
    for position, file in enumerate(sorted(path.glob("*.json")), start=1):
        try:
            content = _bundle_bytes(file)
        except OSError as error:
            reason = error.strerror or str(error)
            yield InputRecord(position, file.name, _digest(file.name.encode()), error=f"cannot be read: {reason}")
            continue
        try:
            data = loads(content)
        except ValueError as error:
            yield InputRecord(position, file.name, _digest(content), error=f"not valid JSON ({error})")
            continue
        if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
            yield InputRecord(position, file.name, _digest(content), error="resourceType: expected a FHIR Bundle")
            continue
        yield _record(position, file.name, content, data, fallback_id=file.stem)


def read_fhir_bulk(path: Path) -> Iterator[InputRecord]:
    """One record per patient of a Bulk Data export, each a Bundle; a line that cannot be used is
    a record of its own, with its ``file:line`` and reason (the patient is matched without it)."""
    for position, item in enumerate(BulkExport(path).read(), start=1):
        if isinstance(item, Problem):
            yield InputRecord(position, item.where, _digest(item.where.encode()), error=item.reason)
        else:
            yield InputRecord(position, item.sources[0], item.digest, patient=item.id, data=item.bundle,
                              sources=item.sources)


def check_csv_header(path: Path) -> None:
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as stream:
            header = next(csv.reader(stream), [])
    except csv.Error:
        raise BatchInputError(f"{path.name}: the header row cannot be read as CSV") from None
    if _not_utf8(dict.fromkeys(header, "")):
        raise BatchInputError(f"{path.name}: the header row is not UTF-8 text")
    unknown = unknown_columns(header)
    if not header or unknown:
        problem = f"unknown column {unknown[0]!r}" if unknown else "no header row"
        raise BatchInputError(f"{path.name}: {problem} (the columns are: {', '.join(COLUMNS)})")


def read_input(path: Path) -> Iterator[InputRecord]:
    """Every record of the input, in order; a repeated patient id makes the later record an
    error. Raises ``BatchInputError`` at once when the input as a whole cannot be read."""
    if not path.exists():
        raise BatchInputError(f"no such file or folder: {path}")
    kind = input_format(path)
    if kind == "csv":
        check_csv_header(path)
    reader = {"jsonl": read_jsonl, "csv": read_csv, "fhir folder": read_fhir_folder, "fhir bulk": read_fhir_bulk}[kind]
    return _mark_repeated_ids(reader(path))


def _mark_repeated_ids(records: Iterator[InputRecord]) -> Iterator[InputRecord]:
    first_seen: dict[str, str] = {}
    for record in records:
        if record.error is None:
            if record.patient in first_seen:
                record.error = f"id: the same patient id as {first_seen[record.patient]}"
            else:
                first_seen[record.patient] = record.where
        yield record
