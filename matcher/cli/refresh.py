"""After every write (`import`, `crawl`, `scrape`, `update`): the library's one pipeline, with
progress bars and a line per step that did something."""

from __future__ import annotations

from ..pipeline import Refreshed, refresh_after_writing
from ..store import Store
from .common import progress


def add_build_options(parser) -> None:
    """The options of the commands that build the registry from an archive (`import`, `update`)."""
    parser.add_argument("--no-index", dest="index", action="store_false",
                        help="leave the embedding index as it is (`trialmatch index` brings it up to date later)")
    parser.add_argument("--timings", action="store_true",
                        help="print the wall time of each step (import, parse, place sites, embed) as it ends")


def print_timing(step: str, seconds: float) -> None:
    print(f"time: {step} {seconds:.1f} s", flush=True)


def refresh(store: Store, *, embed: bool = True, timings: bool = False, parsed_already: int = 0) -> Refreshed:
    """Parse, place and embed what changed; print what was done (``parsed_already``: trials whose
    criteria the write itself parsed, counted with the others)."""
    done = refresh_after_writing(store, progress=progress, embed=embed,
                                 on_step=print_timing if timings else lambda step, seconds: None)
    done.parsed += parsed_already
    for line in done.lines():
        print(line)
    return done
