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

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from . import registry_copy
from .inputs import InputRecord
from .registry_state import read_registry_state
from .results import PatientResult
from .runner import MatchSettings, PatientMatcher

DEFAULT_PARTITION_SIZE = 100
TASKS_PER_THREAD = 2  # partitions in flight per worker thread: one running, one waiting
CONNECT_TIMEOUT_S = 30
MOST_SENDS = 3  # copies sent to one worker before it is left out
# The client side of Dask logs a lost scheduler with tracebacks (the client retrying, the batched
# stream failing to send); the command says it in one line.
CLIENT_LOGS = tuple(logging.getLogger(name) for name in ("distributed.client", "distributed.batched", "distributed.core"))


class DaskEngineError(RuntimeError):
    """The cluster cannot run this batch (no scheduler, a registry that differs on a worker)."""


@dataclass(frozen=True)
class RegistryOnWorkers:
    """How workers find the registry: a shipped copy (by hash) or a shared path."""

    state: dict | None  # registry_state() as the batch command read it; None: not checked
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
    if registry.sha256 is not None:
        try:
            path = registry_copy.cached_copy(registry.sha256)
        except OSError:  # no usable cache folder: the command is told, and leaves this worker out
            path = None
        if path is None:
            raise _CopyMissing
        return path
    path = Path(registry.shared_path)
    if registry.state is not None:
        state = read_registry_state(path)
        if state != registry.state:
            differs = ", ".join(f"{key} {state[key]} here, {registry.state.get(key)} there"
                                for key in state if state[key] != registry.state.get(key))
            raise DaskEngineError(f"the registry at {path} on this worker is not the one the batch command read ({differs})")
    return path


def _matcher(registry: RegistryOnWorkers, settings: MatchSettings) -> PatientMatcher:
    """This thread's matcher for that registry and those settings (made once, then reused)."""
    key = repr((registry.sha256, registry.shared_path, registry.state, settings))
    if getattr(_local, "key", None) != key:
        previous = getattr(_local, "matcher", None)
        _local.key = _local.matcher = None  # until the new one is made: a failure must not leave a stale key
        if previous is not None:
            previous.close()
        try:
            _local.matcher = PatientMatcher(replace(settings, registry=str(_registry_file(registry))))
        except FileNotFoundError:
            if registry.sha256 is None:
                raise
            raise _CopyMissing from None  # evicted meanwhile by another worker of this machine
        _local.key = key
    return _local.matcher


def match_partition(registry: RegistryOnWorkers, settings: MatchSettings, records: list[InputRecord]) -> PartitionOutcome:
    """The task: rank every record of one partition on this worker. It returns what went wrong
    rather than raise: Dask would log the arguments of a failed task, and they are patient records."""
    try:
        matcher = _matcher(registry, settings)
        return PartitionOutcome(results=[matcher.match(record) for record in records])
    except _CopyMissing:
        from distributed import get_worker

        return PartitionOutcome(lacks_copy=get_worker().address)
    except Exception as error:  # the registry, not a patient (a patient's error is in its result)
        return PartitionOutcome(failure=f"{type(error).__name__}: {error}")


# Shipping runs on the workers' event loop (Dask's `client.run`): the disk work goes to a thread,
# so that the worker keeps answering the scheduler and its running tasks' results go out.

async def _has_copy(sha256: str) -> bool:
    return await asyncio.to_thread(registry_copy.has_copy, sha256)


async def _receive_part(sha256: str, shipment: str, offset: int, data: bytes) -> None:
    await asyncio.to_thread(registry_copy.receive_part, sha256, shipment, offset, data)


async def _finish_receiving(sha256: str, shipment: str, size: int) -> str:
    return await asyncio.to_thread(registry_copy.finish_receiving, sha256, shipment, size)


# ---------------------------------------------------------------------- the client

@dataclass
class ShippingReport:
    """How the registry reached the workers."""

    shared_path: str | None = None
    size: int = 0
    sha256: str = ""
    shipped_to: set[str] = field(default_factory=set)
    already_held_by: set[str] = field(default_factory=set)
    cannot_hold: dict[str, str] = field(default_factory=dict)  # worker → why it could not take the copy
    seconds: float = 0.0

    @property
    def holders(self) -> set[str]:
        return (self.shipped_to | self.already_held_by) - set(self.cannot_hold)

    def describe(self) -> str:
        if self.shared_path:
            return f"registry: workers read {self.shared_path} (shared)"
        described = (f"registry: copy {self.sha256[:12]} ({self.size / 1e6:,.0f} MB) shipped to {len(self.shipped_to)} "
                     f"worker(s) in {self.seconds:.1f} s, already held by {len(self.already_held_by)}")
        if self.cannot_hold:
            described += f"; left out, could not take it: {'; '.join(f'{w} ({why})' for w, why in self.cannot_hold.items())}"
        return described


