"""`trialmatch import PATH…`: bulk import of registry archives, folders and files."""

from __future__ import annotations

import sys
import time

from crawlers.bulk import SourceError, estimate_records

from ..ingest import import_paths
from ..store import Store
from .common import UsageError, open_store, progress, terminal_safe
from .refresh import add_build_options, print_timing, refresh

MAX_LISTED_REJECTIONS = 20
PARALLEL_FROM_RECORDS = 1000  # below this, starting a reader process costs more than it saves
PARSE_WORKERS = 2


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import registry records from archives, folders and files",
        description="Import .zip archives (AllPublicXML layout, or the API v2 download: one JSON per study), "
        "folders, .xml, .json and .jsonl[.gz] files. Unreadable records are reported and skipped.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    add_build_options(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    summary = import_into(open_store(args), args.paths, index=args.index, timings=args.timings)
    nothing_read = not any(summary.outcome.counts().values())
    return 1 if summary.rejections and nothing_read else 0


def import_into(store: Store, paths: list[str], *, index: bool = True, timings: bool = False):
    """Import with a progress bar and print the summary; shared by `import` and `update`.
    ``index`` False leaves the embedding step out; ``timings`` prints each step's wall time."""
    started = time.perf_counter()
    expected = estimate_records(paths)
    try:
        with progress(expected, "records", "importing") as bar:
            parallel = expected is None or expected >= PARALLEL_FROM_RECORDS
            # a big import parses criteria in 2 processes as it writes: both cores busy throughout
            summary = import_paths(store, paths, on_progress=bar.update, parallel=parallel,
                                   parse_workers=PARSE_WORKERS if parallel else 0)
    except SourceError as error:
        raise UsageError(str(error)) from None
    for rejection in summary.rejections[:MAX_LISTED_REJECTIONS]:
        print(terminal_safe(f"rejected {rejection.location}: {rejection.reason}"), file=sys.stderr)
    if len(summary.rejections) > MAX_LISTED_REJECTIONS:
        print(
            f"... and {len(summary.rejections) - MAX_LISTED_REJECTIONS} more rejections "
            f"(all in the import_rejections table, run {summary.run_id})",
            file=sys.stderr,
        )
    print(f"import into {store.path}: {summary.line()}", flush=True)
    if timings:
        print_timing("import records", time.perf_counter() - started)
    refresh(store, embed=index, timings=timings, parsed_already=summary.criteria_parsed)
    return summary

