"""Worker processes that end with the process that started them.

A pool's workers wait for work on a pipe; when their parent is killed outright (SIGKILL, the
out-of-memory killer, a scheduler's timeout) nothing tells them, and they would wait forever,
each holding a model, a trial cache or a part of an archive. A worker that calls
``end_with_parent()`` watches its parent and exits as soon as it is gone. Every child process
trialmatch starts calls it: batch and ranker workers, the record reader of an import
(``ingest``), the criteria parsers (``derive``).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading


def end_with_parent() -> None:
    """In a multiprocessing child: exit when the parent process ends, however it ends."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child: nothing to watch
        return
    threading.Thread(target=_exit_when_gone, args=(parent.sentinel,), name="trialmatch-parent-watch", daemon=True).start()


def _exit_when_gone(sentinel) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)
