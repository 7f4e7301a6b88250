"""A trial's own page, ``/trial/<NCT id>``: what a physician or a coordinator reads about one trial.

Title, status, phase, sponsor and dates; conditions with their MeSH headings; interventions;
the eligibility criteria as a list, each with its category and the structured constraints
marked in its text; the sites with their status and contact, and a small map (a script file,
Leaflet and the locally served tiles; the list works without it); links to the registry's page
and to the record in the browse view. Opened from a results page, the address carries the
patient's query string, and each criterion shows the patient's verdict beside it: the patient
is read and evaluated again from the address, nothing is kept.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from models.criteria import Constraint, Criterion
from models.match import Verdict
from models.trial import Site, Trial, site_is_open

from ..criteria import describe_qualifiers, find_condition, qualifiers_from_text
from ..eligibility import evaluate_trial
from ..geo import distance_km
from ..patient import PatientError, load_patient
from ..rank import patient_point
from ..store import read_criteria, read_trial
from .browse import DATABASE_NAME
from .match_view import CriterionLine, category_label, criterion_line, enum_label, phase_label, web_url
from .pages import FIND_PATH, TRIAL_PATH, frame, page
from .patient_form import read_form
from .patient_search import log_failure
from .registry_text import render_registry_text

SITES_LISTED = 50  # more are in the browse view
DATES = (("start_date", "Start"), ("primary_completion_date", "Primary completion"), ("completion_date", "Completion"),
         ("first_posted", "First posted"), ("last_update_posted", "Last update posted"))


@dataclass
class CriterionView:
    kind: str
    category: str
    text: Markup  # escaped, the constraints marked
    read_as: list[str]  # each constraint in words
    context: str | None
    verdict: CriterionLine | None = None


@dataclass
class SiteView:
    facility: str
    place: str
    status: str
    open: bool
    contact: list[tuple[str, str | None]]  # (text, link or None)
    distance_km: float | None = None


@dataclass
class TrialView:
    nct_id: str
    title: str
    official_title: str | None
    facts: list[tuple[str, str]]
    conditions: list[tuple[str, str | None, str]]  # (as the registry writes it, MeSH heading read, browse link)
    mesh_terms: list[str]
    interventions: list[str]
    summary: Markup | None
    criteria: dict[str, list[CriterionView]]  # inclusion / exclusion → criteria in order
    registry_checks: list[CriterionLine]  # verdicts on the registry's own fields (with a patient)
    sites: list[SiteView]
    more_sites: int
    map_points: str  # JSON for the map script
    registry_url: str | None
    browse_url: str
    sites_url: str
    eligibility_text_missing: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def describe_constraint(c: Constraint) -> str:
    """A constraint in words: "platelet count < 30 10^9/L", "prior corticosteroid: failed or not tolerated"."""
    bound = ""
    if c.op == "between":
        bound = f" between {c.value:g} and {c.value_max:g}" if c.value is not None and c.value_max is not None else ""
    elif c.op and c.value is not None:
        bound = f" {c.op} {c.value:g}"
    unit = f" {c.unit}" if bound and c.unit and c.unit != "score" else ""
    if c.type == "measurement":
        said = f"{(c.measure or 'measurement').replace('_', ' ')}{bound}{unit}"
    elif c.type == "age":
        said = f"age{bound} years"
    elif c.type == "therapy":
        said = (c.drug or (c.drug_class or "therapy").replace("_", " "))
        said = f"{c.timing} {said}" if c.timing in ("prior", "current") else said
        if c.within_days:
            said += f" within {c.within_days} days"
        if c.outcome:
            said += ": " + " or ".join({"failed": "failed", "intolerant": "not tolerated"}.get(o, o) for o in c.outcome.split("|"))
    elif c.type in ("condition", "procedure"):
        said = c.name or "the disease"
        if c.mesh_term and c.mesh_term.lower() != said.lower():
            said += f" (MeSH {c.mesh_term})"
        extra = [c.value_text] if c.value_text else []
        if c.qualifiers:
            extra.append(describe_qualifiers(qualifiers_from_text(c.qualifiers)))
        if c.within_days:
            extra.append(f"within {c.within_days} days")
        said += f": {', '.join(extra)}" if extra else ""
    else:
        said = " ".join(filter(None, (c.type.replace("_", " "), c.value_text)))
    if c.excluding:
        said += f", other than {c.excluding}"
    return f"no {said}" if c.negated else said


def marked_text(criterion: Criterion) -> Markup:
    """The criterion's text, escaped, with the words each constraint was read from marked."""
    text, spans, searched_from = criterion.text, [], {}
    for c in criterion.constraints:
        if not c.text:
            continue
        start = text.find(c.text, searched_from.get(c.text, 0))
        if start < 0:
            start = text.lower().find(c.text.lower())
        if start < 0 or any(s < start + len(c.text) and start < e for s, e, _ in spans):
            continue
        spans.append((start, start + len(c.text), describe_constraint(c)))
        searched_from[c.text] = start + len(c.text)
    out, at = [], 0
    for start, end, said in sorted(spans):
        out.append(escape(text[at:start]))
        out.append(Markup('<mark class="constraint" title="{}">{}</mark>').format(said, text[start:end]))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def _site_view(site: Site, trial: Trial, point: tuple[float, float] | None) -> SiteView:
    contact = []
    if site.contact_name:
        contact.append((site.contact_name, None))
    if site.contact_phone:
        contact.append((site.contact_phone, "tel:" + "".join(ch for ch in site.contact_phone if ch.isdigit() or ch == "+")))
    if site.contact_email and "@" in site.contact_email and " " not in site.contact_email.strip():
        contact.append((site.contact_email, "mailto:" + quote(site.contact_email.strip(), safe="@.+-_")))
    distance = None
    if point and site.lat is not None and site.lon is not None:
        distance = round(distance_km(point[0], point[1], site.lat, site.lon))
    return SiteView(
        facility=site.facility or "site not named",
        place=", ".join(p for p in (site.city, site.state, site.zip, site.country) if p),
        status=enum_label(site.status) if site.status else f"not given ({enum_label(trial.overall_status).lower()} trial)",
        open=site_is_open(site.status, trial.overall_status), contact=contact, distance_km=distance,
    )


