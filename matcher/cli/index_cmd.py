"""`trialmatch index`: build or refresh the embedding index used by `match`.

Imports, crawls, scrapes and updates already embed what they changed (``matcher.pipeline``);
this command does it alone, e.g. for a database written by another program."""

from __future__ import annotations

from ..embeddings import MODELS, build_index, pending_trials, registry_model
from .common import open_store, progress


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "index",
        help="build or refresh the embedding index",
        description="Embed every new or changed trial with the registry's embedding model (on this machine), and "
        "write the vector file beside the database. Imports, crawls, scrapes and updates do this already. "
        "--model changes the registry's model: every trial is embedded anew, and later writes use it.",
    )
    parser.add_argument("--model", choices=sorted(MODELS),
                        help="minilm: all-MiniLM-L6-v2 (the default; ~70 trials/s on 2 cores, the better retrieval); "
                        "static: a static model distilled from it (the whole registry in minutes, no transformer in "
                        "the rankers; docs/scale.md says what it costs in retrieval)")
    parser.set_defaults(run=run)


def run(args) -> int:
    store = open_store(args)
    model = MODELS[args.model] if args.model else registry_model(store)
    pending, _ = pending_trials(store, model, every_trial=True)  # whoever wrote the database
    with progress(len(pending), "trials", "embedding") as bar:
        result = build_index(store, model=model, on_progress=bar.update, pending=pending)
    print(f"embedding index of {store.path} ({model}): {result['embedded']} trials embedded, "
          f"{result['removed']} removed, {result['indexed']} indexed")
    return 0
