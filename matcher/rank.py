"""Rank trials for one patient: retrieve candidates, filter, evaluate every criterion, order.

The score puts eligible before possible before ineligible; within each, it mixes relevance
(the fused BM25 + embedding rank), the share of the trial's criteria the patient meets, and,
when the patient's location is known, how near the nearest open site is.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from models.match import Match, NearestSite, Verdict
from models.patient import Patient
from models.trial import OPEN_STATUSES, Trial

from .eligibility import evaluate_trial, trial_label
from .geo import distance_km, locate
from .retrieve import Candidate, bm25_search, fuse
from .store import Store

TIER = {"eligible": 2, "possible": 1, "ineligible": 0}
# Within a tier: relevance, share of criteria met, nearness of the nearest site (when known).
WEIGHTS = {"relevance": 0.5, "share_met": 0.3, "nearness": 0.2}
NEARNESS_KM = 300  # a site this far away counts half as near as one next door


@dataclass
class Filters:
    """What a trial must be to be ranked at all. ``None`` means no filter on that field."""

    statuses: tuple[str, ...] | None = OPEN_STATUSES
    phases: tuple[str, ...] | None = None
    study_types: tuple[str, ...] | None = None
    within_km: float | None = None


def patient_text(patient: Patient) -> str:
    """What the patient's record says, as retrieval text: diagnoses first, then therapies and
    procedures (facts read from the note are in the note already), then the note."""
    facts = [
        fact.name
        for fact in (*patient.conditions, *patient.medications, *patient.procedures)
        if not fact.negated and not (fact.evidence and fact.evidence.from_note)
    ]
    return ". ".join(part for part in (", ".join(facts), patient.note or "") if part)


def allowed_trials(store: Store, filters: Filters, point: tuple[float, float] | None) -> set[str] | None:
    """Ids of the trials that pass the filters; None when nothing is filtered."""
    clauses, params = [], []
    if filters.statuses is not None:
        clauses.append(f"overall_status IN ({','.join('?' * len(filters.statuses))})")
        params += list(filters.statuses)
    if filters.study_types is not None:
        clauses.append(f"study_type IN ({','.join('?' * len(filters.study_types))})")
        params += list(filters.study_types)
    if filters.phases is not None:
        clauses.append(f"EXISTS (SELECT 1 FROM json_each(trials.phases) WHERE value IN ({','.join('?' * len(filters.phases))}))")
        params += list(filters.phases)
    allowed = None
    if clauses:
        allowed = {r[0] for r in store.conn.execute(f"SELECT nct_id FROM trials WHERE {' AND '.join(clauses)}", params)}
    if filters.within_km is not None:
        nearby = trials_near(store, point, filters.within_km) if point else set()
        allowed = nearby if allowed is None else allowed & nearby
    return allowed


def trials_near(store: Store, point: tuple[float, float], km: float) -> set[str]:
    """Trials with a site within ``km`` of the point (a bounding box in SQL, then haversine)."""
    lat, lon = point
    dlat = km / 111.0
    dlon = km / max(1e-6, 111.0 * math.cos(math.radians(lat)))
    rows = store.conn.execute(
        "SELECT nct_id, latitude, longitude FROM sites WHERE latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND ?",
        (lat - dlat, lat + dlat, lon - dlon, lon + dlon),
    )
    near: set[str] = set()
    for nct_id, site_lat, site_lon in rows:  # a trial's other sites need no distance once one is near
        if nct_id not in near and distance_km(lat, lon, site_lat, site_lon) <= km:
            near.add(nct_id)
    return near


def patient_point(patient: Patient) -> tuple[float, float] | None:
    location = patient.location
    if location is None:
        return None
    if location.lat is not None:
        return location.lat, location.lon
    point = locate(zip_code=location.zip, city=location.city, state=location.state, country=location.country)
    return (point.lat, point.lon) if point else None


def nearest_site(trial: Trial, point: tuple[float, float] | None) -> NearestSite | None:
    """The closest site with coordinates that is open (recruiting, not yet recruiting, or of
    unknown status); any site when none is."""
    sites = [s for s in trial.sites if s.lat is not None and s.lon is not None]
    recruiting = [s for s in sites if s.status is None or s.status in OPEN_STATUSES]
    pool = recruiting or sites
    if point is None or not pool:
        first = (recruiting or trial.sites or [None])[0]
        return NearestSite(first.facility, first.city, first.country) if first else None
    best = min(pool, key=lambda s: distance_km(point[0], point[1], s.lat, s.lon))
    return NearestSite(best.facility, best.city, best.country, round(distance_km(point[0], point[1], best.lat, best.lon), 1))


def score(label: str, relevance: float, verdicts: list[Verdict], distance: float | None = None) -> float:
    """In [0, 1]: a tier per label, and within it relevance (0–1), the share of criteria met,
    and the nearness of the nearest site (when the patient's location is known)."""
    counted = [v for v in verdicts if not v.to_confirm]
    share = sum(1 for v in counted if v.outcome == "satisfied") / len(counted) if counted else 0.0
    parts = {"relevance": relevance, "share_met": share}
    if distance is not None:
        parts["nearness"] = NEARNESS_KM / (NEARNESS_KM + distance)
    within = sum(WEIGHTS[k] * v for k, v in parts.items()) / sum(WEIGHTS[k] for k in parts)
    return round((TIER[label] + within) / 3, 4)


class Ranker:
    """Ranks trials of one database; keeps the embedding index in memory between patients."""

    def __init__(self, store: Store, *, use_embeddings: bool = True, pool: int = 100, cache_trials: int = 4096):
        self.store = store
        self.pool = pool
        self.use_embeddings = use_embeddings
        self._index = None
        self._trials: OrderedDict[str, tuple] = OrderedDict()  # nct_id → (Trial, criteria), most recent last
        self._cache_size = cache_trials
        self._data_version = None
        self._allowed: OrderedDict[tuple, tuple[set[str], list[str]] | None] = OrderedDict()  # filters → trials passing them

    def forget_if_changed(self) -> None:
        """Empty the caches (trials, criteria, vectors) when another connection has changed the database."""
        version = self.store.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._trials.clear()
            self._allowed.clear()
            self._index = None
            self._data_version = version

    def trial_and_criteria(self, nct_id: str) -> tuple:
        """A trial and its parsed criteria, from a bounded in-memory cache."""
        if nct_id in self._trials:
            self._trials.move_to_end(nct_id)
            return self._trials[nct_id]
        found = (self.store.trial(nct_id), self.store.criteria(nct_id, with_entities=False))
        self._trials[nct_id] = found
        if len(self._trials) > self._cache_size:
            self._trials.popitem(last=False)
        return found

    def allowed(self, filters: Filters, point: tuple[float, float] | None) -> tuple[set[str], list[str]] | None:
        """The trials that pass the filters (as a set and sorted), from a small cache: physicians
        of one clinic search with the same statuses around the same place again and again."""
        key = (filters.statuses, filters.phases, filters.study_types, filters.within_km, point if filters.within_km else None)
        if key in self._allowed:
            self._allowed.move_to_end(key)
        else:
            found = allowed_trials(self.store, filters, point)
            self._allowed[key] = (found, sorted(found)) if found is not None else None
            if len(self._allowed) > 64:
                self._allowed.popitem(last=False)
        return self._allowed[key]

    @property
    def index(self):
        if self._index is None:
            from .embeddings import VectorIndex

            self._index = VectorIndex.load(self.store)
        return self._index

    def candidates(self, patient: Patient, among: list[str] | None, shortlist: list[str] | None) -> list[Candidate]:
        """Trials by fused relevance, among the allowed ones; all of a shortlist's allowed trials."""
        text = patient_text(patient)
        limit = len(among) if shortlist is not None else self.pool
        rankings = [bm25_search(self.store, text, limit, among=among)] if text else [[]]
        if self.use_embeddings and text and len(self.index):
            from .embeddings import embed_query

            rankings.append(self.index.search(embed_query(text), limit, among=among))
        fused = fuse(rankings)
        if shortlist is not None:  # a shortlist is ranked whole, matched by text or not
            found = {c.nct_id for c in fused}
            fused += [Candidate(n, 0.0) for n in among if n not in found]
        return fused[:limit]

    def rank(self, patient: Patient, *, top: int = 10, filters: Filters | None = None,
             shortlist: Iterable[str] | None = None) -> list[Match]:
        self.forget_if_changed()
        filters = filters or (Filters(statuses=None) if shortlist is not None else Filters())
        point = patient_point(patient)
        allowed = self.allowed(filters, point)
        if shortlist is not None:
            shortlist = [n for n in dict.fromkeys(shortlist) if allowed is None or n in allowed[0]]
            among = shortlist
        else:
            among = allowed[1] if allowed is not None else None
        candidates = self.candidates(patient, among, shortlist)
        best = max((c.relevance for c in candidates), default=0.0) or 1.0
        matches = []
        for candidate in candidates:
            trial, criteria = self.trial_and_criteria(candidate.nct_id)
            if trial is None:
                continue
            site = nearest_site(trial, point)
            verdicts = evaluate_trial(patient, trial, criteria)
            label = trial_label(verdicts)
            relevance = candidate.relevance / best
            matches.append(Match(
                nct_id=trial.nct_id, title=trial.brief_title, status=trial.overall_status,
                score=score(label, relevance, verdicts, site.distance_km if site else None), eligibility=label, verdicts=verdicts,
                phases=trial.phases, nearest_site=site, relevance=round(relevance, 4), source_url=trial.source_url,
            ))
        matches.sort(key=lambda m: (-m.score, m.nct_id))
        for position, match in enumerate(matches[:top], start=1):
            match.rank = position
        return matches[:top]


def rank(patient: Patient, db: Store | str, *, top: int = 10, filters: Filters | None = None,
         shortlist: Iterable[str] | None = None, use_embeddings: bool = True) -> list[Match]:
    """The Python API: rank trials of a database (a Store or a path) for one patient."""
    store = db if isinstance(db, Store) else Store(db, read_only=True)
    return Ranker(store, use_embeddings=use_embeddings).rank(patient, top=top, filters=filters, shortlist=shortlist)
