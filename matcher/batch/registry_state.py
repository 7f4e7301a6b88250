"""What the registry database holds, summed up so that a change to it shows.

Two batch runs over the same input give the same results when the registry state (trials,
their parsed criteria, the parser, the embedding index, the learned ranker) and the ranking
options are the same;
a rerun then only matches the patients not done yet.
"""

from __future__ import annotations

import hashlib
import json

from ..derive import parser_version
from ..ranking import shipped_model
from ..store import Store


def registry_state(store: Store) -> dict:
    """Counts and high-water marks of what ranking reads, the criteria parser's version and the
    learned ranker's (a new model is a new run, never scores of two models mixed)."""
    conn = store.conn
    trials, last_update = conn.execute("SELECT count(*), max(updated_at) FROM trials").fetchone()
    criteria, last_criterion = conn.execute("SELECT count(*), max(id) FROM criteria").fetchone()
    state = {
        "trials": trials,
        "last_trial_update": last_update,
        "criteria": criteria,
        "last_criterion": last_criterion,
        "criteria_parser": parser_version(),
        "ranker": shipped_model().version,
        "vectors": 0,
        "last_vector": None,
    }
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'trial_vectors'").fetchone():
        state["vectors"], state["last_vector"] = conn.execute("SELECT count(*), max(rowid) FROM trial_vectors").fetchone()
    return state


def read_registry_state(path) -> dict:
    """``registry_state`` of the database file at ``path``, opened read-only."""
    store = Store(path, read_only=True)
    try:
        return registry_state(store)
    finally:
        store.close()


def fingerprint(*parts: dict | str) -> str:
    """A short hash of JSON-able parts (the registry state, the options, the input)."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
