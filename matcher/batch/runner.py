"""Match many patients: records are streamed in partitions to an engine (worker processes on
this machine, or a Dask cluster: ``dask_engine``), where each worker holds its own read-only
registry connection and Ranker (and embedding model); this process alone writes the results
database, one transaction per finished partition.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from models.match import Match

from ..eligibility.reading import not_understood_notice
from ..match_output import criterion_line
from ..patient import PatientError, load_patient
from ..process_guard import end_with_parent
from ..rank import Filters, Ranker
from ..store import Store
from .fhir_bulk import name_entry
from .inputs import InputRecord
from .results import PatientResult, ResultsStore, Run

CHUNK = 8  # patients per task of the local engine: small enough to keep the progress bar moving
MOST_UNKNOWN_REASONS = 8


@dataclass(frozen=True)
class MatchSettings:
    """How every patient of a run is ranked."""

    registry: str
    top: int = 10
    filters: Filters = field(default_factory=Filters)  # for patients without a shortlist
    shortlist_filters: Filters = field(default_factory=lambda: Filters(statuses=None))  # for those with one
    shortlist: tuple[str, ...] | None = None  # for patients whose record gives none
    use_embeddings: bool = True


@dataclass
class BatchSummary:
    matched: int = 0
    rejected: int = 0
    skipped: int = 0  # already matched in this run, record unchanged
    internal_errors: int = 0  # rejected because of a bug of ours
    partitions: int = 0  # the input cut in partitions of the engine's size
    partitions_skipped: int = 0  # nothing left to match in them: every record done already, or rejected


def reasons(match: Match) -> str:
    """The failed criteria, then the first unknown ones, each with why."""
    failed = [v for v in match.verdicts if v.outcome == "failed"]
    unknown = [v for v in match.verdicts if v.outcome == "unknown"]
    lines = [criterion_line(v) for v in failed + unknown[:MOST_UNKNOWN_REASONS]]
    if len(unknown) > MOST_UNKNOWN_REASONS:
        lines.append(f"… and {len(unknown) - MOST_UNKNOWN_REASONS} more unknown")
    return " | ".join(lines)


def open_criteria(match: Match) -> str:
    """The criteria the patient does not satisfy (failed, unknown, to confirm), whole, as JSON."""
    return json.dumps([
        {"kind": v.criterion.kind, "text": v.criterion.text, "verdict": v.verdict, "outcome": v.outcome, "reason": v.reason}
        for v in match.verdicts if v.outcome != "satisfied"
    ], ensure_ascii=False)


def match_row(match: Match, notice: str | None = None) -> dict:
    """One ``matches`` row (see results.MATCH_COLUMNS) of a ranked trial; ``notice`` (what the
    record has that was not understood) opens its reasons."""
    tally = match.tally()
    site = match.nearest_site
    where = ", ".join(filter(None, [site.facility, site.city, site.country])) if site else None
    return {
        "rank": match.rank, "nct_id": match.nct_id, "title": match.title, "trial_status": match.status,
        "score": match.score, "eligibility": match.eligibility,
        **{f"criteria_{name}": count for name, count in tally.items()},
        "reasons": " | ".join(filter(None, [notice and f"⚠ {notice}", reasons(match)])),
        "nearest_site": where or None, "distance_km": site.distance_km if site else None,
        "criteria": open_criteria(match),
    }


class PatientMatcher:
    """Ranks input records with one Ranker; what a worker process holds."""

    def __init__(self, settings: MatchSettings):
        self.settings = settings
        self.ranker = Ranker(Store(settings.registry, read_only=True), use_embeddings=settings.use_embeddings)

    def close(self) -> None:
        self.ranker.store.close()

    def match(self, record: InputRecord) -> PatientResult:
        result = PatientResult(record.line, record.where, record.patient, record.digest)
        try:
            patient = load_patient(record.data)
            notice = not_understood_notice(patient)
            result.matches = [match_row(m, notice) for m in self.rank(record, patient)]
        except PatientError as error:
            result.error = name_entry(str(error), record.sources)
        except Exception as error:  # a bug must not stop the night's run: this patient is reported
            result.error = f"could not be matched: internal error ({type(error).__name__})"
            result.internal_error = True
        return result

    def rank(self, record: InputRecord, patient=None) -> list[Match]:
        settings = self.settings
        patient = patient if patient is not None else load_patient(record.data)
        shortlist = record.candidates if record.candidates is not None else settings.shortlist
        filters = settings.shortlist_filters if shortlist is not None else settings.filters
        if filters.within_km is not None and patient.location is None:
            raise PatientError("location", "needed for --within-km (a zip, a city, or lat and lon)")
        return self.ranker.rank(patient, top=settings.top, filters=filters, shortlist=shortlist)


_worker: PatientMatcher | None = None


def _start_worker(settings: MatchSettings) -> None:
    global _worker
    end_with_parent()  # a killed batch job leaves no workers behind
    _worker = PatientMatcher(settings)


def _match_chunk(records: list[InputRecord]) -> list[PatientResult]:
    return [_worker.match(record) for record in records]


def _chunks(records: Iterator[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    while chunk := list(islice(records, size)):
        yield chunk


class LocalEngine:
    """Matches partitions in this process, or in ``workers`` processes on this machine."""

    partition_size = CHUNK

    def __init__(self, settings: MatchSettings, workers: int = 1):
        self.settings, self.workers = settings, workers

    def match_partitions(self, partitions: Iterator[list[InputRecord]]) -> Iterator[list[PatientResult]]:
        """Results partition by partition; with several workers, in the order they finish.

        This process matches the first partition itself: that loads the embedding model, lexicons
        and place names once, and workers forked on Linux inherit them instead of each loading its own."""
        settings, workers = self.settings, self.workers
        matcher = PatientMatcher(settings)
        for partition in partitions:
            yield [matcher.match(record) for record in partition]
            if workers > 1:
                break
        matcher.close()  # a database connection must not cross a fork
        if workers == 1:
            return
        context = multiprocessing.get_context("fork") if sys.platform == "linux" else None
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(settings,)) as pool:
            pending: set[Future] = set()
            try:
                for partition in partitions:
                    pending.add(pool.submit(_match_chunk, partition))
                    if len(pending) >= 2 * workers:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        yield from (future.result() for future in done)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in done)
            finally:
                for future in pending:
                    future.cancel()


class Engine(Protocol):
    """Where partitions are matched: this machine (``LocalEngine``) or a Dask cluster."""

    partition_size: int

    def match_partitions(self, partitions: Iterator[list[InputRecord]]) -> Iterator[list[PatientResult]]:
        """Each partition's results, in any order, each partition whole and exactly once."""