def _map_points(trial: Trial, point: tuple[float, float] | None) -> str:
    points = [{"lat": s.lat, "lon": s.lon, "open": site_is_open(s.status, trial.overall_status),
               "label": ", ".join(p for p in (s.facility, s.city, s.country) if p)}
              for s in trial.sites if s.lat is not None and s.lon is not None]
    return json.dumps({"sites": points, "patient": list(point) if point else None})


def trial_view(trial: Trial, criteria: list[Criterion], verdicts: list[Verdict] | None, *, browse_table: str,
               point: tuple[float, float] | None = None, source_format: str | None = None) -> TrialView:
    """``browse_table``: the path of the trials table of the browse view (``/trials/trials``)."""
    by_criterion = {id(v.criterion): criterion_line(v) for v in verdicts or []}
    grouped: dict[str, list[CriterionView]] = {"inclusion": [], "exclusion": []}
    for c in criteria:
        grouped.setdefault(c.kind, []).append(CriterionView(
            c.kind, category_label(c.category), marked_text(c), [describe_constraint(k) for k in c.constraints],
            c.context, by_criterion.get(id(c))))
    sites = [_site_view(s, trial, point) for s in trial.sites]
    sites.sort(key=lambda s: (not s.open, s.distance_km if s.distance_km is not None else float("inf")))
    ages = " to ".join(filter(None, (trial.minimum_age, trial.maximum_age))) or "no limit given"
    facts = [("Status", enum_label(trial.overall_status)), ("Phase", phase_label(trial.phases)),
             ("Study type", enum_label(trial.study_type)), ("Sponsor", trial.lead_sponsor or "not given")]
    if trial.collaborators:
        facts.append(("Collaborators", ", ".join(trial.collaborators)))
    facts += [(label, getattr(trial, name)) for name, label in DATES if getattr(trial, name)]
    facts += [("Enrolment", f"{trial.enrollment:,}" if trial.enrollment is not None else "not given"),
              ("Ages", ages), ("Sex", enum_label(trial.sex)),
              ("Healthy volunteers", {True: "accepted", False: "not accepted", None: "not given"}[trial.healthy_volunteers])]
    conditions = []
    for name in trial.conditions:
        info = find_condition(name)
        conditions.append((name, info.mesh_term if info else None, f"{browse_table}?{urlencode({'_has_conditions': name})}"))
    quoted = quote(trial.nct_id, safe="")
    return TrialView(
        nct_id=trial.nct_id, title=trial.brief_title or trial.nct_id, official_title=trial.official_title, facts=facts,
        conditions=conditions, mesh_terms=trial.condition_mesh_terms,
        interventions=[" — ".join(filter(None, (enum_label(i.type) if i.type else None, i.name,
                                                 f"also {', '.join(i.other_names)}" if i.other_names else None)))
                       for i in trial.interventions],
        summary=render_registry_text(trial.brief_summary, source_format) if trial.brief_summary else None,
        criteria={kind: lines for kind, lines in grouped.items() if lines},
        registry_checks=[criterion_line(v) for v in verdicts or [] if v.criterion.start < 0],
        sites=sites[:SITES_LISTED], more_sites=max(0, len(sites) - SITES_LISTED), map_points=_map_points(trial, point),
        registry_url=web_url(trial.url), browse_url=f"{browse_table}/{quoted}",
        sites_url=f"{browse_table.rsplit('/', 1)[0]}/sites?{urlencode({'nct_id': trial.nct_id})}",
        eligibility_text_missing=not trial.eligibility_text.strip(),
    )


