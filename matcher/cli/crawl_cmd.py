"""`trialmatch crawl`: pull a search (or single studies) from the ClinicalTrials.gov API v2.

Resumes an interrupted crawl of the same search; a repeated search fetches only the studies
updated since its last finished crawl.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from datetime import date

from crawlers.ctgov_api import DEFAULT_BASE_URL, MAX_PAGE_SIZE, RegistryClient, RegistryError, RequestRejected, StudyQuery
from crawlers.politeness import RetryPolicy
from crawlers.vocabulary import normalize_status
from models.trial import NCT_ID, STATUSES

from ..crawl import Crawl, CrawlReport, fetch_studies
from .common import UsageError, check_range, database_path, open_store, progress, registry_values, terminal_safe
from .refresh import refresh



def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "crawl",
        help="pull trials from the ClinicalTrials.gov API v2 (resumable, incremental)",
        description="Crawl a search of the ClinicalTrials.gov API v2 into the database, page by page. An interrupted "
        "crawl resumes when the same search is run again; a repeated search fetches only the studies updated since "
        "its last finished crawl.",
    )
    search = parser.add_argument_group("search")
    search.add_argument("--condition", metavar="TEXT", help="condition or disease (query.cond)")
    search.add_argument("--term", metavar="TEXT", help="other terms (query.term)")
    search.add_argument("--intervention", metavar="TEXT", help="drug or other intervention (query.intr)")
    search.add_argument("--location", metavar="TEXT", help="site location, e.g. a city (query.locn)")
    search.add_argument("--status", metavar="S", action="append", default=[],
                        help="overall status, e.g. RECRUITING; repeat or comma-separate for several")
    search.add_argument("--advanced", metavar="EXPR", help="extra filter.advanced expression, e.g. AREA[Phase]PHASE3")
    search.add_argument("--nct", metavar="ID", action="append", default=[], help="fetch this study (repeatable) instead of searching")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--since", metavar="DATE", help="only studies updated on or after DATE (YYYY-MM-DD); "
                      "default for a repeated search: the day before its last finished crawl started")
    when.add_argument("--full", action="store_true", help="fetch every matching study, even for a repeated search")
    limits = parser.add_argument_group("politeness and limits")
    limits.add_argument("--max", metavar="N", type=int, help="stop after N studies (run again to continue)")
    limits.add_argument("--page-size", metavar="N", type=int, default=MAX_PAGE_SIZE, help=f"studies per page (1-{MAX_PAGE_SIZE}, default {MAX_PAGE_SIZE})")
    limits.add_argument("--base-url", metavar="URL", help=f"API v2 base URL (default: $TRIALMATCH_API_BASE or {DEFAULT_BASE_URL})")
    limits.add_argument("--rate", metavar="R", type=float, default=1.0, help="requests per second (default 1; 0 = no limit)")
    limits.add_argument("--max-retries", metavar="N", type=int, default=5, help="retries of a failing request before giving up (default 5)")
    limits.add_argument("--backoff", metavar="SECONDS", type=float, default=1.0,
                        help="wait before the first retry, doubling for each next one, with jitter (default 1)")
    limits.add_argument("--timeout", metavar="SECONDS", type=float, default=60.0, help="give up on a response after this long (default 60)")
    parser.set_defaults(run=run)


def base_url(value: str | None) -> str:
    url = value or os.environ.get("TRIALMATCH_API_BASE") or DEFAULT_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"base URL must start with http:// or https://, not {url!r}")
    return url


def client_from_args(args, on_retry=None) -> RegistryClient:
    for name, low, high in (("rate", 0, 1000), ("max_retries", 0, 100), ("backoff", 0, 3600), ("timeout", 0.001, 3600)):
        check_range(f"--{name.replace('_', '-')}", getattr(args, name), low, high)
    return RegistryClient(
        base_url(args.base_url),
        rate=args.rate,
        retry=RetryPolicy(max_retries=args.max_retries, backoff_base=args.backoff),
        timeout=(min(10.0, args.timeout), args.timeout),
        on_retry=on_retry,
    )


def statuses(values: list[str]) -> tuple[str, ...]:
    return registry_values("--status", values, normalize_status, STATUSES, example="not yet recruiting")


def query_from_args(args) -> StudyQuery:
    if args.since:
        try:
            date.fromisoformat(args.since)
        except ValueError:
            raise UsageError(f"--since: expected a date as YYYY-MM-DD, not {args.since!r}") from None
    if not 1 <= args.page_size <= MAX_PAGE_SIZE:
        raise UsageError(f"--page-size must be between 1 and {MAX_PAGE_SIZE}, not {args.page_size}")
    if args.max is not None and args.max < 1:
        raise UsageError(f"--max must be at least 1, not {args.max}")
    return StudyQuery(condition=args.condition, term=args.term, intervention=args.intervention, location=args.location,
                      statuses=statuses(args.status), advanced=args.advanced)


@contextmanager
def sigterm_interrupts():
    """SIGTERM stops a crawl like Ctrl-C does: the page being written is rolled back, the rest kept."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args) -> int:
    query = query_from_args(args)
    bad_ids = [i for i in args.nct if not NCT_ID.match(i.strip().upper())]
    if bad_ids:
        raise UsageError(f"--nct: not an NCT id: {bad_ids[0]!r} (expected NCT and 8 digits)")
    if args.nct and (query.identity() or args.since or args.full or args.max):
        raise UsageError("--nct fetches single studies; it cannot be combined with a search, --since, --full or --max")
    with progress(None, "studies", "crawling") as bar:
        client = client_from_args(args, on_retry=lambda problem, delay: bar.set_postfix_str(f"retrying: {problem}"))
        store = open_store(args)
        if args.nct:
            return _fetch(store, client, [i.strip().upper() for i in args.nct], bar, database_path(args))
        return crawl_with_progress(store, client, query, bar, database_path(args), since=args.since, full=args.full,
                                   page_size=args.page_size, max_studies=args.max)


