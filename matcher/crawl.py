"""Crawl a registry search into the store, page by page: resumable, incremental, exactly once.

Each page is written in one transaction together with the crawl state that points past it, so
a crawl stopped at any moment (an exception, exhausted retries, a signal, ``kill -9``) resumes
from the next page with the same search. A repeated search asks only for studies updated since
its last finished crawl started (less a day: the registry dates updates in US Eastern time).
A page token the registry no longer accepts restarts the search from the latest last-update
date the crawl reached (pages come in ascending last-update order) rather than from zero.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from queue import SimpleQueue

from crawlers.bulk import Rejection, unexpected
from crawlers.ctgov_api import (
    Page,
    PageTokenRejected,
    RegistryClient,
    RegistryError,
    RequestRejected,
    StudyQuery,
    UnreadableStudy,
)
from crawlers.records import RecordError, parse_v2_study
from models.trial import Provenance, RawRecord, Trial

from .store import Store, WriteOutcome
from .store import crawls

INCREMENTAL_MARGIN = timedelta(days=1)


@dataclass
class CrawlReport:
    """What one run of a crawl did (a resumed crawl's earlier runs are in its ``crawls`` row)."""

    description: str
    crawl_id: int | None = None
    since: str | None = None
    pages: int = 0
    studies: int = 0
    total: int | None = None  # matching studies, when the registry said
    outcome: WriteOutcome = field(default_factory=WriteOutcome)
    rejections: list[Rejection] = field(default_factory=list)
    retries: int = 0
    status: str = "running"
    notes: list[str] = field(default_factory=list)  # resumed, incremental, restarted: said to the user

    def line(self) -> str:
        c = self.outcome.counts()
        older = f", {c['older']} older than stored (kept stored)" if c["older"] else ""
        since = f" updated since {self.since}" if self.since else ""
        pages = f"{self.pages} page{'s' if self.pages != 1 else ''}, " if self.pages else ""
        return (
            f"{pages}{self.studies} studies{since}: {c['added']} added, {c['updated']} updated, "
            f"{c['unchanged']} unchanged{older}, {len(self.rejections)} rejected; {self.retries} retries"
        )


def incremental_since(store: Store, key: str) -> str | None:
    """The date a repeated search asks from: its last finished crawl's start, less a day."""
    finished = crawls.last_finished_crawl(store.conn, key)
    if finished is None:
        return None
    return (date.fromisoformat(finished.started_at[:10]) - INCREMENTAL_MARGIN).isoformat()


def page_records(page: Page) -> tuple[list[tuple[Trial, RawRecord]], list[Rejection]]:
    """A page's studies as (Trial, raw JSON) pairs, and the studies that could not be read."""
    records, rejections = [], []
    for number, study in enumerate(page.studies, start=1):
        try:
            if isinstance(study, UnreadableStudy):
                raise RecordError(study.reason)
            trial = parse_v2_study(study)
            raw = json.dumps(study, ensure_ascii=False).encode("utf-8")
        except RecordError as error:
            rejections.append(Rejection(f"{page.url}#{number}", str(error)))
            continue
        except Exception as error:  # noqa: BLE001 — one unreadable study never stops its page
            rejections.append(Rejection(f"{page.url}#{number}", unexpected(error)))
            continue
        provenance = Provenance("ctgov-api-v2", f"{page.url}#{trial.nct_id}", page.retrieved)
        records.append((trial, RawRecord(provenance, raw, "application/json")))
    return records, rejections


def fetched_ahead(pages: Iterator[Page]) -> Iterator[Page]:
    """The pages of ``pages``, each fetched in a background thread while the one before is
    being stored: waiting on the registry overlaps with our own work. Never more than one page
    ahead; what the fetching raises is raised here, in order."""
    arrived: SimpleQueue = SimpleQueue()
    may_fetch = threading.Semaphore(1)
    stopped = threading.Event()

    def fetch() -> None:
        try:
            while may_fetch.acquire() and not stopped.is_set():
                page = next(pages, None)
                arrived.put(("page", page) if page is not None else ("end", None))
                if page is None:
                    return
        except BaseException as error:  # handed to the consumer, which owns the crawl
            arrived.put(("error", error))

    threading.Thread(target=fetch, name="page-fetcher", daemon=True).start()
    try:
        while True:
            kind, item = arrived.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            may_fetch.release()  # fetch the next page while this one is stored
            yield item
    finally:
        stopped.set()
        may_fetch.release()


class Crawl:
    """One run of a crawl of ``query`` from ``client`` into ``store``.

    ``since`` (ISO date) asks only for studies updated since then; without it a repeated search
    is incremental unless ``full``. ``max_studies`` stops after that many (the crawl stays
    resumable). ``on_page(page, outcome)`` is called after each stored page.
    """

    def __init__(self, store: Store, client: RegistryClient, query: StudyQuery, *, since: str | None = None,
                 full: bool = False, page_size: int = 1000, max_studies: int | None = None,
                 on_page: Callable[[Page, WriteOutcome], None] | None = None):
        self.store, self.client, self.query = store, client, query
        self.page_size, self.max_studies = page_size, max_studies
        self.on_page = on_page or (lambda page, outcome: None)
        self.key = crawls.query_key(query.identity(), client.base_url)
        self.report = CrawlReport(query.describe())
        self.state = self._open(since, full)
        self.report.crawl_id, self.report.since = self.state.id, self.state.effective_since

    def _open(self, since: str | None, full: bool) -> crawls.CrawlState:
        """Resume this search's unfinished crawl, or start a new one."""
        conn = self.store.conn
        state = crawls.unfinished_crawl(conn, self.key)
        if state is not None and (since or full) and state.since != since:  # asked for another date range
            crawls.set_status(conn, state.id, "abandoned", message=f"replaced by a crawl since {since or 'the beginning'}")
            self.report.notes.append(f"abandoned unfinished crawl {state.id} (it asked for studies updated since {state.since or 'the beginning'})")
            state = None
        if state is not None:
            self.report.notes.append(f"resuming crawl {state.id}: {state.pages} pages, {state.studies} studies already stored")
            return state
        if since is None and not full:
            since = incremental_since(self.store, self.key)
            if since:
                self.report.notes.append(f"incremental: asking only for studies updated since {since} "
                                         "(the day before this search's last finished crawl started)")
        return crawls.start_crawl(conn, self.key, self.query.identity(), self.client.base_url, since)

    def run(self) -> CrawlReport:
        run_id = self.store.start_run("crawl", f"{self.client.base_url} {self.report.description}")
        retries_before = self.client.stats.retries
        status, message = "failed", None
        try:
            self._pages(run_id)
            self.state = crawls.get_crawl(self.store.conn, self.state.id)
            status = "stopped" if self.state.page_token else "finished"
        except KeyboardInterrupt:
            status, message = "interrupted", "interrupted"
            raise
        except RegistryError as error:
            message = str(error)
            raise
        finally:
            self.report.status = status
            self.report.retries = self.client.stats.retries - retries_before
            crawls.set_status(self.store.conn, self.state.id, status, message=message, retries=self.report.retries)
            self.store.finish_run(run_id, self.report.outcome, len(self.report.rejections), status=status)
        return self.report

    def _pages(self, run_id: int) -> None:
        restarted = False
        while True:
            remaining = None if self.max_studies is None else self.max_studies - self.report.studies
            pages = self.client.pages(self.query, since=self.state.effective_since, page_token=self.state.page_token,
                                      page_size=self.page_size, limit=remaining)
            try:
                for page in fetched_ahead(pages):
                    self._store(page, run_id)
                return
            except PageTokenRejected as error:
                if restarted or not self.state.page_token:
                    raise
                restarted = True
                self._restart(error)

    def _store(self, page: Page, run_id: int) -> None:
        records, rejections = page_records(page)
        last_update = max((t.last_update_posted for t, _ in records if t.last_update_posted), default=None)

        def advance_crawl(conn, outcome: WriteOutcome) -> None:
            conn.executemany(
                "INSERT INTO import_rejections (run_id, location, reason) VALUES (?, ?, ?)",
                [(run_id, r.location, r.reason) for r in rejections],
            )
            crawls.record_page(conn, self.state.id, next_token=page.next_token, studies=len(page.studies),
                               outcome=outcome, rejected=len(rejections), last_update=last_update)

        outcome = self.store.write_trials(records, also=advance_crawl)
        self.state.page_token = page.next_token
        self.state.last_update_seen = max(filter(None, (self.state.last_update_seen, last_update)), default=None)
        self.report.pages += 1
        self.report.studies += len(page.studies)
        self.report.total = self.report.total if page.total is None else page.total
        self.report.outcome.merge(outcome)
        self.report.rejections.extend(rejections)
        self.on_page(page, outcome)

    def _restart(self, error: PageTokenRejected) -> None:
        since = max(filter(None, (self.state.last_update_seen, self.state.effective_since)), default=None)
        if since and len(since) == 7:  # a month-only date ("2023-06"): from the month's first day
            since += "-01"
        crawls.restart_from(self.store.conn, self.state.id, since)
        self.state = crawls.get_crawl(self.store.conn, self.state.id)
        self.report.since = since
        self.report.notes.append(
            f"the registry no longer accepts this crawl's page token ({error}); searching again for studies "
            f"updated since {since or 'the beginning'} (studies already stored are not rewritten)"
        )


def crawl(store: Store, client: RegistryClient, query: StudyQuery, **options) -> CrawlReport:
    """Crawl ``query`` into ``store`` (see ``Crawl`` for the options)."""
    return Crawl(store, client, query, **options).run()


def fetch_studies(store: Store, client: RegistryClient, nct_ids: Iterable[str],
                  on_study: Callable[[str], None] = lambda nct_id: None) -> CrawlReport:
    """Fetch single studies by NCT id (``GET /studies/{id}``), storing each as it arrives.

    An id the registry does not know is reported as a rejection; the others are stored.
    """
    ids = list(dict.fromkeys(nct_ids))
    report = CrawlReport(f"studies {', '.join(ids)}")
    run_id = store.start_run("crawl", f"{client.base_url} {report.description}")
    retries_before, status = client.stats.retries, "failed"
    try:
        for nct_id in ids:
            try:
                url, study, retrieved = client.fetch_study(nct_id)
            except RequestRejected as error:
                if error.status != 404:
                    raise
                rejections = [Rejection(f"{client.base_url}/studies/{nct_id}", "not in the registry (404)")]
            else:
                records, rejections = page_records(Page(url, [study], None, retrieved))
                report.outcome.merge(store.write_trials(records))
                report.studies += 1
            for rejection in rejections:
                store.record_rejection(run_id, rejection.location, rejection.reason)
            report.rejections.extend(rejections)
            on_study(nct_id)
        status = "finished"
    finally:
        report.status = status
        report.retries = client.stats.retries - retries_before
        store.finish_run(run_id, report.outcome, len(report.rejections), status=status)
    return report
