"""One pipeline after every write to the registry: parse, place, embed what changed.

``import``, ``crawl``, ``scrape`` and ``update`` (and any program that writes trials through
``matcher.ingest`` or ``Store.write_trials``) call ``refresh_after_writing`` when they are done,
so the registry is ready to match: the criteria of new or changed trials parsed, the sites the
registry did not place placed offline, and the trials whose text changed embedded (with the
vector file rewritten). Each step does only what is missing or stale, so a rerun over unchanged
data parses, places and embeds nothing (and does not even load the embedding model).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np

from . import embeddings
from .derive import geocode_sites, parse_trials, parser_version
from .store import Store


class _Quiet:
    def update(self, n: int = 1) -> None:
        pass


def no_progress(total: int | None, unit: str, description: str) -> AbstractContextManager:
    """A progress factory that shows nothing."""
    return nullcontext(_Quiet())


@dataclass
class Refreshed:
    """What one refresh did."""

    parsed: int = 0
    placed: dict[str, int] = field(default_factory=lambda: {"zip": 0, "city": 0, "none": 0})
    embedded: int = 0
    removed_vectors: int = 0
    indexed: int | None = None  # trials with a vector after it (None when embedding was off)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each step, in the order run

    def lines(self) -> list[str]:
        """What to tell the user, one line per step that did something."""
        said = []
        if self.parsed:
            said.append(f"criteria parsed for {self.parsed} trials")
        if any(self.placed.values()):
            said.append(f"site coordinates: {self.placed['zip']} placed by ZIP code, {self.placed['city']} by city, "
                        f"{self.placed['none']} not found offline")
        if self.embedded or self.removed_vectors:
            said.append(f"embedding index: {self.embedded} trials embedded, {self.removed_vectors} removed, "
                        f"{self.indexed} indexed")
        return said


def refresh_after_writing(
    store: Store,
    *,
    embed: bool = True,
    workers: int = 2,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    progress: Callable[[int | None, str, str], AbstractContextManager] = no_progress,
    on_step: Callable[[str, float], None] = lambda step, seconds: None,
) -> Refreshed:
    """Bring derived data up to date after trials were written: parse the criteria of new or
    changed trials (``workers`` processes), place sites without registry coordinates, and embed
    the trials whose text is new or changed (``encode``: the bundled model unless given).
    ``progress(total, unit, description)`` gives a context manager with ``update(n)``, as the
    command line's progress bars. ``on_step(step, seconds)`` is told each step's wall time as it
    ends (``Refreshed.seconds`` keeps them all)."""
    done = Refreshed()

    @contextmanager
    def step(name: str):
        started = time.perf_counter()
        yield
        done.seconds[name] = time.perf_counter() - started
        on_step(name, done.seconds[name])

    with step("parse criteria"):
        pending = store.count_needing_parse(parser_version())
        if pending:
            with progress(pending, "trials", "parsing criteria") as bar:
                done.parsed = parse_trials(store, workers=workers, on_progress=bar.update)
    with step("place sites"):
        done.placed = geocode_sites(store)
    if embed:
        with step("embed"):
            to_embed, gone = embeddings.pending_trials(store)
            with progress(len(to_embed), "trials", "embedding") as bar:
                result = embeddings.build_index(store, encode=encode, on_progress=bar.update, pending=to_embed)
            done.embedded, done.removed_vectors, done.indexed = result["embedded"], result["removed"], result["indexed"]
    return done
