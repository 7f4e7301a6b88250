"""The learned ranker: the shipped model fits the code's features, its order is explained in
words, the hand-set score stays available, and a model that does not fit is refused clearly."""

import json

import numpy as np
import pytest

from conftest import FIXTURES, REPO
from matcher.derive import geocode_sites, parse_trials
from matcher.ingest import import_paths
from matcher.match_output import match_json, results_table
from matcher.patient import load_patient
from matcher.rank import HAND_SET, Ranker, hand_set_score
from matcher.ranking import FEATURES, FEATURES_VERSION, WORDS, ModelError, RankingModel, explain, shipped_model
from matcher.ranking.features import concept_overlap, eligibility_features
from matcher.retrieve import bm25_search, bm25_with_fields
from matcher.store import Store
from models.criteria import Criterion
from models.match import Verdict
from models.trial import Trial

EXAMPLE = json.loads((REPO / "data" / "examples" / "itp-patient.json").read_text())
MODEL = REPO / "data" / "ranker.json"


@pytest.fixture
def store(db_path):
    store = Store(db_path)
    import_paths(store, [FIXTURES / "records"])
    parse_trials(store)
    geocode_sites(store)
    return store


def one_feature_model(name: str, weight: float = 2.0) -> dict:
    """A model whose relevance rests on one feature alone."""
    spec = json.loads(MODEL.read_text())
    zeros = [0.0] * len(FEATURES)
    weights = [weight if f == name else 0.0 for f in FEATURES]
    spec["relevance"] = {"mean": zeros, "scale": [1.0] * len(FEATURES), "weight": weights, "bias": 0.0}
    spec["eligibility"] = {"mean": zeros, "scale": [1.0] * len(FEATURES), "weight": zeros, "bias": 0.0}
    return spec


def test_shipped_model_was_trained_on_the_features_this_code_computes():
    """Fails after a change to matcher/ranking/features.py until `python
    benchmarks/train_ranker.py` is rerun: a model must never score features it was not trained on."""
    spec = json.loads(MODEL.read_text())
    assert spec["features"] == list(FEATURES), "data/ranker.json lists other features: retrain it"
    assert spec["features_version"] == FEATURES_VERSION, "features.py changed since data/ranker.json was trained: retrain it"
    model = shipped_model()
    assert spec["version"] == model.version
    assert spec["trained_on"]["command"] == "python benchmarks/train_ranker.py"
    assert spec["metrics"]["trec2021_cv"]["NDCG@10"] > 0.5  # what the training run measured, kept with the model


def test_a_model_trained_on_other_features_is_refused_saying_what_to_do(tmp_path, store):
    spec = json.loads(MODEL.read_text())
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({**spec, "features_version": "0ld"}))
    with pytest.raises(ModelError, match="retrain it"):
        Ranker(store, model=stale)
    stale.write_text(json.dumps({**spec, "features": spec["features"][:-1]}))
    with pytest.raises(ModelError, match="retrain it"):
        RankingModel.load(stale)
    short = {**spec, "relevance": {**spec["relevance"], "weight": spec["relevance"]["weight"][:-1]}}
    stale.write_text(json.dumps(short))
    with pytest.raises(ModelError, match="one per feature"):
        RankingModel.load(stale)
    stale.write_text("{not json")
    with pytest.raises(ModelError, match="cannot read"):
        RankingModel.load(stale)
    stale.write_text("[]")
    with pytest.raises(ModelError, match="not a ranking model"):
        RankingModel.load(stale)


def test_every_feature_has_words_for_a_physician():
    assert set(WORDS) == set(FEATURES)
    for name, say in WORDS.items():
        for value in (-1.0, 0.0, 0.3, 1.0, 3.0):
            assert say(value).strip(), name


def test_explanation_names_what_moved_the_score_most_and_which_way():
    moved = dict.fromkeys(FEATURES, 0.0) | {"concept_exact": 1.2, "registry_age": -0.8, "exclusion_not_met": 0.3,
                                            "cosine": 0.01}
    values = dict.fromkeys(FEATURES, 0.0) | {"concept_exact": 1.0, "registry_age": -1.0, "exclusion_not_met": 2.0}
    assert explain(moved, values, 3) == ["↑ condition matches exactly", "↓ age outside the trial's limits",
                                         "↑ 2 exclusions absent from the record"]
    assert explain(dict.fromkeys(FEATURES, 0.0), values, 3) == []  # nothing moved it: nothing said


