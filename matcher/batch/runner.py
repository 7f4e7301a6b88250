"""Match many patients: records are streamed in chunks to worker processes, each with its own
read-only registry connection and Ranker (and embedding model); this process alone writes the
results database, one transaction per finished chunk.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice

from models.match import Match

from ..match_output import criterion_line
from ..patient import PatientError, load_patient
from ..process_guard import end_with_parent
from ..rank import Filters, Ranker
from ..store import Store
from .inputs import InputRecord
from .results import PatientResult, ResultsStore, Run

CHUNK = 8  # patients per task: small enough to keep the progress bar moving
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


def reasons(match: Match) -> str:
    """The failed criteria, then the first unknown ones, each with why."""
    failed = [v for v in match.verdicts if v.outcome == "failed"]
    unknown = [v for v in match.verdicts if v.outcome == "unknown"]
    lines = [criterion_line(v) for v in failed + unknown[:MOST_UNKNOWN_REASONS]]
    if len(unknown) > MOST_UNKNOWN_REASONS:
        lines.append(f"… and {len(unknown) - MOST_UNKNOWN_REASONS} more unknown")
    return " | ".join(lines)


def match_row(match: Match) -> dict:
    """One ``matches`` row (see results.MATCH_COLUMNS) of a ranked trial."""
    tally = match.tally()
    site = match.nearest_site
    where = ", ".join(filter(None, [site.facility, site.city, site.country])) if site else None
    return {
        "rank": match.rank, "nct_id": match.nct_id, "title": match.title, "trial_status": match.status,
        "score": match.score, "eligibility": match.eligibility,
        **{f"criteria_{name}": count for name, count in tally.items()},
        "reasons": reasons(match), "nearest_site": where or None, "distance_km": site.distance_km if site else None,
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
            result.matches = [match_row(m) for m in self.rank(record)]
        except PatientError as error:
            result.error = str(error)
        except Exception as error:  # a bug must not stop the night's run: this patient is reported
            result.error = f"could not be matched: internal error ({type(error).__name__})"
            result.internal_error = True
        return result

    def rank(self, record: InputRecord) -> list[Match]:
        settings = self.settings
        patient = load_patient(record.data)
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


def _match_chunks(chunks: Iterator[list[InputRecord]], settings: MatchSettings, workers: int) -> Iterator[list[PatientResult]]:
    """Results chunk by chunk; with several workers, in the order they finish.

    This process matches the first chunk itself: that loads the embedding model, lexicons and
    place names once, and workers forked on Linux inherit them instead of each loading its own."""
    matcher = PatientMatcher(settings)
    for chunk in chunks:
        yield [matcher.match(record) for record in chunk]
        if workers > 1:
            break
    matcher.close()  # a database connection must not cross a fork
    if workers == 1:
        return
    context = multiprocessing.get_context("fork") if sys.platform == "linux" else None
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(settings,)) as pool:
        pending: set[Future] = set()
        try:
            for chunk in chunks:
                pending.add(pool.submit(_match_chunk, chunk))
                if len(pending) >= 2 * workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        finally:
            for future in pending:
                future.cancel()


def run_batch(
    records: Iterable[InputRecord],
    results: ResultsStore,
    run: Run,
    settings: MatchSettings,
    *,
    workers: int = 1,
    on_result: Callable[[PatientResult], None] = lambda result: None,
    on_skip: Callable[[], None] = lambda: None,
) -> BatchSummary:
    """Match every record not already matched in this run (same patient, same record), and save
    each chunk's outcomes as it finishes. Rejected records are saved and passed to ``on_result``
    as well, with their reason; ``on_skip`` hears of each record skipped."""
    summary = BatchSummary()
    already = results.matched_records(run.id)

    def to_match() -> Iterator[InputRecord]:
        for record in records:
            if record.error is not None:
                rejected = PatientResult(record.line, record.where, record.patient, record.digest, error=record.error)
                results.save(run, [rejected])
                summary.rejected += 1
                on_result(rejected)
            elif already.get(record.patient) == record.digest:
                summary.skipped += 1
                on_skip()
            else:
                yield record

    for chunk in _match_chunks(_chunks(to_match(), CHUNK), settings, workers):
        results.save(run, chunk)
        for result in chunk:
            if result.error is None:
                summary.matched += 1
            else:
                summary.rejected += 1
                summary.internal_errors += result.internal_error
            on_result(result)
    return summary
