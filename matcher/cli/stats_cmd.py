"""`trialmatch stats`: what the database holds."""

from __future__ import annotations

import json

from ..embeddings import registry_model
from ..store import Store
from .common import open_store


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("stats", help="what the database holds", description="Counts of trials by status and phase, sites, conditions, the embedding index, and the last import.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def collect(store: Store) -> dict:
    one = lambda sql: store.conn.execute(sql).fetchone()[0]  # noqa: E731
    grouped = lambda sql: dict(store.conn.execute(sql).fetchall())  # noqa: E731
    last_run = next(store.db.query("SELECT * FROM import_runs ORDER BY id DESC LIMIT 1"), None)
    return {
        "database": str(store.path),
        "trials": one("SELECT count(*) FROM trials"),
        "by_status": grouped("SELECT coalesce(overall_status, 'not given'), count(*) FROM trials GROUP BY 1 ORDER BY 2 DESC"),
        "by_phase": grouped(
            "SELECT coalesce(p.value, 'not given'), count(*) FROM trials LEFT JOIN json_each(trials.phases) p "
            "GROUP BY 1 ORDER BY 2 DESC"
        ),
        "sites": one("SELECT count(*) FROM sites"),
        "countries": one("SELECT count(DISTINCT country) FROM sites"),
        "conditions": one("SELECT count(DISTINCT lower(name)) FROM conditions WHERE vocabulary = 'reported'"),
        "mesh_terms": one("SELECT count(DISTINCT name) FROM conditions WHERE vocabulary = 'mesh'"),
        "criteria": one("SELECT count(*) FROM criteria"),
        "constraints": one("SELECT count(*) FROM constraints"),
        "embeddings": embeddings(store),
        "last_import": last_run,
    }


def embeddings(store: Store) -> dict:
    """The registry's embedding model and how many trials have a vector by it."""
    model = registry_model(store)
    indexed = 0
    if store.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'trial_vectors'").fetchone():
        indexed = store.conn.execute("SELECT count(*) FROM trial_vectors WHERE model = ?", (model,)).fetchone()[0]
    return {"model": model, "trials": indexed}


def run(args) -> int:
    stats = collect(open_store(args, read_only=True))
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{stats['database']}: {stats['trials']:,} trials, {stats['sites']:,} sites in {stats['countries']} countries, "
          f"{stats['conditions']:,} distinct conditions ({stats['mesh_terms']:,} MeSH terms)")
    print(f"parsed criteria: {stats['criteria']:,} criteria, {stats['constraints']:,} structured constraints")
    print(f"embedding index: {stats['embeddings']['trials']:,} trials embedded by {stats['embeddings']['model']} "
          "(trialmatch index --model changes it)")
    for title, key in (("by status", "by_status"), ("by phase", "by_phase")):
        print(f"{title}:")
        for name, count in stats[key].items():
            print(f"  {name:<28}{count:>8,}")
    run_ = stats["last_import"]
    if run_:
        print(
            f"last {run_['kind']} (run {run_['id']}, {run_['status']}, finished {run_['finished_at'] or '-'}): "
            f"{run_['added'] or 0} added, {run_['updated'] or 0} updated, {run_['unchanged'] or 0} unchanged, "
            f"{run_['rejected'] or 0} rejected, from {run_['source']}"
        )
    return 0
