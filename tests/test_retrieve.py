"""Retrieval: BM25 over the FTS5 index, the embedding index, and their fusion."""

import numpy as np
import pytest

from conftest import FIXTURES
from matcher.embeddings import VectorIndex, build_index, trial_text
from matcher.ingest import import_paths
from matcher.retrieve import bm25_search, fts_query, fuse, query_terms
from matcher.store import Store


@pytest.fixture
def store(db_path):
    store = Store(db_path)
    import_paths(store, [FIXTURES / "records"])
    return store


def test_query_terms_drop_stopwords_and_repeats():
    terms = query_terms("A 45-year-old woman with primary immune thrombocytopenia; thrombocytopenia relapsed.")
    assert terms == ["primary", "immune", "thrombocytopenia", "relapsed"]


def test_fts_query_quotes_every_term_so_patient_text_is_never_syntax():
    assert fts_query(['near', 'a"b', "or"]) == '"near" OR "a""b" OR "or"'


def test_bm25_ranks_the_trial_about_the_condition_first(store):
    ranked = bm25_search(store, "immune thrombocytopenia platelets splenectomy", limit=10)
    assert {n for n, _ in ranked[:2]} == {"NCT09000001", "NCT09000002"}
    assert "NCT09000003" not in dict(ranked)  # the asthma trial shares no term
    assert bm25_search(store, "asthma", limit=10)[0][0] == "NCT09000003"
    assert bm25_search(store, "asthma", limit=10, among=["NCT09000001"]) == []
    assert bm25_search(store, "the and of", limit=10) == []


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = fuse([[("A", 9.0), ("B", 5.0), ("C", 1.0)], [("B", 0.9), ("C", 0.8), ("D", 0.1)]])
    assert [c.nct_id for c in fused] == ["B", "C", "A", "D"]
    assert (fused[0].bm25_rank, fused[0].vector_rank) == (2, 1)


def fake_encoder(texts):
    """Deterministic bag-of-words vectors: enough to check the index's bookkeeping."""
    vocabulary = ["thrombocytopenia", "asthma", "platelet", "drug", "adults"]
    rows = np.array([[text.lower().count(w) + 0.01 for w in vocabulary] for text in texts], dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_index_embeds_only_new_or_changed_trials(store):
    first = build_index(store, encode=fake_encoder)
    assert first == {"embedded": 4, "removed": 0, "indexed": 4}
    assert build_index(store, encode=fake_encoder)["embedded"] == 0
    store.conn.execute("UPDATE trials SET brief_title = 'Asthma study' WHERE nct_id = 'NCT09000004'")
    store.conn.commit()
    assert build_index(store, encode=fake_encoder)["embedded"] == 1
    index = VectorIndex.load(store)
    query = fake_encoder(["asthma"])[0]
    assert index.search(query, limit=4)[0][0] in ("NCT09000003", "NCT09000004")
    assert [n for n, _ in index.search(query, limit=4, among=["NCT09000001"])] == ["NCT09000001"]


def test_trial_text_leads_with_title_and_conditions(store):
    row = next(store.db.query("SELECT * FROM trials WHERE nct_id = 'NCT09000002'"))
    text = trial_text(row)
    assert text.startswith("Fixture Study in the API v2 Format. A Hand-Written API v2 Record for Tests. Immune Thrombocytopenia")


@pytest.mark.slow
def test_real_model_puts_the_itp_trial_near_an_itp_patient(store):
    build_index(store)
    index = VectorIndex.load(store)
    from matcher.embeddings import embed

    query = embed(["45-year-old woman with chronic immune thrombocytopenic purpura, platelets 22"])[0]
    ranked = [n for n, _ in index.search(query, limit=4)]
    assert ranked[0] in ("NCT09000001", "NCT09000002") and ranked[-1] in ("NCT09000003", "NCT09000004")


def test_a_registry_indexed_with_the_static_model_is_matched_with_it_without_the_transformer(store):
    """`trialmatch index --model static`: the registry's vectors come from the static model, the
    patient is embedded with it too, and a ranker never loads the transformer (sentence-transformers,
    transformers and MiniLM's weights: ~290 MB a process; torch stays, for the float16 products)."""
    import subprocess
    import sys

    from matcher.embeddings import STATIC_MODEL, registry_model

    done = build_index(store, model=STATIC_MODEL)
    assert done["indexed"] == 4 and registry_model(store) == STATIC_MODEL
    script = (
        "import sys\n"
        "from matcher.patient import load_patient\n"
        "from matcher.rank import Ranker\n"
        "from matcher.store import Store\n"
        "ranker = Ranker(Store(sys.argv[1], read_only=True))\n"
        "found = ranker.rank(load_patient('45-year-old woman with chronic immune thrombocytopenic purpura, platelets 22'), top=4)\n"
        "print(ranker.index.model, len(ranker.index), found[0].nct_id)\n"
        "print(sorted(m for m in ('transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(store.path)], capture_output=True, text=True, check=True).stdout
    model, count, first, loaded = out.replace("\n", " ").split(" ", 3)
    assert (model, count, loaded.strip()) == (STATIC_MODEL, "4", "[]")
    assert first in ("NCT09000001", "NCT09000002")  # the two ITP trials of the fixtures


def test_changing_the_registry_model_embeds_every_trial_again_and_frees_the_old_vectors(store):
    from matcher.embeddings import MODEL_NAME, STATIC_MODEL, pending_trials, registry_model

    build_index(store, model=STATIC_MODEL)
    assert pending_trials(store)[0] == [] and len(pending_trials(store, MODEL_NAME)[0]) == 4
    calls = []
    build_index(store, model=MODEL_NAME, encode=lambda texts: calls.append(texts) or np.eye(len(texts), 384, dtype=np.float32))
    assert len(calls[0]) == 4 and registry_model(store) == MODEL_NAME
    assert {m for (m,) in store.conn.execute("SELECT DISTINCT model FROM trial_vectors")} == {MODEL_NAME}
    assert len(list(store.path.parent.glob(f"{store.path.name}.vectors-*"))) == 1
