"""What every command shares: the database option, progress bars, and input errors."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from ..store import Store

DEFAULT_DB = "trials.db"


class UsageError(Exception):
    """Bad input from the user: printed as one line on stderr, exit status 2."""


def database_path(args) -> Path:
    return Path(args.db or os.environ.get("TRIALMATCH_DB") or DEFAULT_DB)


def open_store(args, *, read_only: bool = False) -> Store:
    """The registry database named by --db / $TRIALMATCH_DB / ./trials.db."""
    path = database_path(args)
    if read_only and not path.exists():
        raise UsageError(f"no database at {path}: build one with `trialmatch update` or `trialmatch import PATH`")
    return Store(path, read_only=read_only)


@contextmanager
def progress(total: int | None, unit: str, description: str):
    """A progress bar on a terminal; silent when stderr is a pipe or a file."""
    bar = tqdm(total=total, unit=unit, desc=description, disable=not sys.stderr.isatty(), leave=False, file=sys.stderr)
    try:
        yield bar
    finally:
        bar.close()
