"""A FHIR Bulk Data export (a folder of NDJSON, one resource a line) → one Bundle per patient.

The export is not loaded in memory: every line is first indexed by the patient it belongs to
(its ``subject`` or ``patient`` reference) into a temporary SQLite file, owner-only and removed
at the end; patients are then assembled one at a time, each as a FHIR Bundle that
``load_patient`` reads. Files are read in name order, whatever their names (``Patient.ndjson``,
``Patient.000.ndjson``, …): each line says its own ``resourceType``. A line that cannot be used
(not JSON, not a resource, no patient reference, a patient the export does not hold) is
reported as ``file:line`` with the reason and skipped; the rest goes on.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from crawlers.json_input import bounded_lines, loads

# The resource types the patient reader uses; others (Encounter, Claim, …) are passed over.
READ_TYPES = frozenset({"Condition", "Observation", "MedicationStatement", "MedicationRequest", "Procedure"})
MAX_LINE_BYTES = 16 * 1024 * 1024  # one resource
_PATIENT_FILE = re.compile(r"(?:^|[._-])Patient(?:[._-]|$)")  # Patient.ndjson, Patient.000.ndjson, 1.Patient.ndjson
_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$|^urn:uuid:([0-9a-fA-F\-]{1,64})$")


def is_bulk_export(path: Path) -> bool:
    """A folder holding NDJSON files: a FHIR Bulk Data export."""
    return path.is_dir() and any(path.glob("*.ndjson"))


def export_files(path: Path) -> list[Path]:
    return sorted(f for f in path.glob("*.ndjson") if f.is_file())


def count_patients(path: Path) -> int:
    """How many patients the export holds, roughly: the lines of its Patient files."""
    total = 0
    for file in export_files(path):
        if _PATIENT_FILE.search(file.name):
            with file.open("rb") as stream:
                total += sum(1 for line in bounded_lines(stream, MAX_LINE_BYTES) if line is None or line.strip())
    return total


def patient_reference(resource: dict) -> str | None:
    """The id of the patient a resource is about: ``Patient/123``, an absolute URL ending so,
    or ``urn:uuid:…``."""
    for key in ("subject", "patient"):
        value = resource.get(key)
        reference = value.get("reference") if isinstance(value, dict) else None
        if isinstance(reference, str):
            found = _REFERENCE.search(reference.strip())
            if found:
                return found.group(1) or found.group(2)
    return None


class Problem:
    """A line that cannot be used: where (``Condition.ndjson:12``) and why."""

    def __init__(self, where: str, reason: str):
        self.where, self.reason = where, reason


class BulkPatient:
    """One patient of the export: a Bundle of their resources, and where each entry came from."""

    def __init__(self, patient_id: str, bundle: dict, sources: list[str], digest: str):
        self.id, self.bundle, self.sources, self.digest = patient_id, bundle, sources, digest


class BulkExport:
    """Index an export folder, then give its problems and its patients one at a time.

    ``work_dir``: where the temporary index goes (default: the system's temporary folder)."""

    def __init__(self, folder: Path, work_dir: Path | None = None):
        self.folder = folder
        self.work_dir = work_dir
        self.timestamp = _manifest_time(folder)

    def read(self) -> Iterator[Problem | BulkPatient]:
        """The problems found while indexing, then each patient in the order of the Patient files,
        then the lines about patients the export does not hold."""
        where = Path(tempfile.mkdtemp(prefix="trialmatch-bulk-", dir=self.work_dir))  # mode 0700
        try:
            conn = sqlite3.connect(where / "index.db", check_same_thread=False)  # read by whichever thread pulls records
            try:
                yield from self._index(conn)
                yield from self._patients(conn)
                yield from self._orphans(conn)
            finally:
                conn.close()
        finally:
            shutil.rmtree(where, ignore_errors=True)

    def _index(self, conn: sqlite3.Connection) -> Iterator[Problem]:
        conn.executescript("""
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE patients (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, source TEXT, body TEXT);
            CREATE TABLE resources (seq INTEGER PRIMARY KEY, patient TEXT, source TEXT, body TEXT);
        """)
        for file in export_files(self.folder):
            with file.open("rb") as stream:
                for number, raw in enumerate(bounded_lines(stream, MAX_LINE_BYTES), start=1):
                    source = f"{file.name}:{number}"
                    if raw is None:
                        yield Problem(source, f"longer than {MAX_LINE_BYTES // (1024 * 1024)} MB, the most read for one resource")
                        continue
                    if not raw.strip():
                        continue
                    problem = self._index_line(conn, raw.strip(), source)
                    if problem:
                        yield Problem(source, problem)
            conn.commit()
        conn.execute("CREATE INDEX resources_by_patient ON resources (patient, seq)")
        conn.commit()

    def _index_line(self, conn: sqlite3.Connection, raw: bytes, source: str) -> str | None:
        try:
            text = raw.decode("utf-8")
            resource = loads(text)
        except UnicodeDecodeError:
            return "not UTF-8 text"
        except ValueError as error:
            return f"not valid JSON ({str(error).replace(' at line 1,', ' at')})"
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str):
            return "not a FHIR resource (no resourceType)"
        if kind == "Patient":
            identifier = resource.get("id")
            if not isinstance(identifier, str) or not identifier.strip():
                return "a Patient without an id"
            first = conn.execute("SELECT source FROM patients WHERE id = ?", (identifier.strip(),)).fetchone()
            if first:
                return f"id: the same patient id as {first[0]}"
            conn.execute("INSERT INTO patients (id, source, body) VALUES (?, ?, ?)", (identifier.strip(), source, text))
            return None
        if kind not in READ_TYPES:
            return None
        patient = patient_reference(resource)
        if patient is None:
            return f"a {kind} without a subject reference to a Patient"
        conn.execute("INSERT INTO resources (patient, source, body) VALUES (?, ?, ?)", (patient, source, text))
        return None

    def _patients(self, conn: sqlite3.Connection) -> Iterator[BulkPatient]:
        rows = conn.execute("SELECT seq, id, source, body FROM patients ORDER BY seq")
        while batch := rows.fetchmany(64):
            for _, patient_id, source, body in batch:
                yield self._assemble(conn, patient_id, source, body)

    def _assemble(self, conn: sqlite3.Connection, patient_id: str, source: str, body: str) -> BulkPatient:
        digest = hashlib.sha1(body.encode())
        entries, sources = [{"resource": json.loads(body)}], [source]
        for where, text in conn.execute("SELECT source, body FROM resources WHERE patient = ? ORDER BY seq", (patient_id,)):
            digest.update(b"\n" + text.encode())
            entries.append({"resource": json.loads(text)})
            sources.append(where)
        bundle = {"resourceType": "Bundle", "id": patient_id, "type": "collection", "entry": entries}
        if self.timestamp:
            bundle["timestamp"] = self.timestamp
        return BulkPatient(patient_id, bundle, sources, digest.hexdigest())

    def _orphans(self, conn: sqlite3.Connection) -> Iterator[Problem]:
        rows = conn.execute("SELECT source FROM resources WHERE patient NOT IN (SELECT id FROM patients) ORDER BY seq")
        for (source,) in rows:
            yield Problem(source, "its subject is not a Patient of the export")


def _manifest_time(folder: Path) -> str | None:
    """The export's ``transactionTime`` (the date the records describe), from the bulk
    manifest saved beside the files as manifest.json, if any."""
    manifest = folder / "manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else None
    except (OSError, ValueError):
        return None
    time = data.get("transactionTime") if isinstance(data, dict) else None
    return time if isinstance(time, str) and re.match(r"\d{4}-\d{2}-\d{2}", time) else None


_ENTRY = re.compile(r"^entry\[(\d+)\]\.resource\.?")


def name_entry(error: str, sources: list[str] | None) -> str:
    """A patient's error as the export's line names it: ``entry[3].resource.valueQuantity.value: …``
    → ``Observation.ndjson:12 valueQuantity.value: …``."""
    found = _ENTRY.match(error)
    if not sources or not found or int(found.group(1)) >= len(sources):
        return error
    rest = error[found.end():]
    return f"{sources[int(found.group(1))]} {rest}" if not rest.startswith(":") else f"{sources[int(found.group(1))]}{rest}"
