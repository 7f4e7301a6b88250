"""Ranking trials for a patient: filters, shortlists, distance, order, and the match command."""

import json

import pytest

from conftest import FIXTURES, REPO
from matcher.derive import geocode_sites, parse_trials
from matcher.ingest import import_paths
from matcher.patient import load_patient
from matcher.rank import Filters, Ranker
from matcher.store import Store
from models.trial import Provenance, RawRecord, Site, Trial
from test_cli import trialmatch

EXAMPLE = json.loads((REPO / "data" / "examples" / "itp-patient.json").read_text())


@pytest.fixture
def store(db_path):
    store = Store(db_path)
    import_paths(store, [FIXTURES / "records"])
    parse_trials(store)
    geocode_sites(store)
    return store


def ranked(store, patient_data, **options):
    ranker = Ranker(store, use_embeddings=False)
    return ranker.rank(load_patient(patient_data), **options)


def test_recruiting_itp_trial_first_and_eligible(store):
    matches = ranked(store, EXAMPLE)
    assert [m.nct_id for m in matches][:1] == ["NCT09000002"]
    first = matches[0]
    assert first.eligibility == "eligible" and first.rank == 1 and 0 < first.score <= 1
    assert first.nearest_site.city == "Boston" and first.nearest_site.distance_km < 5
    assert "NCT09000001" not in {m.nct_id for m in matches}  # active, not recruiting: filtered by default
    platelets = next(v for v in first.verdicts if "Platelet count" in v.criterion.text)
    assert platelets.verdict == "met" and "22 10^9/L" in platelets.reason


def test_unrelated_disease_trial_is_ineligible_and_says_so(store):
    [asthma] = ranked(store, EXAMPLE, shortlist=["NCT09000003"])
    assert asthma.eligibility == "ineligible"
    studies = next(v for v in asthma.verdicts if v.criterion.text.startswith("Studies (registry)"))
    assert studies.verdict == "not_met" and "asthma" in studies.reason


def test_splenectomy_makes_it_ineligible_and_ranks_it_lower(store):
    patient = {**EXAMPLE, "procedures": [{"name": "splenectomy", "date": "2015-03-01"}]}
    match = next(m for m in ranked(store, patient) if m.nct_id == "NCT09000002")
    assert match.eligibility == "ineligible"
    assert any(v.verdict == "met" and "splenectomy in the record" in v.reason for v in match.verdicts)


def test_shortlist_is_ranked_whole_whatever_the_status(store):
    matches = ranked(store, EXAMPLE, shortlist=["NCT09000001", "NCT09000003", "NCT09000001"])
    assert sorted(m.nct_id for m in matches) == ["NCT09000001", "NCT09000003"]
    assert ranked(store, EXAMPLE, shortlist=["NCT09000001"], filters=Filters()) == []  # an explicit filter applies


def test_distance_filter(store):
    boston = ranked(store, EXAMPLE, filters=Filters(statuses=None, within_km=25))
    assert {m.nct_id for m in boston} == {"NCT09000001", "NCT09000002"}
    # NCT09000001 no longer recruits; its Boston site says it still does, its Lyon site says nothing
    lyon = {**EXAMPLE, "location": {"city": "Lyon", "country": "France"}}
    assert ranked(store, lyon, filters=Filters(statuses=None, within_km=25)) == []
    [anywhere] = ranked(store, lyon, shortlist=["NCT09000001"])
    assert anywhere.nearest_site.city == "Boston" and anywhere.nearest_site.open  # the nearest open site, far away


def closing_trial(nct_id: str, sites: list[Site], status: str = "RECRUITING") -> tuple[Trial, RawRecord]:
    trial = Trial(nct_id=nct_id, brief_title="Eltrombopag in immune thrombocytopenia", overall_status=status,
                  conditions=["Immune Thrombocytopenia"], eligibility_text="Inclusion Criteria:\n\n* Platelet count < 30 G/L",
                  sites=sites)
    return trial, RawRecord(Provenance("ctgov-api-v2", "hand-written"), b"{}", "application/json")


NEW_HAVEN = (41.3083, -72.9279)  # 193 km from the example patient's ZIP code, 02114
BOSTON_CLOSED = Site(facility="Closed Boston Site", city="Boston", country="United States", status="COMPLETED",
                     lat=42.3626, lon=-71.0692)