def crawl_with_progress(store, client, query: StudyQuery, bar, db_path, *, command: str = "crawl", **options) -> int:
    """Run one crawl with a progress bar; print its notes and summary. Shared with `update`."""
    def on_page(page, outcome):
        if page.total is not None:
            bar.total = page.total
        bar.update(len(page.studies))
        bar.set_postfix(pages=crawl_run.report.pages, retries=client.stats.retries)

    crawl_run = Crawl(store, client, query, on_page=on_page, **options)
    for note in crawl_run.report.notes:
        print(f"crawl: {note}", file=sys.stderr)
    notes_shown = len(crawl_run.report.notes)
    try:
        with sigterm_interrupts():
            report = crawl_run.run()
    except KeyboardInterrupt:
        _print_notes(crawl_run.report, notes_shown)
        print(f"trialmatch {command}: interrupted; {_kept(crawl_run.report)}; run the same command to resume", file=sys.stderr)
        return 130
    except RequestRejected as error:
        raise UsageError(f"the registry rejected the search: {error}") from None
    except RegistryError as error:
        _print_notes(crawl_run.report, notes_shown)
        print(f"trialmatch {command}: {error}; {_kept(crawl_run.report)}; run the same command to resume", file=sys.stderr)
        refresh(store)
        return 1
    _print_notes(report, notes_shown)
    stopped = f"; stopped at --max {options.get('max_studies')}, run again to continue" if report.status == "stopped" else ""
    print(f"crawl of {report.description} into {db_path}: {report.line()}{stopped}")
    refresh(store)
    return 0


def _print_notes(report: CrawlReport, already_shown: int) -> None:
    for note in report.notes[already_shown:]:
        print(f"crawl: {note}", file=sys.stderr)


def _kept(report: CrawlReport) -> str:
    return f"kept the {report.studies} studies of {report.pages} pages fetched in this run"


def _fetch(store, client, nct_ids: list[str], bar, db_path) -> int:
    bar.total = len(nct_ids)
    try:
        report = fetch_studies(store, client, nct_ids, on_study=lambda nct_id: bar.update(1))
    except RegistryError as error:
        print(f"trialmatch crawl: {error}", file=sys.stderr)
        return 1
    for rejection in report.rejections:
        print(terminal_safe(f"rejected {rejection.location}: {rejection.reason}"), file=sys.stderr)
    print(f"crawl of {report.description} into {db_path}: {report.line()}")
    refresh(store)
    return 1 if report.rejections and not report.studies else 0
