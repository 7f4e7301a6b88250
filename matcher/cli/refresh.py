"""After every write (`import`, `crawl`, `scrape`, `update`): the library's one pipeline, with
progress bars and a line per step that did something."""

from __future__ import annotations

from ..pipeline import Refreshed, refresh_after_writing
from ..store import Store
from .common import progress


def refresh(store: Store) -> Refreshed:
    """Parse, place and embed what changed; print what was done."""
    done = refresh_after_writing(store, progress=progress)
    for line in done.lines():
        print(line)
    return done