class DaskEngine:
    """Matches partitions on a Dask cluster: the one at ``scheduler``, or a local one of
    ``workers`` processes on 127.0.0.1. Use it as a context manager."""

    def __init__(self, settings: MatchSettings, *, scheduler: str | None = None, workers: int = 1,
                 partition_size: int = DEFAULT_PARTITION_SIZE, shared_registry: str | None = None,
                 state: dict | None = None):
        """``state``: the registry's ``registry_state``, when the caller has read it already."""
        self.settings, self.scheduler, self.workers, self.state = settings, scheduler, workers, state
        self.partition_size, self.shared_registry = partition_size, shared_registry
        self.cluster = self.client = self.copy = None
        self.report = ShippingReport()
        self.sends: Counter[str] = Counter()  # copies sent, by worker

    def __enter__(self) -> DaskEngine:
        from distributed import Client, LocalCluster

        state = self.state or read_registry_state(self.settings.registry)
        self._client_log_levels = [log.level for log in CLIENT_LOGS]
        for log in CLIENT_LOGS:
            log.setLevel(logging.CRITICAL)
        try:
            if self.scheduler is None:  # this machine: the workers read the registry where it is
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
            else:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
        except OSError as error:
            self.__exit__(None, None, None)
            where = f"reach the Dask scheduler at {self.scheduler}" if self.scheduler else "start a local Dask cluster"
            raise DaskEngineError(f"could not {where}: {error}") from None
        try:
            self._place_registry(state)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _place_registry(self, state: dict) -> None:
        if self.scheduler is None:  # the file the command reads, as the local engine's workers do
            self.registry = RegistryOnWorkers(None, shared_path=str(Path(self.settings.registry).resolve()))
        elif self.shared_registry:
            self.registry = RegistryOnWorkers(state, shared_path=self.shared_registry)
        else:
            self.copy = registry_copy.snapshot(Path(self.settings.registry), state)
            self.registry = RegistryOnWorkers(state, sha256=self.copy.sha256)
            self.report.size, self.report.sha256 = self.copy.size, self.copy.sha256
            self.ship(list(self.client.scheduler_info(n_workers=-1)["workers"]))
            return
        self.report.shared_path = self.registry.shared_path

    def __exit__(self, *exc) -> None:
        try:
            if self.client is not None:
                self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
            for log, level in zip(CLIENT_LOGS, self._client_log_levels):
                log.setLevel(level)

    def ship(self, addresses: list[str]) -> None:
        """Send the registry copy to those of ``addresses`` that do not hold it: first to one
        worker per machine, then to the others of that machine that still lack it (workers
        that share a cache folder find the copy there). A worker that fails to take it is left
        out (``report.cannot_hold``); one that dies meanwhile is simply gone."""
        started = time.perf_counter()
        while addresses:
            held = self._run_on(addresses, _has_copy, self.copy.sha256)
            self.report.already_held_by |= {address for address, has in held.items() if has}
            lacking = [address for address, has in held.items() if not has]
            one_per_machine = list({urlsplit(address).hostname: address for address in lacking}.values())
            self._send(one_per_machine)
            addresses = [address for address in lacking if address not in one_per_machine]
        self.report.seconds += time.perf_counter() - started

    def _send(self, addresses: list[str]) -> None:
        sha256, shipment = self.copy.sha256, uuid.uuid4().hex[:12]
        with self.copy.path.open("rb") as stream:
            offset = 0
            while addresses and (data := stream.read(registry_copy.PART_BYTES)):
                addresses = list(self._run_on(addresses, _receive_part, sha256, shipment, offset, data))
                offset += len(data)
        if addresses:
            received = self._run_on(addresses, _finish_receiving, sha256, shipment, self.copy.size)
            self.report.shipped_to |= set(received)
            self.sends.update(received.keys())

    def _run_on(self, addresses: list[str], function, *args) -> dict:
        """``function(*args)`` on those workers: their answers, from the workers that gave one;
        a worker that raised goes to ``report.cannot_hold``, one that is gone is left out."""
        answers = self.client.run(function, *args, workers=addresses, on_error="return")
        for address, answer in list(answers.items()):
            if isinstance(answer, Exception):
                self.report.cannot_hold[address] = f"{type(answer).__name__}: {answer}"
                del answers[address]
        return answers

    def match_partitions(self, partitions: Iterator[list[InputRecord]]) -> Iterator[list[PatientResult]]:
        try:
            yield from self._match_partitions(partitions)
        except (CancelledError, OSError) as error:  # the scheduler, or the connection to it, is gone
            raise DaskEngineError(f"lost the Dask scheduler{f' at {self.scheduler}' if self.scheduler else ''} "
                                  f"({type(error).__name__})") from None

    def _match_partitions(self, partitions: Iterator[list[InputRecord]]) -> Iterator[list[PatientResult]]:
        from distributed import KilledWorker, as_completed

        run = uuid.uuid4().hex[:8]
        in_flight: dict[str, list[InputRecord]] = {}
        finished = as_completed()
        submitted = 0

        def submit(records: list[InputRecord]) -> None:
            nonlocal submitted
            submitted += 1
            # once a worker could not take the registry copy, partitions go to those that hold it
            # (to others only when none is left: a worker that joined since is then sent the copy)
            holders = sorted(self.report.holders) if self.report.cannot_hold else None
            holders = holders or None
            future = self.client.submit(match_partition, self.registry, self.settings, records, pure=False,
                                        key=f"trialmatch-partition-{run}-{submitted}", workers=holders,
                                        allow_other_workers=holders is not None)
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
                self._copy_asked_by(outcome.lacks_copy)
                submit(records)
                continue
            yield outcome.results
            fill()

    def _copy_asked_by(self, address: str) -> None:
        """A worker ran a partition without the copy: send it the copy, or leave it out."""
        if self.sends[address] >= MOST_SENDS:  # sent, and still without it: do not loop
            self.report.cannot_hold.setdefault(address, f"still without the copy after receiving it {MOST_SENDS} times")
        if address not in self.report.cannot_hold:
            self.ship([address])
        if self.report.cannot_hold and not self.report.holders & set(self.client.scheduler_info(n_workers=-1)["workers"]):
            raise DaskEngineError("no worker could take the registry copy: " + "; ".join(
                f"{worker} ({why})" for worker, why in self.report.cannot_hold.items()))


def _lost(record: InputRecord) -> PatientResult:
    return PatientResult(record.line, record.where, record.patient, record.digest,
                         error="could not be matched: the Dask workers running it died", internal_error=True)
