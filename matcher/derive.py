"""Data derived from stored trials after they land: parsed criteria and site coordinates.

Each pass does only what is missing or stale, so it is cheap to run after every import or crawl.
Criteria are stale when the parser changed: its version is a hash of the parser's code and
lexicons, so a new release re-parses by itself, from the stored text, without re-crawling.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

from .criteria import parse_criteria
from .geo import locate
from .process_guard import end_with_parent
from .resources import data_path
from .store import Store
from .store.criteria_rows import ParsedRows, parsed_rows

PARSE_CHUNK = 200


def parser_sources() -> list[Path]:
    """The files the criteria parser is made of: its modules and its lexicons (not the scripts
    in tools/ that build them)."""
    return sorted(Path(__file__).with_name("criteria").glob("*.py")) + sorted(data_path("lexicons").glob("*"))


@cache
def parser_version() -> str:
    """A fingerprint of the criteria parser: its source files and its lexicons."""
    digest = hashlib.sha1()
    for path in parser_sources():
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _parse_chunk(chunk: list[tuple[str, str]]) -> list[tuple[str, ParsedRows]]:
    """Parsed criteria as the rows to store: built here, in the parsing process, so the one
    process that writes only writes."""
    return [(nct_id, parsed_rows(parse_criteria(text))) for nct_id, text in chunk]


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def parse_trials(
    store: Store,
    nct_ids: Iterable[str] | None = None,
    *,
    workers: int = 1,
    on_progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Parse the eligibility text of the given trials (default: those not parsed by this parser
    version) and store their criteria. Returns how many trials were parsed."""
    version = parser_version()
    pending = store.trials_needing_parse(version) if nct_ids is None else store.eligibility_texts(nct_ids)
    chunks = _chunks(pending, PARSE_CHUNK)
    if workers > 1 and len(pending) > PARSE_CHUNK:
        with ProcessPoolExecutor(max_workers=workers, initializer=end_with_parent) as pool:  # none outlives a kill -9
            for parsed in pool.map(_parse_chunk, chunks):
                store.store_parsed(parsed, version)
                on_progress(len(parsed))
    else:
        for chunk in chunks:
            store.store_parsed(_parse_chunk(chunk), version)
            on_progress(len(chunk))
    return len(pending)


class ParseAlongside:
    """Parse the criteria of trials while an import is still writing others, so that parsing
    keeps the cores busy that reading and writing leave idle: ``add`` the ids of trials just
    written; their text is parsed in ``workers`` processes, ``chunk`` trials at a time, and
    stored as each chunk comes back (at most ``ahead`` chunks in flight: memory stays bounded).
    A trial written again meanwhile with another text is left to the next parse pass, as is any
    trial whose chunk had not come back when the import ended by an error."""

    def __init__(self, store: Store, *, workers: int = 2, chunk: int | None = None, ahead: int | None = None):
        self.store = store
        self.version = parser_version()
        self.chunk = chunk or PARSE_CHUNK
        self.ahead = ahead or 2 * workers
        self.parsed = 0
        self._waiting: list[tuple[str, str]] = []
        self._running: list = []
        self._pool = ProcessPoolExecutor(max_workers=workers, initializer=end_with_parent)  # none outlives a kill -9

    def add(self, nct_ids: Iterable[str]) -> None:
        """Trials just written: the ones without parsed criteria (new text) are queued."""
        self._waiting += self.store.texts_to_parse(nct_ids)
        while len(self._waiting) >= self.chunk:
            self._send(self._waiting[: self.chunk])
            self._waiting = self._waiting[self.chunk :]
        self._store_done(block=False)

    def _send(self, chunk: list[tuple[str, str]]) -> None:
        while len(self._running) >= self.ahead:
            self._store_done(block=True)
        self._running.append((dict(chunk), self._pool.submit(_parse_chunk, chunk)))

    def _store_done(self, *, block: bool) -> None:
        """Store the chunks that came back, in order (the oldest one waited for when ``block``)."""
        while self._running and (block or self._running[0][1].done()):
            texts, future = self._running.pop(0)
            self.parsed += self.store.store_parsed(future.result(), self.version, texts=texts)
            block = False

    def finish(self) -> int:
        """Parse what is queued, store everything; returns how many trials were parsed here."""
        if self._waiting:
            self._send(self._waiting)
            self._waiting = []
        while self._running:
            self._store_done(block=True)
        self.close()
        return self.parsed

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def geocode_sites(store: Store, on_progress: Callable[[int], None] = lambda n: None) -> dict[str, int]:
    """Give sites without registry coordinates the point of their ZIP code or city.

    Returns how many were placed by ZIP, by city, and how many could not be placed.
    """
    pending = store.conn.execute(
        "SELECT id, zip, city, state, country FROM sites WHERE coordinates_source IS NULL"
    ).fetchall()
    placed = {"zip": 0, "city": 0, "none": 0}
    updates = []
    for site_id, zip_code, city, state, country in pending:
        point = locate(zip_code=zip_code, city=city, state=state, country=country)
        source = point.precision if point else "none"
        placed[source] += 1
        updates.append((point.lat if point else None, point.lon if point else None, source, site_id))
    with store.conn:
        store.conn.executemany(
            "UPDATE sites SET latitude = ?, longitude = ?, coordinates_source = ? WHERE id = ?", updates
        )
    on_progress(len(updates))
    return placed
