"""A Dask cluster started as an operator starts one, with Dask's own commands, on 127.0.0.1.

Each worker gets its own cache folder ($TRIALMATCH_CACHE_DIR), as if it ran on its own machine:
nothing is shared with the batch command but the network.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CommandLineCluster:
    """`dask scheduler` and `dask worker --no-nanny` processes (a killed worker stays dead)."""

    def __init__(self, folder: Path, *, allowed_failures: int | None = None):
        """``allowed_failures``: the scheduler's `distributed.scheduler.allowed-failures` (Dask's default 3)."""
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.workers: dict[str, subprocess.Popen] = {}
        settings = {} if allowed_failures is None else {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures)}
        self.scheduler = self._start(["scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
                                      "--no-dashboard"], "scheduler", settings)

    def _start(self, arguments: list[str], name: str, extra_env: dict) -> subprocess.Popen:
        environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **extra_env}
        log = (self.folder / f"{name}.log").open("wb")
        return subprocess.Popen([sys.executable, "-m", "dask", *arguments], env=environment, cwd=self.folder,
                                stdout=log, stderr=subprocess.STDOUT)

    def cache_of(self, name: str) -> Path:
        """The worker's cache folder (its `registries/` holds the copies shipped to it)."""
        return self.folder / f"cache-{name}"

    def add_worker(self, name: str, *, same_machine_as: str | None = None, cache: Path | None = None) -> None:
        """A worker with its own cache folder, that of ``same_machine_as``, or ``cache``."""
        self.workers[name] = self._start(
            ["worker", self.address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard", "--no-nanny", "--name", name],
            name, {"TRIALMATCH_CACHE_DIR": str(cache or self.cache_of(same_machine_as or name))})

    def kill_scheduler(self) -> None:
        self.scheduler.kill()
        self.scheduler.wait()

    def wait_for_workers(self, count: int, timeout: float = 90) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(count, timeout=timeout)

    def kill_worker(self, name: str) -> None:
        process = self.workers.pop(name)
        process.kill()
        process.wait()

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def close(self) -> None:
        for process in [*self.workers.values(), self.scheduler]:
            process.terminate()
        deadline = time.monotonic() + 10
        for process in [*self.workers.values(), self.scheduler]:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