def _read(conn, nct_id: str) -> tuple:
    """The trial, its parsed criteria, and the format of its record (for its summary's markup)."""
    row = conn.execute("SELECT source_format FROM trials WHERE nct_id = ?", (nct_id,)).fetchone()
    return read_trial(conn, nct_id), read_criteria(conn, nct_id, with_entities=False), row[0] if row else None


def _patient_verdicts(query: str, trial: Trial, criteria: list[Criterion]):
    """(verdicts, patient's point, problem) for the patient in the query string."""
    form = read_form(query)
    if not form.has_facts():
        return None, None, None
    try:
        patient = load_patient(form.patient_data())
    except PatientError:
        return None, None, "The patient in this address has errors: correct them on the search page."
    return evaluate_trial(patient, trial, criteria), patient_point(patient), None


async def trial_page(request, datasette):
    nct_id = request.url_vars["nct_id"]
    trial, criteria, source_format = await datasette.get_database(DATABASE_NAME).execute_fn(lambda conn: _read(conn, nct_id))
    context = {**frame(datasette, "trial", map_scripts=trial is not None), "nct_id": nct_id}
    if trial is None:
        return page("trial.html", {**context, "trial": None}, status=404)
    query = request.query_string
    try:
        verdicts, point, problem = await asyncio.get_running_loop().run_in_executor(
            None, _patient_verdicts, query, trial, criteria)
    except Exception as error:  # noqa: BLE001 — the page says it failed; the log says where, never what (the patient)
        log_failure("trial page", error)
        verdicts, point, problem = None, None, "The patient's verdicts could not be worked out; the error is in the server's log."
    view = trial_view(trial, criteria, verdicts, browse_table=datasette.urls.table(DATABASE_NAME, "trials"), point=point,
                      source_format=source_format)
    if verdicts is not None:
        view.counts = {o: sum(1 for v in verdicts if v.outcome == o) for o in ("satisfied", "failed", "unknown", "to_confirm")}
    context.update(trial=view, with_patient=verdicts is not None, problem=problem,
                   results_url=f"{datasette.urls.path(FIND_PATH)}?{query}#results" if query else None,
                   tiles=datasette.urls.path("/-/tiles/basemap/{z}/{x}/{y}.png"))
    return page("trial.html", context, scripts=True)


ROUTE = (rf"^{TRIAL_PATH}/(?P<nct_id>[^/]+)$", trial_page)
