"""trialmatch's own pages in the browse view's app: the front door (``/``), the physician
search page (``/find``, with ``/find.csv`` and ``/find.json`` downloads of the same results) and
the trial pages (``/trial/<NCT id>``).

A Datasette plugin module: ``trialmatch serve`` passes it to ``make_datasette(plugins=[…])``,
and its ``register_routes`` hook adds the pages to the browse view's app (before Datasette's
own, so ``/`` is the front door). The search is a GET form; the query string is the whole
patient, so a results page is a shareable URL and nothing about the patient is stored, logged or
cached (``Cache-Control: no-store``), nor sent to the registry when a link is followed
(``Referrer-Policy: no-referrer``). The search pages run no script at all; the trial page runs
only its map's script files. The ranking itself is ``patient_search``'s.
"""

from __future__ import annotations

import json
import weakref
from functools import cache

from datasette import hookimpl
from datasette.utils.asgi import Response

from ..criteria import all_measures
from ..patient import MAX_NOTE_CHARS
from ..eligibility.reading import not_understood_notice
from .browse import DATABASE_NAME
from .front_door import registry_counts
from .match_view import QUESTION_GROUPS, enum_label, patient_facts
from .pages import ASSET_ROUTE, FIND_PATH, TRIAL_PATH, frame, headers, page, templates
from .patient_form import (
    ECOG_CHOICES,
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
from .results import as_csv, as_json, results
from .trial_page import ROUTE as TRIAL_ROUTE

PATH = FIND_PATH
MAX_QUERY_BYTES = 4 * 1024 * 1024  # the whole form, a 100,000-character note percent-encoded among it
HTTP_REQUEST_BYTES = 2 * MAX_QUERY_BYTES  # what the server reads of a request's head, so it can say so
HEADERS = headers()
COMMON_UNITS = ("10^9/L", "g/L", "g/dL", "mg/dL", "mmol/L", "µmol/L", "U/L", "%", "mL/min/1.73m2", "x ULN")


_searches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def search_for(datasette, rankers: int = 1) -> PatientSearch:
    """The one PatientSearch of this Datasette app (its registry database); ``rankers`` counts
    when it is made: ranker processes (1: a thread of this process)."""
    if datasette not in _searches:
        _searches[datasette] = PatientSearch(datasette.get_database(DATABASE_NAME).path, rankers)
    return _searches[datasette]


@cache
def lab_suggestions() -> tuple[str, ...]:
    """The usual name of every lab test the criteria parser knows, for the form's suggestions."""
    return tuple(sorted((info.synonyms or (info.id.replace("_", " "),))[0] for info in all_measures()))


def form_context(form: PatientForm, errors: list[FieldError], title: str) -> dict:
    """What the patient form (_patient_form.html) needs."""
    return {
        "form": form,
        "form_title": title,
        "groups": ROW_GROUPS,
        "row_input_id": row_input_id,
        "input_label": input_label,
        "sex_choices": SEX_CHOICES,
        "pregnant_choices": PREGNANT_CHOICES,
        "ecog_choices": ECOG_CHOICES,
        "top_choices": [(str(n), str(n)) for n in TOP_CHOICES],
        "status_choices": [(s, enum_label(s)) for s in dict.fromkeys([*STATUS_CHOICES, *form.statuses])],
        "lab_names": lab_suggestions(),
        "lab_units": COMMON_UNITS,
        "errors": errors,
        "error_for": {e.input_id: e.message for e in errors if e.input_id},
        "max_note_chars": MAX_NOTE_CHARS,
    }


def filters_in_words(form: PatientForm) -> str:
    """"within 100 km of 02114, recruiting or not yet recruiting"."""
    parts = []
    if form.within_km:
        parts.append(f"within {form.within_km:g} km of {form.values.get('zip') or form.values.get('city')}")
    parts.append(" or ".join(enum_label(s).lower() for s in form.statuses) if form.statuses else "any status")
    return ", ".join(parts)


def found(datasette, form: PatientForm, outcome: SearchOutcome, query: str):
    return results(outcome, form.top, browse_path=datasette.urls.table(DATABASE_NAME, "trials"),
                   trial_path=datasette.urls.path(TRIAL_PATH), patient_query=query)


def render(datasette, form: PatientForm, outcome: SearchOutcome | None, query: str = "") -> str:
    errors = outcome.errors if outcome else []
    searched = outcome is not None and outcome.patient is not None and not errors
    context = {
        **frame(datasette, "find"),
        **form_context(form, errors, "Patient"),
        "searched": searched,
        "found": found(datasette, form, outcome, query) if searched else None,
        "facts": patient_facts(outcome.patient) if searched else [],
        "not_understood": not_understood_notice(outcome.patient) if searched else None,
        "notices": outcome.notices if outcome else [],
        "filtered": filters_in_words(form),
        "question_groups": QUESTION_GROUPS,
        "csv_url": f"{datasette.urls.path(PATH)}.csv?{query}",
        "json_url": f"{datasette.urls.path(PATH)}.json?{query}",
    }
    return templates().get_template("find.html").render(context)


async def _search(datasette, form: PatientForm) -> tuple[SearchOutcome, int]:
    try:
        outcome = await search_for(datasette).search_on_worker(form)
        return outcome, 400 if outcome.errors else 200
    except Exception as error:  # noqa: BLE001 — the page says it failed; the log says where
        log_failure("search", error)
        return SearchOutcome([FieldError(None, "the search failed on the server; the error is in its log")]), 500


TOO_LARGE = (f"this search is larger than the form can send (a note holds up to {MAX_NOTE_CHARS:,} characters): "
             "start again from an empty form")


def read_query(request) -> PatientForm:
    """The form in the request's query; ValueError for more fields, or more bytes, than it can send."""
    if len(request.query_string) > MAX_QUERY_BYTES:
        raise ValueError("longer than any form")
    return read_form(request.query_string)


async def find_page(request, datasette):
    try:
        form = read_query(request)
    except ValueError:
        refused = SearchOutcome([FieldError(None, TOO_LARGE)])
        return Response.html(render(datasette, read_form(""), refused), status=414, headers=HEADERS)
    outcome, status = None, 200
    if form.submitted:
        outcome, status = await _search(datasette, form)
    return Response.html(render(datasette, form, outcome, request.query_string), status=status, headers=HEADERS)


async def find_download(request, datasette):
    """The results of /find as CSV or JSON: the same trials in the same groups."""
    kind = request.url_vars["format"]
    try:
        form = read_query(request)
    except ValueError:
        return Response.text(TOO_LARGE + "\n", status=414, headers=HEADERS)
    outcome, status = await _search(datasette, form) if form.submitted else (
        SearchOutcome([FieldError(None, "no patient in the address")]), 400)
    download = {**HEADERS, "Content-Disposition": f'attachment; filename="trialmatch-results.{kind}"'}
    if outcome.errors:
        problems = [f"{input_label(e.input_id)}: {e.message}" if e.input_id else e.message for e in outcome.errors]
        return Response.text("\n".join(problems) + "\n", status=status, headers=HEADERS)
    listed = found(datasette, form, outcome, request.query_string)
    if kind == "csv":
        return Response(as_csv(listed), content_type="text/csv; charset=utf-8", headers=download)
    body = as_json(listed, patient_facts(outcome.patient), not_understood_notice(outcome.patient))
    return Response(json.dumps(body, ensure_ascii=False, indent=1), content_type="application/json; charset=utf-8",
                    headers=download)


async def front_door(request, datasette):
    context = {
        **frame(datasette, "home"),
        **form_context(read_form(""), [], "Find trials for a patient"),
        "counts": await registry_counts(datasette),
        "database_url": datasette.urls.database(DATABASE_NAME),
    }
    return page("home.html", context)


@hookimpl
def register_routes():
    return [(r"^/$", front_door), (rf"^{PATH}$", find_page), (rf"^{PATH}\.(?P<format>csv|json)$", find_download),
            TRIAL_ROUTE, ASSET_ROUTE]


@hookimpl
def menu_links(datasette):
    return [{"href": datasette.urls.path(PATH), "label": "Find trials for a patient"},
            {"href": datasette.urls.instance(), "label": "trialmatch home"}]
