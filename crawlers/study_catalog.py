"""The studies a loopback registry serves, searchable the way the API v2 searches.

Matching is deliberately simple (the live registry's Essie engine is not the point): every word
of ``query.cond`` must begin a word, case-insensitively, of the study's conditions, keywords or MeSH
terms; ``query.term`` in its titles, summary, keywords or conditions; ``query.intr`` in its
interventions; ``query.locn`` in its site addresses. Studies are kept in the two orders the
server sorts by: NCT id (the default) and last update date.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from models.trial import Trial

from .bulk import Rejection, read_paths
from .records import RecordError, parse_v2_study
from .v2_study import trial_to_v2_study

_WORD_GAP = re.compile(r"[^\w]+")


@dataclass
class StudyFilter:
    """A search, as parsed from the request parameters."""

    condition: str | None = None
    term: str | None = None
    intervention: str | None = None
    location: str | None = None
    statuses: frozenset[str] = frozenset()
    updated_from: str | None = None  # inclusive ISO dates; None = open end
    updated_to: str | None = None


@dataclass
class Entry:
    nct_id: str
    last_update: str  # "" when the record has none (sorts first)
    status: str
    body: bytes  # the study as JSON, ready to send
    texts: dict[str, str]  # field group → lower-case text searched by the query parameters


def _words(*groups) -> str:
    parts: list[str] = []
    for group in groups:
        if isinstance(group, str):
            parts.append(group)
        elif group:
            parts.extend(str(item) for item in group if item)
    return " " + " ".join(_WORD_GAP.split(" ".join(parts).lower())).strip() + " "


def _entry(study: dict, trial: Trial | None = None) -> Entry:
    """``trial`` is ``parse_v2_study(study)`` when the caller has it already. A study that
    does not parse is still served (to test how clients cope), under whatever id it shows."""
    body = json.dumps(study, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        trial = trial or parse_v2_study(study)
    except RecordError:
        nct_id = str(((study.get("protocolSection") or {}).get("identificationModule") or {}).get("nctId"))
        return Entry(nct_id, "", "", body, dict.fromkeys(("condition", "term", "intervention", "location"), " "))
    return Entry(
        nct_id=trial.nct_id,
        last_update=trial.last_update_posted or "",
        status=trial.overall_status or "",
        body=body,
        texts={
            "condition": _words(trial.conditions, trial.keywords, trial.condition_mesh_terms, trial.condition_mesh_ancestors),
            "term": _words(trial.brief_title, trial.official_title or "", trial.brief_summary or "", trial.keywords, trial.conditions),
            "intervention": _words([i.name for i in trial.interventions],
                                   [n for i in trial.interventions for n in i.other_names], trial.intervention_mesh_terms),
            "location": _words([" ".join(filter(None, (s.facility, s.city, s.state, s.zip, s.country))) for s in trial.sites]),
        },
    )


def _matches(entry: Entry, search: StudyFilter) -> bool:
    for field in ("condition", "term", "intervention", "location"):
        wanted = getattr(search, field)
        if wanted and not all(f" {word}" in entry.texts[field] for word in _WORD_GAP.split(wanted.lower()) if word):
            return False
    if search.statuses and entry.status not in search.statuses:
        return False
    if search.updated_from and entry.last_update < search.updated_from:
        return False
    return not (search.updated_to and entry.last_update > search.updated_to)


class StudyCatalog:
    """Studies by NCT id, in search order; safe to change while a server reads it."""

    SORTS = {
        "nctid": lambda e: ("", e.nct_id),
        "lastupdatepostdate": lambda e: (e.last_update, e.nct_id),
    }

    def __init__(self, studies: Iterable[dict] = ()):
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {entry.nct_id: entry for entry in map(_entry, studies)}
        self._reorder()

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path], *, limit: int | None = None) -> StudyCatalog:
        """Studies from registry files (anything ``crawlers.bulk`` reads); legacy XML and flat
        records are served converted to the API v2 shape. The newest version of a study wins."""
        studies: dict[str, tuple[Trial, dict]] = {}
        for item in read_paths(paths):
            if isinstance(item, Rejection):
                continue
            trial, raw = item
            study = json.loads(raw.content) if raw.provenance.format == "ctgov-api-v2" else trial_to_v2_study(trial)
            stored = studies.get(trial.nct_id)
            if stored is None or (trial.last_update_posted or "") >= (stored[0].last_update_posted or ""):
                studies[trial.nct_id] = (trial, study)
            if limit is not None and len(studies) >= limit:
                break
        catalog = cls()
        catalog._entries = {nct_id: _entry(study, trial) for nct_id, (trial, study) in studies.items()}
        catalog._reorder()
        return catalog

    def __len__(self) -> int:
        return len(self._entries)

    def nct_ids(self) -> set[str]:
        return set(self._entries)

    def study(self, nct_id: str) -> bytes | None:
        entry = self._entries.get(nct_id)
        return entry.body if entry else None

    def search(self, search: StudyFilter, sort: str) -> tuple[list[Entry], list[tuple[str, str]]]:
        """The matching studies in ``sort`` order (a key of SORTS), and their sort keys."""
        cache_key = (sort, tuple(sorted(vars(search).items())))
        with self._lock:
            found = self._cache.get(cache_key)
            if found is None:
                entries = [e for e in self._orders[sort] if _matches(e, search)]
                found = self._cache[cache_key] = (entries, [self.SORTS[sort](e) for e in entries])
        return found

    def update(self, nct_id: str, *, last_update: str, title: str | None = None) -> None:
        """Simulate a registry update: a new last-update date and, optionally, a new title."""
        study = json.loads(self._entries[nct_id].body)
        protocol = study["protocolSection"]
        protocol.setdefault("statusModule", {})["lastUpdatePostDateStruct"] = {"date": last_update, "type": "ACTUAL"}
        if title is not None:
            protocol["identificationModule"]["briefTitle"] = title
        self.put(study)

    def put(self, study: dict) -> None:
        """Add or replace a study."""
        entry = _entry(study)
        with self._lock:
            self._entries[entry.nct_id] = entry
            self._reorder()

    def _reorder(self) -> None:
        self._orders: dict[str, list[Entry]] = {name: sorted(self._entries.values(), key=key) for name, key in self.SORTS.items()}
        self._cache: dict[tuple, tuple[list[Entry], list[tuple[str, str]]]] = {}
        self.data_timestamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
