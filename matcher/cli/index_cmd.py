"""`trialmatch index`: build or refresh the embedding index used by `match`.

Imports, crawls, scrapes and updates already embed what they changed (``matcher.pipeline``);
this command does it alone, e.g. for a database written by another program."""

from __future__ import annotations

from ..embeddings import build_index, pending_trials
from .common import open_store, progress


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "index",
        help="build or refresh the embedding index",
        description="Embed every new or changed trial with the bundled all-MiniLM-L6-v2 model (on this machine), "
        "and write the vector file beside the database. Imports, crawls, scrapes and updates do this already.",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    store = open_store(args)
    pending, _ = pending_trials(store)
    with progress(len(pending), "trials", "embedding") as bar:
        result = build_index(store, on_progress=bar.update, pending=pending)
    print(f"embedding index of {store.path}: {result['embedded']} trials embedded, "
          f"{result['removed']} removed, {result['indexed']} indexed")
    return 0
