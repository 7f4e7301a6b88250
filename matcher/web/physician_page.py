"""The physician search page at ``/find``: a patient form, and the trials ranked for that patient.

A Datasette plugin module: ``trialmatch serve`` passes it to ``make_datasette(plugins=[…])``,
and its ``register_routes`` hook adds the page to the browse view's app. The page is a GET
form; the query string is the whole patient, so a results page is a shareable URL and nothing
about the patient is stored, logged or cached (``Cache-Control: no-store``), nor sent to the
registry when a link is followed (``Referrer-Policy: no-referrer``). The page runs no script
at all, and its Content-Security-Policy forbids any. The ranking itself is ``patient_search``'s.
"""

from __future__ import annotations

import weakref
from functools import cache

from datasette import hookimpl
from datasette.utils.asgi import Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..criteria import all_measures
from ..patient import MAX_NOTE_CHARS
from ..resources import data_path
from .browse import DATABASE_NAME
from ..eligibility.reading import not_understood_notice
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
from .patient_search import PatientSearch, SearchOutcome, log_failure

PATH = "/find"
MAX_QUERY_BYTES = 4 * 1024 * 1024  # the whole form, a 100,000-character note percent-encoded among it
HTTP_REQUEST_BYTES = 2 * MAX_QUERY_BYTES  # what the server reads of a request's head, so it can say so
STYLESHEET = "find.css"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
}
COMMON_UNITS = ("10^9/L", "g/L", "g/dL", "mg/dL", "mmol/L", "µmol/L", "U/L", "%", "mL/min/1.73m2", "x ULN")


_searches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def search_for(datasette, rankers: int = 1) -> PatientSearch:
    """The one PatientSearch of this Datasette app (its registry database); ``rankers`` counts
    when it is made: ranker processes (1: a thread of this process)."""
    if datasette not in _searches:
        _searches[datasette] = PatientSearch(datasette.get_database(DATABASE_NAME).path, rankers)
    return _searches[datasette]


@cache
def templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(data_path("datasette", "templates"))),
                       autoescape=True, undefined=StrictUndefined)


@cache
def lab_suggestions() -> tuple[str, ...]:
    """The usual name of every lab test the criteria parser knows, for the form's suggestions."""
    return tuple(sorted((info.synonyms or (info.id.replace("_", " "),))[0] for info in all_measures()))


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
        "not_understood": not_understood_notice(outcome.patient) if outcome and outcome.patient else None,
        "notices": outcome.notices if outcome else [],
        "find_url": datasette.urls.path(PATH),
        "stylesheets": [datasette.urls.static("app.css"), datasette.urls.path(f"/-/trialmatch/{STYLESHEET}")],
        "home_url": datasette.urls.instance(),
        "browse_url": browse_trials,
        "max_note_chars": MAX_NOTE_CHARS,
    }
    return templates().get_template("find.html").render(context)


async def find_page(request, datasette):
    try:
        if len(request.query_string) > MAX_QUERY_BYTES:
            raise ValueError("longer than any form")
        form = read_form(request.query_string)
    except ValueError:  # more fields, or more bytes, than the form can send
        refused = SearchOutcome([FieldError(None, f"this search is larger than the form can send (a note holds up to "
                                                  f"{MAX_NOTE_CHARS:,} characters): start again from an empty form")])
        return Response.html(render(datasette, read_form(""), refused), status=414, headers=HEADERS)
    outcome, status = None, 200
    if form.submitted:
        try:
            outcome = await search_for(datasette).search_on_worker(form)
            status = 400 if outcome.errors else 200
        except Exception as error:  # noqa: BLE001 — the page says it failed; the log says where
            log_failure("search", error)
            outcome, status = SearchOutcome([FieldError(None, "the search failed on the server; the error is in its log")]), 500
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