def run_batch(
    records: Iterable[InputRecord],
    results: ResultsStore,
    run: Run,
    engine: Engine,
    *,
    on_result: Callable[[PatientResult], None] = lambda result: None,
    on_skip: Callable[[], None] = lambda: None,
) -> BatchSummary:
    """Match every record not already matched in this run (same patient, same record), and save
    each partition's outcomes, in one transaction, as it finishes.

    The input is cut into partitions of ``engine.partition_size`` records, in input order, so a
    rerun of the same input cuts the same partitions; one whose records were all matched already
    is skipped whole. Only the partitions in flight are held in memory. Rejected records are
    saved and passed to ``on_result`` as well, with their reason; ``on_skip`` hears of each
    record skipped."""
    summary = BatchSummary()

    def to_match() -> Iterator[list[InputRecord]]:
        for partition in _chunks(iter(records), engine.partition_size):
            summary.partitions += 1
            already = results.matched_records(run.id, [r.patient for r in partition if r.error is None])
            todo = []
            for record in partition:
                if record.error is not None:
                    rejected = PatientResult(record.line, record.where, record.patient, record.digest, error=record.error)
                    results.save(run, [rejected])
                    summary.rejected += 1
                    on_result(rejected)
                elif already.get(record.patient) == record.digest:
                    summary.skipped += 1
                    on_skip()
                else:
                    todo.append(record)
            if todo:
                yield todo
            else:
                summary.partitions_skipped += 1

    for partition in engine.match_partitions(to_match()):
        results.save(run, partition)
        for result in partition:
            if result.error is None:
                summary.matched += 1
            else:
                summary.rejected += 1
                summary.internal_errors += result.internal_error
            on_result(result)
    return summary
