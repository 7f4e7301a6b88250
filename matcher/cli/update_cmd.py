"""`trialmatch update`: build or refresh the database from the configured source.

The source is ``--source PATH`` or ``$TRIALMATCH_SOURCE`` (a registry archive or folder).
"""

from __future__ import annotations

import os

from .common import UsageError, open_store
from .import_cmd import import_into

NO_SOURCE = (
    "no registry source: pass --source PATH or set TRIALMATCH_SOURCE to a registry archive or folder "
    "(e.g. AllPublicXML.zip, or the API v2 download ctg-studies.json.zip)"
)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "update",
        help="build or refresh the database from the configured source",
        description="Import the registry archive or folder given by --source or $TRIALMATCH_SOURCE.",
    )
    parser.add_argument("--source", metavar="PATH", help="registry archive or folder (default: $TRIALMATCH_SOURCE)")
    parser.set_defaults(run=run)


def run(args) -> int:
    source = args.source or os.environ.get("TRIALMATCH_SOURCE")
    if not source:
        raise UsageError(NO_SOURCE)
    import_into(open_store(args), [source])
    return 0
