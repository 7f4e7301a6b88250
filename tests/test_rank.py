"""Ranking trials for a patient: filters, shortlists, distance, order, and the match command."""

import json

import pytest

from conftest import FIXTURES, REPO
from matcher.derive import geocode_sites, parse_trials
from matcher.ingest import import_paths
from matcher.patient import load_patient
from matcher.rank import Filters, Ranker
from matcher.store import Store
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
    lyon = ranked(store, {**EXAMPLE, "location": {"city": "Lyon", "country": "France"}}, filters=Filters(statuses=None, within_km=25))
    assert [m.nct_id for m in lyon] == ["NCT09000001"]
    assert lyon[0].nearest_site.city == "Lyon"


def test_one_ranker_applies_each_patients_own_filters_and_place(store):
    """A server's or a batch worker's ranker serves patient after patient: what passed one
    patient's filters (cached for the next with the same ones) must not leak into another's."""
    ranker = Ranker(store, use_embeddings=False)
    lyon = {**EXAMPLE, "location": {"city": "Lyon", "country": "France"}}
    near = Filters(statuses=None, within_km=25)
    searches = [(EXAMPLE, Filters(), {"NCT09000002"}), (EXAMPLE, near, {"NCT09000001", "NCT09000002"}),
                (lyon, near, {"NCT09000001"}), (EXAMPLE, Filters(statuses=("ACTIVE_NOT_RECRUITING",)), {"NCT09000001"}),
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
