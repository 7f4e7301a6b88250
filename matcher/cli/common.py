"""What every command shares: the database option, progress bars, and input errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from ..store import Store

DEFAULT_DB = "trials.db"


class UsageError(Exception):
    """Bad input from the user: printed as one line on stderr, exit status 2."""


def registry_values(option: str, texts: Iterable[str], normalize: Callable[[str], str | list[str] | None],
                    allowed: Sequence[str],
                    *, example: str, also: str = "") -> tuple[str, ...]:
    """The values of a repeatable enumerated option, as the API v2 writes them.

    Each text may be spelt as the API v2 (``NOT_YET_RECRUITING``) or the registry's pages and
    legacy records (``not yet recruiting``, ``Phase 2``) write it, or list several separated by
    commas. ``normalize`` gives a text's value or values (None or [] when it names none): one of
    crawlers.vocabulary's. Anything else is a UsageError that lists the allowed values."""
    def values_of(text: str) -> list[str]:
        values = normalize(text)
        return [values] if isinstance(values, str) else list(values or [])

    found: list[str] = []
    for text in texts:
        # The whole text first ("Active, not recruiting"), then its comma-separated parts.
        for part in [text] if values_of(text) else text.split(","):
            values = values_of(part)
            if not values and (part.strip() or not text.strip()):
                raise UsageError(f"{option} {part.strip()!r}: expected one of {', '.join(allowed)}{also} "
                                 f"(or as the registry writes it, e.g. {example!r})")
            found.extend(values)
    return tuple(dict.fromkeys(found))


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