def test_learned_ranker_puts_the_itp_trial_first_and_explains_why(store):
    matches = Ranker(store, use_embeddings=False).rank(load_patient(EXAMPLE), filters=None, top=5)
    first = matches[0]
    assert first.nct_id == "NCT09000002" and 0 < first.score <= 1
    assert 1 <= len(first.explanation) <= 3 and all(line[0] in "↑↓" for line in first.explanation)
    assert first.eligible_probability is not None and 0 <= first.eligible_probability <= 1
    out = match_json(first)
    assert out["why"] == first.explanation and out["eligible_probability"] == first.eligible_probability
    assert out["eligibility"] == first.eligibility and out["criteria"]  # label and verdicts stay
    assert "ranked here: " + "; ".join(first.explanation) in results_table(matches, width=120)


def test_the_order_follows_the_model(store, tmp_path):
    """Two models resting on opposite ends of one feature order the same trials oppositely."""
    patient = load_patient(EXAMPLE)
    shortlist = ["NCT09000002", "NCT09000003"]  # ITP, asthma
    for weight, expected in ((4.0, shortlist), (-4.0, shortlist[::-1])):
        path = tmp_path / f"model{weight}.json"
        path.write_text(json.dumps(one_feature_model("bm25_conditions", weight)))
        ranked = Ranker(store, model=path, use_embeddings=False).rank(patient, shortlist=shortlist)
        assert [m.nct_id for m in ranked] == expected
        itp = next(m for m in ranked if m.nct_id == "NCT09000002")
        assert itp.explanation == [("↑ " if weight > 0 else "↓ ") + "the trial's conditions match the note"]


@pytest.mark.slow
def test_with_embeddings_the_closest_trial_has_no_similarity_gap(store):
    from matcher.embeddings import build_index

    build_index(store)
    assessed = {a.trial.nct_id: a.features for a in Ranker(store).assess(
        load_patient(EXAMPLE), shortlist=["NCT09000001", "NCT09000002", "NCT09000003"])}
    closest = max(assessed, key=lambda n: assessed[n]["cosine"])
    assert closest != "NCT09000003" and assessed[closest]["cosine_gap"] == 0
    assert assessed["NCT09000003"]["cosine_gap"] > 0 and 0 < assessed["NCT09000003"]["cosine"] < assessed[closest]["cosine"]


def test_hand_set_score_stays_available_by_name(store):
    ranker = Ranker(store, model=HAND_SET, use_embeddings=False)
    patient = load_patient(EXAMPLE)
    [match] = ranker.rank(patient, shortlist=["NCT09000002"])
    [assessed] = ranker.assess(patient, shortlist=["NCT09000002"])
    assert list(assessed.features) == list(FEATURES) or set(assessed.features) == set(FEATURES)
    assert match.score == hand_set_score(assessed.label, assessed.relevance, assessed.verdicts, assessed.site.distance_km)
    assert match.explanation == [] and match.eligible_probability is None
    assert Ranker(store, use_embeddings=False).model is shipped_model()


def test_with_a_location_a_nearer_site_raises_the_learned_score(store):
    ranker = Ranker(store, use_embeddings=False)
    boston = ranker.rank(load_patient(EXAMPLE), shortlist=["NCT09000002"])[0]
    far = ranker.rank(load_patient({**EXAMPLE, "location": {"city": "Lyon", "country": "France"}}), shortlist=["NCT09000002"])[0]
    nowhere = ranker.rank(load_patient({k: v for k, v in EXAMPLE.items() if k != "location"}), shortlist=["NCT09000002"])[0]
    assert far.score < boston.score <= nowhere.score
    near_scale = Ranker(store, use_embeddings=False, nearness_km=10_000).rank(
        load_patient({**EXAMPLE, "location": {"city": "Lyon", "country": "France"}}), shortlist=["NCT09000002"])[0]
    assert near_scale.score > far.score  # the nearness scale is the ranker's setting


