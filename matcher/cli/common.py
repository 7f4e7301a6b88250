"""What every command shares: the database option, progress bars, and input errors."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing, contextmanager
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


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Text to print on a terminal: control characters removed (the escape sequences a registry
    record could use to rewrite the screen start with one), line breaks and tabs kept."""
    return _CONTROL.sub("", text)


def terminal_json(value) -> str:
    """JSON to print: every control character escaped (``json`` leaves U+007F-U+009F as they are)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def database_path(args) -> Path:
    return Path(args.db or os.environ.get("TRIALMATCH_DB") or DEFAULT_DB)


def open_store(args, *, read_only: bool = False) -> Store:
    """The registry database named by --db / $TRIALMATCH_DB / ./trials.db: a UsageError when it
    is missing (to read), a folder, not a SQLite database, or another application's database."""
    path = database_path(args)
    if read_only and not path.exists():
        raise UsageError(f"no database at {path}: build one with `trialmatch update` or `trialmatch import PATH`")
    if path.is_dir():
        raise UsageError(f"--db {path}: a folder, not a database file")
    check_registry_file(path, must_exist=read_only)
    try:
        return Store(path, read_only=read_only)
    except sqlite3.OperationalError:
        raise  # the file is fine, the moment is not (locked, unreadable folder): not bad input
    except sqlite3.DatabaseError as error:
        raise UsageError(f"{path} cannot be opened as a registry database: {error}") from None


def check_registry_file(path: Path, *, must_exist: bool) -> None:
    """A file that exists must be a SQLite database with a ``trials`` table, or (when it is to be
    written, ``must_exist`` False) one with no tables yet."""
    if not path.exists():
        return
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)) as conn:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            return  # another process is creating it: Store waits for it
        raise UsageError(f"{path} is not a SQLite database ({error})") from None
    except sqlite3.DatabaseError as error:
        raise UsageError(f"{path} is not a SQLite database ({error})") from None
    if "trials" in tables or (not tables and not must_exist):
        return
    if not tables:
        raise UsageError(f"{path} is an empty database: build the registry with `trialmatch update` or `trialmatch import PATH`")
    raise UsageError(f"{path} is not a trialmatch registry (it has no trials table; its tables: "
                     f"{', '.join(sorted(tables)[:5])}): name another file with --db")


def check_range(option: str, value: float | None, low: float, high: float) -> None:
    """A number option within [low, high] (NaN is not); a UsageError naming it otherwise."""
    if value is not None and not low <= value <= high:
        raise UsageError(f"{option} must be between {low:g} and {high:g}, not {value}")


@contextmanager
def progress(total: int | None, unit: str, description: str):
    """A progress bar on a terminal; silent when stderr is a pipe or a file."""
    bar = tqdm(total=total, unit=unit, desc=description, disable=not sys.stderr.isatty(), leave=False, file=sys.stderr)
    try:
        yield bar
    finally:
        bar.close()
