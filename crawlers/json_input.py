"""Outside input: JSON decoded so that whatever is wrong with it is one ``ValueError`` saying why.

Python's ``json`` fails on hostile input with errors that are not ``JSONDecodeError``:
``RecursionError`` for nesting a few thousand deep, ``ValueError`` for a number of more than
4,300 digits, ``UnicodeDecodeError`` for bytes that are not UTF-8; and it accepts strings with a
lone surrogate (``"\\ud800"``), which are not text and cannot be stored or printed. Every reader
of outside JSON goes through ``loads``, so each of these is one clear reason for one record,
never a crash of the whole read. ``bounded_lines`` reads the lines of a file without ever
holding a line longer than a limit. ``NaN`` and ``Infinity`` are read as the floats they name:
readers check numbers where they use them (a count of ``Infinity`` is not read, a lab value of
``NaN`` is refused with its field).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _check_text(value: Any) -> None:
    """Every string in ``value`` is valid Unicode (iteratively: the value may be deep)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff), which is not text") from None
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def loads(data: str | bytes) -> Any:
    """The JSON value of ``data``; ``ValueError`` (one line, no input echoed) when it is not JSON."""
    try:
        value = json.loads(data)
    except json.JSONDecodeError as error:
        raise ValueError(f"{error.msg} at line {error.lineno}, column {error.colno}") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError:  # Python refuses to convert integers of more than 4,300 digits
        raise ValueError("a number with too many digits") from None
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if _SURROGATE_ESCAPE.search(raw):
        _check_text(value)
    return value


def bounded_lines(stream, limit: int) -> Iterator[bytes | None]:
    """The lines of a binary stream, each with its end of line; None for a line longer than
    ``limit`` bytes, which is skipped without being held in memory whole."""
    while line := stream.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
            pass
        yield None
