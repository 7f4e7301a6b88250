"""What an unexpected error leaves behind: one line for the user, details in a log file.

The log names the exception's type and every frame of the traceback (file, line, function and
the line of code), never a local variable. Where patients are involved (``match``, ``batch``,
the server) it leaves out the exception's message and the command line as well, since either
may quote what a patient's record says; elsewhere they are kept, to say which record or file
was at fault. The file is created readable by its owner only, in ``$TRIALMATCH_LOG_DIR``, else
``$XDG_STATE_HOME/trialmatch`` (``~/.local/state/trialmatch``), else the temporary folder.
"""

from __future__ import annotations

import errno
import os
import platform
import sqlite3
import sys
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def log_folders() -> list[Path]:
    """Where logs go, in order of preference."""
    folders = []
    if os.environ.get("TRIALMATCH_LOG_DIR"):
        folders.append(Path(os.environ["TRIALMATCH_LOG_DIR"]))
    state = os.environ.get("XDG_STATE_HOME") or (Path.home() / ".local" / "state")
    folders += [Path(state) / "trialmatch", Path(tempfile.gettempdir())]
    return folders


def is_disk_full(error: BaseException) -> bool:
    """A write refused for want of space (or over the file-size limit), as SQLite or the OS says it."""
    if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
        return True
    return isinstance(error, sqlite3.OperationalError) and "disk is full" in str(error)


def describe(error: BaseException, *, with_message: bool) -> str:
    """The traceback, frames only (no locals); the message only if ``with_message``."""
    lines = [f"{type(error).__module__}.{type(error).__qualname__}" + (f": {error}" if with_message else "")]
    for frame in traceback.extract_tb(error.__traceback__):
        lines.append(f"  {frame.filename}:{frame.lineno} in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line}")
    cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if cause is not None:
        lines += ["", "while handling:", describe(cause, with_message=with_message)]
    return "\n".join(lines)


def write_log(what: str, error: BaseException, *, with_message: bool, argv: list[str] | None = None) -> Path | None:
    """Write the details of an unexpected ``error`` during ``what`` to a new owner-only file;
    its path, or None when no folder would take it."""
    now = datetime.now(timezone.utc)
    name = f"trialmatch-{what.replace(' ', '-')}-{now:%Y%m%dT%H%M%S}-{os.getpid()}.log"
    header = [f"trialmatch {what}: unexpected error at {now.isoformat(timespec='seconds')}",
              f"python {platform.python_version()} on {platform.platform()}"]
    if argv is not None:
        header.append("command line: " + " ".join(argv))
    text = "\n".join(header) + "\n\n" + describe(error, with_message=with_message) + "\n"
    for folder in log_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
            return path
        except OSError:
            continue
    return None


def one_line(what: str, error: BaseException, *, with_message: bool, argv: list[str] | None = None) -> str:
    """The line to print for an unexpected error (after writing the log it points to)."""
    if is_disk_full(error):
        return (f"trialmatch {what}: the disk is full ({type(error).__name__}); what was written before is kept: "
                "free some space and run the same command again")
    path = write_log(what, error, with_message=with_message, argv=argv if with_message else None)
    where = f"details in {path}" if path else "no folder would take a log of it"
    return f"trialmatch {what}: unexpected error ({type(error).__name__}); {where}"


def print_one_line(what: str, error: BaseException, *, with_message: bool, argv: list[str] | None = None) -> None:
    print(one_line(what, error, with_message=with_message, argv=argv), file=sys.stderr, flush=True)
