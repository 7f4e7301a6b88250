"""A small registry database for the browse-view tests, built from hand-written data only.

The four fixture records of tests/fixtures/records, one more API v2 trial whose registry text
is hostile (``<script>`` in its title and eligibility text) with a site in Lyon that the
registry placed, and hand-written parsed criteria and constraints (the criteria parser is
another component). Sites without registry coordinates are placed offline, as an import does.
"""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES
from matcher.derive import geocode_sites
from matcher.embeddings import ensure_table as ensure_vector_table
from matcher.ingest import import_paths
from matcher.store import Store
from models.criteria import Constraint, Criterion
from models.trial import Provenance, RawRecord, Site, Trial

HOSTILE_ID = "NCT09000099"
HOSTILE_TITLE = "<script>alert('title')</script> Hostile Fixture in Immune Thrombocytopenia"
HOSTILE_ELIGIBILITY = (
    "Inclusion Criteria:\n\n"
    "* Platelet count \\< 50 G/L <script>alert('criteria')</script>\n"
    "* Adults <img src=x onerror=alert(1)>\n\n"
    "Exclusion Criteria:\n\n"
    "* Rituximab within 12 weeks"
)
BOSTON = (42.3626, -71.0692)  # the geocoded site of NCT09000002
LYON = (45.7640, 4.8357)


def hostile_trial() -> tuple[Trial, RawRecord]:
    trial = Trial(
        nct_id=HOSTILE_ID,
        brief_title=HOSTILE_TITLE,
        overall_status="RECRUITING",
        phases=["PHASE2"],
        study_type="INTERVENTIONAL",
        conditions=["Immune Thrombocytopenia"],
        lead_sponsor="Hôpital <b>Fixture</b>",
        last_update_posted="2025-06-01",
        min_age_years=18.0,
        sex="ALL",
        eligibility_text=HOSTILE_ELIGIBILITY,
        brief_summary="A **hostile** fixture: <script>alert('summary')</script>",
        sites=[Site(facility="Hôpital Fixture", city="Lyon", country="France", status="RECRUITING", lat=LYON[0], lon=LYON[1])],
    )
    raw = RawRecord(Provenance("ctgov-api-v2", "hand-written"), b"{}", "application/json")
    return trial, raw


def _criterion(text: str, phrase: str, kind: str, category: str, constraint: Constraint) -> Criterion:
    start = text.index(phrase)
    return Criterion(kind=kind, text=phrase, start=start, end=start + len(phrase), category=category, constraints=[constraint])


def hand_written_parser(text: str) -> list[Criterion]:
    """Criteria for the fixture texts, written by hand: what the criteria parser would find."""
    criteria = []
    for phrase in ("Platelet count <30 x 10^9/L", "Platelet count \\< 30 G/L", "Platelet count \\< 50 G/L"):
        if phrase in text:
            bound = 50.0 if "50" in phrase else 30.0
            lab = Constraint(type="measurement", measure="platelet_count", loinc="777-3", op="<", value=bound, unit="10^9/L")
            criteria.append(_criterion(text, phrase, "inclusion", "measurement", lab))
    if "Prior splenectomy" in text:
        surgery = Constraint(type="procedure", name="splenectomy", timing="prior", negated=True)
        criteria.append(_criterion(text, "Prior splenectomy", "exclusion", "procedure", surgery))
    if "Rituximab within 12 weeks" in text:
        therapy = Constraint(type="therapy", drug="rituximab", drug_class="anti-CD20", timing="prior", within_days=84)
        criteria.append(_criterion(text, "Rituximab within 12 weeks", "exclusion", "therapy", therapy))
    return criteria


def build_fixture_registry(path: Path) -> Path:
    store = Store(path)
    import_paths(store, [FIXTURES / "records"])
    store.write_trials([hostile_trial()])
    geocode_sites(store)
    parsed = [(nct_id, hand_written_parser(text)) for nct_id, text in store.trials_needing_parse("hand-written")]
    store.replace_criteria(parsed, "hand-written")
    ensure_vector_table(store)  # as after `trialmatch index` (left empty: no model runs here)
    store.close()
    return path
