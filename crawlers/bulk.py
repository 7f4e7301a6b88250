"""Stream trial records out of archives, folders and files, one record at a time.

Reads ``.zip`` archives (the legacy ``AllPublicXML.zip`` layout, or the API v2 full download
with one JSON file per study), folders (recursively), single ``.xml`` / ``.json`` files, and
``.jsonl`` / ``.jsonl.gz``. Yields a ``(Trial, RawRecord)`` pair per readable record and a
``Rejection`` (where, and why) per unreadable one, so one bad record never stops an import.
"""

from __future__ import annotations

import gzip
import io
import json
import multiprocessing
import queue as queue_module
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from models.trial import Provenance, RawRecord, Trial

from . import json_input
from .json_input import bounded_lines
from .records import RecordError, parse_json_record, parse_xml, parse_xml_element, studies_in_json, xml_download_date

SUFFIXES = (".zip", ".xml", ".json", ".jsonl", ".jsonl.gz", ".json.gz")
SMALL_FILE_BYTES = 8 * 1024 * 1024  # larger .xml files are streamed element by element
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024  # a .json file, an archive member or a .jsonl line read whole


@dataclass
class Rejection:
    location: str
    reason: str

    def __post_init__(self):
        self.reason = " ".join(self.reason.split())  # one line, whatever the parser's message


ReadItem = tuple[Trial, RawRecord] | Rejection


class SourceError(Exception):
    """A path that cannot be read at all (missing, unsupported, not an archive)."""


def _suffix(name: str) -> str | None:
    lower = name.lower()
    return next((s for s in sorted(SUFFIXES, key=len, reverse=True) if lower.endswith(s)), None)


def estimate_records(paths: Iterable[str | Path]) -> int | None:
    """How many records the paths hold, when that is cheap to know (for a progress bar)."""
    total = 0
    for path in map(Path, paths):
        if path.is_dir():
            total += sum(1 for p in path.rglob("*") if p.is_file() and _suffix(p.name) in (".xml", ".json"))
        elif _suffix(path.name) == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    total += sum(1 for n in archive.namelist() if _suffix(n) in (".xml", ".json"))
            except (OSError, zipfile.BadZipFile):
                pass
        elif _suffix(path.name) in (".xml", ".json"):
            total += 1
        else:
            return None
    return total


def read_paths(paths: Iterable[str | Path]) -> Iterator[ReadItem]:
    """Every record under the given paths, in order. Raises SourceError for an unusable path."""
    for path in map(Path, paths):
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _suffix(p.name))
            if not files:
                raise SourceError(f"{path}: no .zip, .xml, .json or .jsonl files in this folder")
            for file in files:
                yield from _read_file(file)
        elif _suffix(path.name) is None:
            raise SourceError(f"{path}: unsupported file type (expected one of {', '.join(SUFFIXES)})")
        else:
            yield from _read_file(path)


def _read_file(path: Path) -> Iterator[ReadItem]:
    suffix = _suffix(path.name)
    if suffix == ".zip":
        yield from _read_zip(path)
    elif suffix == ".xml":
        yield from _read_xml_file(path)
    elif suffix in (".json", ".json.gz"):
        opener = gzip.open if suffix.endswith(".gz") else open
        try:
            with opener(path, "rb") as stream:
                content = stream.read(MAX_DOCUMENT_BYTES + 1)
        except (OSError, EOFError, zlib.error) as error:
            yield Rejection(str(path), f"unreadable file: {error}")
            return
        if len(content) > MAX_DOCUMENT_BYTES:
            yield Rejection(str(path), too_large("file"))
            return
        yield from _read_json_document(content, str(path))
    else:
        yield from _read_jsonl(path)


def _read_zip(path: Path) -> Iterator[ReadItem]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise SourceError(f"{path}: not a readable zip archive ({error})") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            location = f"{path}!{info.filename}"
            suffix = _suffix(info.filename)
            if suffix not in (".xml", ".json"):
                continue
            if info.file_size > MAX_DOCUMENT_BYTES:
                yield Rejection(location, too_large("archive member"))
                continue
            try:
                content = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
                yield Rejection(location, f"corrupt archive member: {error}")
                continue
            if suffix == ".xml":
                yield from _read_xml_bytes(content, location)
            else:
                yield from _read_json_document(content, location)


def _read_xml_file(path: Path) -> Iterator[ReadItem]:
    if path.stat().st_size <= SMALL_FILE_BYTES:
        yield from _read_xml_bytes(path.read_bytes(), str(path))
    else:
        with open(path, "rb") as stream:
            yield from _iterparse_studies(stream, str(path))


def _read_xml_bytes(content: bytes, location: str) -> Iterator[ReadItem]:
    """A document with one ``<clinical_study>`` keeps its bytes verbatim as the raw record."""
    if content.count(b"<clinical_study") == 1:
        yield _xml_item(content, location)
    else:
        yield from _iterparse_studies(io.BytesIO(content), location)


def _iterparse_studies(stream, location: str) -> Iterator[ReadItem]:
    """Many ``<clinical_study>`` elements in one file, streamed; each keeps its own XML."""
    found = 0
    try:
        for _, element in etree.iterparse(stream, events=("end",), tag="clinical_study", resolve_entities=False, no_network=True):
            found += 1
            where = f"{location}#{found}"
            try:
                yield parse_xml_element(element), _raw(etree.tostring(element, encoding="utf-8"), "ctgov-xml", where, "application/xml", None)
            except RecordError as error:
                yield Rejection(where, str(error))
            except Exception as error:  # noqa: BLE001 — one unreadable record never stops the others
                yield Rejection(where, unexpected(error))
            element.clear()
    except etree.XMLSyntaxError as error:
        yield Rejection(location, f"malformed XML after {found} studies: {error}")
        return
    if not found:
        yield Rejection(location, "no <clinical_study> element in this XML file")


