"""Rank trials for one patient: retrieve candidates, filter, evaluate every criterion, order.

The order comes from a model learned from real judgements (``matcher.ranking``: retrieval
scores by field, the patient's diagnoses against the trial's conditions, the verdicts and the
trial's record); with the patient's location, the nearness of the nearest open site scales it.
The hand-set score it replaced (eligible before possible before ineligible; within each a mix
of relevance, the share of criteria met and nearness) stays available as ``model="hand-set"``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.criteria import Criterion
from models.match import Match, NearestSite, Verdict
from models.patient import Patient
from models.trial import OPEN_STATUSES, Trial, site_is_open

from .eligibility import TrialRules, evaluate_trial, trial_label, trial_rules
from .geo import distance_km, locate
from .ranking import FEATURES, FIELDS, RankingModel, Retrieval, explain, pair_features, shipped_model, text_stems
from .retrieve import Candidate, bm25_with_fields, fuse
from .store import Store

HAND_SET = "hand-set"  # the score set by hand before the learned model, kept as a named baseline
TIER = {"eligible": 2, "possible": 1, "ineligible": 0}
# Within a tier: relevance, share of criteria met, nearness of the nearest site (when known).
WEIGHTS = {"relevance": 0.5, "share_met": 0.3, "nearness": 0.2}
NEARNESS_KM = 300  # a site this far away counts half as near as one next door
# The judgements the model learned from have no patient location: with one, the learned score is
# scaled by (1 - w) + w × nearness, a weight set by hand (as the hand-set score's).
NEARNESS_WEIGHT = 0.2
EXPLAINED = 3  # features named in a match's explanation


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


def embedding_text(patient: Patient) -> str:
    """What the patient is embedded as: ``patient_text`` with the diagnoses read from the note
    put first. A long note's vector is mostly its story; leading with the diagnoses brings it
    nearer the trials about them (SIGIR 2016, cosine alone, MiniLM: NDCG@10 of the judged
    trials 0.308 → 0.332, recall@100 fused with BM25 0.447 → 0.462; benchmarks/embedding_quality.py)."""
    from_note = [c.name for c in patient.conditions if not c.negated and c.evidence and c.evidence.from_note]
    return ". ".join(part for part in (", ".join(dict.fromkeys(from_note)), patient_text(patient)) if part)


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
    """Trials with a site open to enrolment within ``km`` of the point (a bounding box in SQL,
    then haversine): a closed site nearby does not bring a trial in (``site_is_open``)."""
    lat, lon = point
    dlat = km / 111.0
    dlon = km / max(1e-6, 111.0 * math.cos(math.radians(lat)))
    marks = ",".join("?" * len(OPEN_STATUSES))
    rows = store.conn.execute(
        "SELECT s.nct_id, s.latitude, s.longitude FROM sites s JOIN trials t ON t.nct_id = s.nct_id "
        "WHERE s.latitude BETWEEN ? AND ? AND s.longitude BETWEEN ? AND ? "
        f"AND coalesce(s.status, t.overall_status) IN ({marks})",
        (lat - dlat, lat + dlat, lon - dlon, lon + dlon, *OPEN_STATUSES),
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
    """The closest site open to enrolment (``site_is_open``), with its distance when the point
    is known; when no site is open, the closest of the others, marked not open."""
    open_sites = [s for s in trial.sites if site_is_open(s.status, trial.overall_status)]
    pool = open_sites or trial.sites
    placed = [s for s in pool if s.lat is not None and s.lon is not None]
    if not pool:
        return None
    if point is None or not placed:
        first = pool[0]
        return NearestSite(first.facility, first.city, first.country, open=bool(open_sites))
    best = min(placed, key=lambda s: distance_km(point[0], point[1], s.lat, s.lon))
    return NearestSite(best.facility, best.city, best.country, round(distance_km(point[0], point[1], best.lat, best.lon), 1),
                       open=bool(open_sites))


def nearness(distance: float, scale_km: float = NEARNESS_KM) -> float:
    """1 next door, ½ at ``scale_km``, towards 0 far away."""
    return scale_km / (scale_km + distance)


def hand_set_score(label: str, relevance: float, verdicts: list[Verdict], distance: float | None = None,
                   nearness_km: float = NEARNESS_KM) -> float:
    """The hand-set score: in [0, 1], a tier per label, and within it relevance (0–1), the share
    of criteria met, and the nearness of the nearest site (when the patient's location is known)."""
    counted = [v for v in verdicts if not v.to_confirm]
    share = sum(1 for v in counted if v.outcome == "satisfied") / len(counted) if counted else 0.0
    parts = {"relevance": relevance, "share_met": share}
    if distance is not None:
        parts["nearness"] = nearness(distance, nearness_km)
    within = sum(WEIGHTS[k] * v for k, v in parts.items()) / sum(WEIGHTS[k] for k in parts)
    return round((TIER[label] + within) / 3, 4)


@dataclass
class Assessed:
    """A candidate trial as ranking sees it: its verdicts, label, relevance and features."""

    trial: Trial
    criteria: list[Criterion]
    verdicts: list[Verdict]
    label: str
    relevance: float  # fused BM25 + embeddings, relative to the best candidate (0–1)
    site: NearestSite | None
    features: dict[str, float]


def relative(values: dict[str, float]) -> dict[str, float]:
    """Each value over the largest (0 when none is positive)."""
    best = max(values.values(), default=0.0)
    return {key: value / best if best > 0 else 0.0 for key, value in values.items()}


class Ranker:
    """Ranks trials of one database; keeps the embedding index in memory between patients.

    ``model``: the learned model shipped in data/ranker.json (None), another one (a
    ``RankingModel`` or the path of its file), or ``"hand-set"`` for the hand-set score.
    ``pool``: how many candidates retrieval passes to the eligibility engine. ``nearness_km``:
    the distance at which a site counts half as near as one next door. ``use_embeddings``:
    fuse embedding similarity with BM25 (else BM25 alone). ``shared_vectors``: map the vector
    file read-only, shared with other processes (else a private float32 copy, as before the
    vector file: a baseline for benchmarks)."""

    def __init__(self, store: Store, *, model: RankingModel | str | Path | None = None, pool: int = 100,
                 nearness_km: float = NEARNESS_KM, use_embeddings: bool = True, cache_trials: int = 4096,
                 shared_vectors: bool = True):
        self.store = store
        if model is None:
            model = shipped_model()
        elif isinstance(model, (str, Path)) and str(model) != HAND_SET:
            model = RankingModel.load(model)
        self.model = model
        self.pool = pool
        self.nearness_km = nearness_km
        self.use_embeddings = use_embeddings
        self.shared_vectors = shared_vectors
        self._index = None
        self._trials: OrderedDict[str, tuple] = OrderedDict()  # nct_id → (Trial, criteria, TrialRules), most recent last
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
        return self.prepared(nct_id)[:2]

    def prepared(self, nct_id: str) -> tuple[Trial | None, list[Criterion], TrialRules | None]:
        """A trial, its parsed criteria and what evaluating it asks of the trial alone
        (``trial_rules``), from a bounded in-memory cache emptied when the database changes."""
        if nct_id in self._trials:
            self._trials.move_to_end(nct_id)
            return self._trials[nct_id]
        trial, criteria = self.store.trial(nct_id), self.store.criteria(nct_id, with_entities=False)
        found = (trial, criteria, trial_rules(trial, criteria) if trial is not None else None)
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

            self._index = VectorIndex.load(self.store, private=not self.shared_vectors)
        return self._index

    def candidates(self, text: str, query, among: list[str] | None,
                   shortlist: list[str] | None) -> tuple[list[Candidate], dict[str, dict[str, float]]]:
        """Trials by fused relevance, among the allowed ones (all of a shortlist's allowed
        trials), and the BM25 by field of those the text matches."""
        limit = len(among) if shortlist is not None else self.pool
        vector = self.index.search(query, limit, among=among) if query is not None else []
        ranking, fields = bm25_with_fields(self.store, text, limit, among, wanted=[n for n, _ in vector])
        fused = fuse([ranking, vector] if vector else [ranking])
        if shortlist is not None:  # a shortlist is ranked whole, matched by text or not
            found = {c.nct_id for c in fused}
            fused += [Candidate(n, 0.0) for n in among if n not in found]
        return fused[:limit], fields

    def retrieval(self, query, candidates: list[Candidate], by_field: dict[str, dict[str, float]]) -> dict[str, Retrieval]:
        """Per candidate: BM25 by field and embedding similarity, each relative to the best."""
        ids = [c.nct_id for c in candidates]
        fields = {name: relative({n: by_field.get(n, {}).get(name, 0.0) for n in ids}) for name in ("all", *FIELDS)}
        cosines = self.index.cosines(ids, query) if query is not None else {}
        top_cosine = max(cosines.values(), default=0.0)
        best = max((c.relevance for c in candidates), default=0.0) or 1.0
        return {c.nct_id: Retrieval({name: fields[name][c.nct_id] for name in fields}, cosines.get(c.nct_id),
                                    top_cosine - cosines.get(c.nct_id, 0.0), c.relevance / best) for c in candidates}

    def assess(self, patient: Patient, *, filters: Filters | None = None,
               shortlist: Iterable[str] | None = None) -> list[Assessed]:
        """The candidate trials (by retrieval, or a shortlist), each evaluated criterion by
        criterion, with its features; in no particular order."""
        self.forget_if_changed()
        filters = filters or (Filters(statuses=None) if shortlist is not None else Filters())
        point = patient_point(patient)
        allowed = self.allowed(filters, point)
        if shortlist is not None:
            shortlist = [n for n in dict.fromkeys(shortlist) if allowed is None or n in allowed[0]]
            among = shortlist
        else:
            among = allowed[1] if allowed is not None else None
        text = patient_text(patient)
        query = None
        if self.use_embeddings and text and len(self.index):
            query = self.index.embed_query(embedding_text(patient))  # by the model the registry's trials were embedded with
        candidates, by_field = self.candidates(text, query, among, shortlist)
        retrieval = self.retrieval(query, candidates, by_field)
        words = text_stems(text)
        assessed = []
        for candidate in candidates:
            trial, criteria, rules = self.prepared(candidate.nct_id)
            if trial is None:
                continue
            verdicts = evaluate_trial(patient, trial, criteria, rules)
            label = trial_label(verdicts)
            found = retrieval[candidate.nct_id]
            features = pair_features(patient, words, trial, len(criteria), verdicts, label, found)
            assessed.append(Assessed(trial, criteria, verdicts, label, found.fused, nearest_site(trial, point), features))
        return assessed

    def scored(self, assessed: list[Assessed], top: int) -> tuple[list[float], list[float | None], list[list[str]]]:
        """Each trial's score, its learned chance of eligibility (trials with criteria only: it
        was measured on those), and, for the ``top`` ones, what moved the score most."""
        distances = [a.site.distance_km if a.site else None for a in assessed]
        if self.model == HAND_SET:
            scores = [hand_set_score(a.label, a.relevance, a.verdicts, d, self.nearness_km) for a, d in zip(assessed, distances)]
            return scores, [None] * len(assessed), [[] for _ in assessed]
        x = np.array([[a.features[name] for name in FEATURES] for a in assessed]).reshape(len(assessed), len(FEATURES))
        scale = [(1 - NEARNESS_WEIGHT) + NEARNESS_WEIGHT * nearness(d, self.nearness_km) if d is not None else 1.0
                 for d in distances]
        scores = [round(float(s) * k, 4) for s, k in zip(self.model.score(x), scale)]
        eligible = [round(float(p), 2) if a.criteria else None for a, p in zip(assessed, self.model.eligible_probability(x))]
        explanations: list[list[str]] = [[] for _ in assessed]
        first = sorted(range(len(assessed)), key=lambda i: (-scores[i], assessed[i].trial.nct_id))[:top]
        if first:
            for i, moved in zip(first, self.model.contributions(x[first])):
                explanations[i] = explain(dict(zip(FEATURES, moved)), assessed[i].features, EXPLAINED)
        return scores, eligible, explanations

    def rank(self, patient: Patient, *, top: int = 10, filters: Filters | None = None,
             shortlist: Iterable[str] | None = None) -> list[Match]:
        assessed = self.assess(patient, filters=filters, shortlist=shortlist)
        matches = []
        for a, score, eligible, why in zip(assessed, *self.scored(assessed, top)):
            trial = a.trial
            matches.append(Match(
                nct_id=trial.nct_id, title=trial.brief_title, status=trial.overall_status, score=score,
                eligibility=a.label, verdicts=a.verdicts, phases=trial.phases, nearest_site=a.site,
                relevance=round(a.relevance, 4), source_url=trial.source_url, explanation=why,
                eligible_probability=eligible,
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
