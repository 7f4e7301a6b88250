"""Searching trials for the patient a physician typed: the form → a Patient → ranked matches.

One ``PatientSearch`` per served database ranks on its own worker thread, which owns the
process's one ``Ranker`` (model, vectors, trial cache), so the server's event loop keeps
answering while a patient is ranked. Python threads cannot rank two patients faster than one
at a time (the evaluation holds the GIL), so one thread it is.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from models.match import Match
from models.patient import Patient

from ..criteria.measures import find_measure
from ..patient import PatientError, load_patient
from ..rank import Filters, Ranker, patient_point
from ..store import Store
from .patient_form import FieldError, PatientForm


@dataclass
class SearchOutcome:
    """What one search gives: the patient as read and the ranked trials, or what is wrong."""

    errors: list[FieldError] = field(default_factory=list)
    patient: Patient | None = None
    matches: list[Match] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


class PatientSearch:
    """Ranks patients of one served database, one at a time, on its own worker thread."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trialmatch-ranker")
        self._ranker: Ranker | None = None

    @property
    def ranker(self) -> Ranker:
        """Made on first use, on the worker thread: one Ranker (model, vectors, trial cache) per process."""
        if self._ranker is None:
            self._ranker = Ranker(Store(self.db_path, read_only=True))
        return self._ranker

    async def search_on_worker(self, form: PatientForm) -> SearchOutcome:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.search, form)

    def start_warming_up(self) -> None:
        """Load the model, the vectors and the lexicons before the first physician waits for them."""
        self._executor.submit(self._warm_up)

    def _warm_up(self) -> None:
        try:
            self.ranker.rank(load_patient({"conditions": ["anemia"], "note": "adult with anemia"}), top=1)
        except Exception as error:  # noqa: BLE001 — the first search will fail and say so
            log_failure("warming up", error)

    def search(self, form: PatientForm) -> SearchOutcome:
        errors = form.check_filters()
        if not form.has_facts():
            errors.append(FieldError("diagnosis-1", "enter at least a diagnosis, a lab, a therapy, a procedure or a note"))
        if errors:
            return SearchOutcome(errors)
        try:
            patient = load_patient(form.patient_data())
        except PatientError as error:
            return SearchOutcome([FieldError(form.input_for(error.field), str(error).removeprefix(f"{error.field}: "))])
        point = patient_point(patient)
        if patient.location is not None and point is None:
            where = "zip" if form.values.get("zip") else "city"
            return SearchOutcome([FieldError(where, "cannot place this location (a US ZIP code, or a city and its country)")])
        filters = Filters(statuses=form.status_filter, within_km=form.within_km)
        matches = self.ranker.rank(patient, top=form.top, filters=filters)
        return SearchOutcome(patient=patient, matches=matches, notices=unknown_lab_notices(patient))


def log_failure(what: str, error: Exception) -> None:
    """Which error, raised where: never its message, which may quote the patient's data."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename] or frames
    where = " < ".join(dict.fromkeys(f"{f.filename}:{f.lineno}" for f in (frames[-1], ours[-1])))
    print(f"physician page: {what} failed: {type(error).__name__} at {where}", file=sys.stderr)


def unknown_lab_notices(patient: Patient) -> list[str]:
    return [f"Lab “{lab.name}” is not a test trialmatch knows: it is not compared with any criterion."
            for lab in patient.labs if find_measure(lab.name) is None]
