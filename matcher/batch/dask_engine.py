"""The batch job on a Dask cluster: each partition of patients is one task on a worker.

The batch command stays the client: it reads the input, sends partitions out (a bounded number
at a time, so the input is never all in memory) and saves each partition's results as it comes
back, exactly as with the local engine. A worker holds one ``PatientMatcher`` per thread, built
on its first partition and kept for the next ones.

How a worker reaches the registry (``RegistryOnWorkers``):
- shipped (the default with ``--scheduler``): a snapshot of the registry, named by its SHA-256,
  is sent once to each machine whose workers do not hold that version yet (``registry_copy``);
  a worker that joins later, or whose copy is gone, says so and is sent it before its partition
  runs again;
- shared (``--shared-registry PATH``, and the local cluster, which runs on this machine): every
  worker opens the same file; it must be in the state the batch command read, or the run stops.

A task never raises for a patient: a patient's error is part of its result. Tasks do not raise
for the registry either, but return what went wrong, because Dask logs a failed task with its
arguments, and those are patient records.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from ..store import Store
from . import registry_copy
from .inputs import InputRecord
from .registry_state import registry_state
from .results import PatientResult
from .runner import MatchSettings, PatientMatcher

DEFAULT_PARTITION_SIZE = 100
TASKS_PER_THREAD = 2  # partitions in flight per worker thread: one running, one waiting
CONNECT_TIMEOUT_S = 30


class DaskEngineError(RuntimeError):
    """The cluster cannot run this batch (no scheduler, a registry that differs on a worker)."""


@dataclass(frozen=True)
class RegistryOnWorkers:
    """How workers find the registry: a shipped copy (by hash) or a shared path."""

    state: dict  # registry_state() as the batch command read it
    sha256: str | None = None
    shared_path: str | None = None


@dataclass
class PartitionOutcome:
    """What a task returns: the partition's results, or why it could not run."""

    results: list[PatientResult] | None = None
    lacks_copy: str | None = None  # the address of a worker without the registry copy
    failure: str | None = None  # the registry could not be used on the worker


# ---------------------------------------------------------------------- on a worker

_local = threading.local()


class _CopyMissing(Exception):
    pass


def _registry_file(registry: RegistryOnWorkers) -> Path:
    if registry.sha256 is None:
        path = Path(registry.shared_path)
        store = Store(path, read_only=True)
        try:
            state = registry_state(store)
        finally:
            store.close()
        if state != registry.state:
            differs = ", ".join(f"{key} {state[key]} here, {registry.state.get(key)} there"
                                for key in state if state[key] != registry.state.get(key))
            raise DaskEngineError(f"the registry at {path} on this worker is not the one the batch command read ({differs})")
        return path
    path = registry_copy.cached_copy(registry.sha256)
    if path is None:
        raise _CopyMissing
    return path


def _matcher(registry: RegistryOnWorkers, settings: MatchSettings) -> PatientMatcher:
    """This thread's matcher for that registry and those settings (made once, then reused)."""
    key = repr((registry.sha256, registry.shared_path, registry.state, settings))
    if getattr(_local, "key", None) != key:
        if getattr(_local, "matcher", None) is not None:
            _local.matcher.close()
            _local.matcher = None
        _local.matcher = PatientMatcher(replace(settings, registry=str(_registry_file(registry))))
        _local.key = key
    return _local.matcher


def match_partition(registry: RegistryOnWorkers, settings: MatchSettings, records: list[InputRecord]) -> PartitionOutcome:
    """The task: rank every record of one partition on this worker."""
    try:
        matcher = _matcher(registry, settings)
    except _CopyMissing:
        from distributed import get_worker

        return PartitionOutcome(lacks_copy=get_worker().address)
    except Exception as error:  # the registry, not a patient: the message holds no patient data
        return PartitionOutcome(failure=f"{type(error).__name__}: {error}")
    return PartitionOutcome(results=[matcher.match(record) for record in records])


# ---------------------------------------------------------------------- the client

@dataclass
class ShippingReport:
    """How the registry reached the workers."""

    shared_path: str | None = None
    size: int = 0
    sha256: str = ""
    shipped_to: set[str] = field(default_factory=set)
    already_held_by: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def describe(self) -> str:
        if self.shared_path:
            return f"registry: workers read {self.shared_path} (shared)"
        return (f"registry: copy {self.sha256[:12]} ({self.size / 1e6:,.0f} MB) shipped to {len(self.shipped_to)} "
                f"worker(s) in {self.seconds:.1f} s, already held by {len(self.already_held_by)}")