def test_bm25_by_field_comes_with_the_ranking_for_the_best_and_the_wanted_trials(store):
    ranking, fields = bm25_with_fields(store, "asthma thrombocytopenia", 1)
    assert len(ranking) == 1 and set(fields) == {ranking[0][0]}
    assert fields[ranking[0][0]]["all"] == ranking[0][1] == bm25_search(store, "asthma thrombocytopenia", 1)[0][1]
    best, wanted = ranking[0][0], {"NCT09000001", "NCT09000002", "NCT09000003"} - {ranking[0][0]}
    _, fields = bm25_with_fields(store, "asthma thrombocytopenia", 1, wanted=wanted)
    assert set(fields) == wanted | {best}  # every trial the text matches that was asked for
    assert fields["NCT09000003"]["conditions"] > 0 and fields["NCT09000002"]["conditions"] > 0
    assert fields["NCT09000003"]["criteria"] == 0 or "asthma" in store.trial("NCT09000003").eligibility_text.lower()
    assert bm25_with_fields(store, "asthma", 10, among=["NCT09000001", "NCT09000002"]) == ([], {})
    assert bm25_with_fields(store, "the and", 10) == ([], {})


def test_concept_overlap_exact_narrower_and_sibling():
    patient = load_patient({"age": 60, "conditions": ["non-small cell lung cancer"]})
    assert concept_overlap(patient, Trial("NCT1", conditions=["NSCLC"]))["concept_exact"] == 1.0
    assert concept_overlap(patient, Trial("NCT1", conditions=["Lung Cancer"]))["concept_patient_narrower"] == 1.0
    broad = load_patient({"age": 60, "conditions": ["lung cancer"]})
    assert concept_overlap(broad, Trial("NCT1", conditions=["non-small cell lung cancer"]))["concept_trial_narrower"] == 1.0
    assert set(concept_overlap(patient, Trial("NCT1", conditions=["Asthma"])).values()) == {0.0}
    denied = load_patient({"age": 60, "conditions": [{"name": "non-small cell lung cancer", "negated": True}]})
    assert set(concept_overlap(denied, Trial("NCT1", conditions=["NSCLC"])).values()) == {0.0}


def test_failing_verdicts_are_told_apart_by_what_they_rest_on():
    def verdict(kind, outcome, category, evidence=()):
        return Verdict(Criterion(kind, "…", 0, 1, category), outcome, "…", list(evidence))

    verdicts = [verdict("inclusion", "not_met", "condition"),  # a disease the record does not list
                verdict("exclusion", "met", "therapy", ["medication: rituximab"]),  # a fact the record states
                verdict("exclusion", "not_met", "condition"), verdict("inclusion", "unknown", "measurement")]
    found = eligibility_features(verdicts, "ineligible", True, 4)
    assert found["failed_by_absence"] == 1 and found["failed_with_evidence"] == 1
    assert found["failed_condition"] == 1 and found["failed_therapy"] == 1
    assert found["first_failure_inclusion"] == 1 and found["first_failure_condition"] == 1
    assert found["exclusion_not_met"] == 1 and found["unknown_values"] == 1 and found["label_ineligible"] == 1


def test_contributions_add_up_to_the_models_log_odds():
    model = shipped_model()
    x = np.random.default_rng(0).normal(size=(5, len(FEATURES)))
    both = model.relevance.predict(x) + model.eligibility.predict(x)
    assert np.allclose(model.contributions(x).sum(axis=1) + model.relevance.bias + model.eligibility.bias, both)


def test_match_with_a_model_that_does_not_fit_says_so_without_a_traceback(store, tmp_path, monkeypatch, capsys):
    import sys

    from matcher.cli import main

    stale = tmp_path / "ranker.json"
    stale.write_text(json.dumps({**json.loads(MODEL.read_text()), "features_version": "0ld"}))
    monkeypatch.setattr(sys.modules["matcher.rank"], "shipped_model", lambda: RankingModel.load(stale))
    code = main(["--db", str(store.path), "match", str(REPO / "data" / "examples" / "itp-patient.json"), "--no-embeddings"])
    error = capsys.readouterr().err
    assert code == 1 and "retrain it" in error and "python benchmarks/train_ranker.py" in error