def _xml_item(content: bytes, location: str) -> ReadItem:
    try:
        trial = parse_xml(content)
    except RecordError as error:
        return Rejection(location, str(error))
    except Exception as error:  # noqa: BLE001 — one unreadable record never stops the others
        return Rejection(location, unexpected(error))
    return trial, _raw(content, "ctgov-xml", location, "application/xml", xml_download_date(content))


def _read_json_document(content: bytes, location: str) -> Iterator[ReadItem]:
    try:
        document = json_input.loads(content)
    except ValueError as error:
        yield Rejection(location, f"invalid JSON: {error}")
        return
    documents = document if isinstance(document, list) else [document]
    single = len(documents) == 1 and isinstance(document, dict) and "studies" not in document
    for index, item in enumerate(documents):
        try:
            studies = list(studies_in_json(item))
        except RecordError as error:
            yield Rejection(location if single else f"{location}#{index + 1}", str(error))
            continue
        for number, (format_name, study) in enumerate(studies, start=1):
            where = location if single else f"{location}#{index + number}"
            raw = (lambda: content) if single else (lambda: json.dumps(study, ensure_ascii=False).encode("utf-8"))
            yield _json_item(format_name, study, raw, where)


def _json_item(format_name: str, study: dict, raw: Callable[[], bytes], location: str) -> ReadItem:
    """``raw()`` gives the bytes kept as the record as received."""
    try:
        trial = parse_json_record(format_name, study)
        content = raw()
    except RecordError as error:
        return Rejection(location, str(error))
    except Exception as error:  # noqa: BLE001 — one unreadable record never stops the others
        return Rejection(location, unexpected(error))
    return trial, _raw(content, format_name, location, "application/json", None)


def too_large(what: str) -> str:
    return f"{what} larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB, the most read as one record"


def unexpected(error: Exception) -> str:
    """The reason given for a record that broke the reader in a way it does not foresee."""
    return f"unexpected structure ({type(error).__name__}: {str(error)[:200]})"


def _read_jsonl(path: Path) -> Iterator[ReadItem]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line_number = 0
    try:
        with opener(path, "rb") as stream:
            for line_number, line in enumerate(bounded_lines(stream, MAX_DOCUMENT_BYTES), start=1):
                location = f"{path}:{line_number}"
                if line is None:
                    yield Rejection(location, too_large("line"))
                    continue
                if not line.strip():
                    continue
                try:
                    document = json_input.loads(line)
                except ValueError as error:
                    yield Rejection(location, f"invalid JSON: {error}")
                    continue
                try:
                    studies = list(studies_in_json(document))
                except RecordError as error:
                    yield Rejection(location, str(error))
                    continue
                for format_name, study in studies:
                    raw = (lambda: line.rstrip(b"\r\n")) if len(studies) == 1 else (lambda: json.dumps(study).encode("utf-8"))
                    yield _json_item(format_name, study, raw, location)
    except (OSError, EOFError, zlib.error) as error:
        yield Rejection(f"{path}:{line_number + 1}", f"file ends early or is corrupt: {error}")


def _raw(content: bytes, format_name: str, location: str, media_type: str, retrieved: str | None) -> RawRecord:
    return RawRecord(Provenance(format=format_name, location=location, retrieved=retrieved), content, media_type)


def _produce(paths: list[str], queue, batch_size: int, child_setup: Callable[[], None] | None) -> None:
    """Child-process side of ``read_paths_in_background``."""
    if child_setup is not None:
        child_setup()
    batch: list[ReadItem] = []
    try:
        for item in read_paths(paths):
            batch.append(item)
            if len(batch) >= batch_size:
                queue.put(("items", batch))
                batch = []
        queue.put(("items", batch))
        queue.put(("done", None))
    except SourceError as error:
        queue.put(("items", batch))
        queue.put(("source_error", str(error)))
    except BaseException as error:  # reported in the parent, which owns the terminal
        queue.put(("items", batch))
        queue.put(("crash", f"{type(error).__name__}: {error}"))


def read_paths_in_background(paths: Iterable[str | Path], batch_size: int = 200, *,
                             child_setup: Callable[[], None] | None = None) -> Iterator[ReadItem]:
    """``read_paths`` run in a second process, so parsing overlaps with the caller's writing.

    Same items, same order, same errors as ``read_paths``. ``child_setup`` (a module-level
    function) runs first in the child, e.g. to make it end with this process however it ends.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue(maxsize=8)
    process = context.Process(target=_produce, args=([str(p) for p in paths], queue, batch_size, child_setup), daemon=True)
    process.start()
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=1.0)
            except queue_module.Empty:
                if process.is_alive():
                    continue
                raise RuntimeError(f"record reader ended unexpectedly (exit code {process.exitcode})") from None
            if kind == "items":
                yield from payload
            elif kind == "done":
                return
            elif kind == "source_error":
                raise SourceError(payload)
            else:
                raise RuntimeError(f"record reader failed: {payload}")
    finally:
        process.kill()
        process.join()
