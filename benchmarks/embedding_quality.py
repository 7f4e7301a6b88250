"""Retrieval quality and speed of the trial embeddings: the static model against MiniLM, same run.

    python benchmarks/embedding_quality.py [--static DIR ...] [--collections sigir2016 trec2021]

For the SIGIR 2016 and TREC 2021 patient-to-trial collections (benchmark databases built as
``ranking_data`` builds them), every trial of the corpus is embedded by each model (its
``trial_text``, as the index embeds it) and every patient note as a query. Per model:
trials embedded per second (1,000 trials of the corpus, one process, 2 cores); NDCG@10 re-ranking each
patient's judged trials by cosine alone; recall@100 of the trials judged relevant (grade ≥ 1)
when retrieving from the whole corpus by cosine alone, and fused with BM25 by reciprocal rank
(as ``matcher.retrieve`` fuses them), BM25 alone beside them. ``--static DIR``: also measure
a model2vec model saved in DIR (for trying a distillation before shipping it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ranking_data import database, judgements, queries  # noqa: E402

COLLECTIONS = ("sigir2016", "trec2021")
SPEED_SAMPLE = 1000  # trials embedded for the speed column


def stored_vectors(store, model: str, ids: list[str], texts: list[str]):
    """The database's vectors of ``model`` for exactly these texts (the benchmark database keeps
    those of the model it was last indexed with), or None."""
    import numpy as np

    from matcher.embeddings import _text_hash

    rows = {n: (h, v) for n, h, v in store.conn.execute(
        "SELECT nct_id, text_sha1, vector FROM trial_vectors WHERE model = ?", (model,))}
    if any(rows.get(n, ("",))[0] != _text_hash(t) for n, t in zip(ids, texts)):
        return None
    return np.stack([np.frombuffer(rows[n][1], dtype=np.float16).astype(np.float32) for n in ids])


def encoders(extra: list[str]):
    from matcher.embeddings import MODEL_NAME, STATIC_MODEL, StaticEmbedder, embedder

    found = {f"{MODEL_NAME} (default)": embedder(MODEL_NAME), f"{STATIC_MODEL} (--model static)": embedder(STATIC_MODEL)}
    for folder in extra:
        found[f"static {Path(folder).name}"] = StaticEmbedder(folder)
    return found


def recall(ranked: list[str], relevant: set[str], depth: int = 100) -> float:
    return len(relevant.intersection(ranked[:depth])) / len(relevant) if relevant else 0.0


def measure(collection: str, models: dict) -> dict[str, dict[str, float]]:
    import ir_measures
    import numpy as np
    from ir_measures import nDCG

    from matcher.embeddings import trial_text
    from matcher.patient import load_patient
    from matcher.rank import embedding_text
    from matcher.retrieve import bm25_search, fuse
    from matcher.store import Store

    store = Store(database(collection), read_only=True)
    rows = list(store.db.query("SELECT nct_id, brief_title, official_title, conditions, condition_mesh_terms, "
                               "keywords, brief_summary FROM trials ORDER BY nct_id"))
    ids = [r["nct_id"] for r in rows]
    texts = [trial_text(r) for r in rows]
    notes, judged = queries(collection), judgements(collection)
    patients = {topic: load_patient(notes[topic]) for topic in judged}  # the query: what the engine embeds
    qrels = [ir_measures.Qrel(t, n, g) for t, grades in judged.items() for n, g in grades.items()]
    bm25 = {topic: [n for n, _ in bm25_search(store, notes[topic], 100)] for topic in judged}
    results = {"BM25 alone": {"R@100 alone": statistics.mean(
        recall(bm25[t], {n for n, g in judged[t].items() if g >= 1}) for t in judged)}}
    for name, model in models.items():
        model.encode(texts[:8])  # loaded before the clock starts
        started = time.perf_counter()
        model.encode(texts[:SPEED_SAMPLE])
        seconds = time.perf_counter() - started
        matrix = stored_vectors(store, model.name, ids, texts)
        if matrix is None:
            matrix = model.encode(texts)
        position = {n: i for i, n in enumerate(ids)}
        run, alone, fused = [], [], []
        for topic, grades in judged.items():
            query = model.encode([embedding_text(patients[topic])])[0]
            scores = matrix @ query
            run += [ir_measures.ScoredDoc(topic, n, float(scores[position[n]])) for n in grades if n in position]
            ranked = [ids[i] for i in np.argsort(-scores, kind="stable")[:100]]
            relevant = {n for n, g in grades.items() if g >= 1}
            alone.append(recall(ranked, relevant))
            both = fuse([[(n, 0.0) for n in bm25[topic]], [(n, 0.0) for n in ranked]])
            fused.append(recall([c.nct_id for c in both], relevant))
        results[name] = {
            "trials/s": min(SPEED_SAMPLE, len(texts)) / seconds,
            "NDCG@10 judged": ir_measures.calc_aggregate([nDCG @ 10], qrels, run)[nDCG @ 10],
            "R@100 alone": statistics.mean(alone),
            "R@100 + BM25": statistics.mean(fused),
        }
    store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--static", nargs="*", default=[], help="model2vec folders to measure beside the shipped one")
    parser.add_argument("--collections", nargs="*", default=COLLECTIONS, choices=COLLECTIONS)
    args = parser.parse_args()
    models = encoders(args.static)
    columns = ("trials/s", "NDCG@10 judged", "R@100 alone", "R@100 + BM25")
    for collection in args.collections:
        results = measure(collection, models)
        print(f"\n{collection}")
        print(f"{'model':<44}" + "".join(f"{c:>16}" for c in columns))
        for name, row in results.items():
            print(f"{name:<44}" + "".join(f"{row[c]:>16.{0 if c == 'trials/s' else 4}f}" if c in row else f"{'':>16}"
                                          for c in columns))


if __name__ == "__main__":
    main()
