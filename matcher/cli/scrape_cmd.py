"""`trialmatch scrape URL-or-FILE…`: store the trials shown on listing pages (HTML or text)."""

from __future__ import annotations

import sys
from pathlib import Path

from crawlers.bulk import unexpected
from crawlers.listing_fetch import FetchedPage, fetch_pages
from crawlers.listings import ListingError, parse_listing

from ..store import Store, WriteOutcome
from .common import UsageError, check_range, database_path, open_store, progress, terminal_safe
from .refresh import refresh

PAGE_SUFFIXES = (".html", ".htm", ".txt", ".xhtml")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "scrape",
        help="store trials from listing pages (hospital trial finders), HTML or text",
        description="Read trial listing pages (URLs, or HTML/text files and folders of them) and store each trial with "
        "its criteria, ages, sex, sites and contacts. A page without an NCT id gets a stable LOCAL- id.",
    )
    parser.add_argument("sources", nargs="+", metavar="URL-or-FILE")
    parser.add_argument("--follow", action="store_true", help="from index pages, follow links to pages of the same site")
    parser.add_argument("--max-pages", type=int, default=50, metavar="N", help="fetch at most N pages (default 50)")
    parser.add_argument("--rate", type=float, default=1.0, metavar="R", help="requests per second per site (default 1; 0 = no limit)")
    parser.set_defaults(run=run)


def _local_pages(sources: list[str]) -> list[Path]:
    pages = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise UsageError(f"{source}: no such file or folder (and not an http(s) URL)")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
            if not found:
                raise UsageError(f"{source}: no {', '.join(PAGE_SUFFIXES)} files in this folder")
            pages.extend(found)
        else:
            pages.append(path)
    return pages


class _Scrape:
    """Stores one page at a time and keeps the tally."""

    def __init__(self, store: Store, run_id: int):
        self.store, self.run_id = store, run_id
        self.outcome = WriteOutcome()
        self.pages = self.rejected = self.index_pages = 0

    def page(self, content: bytes, *, url: str | None, location: str, media_type: str | None = None,
             retrieved: str | None = None) -> bool:
        """Store the page's trial; False when the page holds none (an index, or not a listing)."""
        self.pages += 1
        try:
            trial, raw = parse_listing(content, url, media_type=media_type, location=location, retrieved=retrieved)
        except ListingError as error:
            if url is None:  # a file the user named: say so; a fetched page is just an index
                self.reject(location, str(error))
            else:
                self.index_pages += 1
            return False
        except Exception as error:  # noqa: BLE001 — one page the reader does not foresee never stops the others
            self.reject(location, unexpected(error))
            return False
        self.outcome.merge(self.store.write_trials([(trial, raw)]))
        print(terminal_safe(f"{trial.nct_id}: {trial.brief_title[:90]} ({trial.url or location})"))
        return True

    def reject(self, location: str, reason: str) -> None:
        self.rejected += 1
        self.store.record_rejection(self.run_id, location, reason)
        print(terminal_safe(f"skipped {location}: {reason}"), file=sys.stderr)


def run(args) -> int:
    check_range("--max-pages", args.max_pages, 1, 100_000)
    check_range("--rate", args.rate, 0, 1000)
    urls = [s for s in args.sources if s.startswith(("http://", "https://"))]
    files = _local_pages([s for s in args.sources if s not in urls])
    store = open_store(args)
    scrape = _Scrape(store, store.start_run("scrape", " ".join(args.sources)))
    status = "failed"
    try:
        with progress(None, "pages", "scraping") as bar:
            for path in files:
                scrape.page(path.read_bytes(), url=None, location=str(path))
                bar.update(1)
            for fetched in fetch_pages(urls, follow=args.follow, max_pages=args.max_pages, rate=args.rate):
                if isinstance(fetched, FetchedPage):
                    fetched.follow = not scrape.page(fetched.content, url=fetched.url, location=fetched.url,
                                                     media_type=fetched.media_type, retrieved=fetched.retrieved)
                else:
                    scrape.reject(fetched.url, fetched.reason)
                bar.update(1)
        status = "finished"
    finally:
        store.finish_run(scrape.run_id, scrape.outcome, scrape.rejected, status=status)
    c = scrape.outcome.counts()
    index = f", {scrape.index_pages} index pages" if scrape.index_pages else ""
    older = f", {c['older']} older than stored (kept stored)" if c["older"] else ""
    print(f"scrape into {database_path(args)}: {scrape.pages} pages read{index}; {c['added']} added, {c['updated']} updated, "
          f"{c['unchanged']} unchanged{older}, {scrape.rejected} skipped")
    refresh(store)
    return 1 if scrape.rejected and not any(c.values()) else 0
