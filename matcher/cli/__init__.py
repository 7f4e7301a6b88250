"""The `trialmatch` command line: a thin layer over the matcher and crawlers packages.

Each command lives in its own module with ``add_parser(subparsers)`` and ``run(args) -> int``.
Exit status: 0 on success, 2 on bad input (one line on stderr), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from ..ranking import ModelError
from . import (
    batch_cmd,
    crawl_cmd,
    export_fhir_cmd,
    import_cmd,
    index_cmd,
    match_cmd,
    parse_cmd,
    scrape_cmd,
    serve_cmd,
    serve_registry_cmd,
    stats_cmd,
    update_cmd,
)
from ..crash_log import print_one_line
from .common import UsageError

# In the order `trialmatch --help` lists them.
COMMANDS = (
    update_cmd,
    import_cmd,
    crawl_cmd,
    scrape_cmd,
    parse_cmd,
    index_cmd,
    match_cmd,
    batch_cmd,
    export_fhir_cmd,
    serve_cmd,
    stats_cmd,
    serve_registry_cmd,
)


DB_HELP = "registry database (default: $TRIALMATCH_DB or ./trials.db)"


def installed_version() -> str:
    try:
        return version("trialmatch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trialmatch",
        description="Match patients to ClinicalTrials.gov trials, criterion by criterion, on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    parser.add_argument("--db", metavar="PATH", help=DB_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(subparsers)
    for command in subparsers.choices.values():
        # --db after the command too; SUPPRESS keeps a --db given before it when none is given after.
        command.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help=DB_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Whatever happens ends in one line on stderr at most: bad input exits 2,
    anything unexpected exits 1 with a log file for the details (``matcher.crash_log``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"trialmatch {args.command}: {error}", file=sys.stderr)
        return 2
    except ModelError as error:  # an install whose ranking model does not fit its code
        print(f"trialmatch {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"trialmatch {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # noqa: BLE001 — the one handler of this face: one line, details in a log
        patients = getattr(sys.modules[args.run.__module__], "HANDLES_PATIENTS", False)
        print_one_line(args.command, error, with_message=not patients, argv=sys.argv if argv is None else ["trialmatch", *argv])
        return 1