class DaskEngine:
    """Matches partitions on a Dask cluster: the one at ``scheduler``, or a local one of
    ``workers`` processes on 127.0.0.1. Use it as a context manager."""

    def __init__(self, settings: MatchSettings, *, scheduler: str | None = None, workers: int = 1,
                 partition_size: int = DEFAULT_PARTITION_SIZE, shared_registry: str | None = None):
        self.settings, self.scheduler, self.workers = settings, scheduler, workers
        self.partition_size, self.shared_registry = partition_size, shared_registry
        self.cluster = self.client = self.copy = None
        self.report = ShippingReport()

    def __enter__(self) -> DaskEngine:
        from distributed import Client, LocalCluster

        store = Store(self.settings.registry, read_only=True)
        try:
            state = registry_state(store)
        finally:
            store.close()
        try:
            if self.scheduler is None:  # this machine: the workers read the registry where it is
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
            else:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
        except OSError as error:
            self.__exit__(None, None, None)
            raise DaskEngineError(f"could not reach the Dask scheduler at {self.scheduler}: {error}") from None
        try:
            self._place_registry(state)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _place_registry(self, state: dict) -> None:
        local = str(Path(self.settings.registry).resolve()) if self.scheduler is None else None
        shared = self.shared_registry or local
        if shared:
            self.registry = RegistryOnWorkers(state, shared_path=shared)
            self.report.shared_path = shared
            return
        self.copy = registry_copy.snapshot(Path(self.settings.registry), state)
        self.registry = RegistryOnWorkers(state, sha256=self.copy.sha256)
        self.report.size, self.report.sha256 = self.copy.size, self.copy.sha256
        self.ship(list(self.client.scheduler_info(n_workers=-1)["workers"]))

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def ship(self, addresses: list[str]) -> None:
        """Send the registry copy to those of ``addresses`` that do not hold it: first to one
        worker per machine, then to the others of that machine that still lack it (workers
        that share a cache folder find the copy there). A worker that dies meanwhile is left out
        (its partitions go to the others)."""
        started = time.perf_counter()
        while addresses:
            held = self.client.run(registry_copy.has_copy, self.copy.sha256, workers=addresses, on_error="return")
            self.report.already_held_by |= {address for address, has in held.items() if has is True}
            lacking = [address for address, has in held.items() if has is False]
            one_per_machine = list({urlsplit(address).hostname: address for address in lacking}.values())
            self._send(one_per_machine)
            addresses = [address for address in lacking if address not in one_per_machine]
        self.report.seconds += time.perf_counter() - started

    def _send(self, addresses: list[str]) -> None:
        sha256 = self.copy.sha256
        with self.copy.path.open("rb") as stream:
            offset = 0
            while addresses and (data := stream.read(registry_copy.PART_BYTES)):
                done = self.client.run(registry_copy.receive_part, sha256, offset, data, workers=addresses, on_error="return")
                addresses = [address for address in addresses if not isinstance(done.get(address, ValueError()), Exception)]
                offset += len(data)
        if addresses:
            done = self.client.run(registry_copy.finish_receiving, sha256, self.copy.size, workers=addresses, on_error="return")
            self.report.shipped_to |= {address for address, what in done.items() if not isinstance(what, Exception)}

    def match_partitions(self, partitions: Iterator[list[InputRecord]]) -> Iterator[list[PatientResult]]:
        from distributed import KilledWorker, as_completed

        run = uuid.uuid4().hex[:8]
        in_flight: dict[str, list[InputRecord]] = {}
        finished = as_completed()
        submitted = 0

        def submit(records: list[InputRecord]) -> None:
            nonlocal submitted
            submitted += 1
            future = self.client.submit(match_partition, self.registry, self.settings, records,
                                        key=f"trialmatch-partition-{run}-{submitted}", pure=False)
            in_flight[future.key] = records
            finished.add(future)

        def fill() -> None:
            room = max(TASKS_PER_THREAD, TASKS_PER_THREAD * sum(self.client.nthreads().values()))
            while len(in_flight) < room and (records := next(partitions, None)) is not None:
                submit(records)

        fill()
        for future in finished:
            records = in_flight.pop(future.key)
            try:
                outcome = future.result()
            except KilledWorker:  # this partition's workers died every time it ran (out of memory?)
                outcome = PartitionOutcome(results=[_lost(record) for record in records])
            future.release()
            if outcome.failure:
                raise DaskEngineError(outcome.failure)
            if outcome.lacks_copy:
                self.ship([outcome.lacks_copy])
                submit(records)
                continue
            yield outcome.results
            fill()


def _lost(record: InputRecord) -> PatientResult:
    return PatientResult(record.line, record.where, record.patient, record.digest,
                         error="could not be matched: the Dask workers running it died", internal_error=True)