def test_the_radius_counts_only_sites_open_to_enrolment(store):
    """A trial recruiting in New Haven whose Boston site has closed is not "within 100 km" of a
    Boston patient, and its distance is the New Haven site's, not the closed one's."""
    new_haven = Site(facility="Yale", city="New Haven", country="United States", status="RECRUITING",
                     lat=NEW_HAVEN[0], lon=NEW_HAVEN[1])
    unstated = Site(facility="Site without a status", city="New Haven", country="United States", lat=NEW_HAVEN[0], lon=NEW_HAVEN[1])
    store.write_trials([closing_trial("NCT09000201", [BOSTON_CLOSED, new_haven]),
                        closing_trial("NCT09000202", [BOSTON_CLOSED, unstated]),  # no status: the trial's (recruiting)
                        closing_trial("NCT09000203", [BOSTON_CLOSED, unstated], status="ACTIVE_NOT_RECRUITING")])
    within_100 = {m.nct_id for m in ranked(store, EXAMPLE, filters=Filters(statuses=None, within_km=100))}
    assert not within_100 & {"NCT09000201", "NCT09000202", "NCT09000203"}
    within_200 = {m.nct_id: m for m in ranked(store, EXAMPLE, filters=Filters(statuses=None, within_km=200), top=20)}
    assert {"NCT09000201", "NCT09000202"} <= set(within_200) and "NCT09000203" not in within_200
    site = within_200["NCT09000201"].nearest_site
    assert site.city == "New Haven" and 190 < site.distance_km < 197 and site.open


def test_a_trial_with_no_open_site_shows_its_nearest_site_as_not_open(store):
    store.write_trials([closing_trial("NCT09000204", [BOSTON_CLOSED], status="ACTIVE_NOT_RECRUITING")])
    [match] = ranked(store, EXAMPLE, shortlist=["NCT09000204"])
    assert match.nearest_site.city == "Boston" and match.nearest_site.distance_km < 5 and not match.nearest_site.open


def test_one_ranker_applies_each_patients_own_filters_and_place(store):
    """A server's or a batch worker's ranker serves patient after patient: what passed one
    patient's filters (cached for the next with the same ones) must not leak into another's."""
    ranker = Ranker(store, use_embeddings=False)
    lyon = {**EXAMPLE, "location": {"city": "Lyon", "country": "France"}}
    near = Filters(statuses=None, within_km=25)
    searches = [(EXAMPLE, Filters(), {"NCT09000002"}), (EXAMPLE, near, {"NCT09000001", "NCT09000002"}),
                (lyon, near, set()), (EXAMPLE, Filters(statuses=("ACTIVE_NOT_RECRUITING",)), {"NCT09000001"}),
                (EXAMPLE, near, {"NCT09000001", "NCT09000002"}), (EXAMPLE, Filters(), {"NCT09000002"})]
    for patient, filters, expected in searches:
        assert {m.nct_id for m in ranker.rank(load_patient(patient), filters=filters)} == expected


def test_match_command_json_follows_the_design(store, tmp_path):
    result = trialmatch("--db", store.path, "match", REPO / "data" / "examples" / "itp-patient.json", "--json", "--no-embeddings")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["patient"] == "example-itp"
    first = output["results"][0]
    assert {"rank", "nct_id", "title", "status", "score", "eligibility", "criteria", "nearest_site", "url"} <= set(first)
    assert first["url"] == "https://clinicaltrials.gov/study/NCT09000002"
    criterion = next(c for c in first["criteria"] if c["text"].startswith("Platelet count"))
    assert {"kind", "text", "verdict", "reason"} <= set(criterion) and criterion["verdict"] == "met"


def test_match_command_table_and_bad_input(store, tmp_path):
    table = trialmatch("--db", store.path, "match", REPO / "data" / "examples" / "itp-patient.json", "--no-embeddings")
    assert table.returncode == 0 and "NCT09000002" in table.stdout and "eligible" in table.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**EXAMPLE, "labs": [{"name": "platelets", "value": "low"}]}))
    result = trialmatch("--db", store.path, "match", bad)
    assert result.returncode == 2 and "labs[0].value" in result.stderr and "Traceback" not in result.stderr
    nowhere = tmp_path / "nowhere.json"
    nowhere.write_text(json.dumps({k: v for k, v in EXAMPLE.items() if k != "location"}))
    result = trialmatch("--db", store.path, "match", nowhere, "--within-km", "50")
    assert result.returncode == 2 and "location" in result.stderr


def test_match_reads_a_note_from_stdin(store):
    note = "45-year-old woman with immune thrombocytopenia, platelet count 22 x 10^9/L, on eltrombopag."
    result = trialmatch("--db", store.path, "match", "-", "--json", "--no-embeddings", stdin=note)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["nct_id"] == "NCT09000002"


def test_hand_set_score_within_a_tier_a_nearer_site_scores_higher_and_tiers_still_come_first():
    from matcher.rank import hand_set_score as score

    assert score("possible", 0.5, [], distance=10) > score("possible", 0.5, [], distance=5000)
    assert score("possible", 0.5, []) == score("possible", 0.5, [], distance=None)
    assert score("ineligible", 1.0, [], distance=0) < score("possible", 0.0, [], distance=20000)


def test_structured_facts_lead_the_retrieval_text():
    from matcher.rank import patient_text

    patient = load_patient({**EXAMPLE, "note": "Relapsed after prednisone."})
    assert patient_text(patient).startswith("primary immune thrombocytopenia, prednisone, eltrombopag. Relapsed")
