"""Fetch listing pages over HTTP, politely, optionally following links from index pages.

Pages are fetched breadth-first from the start URLs, at most ``max_pages`` of them, each host
at most ``rate`` requests per second (slower if its robots.txt asks for a Crawl-delay), never a
URL its robots.txt disallows for us. With ``follow``, links on a fetched page to other pages of
the same host are queued, unless the consumer sets ``page.follow = False`` before asking for
the next page (the scrape command does so for pages that are trials rather than indexes).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib import robotparser
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
from bs4 import BeautifulSoup

from .politeness import USER_AGENT, RateLimiter, connection_problem

ROBOTS_AGENT = "trialmatch"
MAX_PAGE_BYTES = 5 * 1024 * 1024
_NOT_PAGES = re.compile(r"\.(pdf|jpe?g|png|gif|svg|webp|zip|gz|docx?|xlsx?|pptx?|css|js|ics|mp4|mp3)$", re.I)


@dataclass
class FetchedPage:
    url: str
    content: bytes
    media_type: str  # "text/html" or "text/plain"
    retrieved: str
    follow: bool = True  # the consumer may set False: do not queue this page's links


@dataclass
class SkippedPage:
    url: str
    reason: str


class _Host:
    """What we know about one host: its robots.txt and its request pacing."""

    def __init__(self, origin: str, session: requests.Session, rate: float, timeout):
        self.robots = robotparser.RobotFileParser()
        self.problem: str | None = None
        limiter_rate = rate
        try:
            response = session.get(origin + "/robots.txt", timeout=timeout)
        except requests.RequestException as error:
            self.problem = f"robots.txt unreachable ({connection_problem(error)}); not crawling this host"
        else:
            if response.status_code >= 500:
                self.problem = f"robots.txt answered {response.status_code}; not crawling this host"
            elif response.status_code >= 400:
                self.robots.parse([])  # no robots.txt: everything allowed
            else:
                self.robots.parse(response.text.splitlines())
                delay = self.robots.crawl_delay(ROBOTS_AGENT)
                if delay:
                    limiter_rate = min(rate, 1 / float(delay)) if rate else 1 / float(delay)
        self.limiter = RateLimiter(limiter_rate)

    def allows(self, url: str) -> bool:
        return self.problem is None and self.robots.can_fetch(ROBOTS_AGENT, url)


def same_host_links(page: FetchedPage) -> list[str]:
    """Absolute URLs of the pages a fetched HTML page links to on its own host, in page order."""
    if page.media_type != "text/html":
        return []
    host = urlsplit(page.url).netloc
    found = []
    for anchor in BeautifulSoup(page.content, "lxml").find_all("a", href=True):
        url = urldefrag(urljoin(page.url, anchor["href"].strip())).url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc == host and not _NOT_PAGES.search(parts.path):
            found.append(url)
    return list(dict.fromkeys(found))


def fetch_pages(start_urls: Iterable[str], *, follow: bool = False, max_pages: int = 50, rate: float = 1.0,
                session: requests.Session | None = None, timeout=(10.0, 30.0)) -> Iterator[FetchedPage | SkippedPage]:
    """Every page reached from ``start_urls`` (see the module's description), fetched or skipped with the reason."""
    session = session or requests.Session()
    session.headers.update({"User-Agent": USER_AGENT})
    hosts: dict[str, _Host] = {}
    queue = deque(dict.fromkeys(urldefrag(u).url for u in start_urls))
    seen = set(queue)
    fetched = 0
    while queue and fetched < max_pages:
        url = queue.popleft()
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in hosts:
            hosts[origin] = _Host(origin, session, rate, timeout)
        host = hosts[origin]
        if not host.allows(url):
            yield SkippedPage(url, host.problem or "disallowed by robots.txt")
            continue
        host.limiter.wait()
        fetched += 1
        page = _fetch(session, url, timeout)
        yield page
        if follow and isinstance(page, FetchedPage) and page.follow:
            for link in same_host_links(page):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)


def _fetch(session: requests.Session, url: str, timeout) -> FetchedPage | SkippedPage:
    try:
        with session.get(url, timeout=timeout, stream=True) as response:
            if response.status_code >= 400:
                return SkippedPage(url, f"HTTP {response.status_code} {response.reason}")
            kind = response.headers.get("Content-Type", "text/html").split(";")[0].strip().lower()
            if kind not in ("text/html", "application/xhtml+xml", "text/plain"):
                return SkippedPage(url, f"not a web page ({kind})")
            content = b""
            for chunk in response.iter_content(64 * 1024):
                content += chunk
                if len(content) > MAX_PAGE_BYTES:
                    return SkippedPage(url, f"larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB")
            media_type = "text/plain" if kind == "text/plain" else "text/html"
            return FetchedPage(response.url, content, media_type, datetime.now(timezone.utc).isoformat(timespec="seconds"))
    except requests.RequestException as error:
        return SkippedPage(url, f"could not fetch ({connection_problem(error)})")
