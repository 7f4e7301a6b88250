"""`trialmatch index`: build or refresh the embedding index used by `match`."""

from __future__ import annotations

from ..embeddings import build_index
from .common import open_store, progress


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "index",
        help="build or refresh the embedding index",
        description="Embed every new or changed trial with the bundled all-MiniLM-L6-v2 model (on this machine).",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    store = open_store(args)
    total = store.count_trials()
    with progress(total, "trials", "embedding") as bar:
        result = build_index(store, on_progress=bar.update)
    print(f"embedding index of {store.path}: {result['embedded']} trials embedded, "
          f"{result['removed']} removed, {result['indexed']} indexed")
    return 0
