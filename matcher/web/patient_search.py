"""Searching trials for the patient a physician typed: the form → a Patient → ranked matches.

One ``PatientSearch`` per served database ranks away from the server's event loop, so the
server keeps answering while a patient is ranked. By default on one worker thread, which owns the
process's one ``Ranker`` (model, vectors, trial cache): Python threads cannot rank two patients
faster than one at a time (the evaluation holds the GIL). With ``rankers`` > 1, on that many
ranker processes, each with its own Ranker, loaded when the server starts: several physicians
are served at once, for the memory of one model and trial cache per process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import threading
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from models.match import Match
from models.patient import Patient

from ..geo import locate
from ..patient import PatientError, lab_notices, load_patient
from ..process_guard import end_with_parent
from ..rank import Filters, Ranker, patient_point
from ..store import Store
from .patient_form import FieldError, PatientForm


RANKED_PER_SHOWN = 3  # trials ranked per trial the page lists: the off-topic ones among them are counted, not listed


@dataclass
class SearchOutcome:
    """What one search gives: the patient as read and the ranked trials, or what is wrong."""

    errors: list[FieldError] = field(default_factory=list)
    patient: Patient | None = None
    matches: list[Match] = field(default_factory=list)  # in the learned order, more than are shown
    notices: list[str] = field(default_factory=list)
    passing: int | None = None  # trials that pass the filters (None: nothing is filtered)


class PatientSearch:
    """Ranks patients of one served database, one at a time, on its own worker thread."""

    def __init__(self, db_path: str, rankers: int = 1):
        if rankers < 1:
            raise ValueError(f"rankers must be at least 1, not {rankers}")
        self.db_path = db_path
        self.rankers = rankers
        self._executor = self._new_executor()
        self._ranker: Ranker | None = None

    def _new_executor(self) -> Executor:
        if self.rankers == 1:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="trialmatch-ranker")
        # "spawn": a fresh interpreter, never a fork of this server with its threads and open database
        return ProcessPoolExecutor(self.rankers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_ranker_process, initargs=(self.db_path,))

    @property
    def ranker(self) -> Ranker:
        """Made on first use, on the worker thread: one Ranker (model, vectors, trial cache) per process."""
        if self._ranker is None:
            self._ranker = Ranker(Store(self.db_path, read_only=True))
        return self._ranker

    async def search_on_worker(self, form: PatientForm) -> SearchOutcome:
        loop = asyncio.get_running_loop()
        if self.rankers == 1:
            return await loop.run_in_executor(self._executor, self.search, form)
        try:
            return await loop.run_in_executor(self._executor, _search_in_process, form)
        except BrokenProcessPool:  # a ranker process died (killed, out of memory): start new ones, search once more
            broken, self._executor = self._executor, self._new_executor()
            broken.shutdown(wait=False)
            return await loop.run_in_executor(self._executor, _search_in_process, form)

    def start_warming_up(self) -> None:
        """Load the model, the vectors and the lexicons before the first physician waits for them
        (in every ranker process: each submission starts one while none is idle)."""
        for _ in range(self.rankers):
            self._executor.submit(self._warm_up if self.rankers == 1 else _warm_ranker_process)

    def close(self) -> None:
        """Stop ranking: searches not started are cancelled, ranker processes end."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _warm_up(self) -> None:
        try:
            self.ranker.rank(load_patient({"conditions": ["anemia"], "note": "adult with anemia"}), top=1)
            # the place indexes (ZIP codes; cities: seconds to read) load on first use: beside the first
            # searches rather than in front of a physician's search with a place
            threading.Thread(target=_load_place_indexes, name="trialmatch-places", daemon=True).start()
        except Exception as error:  # noqa: BLE001 — the first search will fail and say so
            log_failure("warming up", error)

    def search(self, form: PatientForm) -> SearchOutcome:
        """Every problem with the form at once; else the patient as read, and the trials ranked
        for them: ``form.top`` times ``RANKED_PER_SHOWN`` of them, so that the page can list
        ``form.top`` relevant ones and say how many others are off topic."""
        errors = []
        if not form.has_facts():
            errors.append(FieldError("diagnosis-1", "enter at least a diagnosis, a lab, a therapy, a procedure or a note"))
        try:
            patient = load_patient(form.patient_data())
        except PatientError as error:
            patient = None
            errors += [FieldError(form.input_for(e.field), e.problem) for e in error.all]
        errors += [e for e in (form.location_error(), *form.check_filters()) if e is not None]
        if errors:
            return SearchOutcome(errors)
        filters = Filters(statuses=form.status_filter, within_km=form.within_km)
        matches = self.ranker.rank(patient, top=form.top * RANKED_PER_SHOWN, filters=filters)
        allowed = self.ranker.allowed(filters, patient_point(patient))
        return SearchOutcome(patient=patient, matches=matches, notices=lab_notices(patient),
                             passing=len(allowed[0]) if allowed is not None else None)


def _load_place_indexes() -> None:
    try:
        locate(zip_code="02114")
        locate(city="Boston", country="United States")
    except Exception as error:  # noqa: BLE001 — a search with a place will load them, or fail and say so
        log_failure("loading the place indexes", error)


_process_search: PatientSearch | None = None  # in a ranker process: its own one-thread search


def _start_ranker_process(db_path: str) -> None:
    global _process_search
    end_with_parent()  # no ranker outlives its server, holding memory
    _process_search = PatientSearch(db_path)
    _process_search._warm_up()


def _warm_ranker_process() -> None:
    """Nothing: warming up is the process's initializer; submitting this starts the process."""


def _search_in_process(form: PatientForm) -> SearchOutcome:
    return _process_search.search(form)


def log_failure(what: str, error: Exception) -> None:
    """Which error, raised where: never its message, which may quote the patient's data."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename] or frames
    where = " < ".join(dict.fromkeys(f"{f.filename}:{f.lineno}" for f in (frames[-1], ours[-1])))
    print(f"physician page: {what} failed: {type(error).__name__} at {where}", file=sys.stderr)



