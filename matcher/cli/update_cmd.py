"""`trialmatch update`: build or refresh the database.

From ``--source PATH`` or ``$TRIALMATCH_SOURCE`` (a registry archive or folder) when given;
otherwise from the live registry (``$TRIALMATCH_API_BASE`` or ClinicalTrials.gov): the recruiting
and not-yet-recruiting trials of a few default conditions, incrementally after the first run.
"""

from __future__ import annotations

import os
import sys

from crawlers.ctgov_api import RegistryClient, RegistryError, RetriesExhausted, StudyQuery
from crawlers.politeness import RetryPolicy

from .common import UsageError, database_path, open_store, progress
from .crawl_cmd import base_url, crawl_with_progress
from .import_cmd import import_into
from .refresh import add_build_options

DEFAULT_CONDITIONS = ("immune thrombocytopenia", "breast cancer", "type 2 diabetes", "heart failure")
DEFAULT_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING")
HOW_TO_NAME_A_SOURCE = (
    "pass --source PATH or set TRIALMATCH_SOURCE to a registry archive or folder "
    "(e.g. AllPublicXML.zip, or the API v2 download ctg-studies.json.zip)"
)
PROBE_TIMEOUT = (3.0, 10.0)  # connect, read: an unreachable registry is reported in seconds


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "update",
        help="build or refresh the database (from an archive, or from the live registry)",
        description="Import the registry archive or folder given by --source or $TRIALMATCH_SOURCE. Without one, crawl "
        f"the live registry ($TRIALMATCH_API_BASE or ClinicalTrials.gov): {' and '.join(DEFAULT_STATUSES).lower()} trials "
        f"for {', '.join(DEFAULT_CONDITIONS)}; later runs fetch only what changed.",
    )
    parser.add_argument("--source", metavar="PATH", help="registry archive or folder (default: $TRIALMATCH_SOURCE)")
    add_build_options(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    source = args.source or os.environ.get("TRIALMATCH_SOURCE")
    if source:
        import_into(open_store(args), [source], index=args.index, timings=args.timings)
        return 0
    return crawl_defaults(args)


def crawl_defaults(args) -> int:
    url = base_url(None)
    probe = RegistryClient(url, rate=0, retry=RetryPolicy(max_retries=0), timeout=PROBE_TIMEOUT)
    try:
        version = probe.version()
    except RegistryError as error:
        problem = error.problem if isinstance(error, RetriesExhausted) else str(error)
        raise UsageError(f"no registry source, and the registry at {url} is not reachable ({problem}): {HOW_TO_NAME_A_SOURCE}") from None
    finally:
        probe.close()
    print(f"update: no --source given; crawling {url} (data of {version.get('dataTimestamp', 'unknown date')}) "
          f"for {len(DEFAULT_CONDITIONS)} default conditions", file=sys.stderr)
    store, client = open_store(args), RegistryClient(url)
    worst = 0
    for condition in DEFAULT_CONDITIONS:
        with progress(None, "studies", condition) as bar:
            code = crawl_with_progress(store, client, StudyQuery(condition=condition, statuses=DEFAULT_STATUSES), bar,
                                       database_path(args), command="update")
        if code == 130:
            return code
        worst = max(worst, code)
    return worst
