"""The physician search page at ``/find``: a patient form, and the trials ranked for that patient.

A Datasette plugin module: ``trialmatch serve`` passes it to ``make_datasette(plugins=[…])``,
and its ``register_routes`` hook adds the page to the browse view's app. The page is a GET
form; the query string is the whole patient, so a results page is a shareable URL and nothing
about the patient is stored, logged or cached (``Cache-Control: no-store``), nor sent to the
registry when a link is followed (``Referrer-Policy: no-referrer``). The page runs no script
at all, and its Content-Security-Policy forbids any.

Ranking is CPU work (embedding the patient's text, evaluating every criterion of ~100 trials):
it runs on one worker thread that owns the process's one ``Ranker``, so the event loop keeps
serving the browse view meanwhile. Python threads cannot rank two patients faster than one at
a time (the evaluation holds the GIL), so one thread it is.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

from datasette import hookimpl
from datasette.utils.asgi import Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from models.match import Match
from models.patient import Patient

from ..criteria.measures import find_measure, measures
from ..patient import PatientError, load_patient
from ..rank import Filters, Ranker, patient_point
from ..resources import data_path
from ..store import Store
from .match_view import enum_label, match_view, patient_facts
from .patient_form import (
    PREGNANT_CHOICES,
    ROW_GROUPS,
    SEX_CHOICES,
    STATUS_CHOICES,
    TOP_CHOICES,
    FieldError,
    PatientForm,
    input_label,
    read_form,
    row_input_id,
)

PATH = "/find"
DATABASE_NAME = "trials"
STYLESHEET = "find.css"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
}
COMMON_UNITS = ("10^9/L", "g/L", "g/dL", "mg/dL", "mmol/L", "µmol/L", "U/L", "%", "mL/min/1.73m2", "x ULN")


@dataclass
class SearchOutcome:
    """What one search gives: the patient as read and the ranked trials, or what is wrong."""

    errors: list[FieldError] = field(default_factory=list)
    patient: Patient | None = None
    matches: list[Match] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


class PhysicianSearch:
    """Ranks patients of one served database, one at a time, on its own worker thread."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trialmatch-ranker")
        self._ranker: Ranker | None = None

    @property
    def ranker(self) -> Ranker:
        """Made on first use, on the worker thread: one Ranker (model, vectors, trial cache) per process."""
        if self._ranker is None:
            ranker = Ranker(Store(self.db_path, read_only=True))
            if len(ranker.index):
                one_torch_thread()
            self._ranker = ranker
        return self._ranker

    async def run(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

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


def one_torch_thread() -> None:
    """Embed the one query text of a search on one thread. A team of threads that must wait for
    each other at every layer costs far more than it saves when the cores are busy with other
    requests and processes: on the 2-core development machine under load, embedding a patient
    took ~750 ms with 2 threads and ~30 ms with 1."""
    import torch

    torch.set_num_threads(1)


def log_failure(what: str, error: Exception) -> None:
    """Which error, raised where: never its message, which may quote the patient's data."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename] or frames
    where = " < ".join(dict.fromkeys(f"{f.filename}:{f.lineno}" for f in (frames[-1], ours[-1])))
    print(f"physician page: {what} failed: {type(error).__name__} at {where}", file=sys.stderr)


def unknown_lab_notices(patient: Patient) -> list[str]:
    return [f"Lab “{lab.name}” is not a test trialmatch knows: it is not compared with any criterion."
            for lab in patient.labs if find_measure(lab.name) is None]


_searches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def search_for(datasette) -> PhysicianSearch:
    """The one PhysicianSearch of this Datasette app (its registry database)."""
    if datasette not in _searches:
        _searches[datasette] = PhysicianSearch(datasette.get_database(DATABASE_NAME).path)
    return _searches[datasette]


@cache
def templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(data_path("datasette", "templates"))),
                       autoescape=True, undefined=StrictUndefined)


@cache
def lab_suggestions() -> tuple[str, ...]:
    """The usual name of every lab test the criteria parser knows, for the form's suggestions."""
    return tuple(sorted((info.synonyms or (info.id.replace("_", " "),))[0] for info in measures().by_id.values()))


def render(datasette, form: PatientForm, outcome: SearchOutcome | None) -> str:
    errors = outcome.errors if outcome else []
    browse_trials = datasette.urls.table(DATABASE_NAME, "trials")
    context = {
        "form": form,
        "groups": ROW_GROUPS,
        "row_input_id": row_input_id,
        "input_label": input_label,
        "sex_choices": SEX_CHOICES,
        "pregnant_choices": PREGNANT_CHOICES,
        "top_choices": [(str(n), str(n)) for n in TOP_CHOICES],
        "status_choices": [(s, enum_label(s)) for s in dict.fromkeys([*STATUS_CHOICES, *form.statuses])],
        "lab_names": lab_suggestions(),
        "lab_units": COMMON_UNITS,
        "errors": errors,
        "error_for": {e.input_id: e.message for e in errors if e.input_id},
        "searched": outcome is not None and not errors,
        "results": [match_view(m, browse_trials) for m in outcome.matches] if outcome else [],
        "facts": patient_facts(outcome.patient) if outcome and outcome.patient else [],
        "notices": outcome.notices if outcome else [],
        "find_url": datasette.urls.path(PATH),
        "stylesheets": [datasette.urls.static("app.css"), datasette.urls.path(f"/-/trialmatch/{STYLESHEET}")],
        "home_url": datasette.urls.instance(),
        "browse_url": browse_trials,
    }
    return templates().get_template("find.html").render(context)


async def find_page(request, datasette):
    form = read_form(request.query_string)
    outcome = None
    if form.submitted:
        search = search_for(datasette)
        try:
            outcome = await search.run(search.search, form)
        except Exception as error:  # noqa: BLE001 — the page says it failed; the log says where
            log_failure("search", error)
            outcome = SearchOutcome([FieldError(None, "the search failed on the server; the error is in its log")])
            return Response.html(render(datasette, form, outcome), status=500, headers=HEADERS)
    status = 400 if outcome and outcome.errors else 200
    return Response.html(render(datasette, form, outcome), status=status, headers=HEADERS)


async def stylesheet(request):
    return Response(data_path("datasette", STYLESHEET).read_text(encoding="utf-8"),
                    content_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"})


@hookimpl
def register_routes():
    return [(rf"^{PATH}$", find_page), (rf"^/-/trialmatch/{STYLESHEET.replace('.', '[.]')}$", stylesheet)]


@hookimpl
def menu_links(datasette):
    return [{"href": datasette.urls.path(PATH), "label": "Find trials for a patient"}]
