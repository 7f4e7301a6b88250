"""ClinicalTrials.gov API v2 client: search pages by cursor, single studies, the data version.

One ``RegistryClient`` holds a requests Session, a rate limit (default 1 request/s) and a retry
policy: 429, 5xx, timeouts, dropped connections and truncated or invalid JSON are retried with
exponential backoff and jitter, honouring ``Retry-After``, a bounded number of times, after which
``RetriesExhausted`` says what went wrong. The base URL is a parameter, so the same code crawls
the live registry or the loopback server of ``crawlers.api_v2_server``.

Search results are asked for in ascending order of last update (``sort=LastUpdatePostDate:asc``):
a crawl whose cursor has expired can then restart from the last update date it reached instead
of from the beginning, and a study updated during a crawl moves behind the cursor, so the crawl
still sees its newest version.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from datetime import date, datetime, timezone
from urllib.parse import quote

import requests

from models.trial import NCT_ID

from .politeness import USER_AGENT, RateLimiter, RetryPolicy, connection_problem, parse_retry_after

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2"
MAX_PAGE_SIZE = 1000
SORT_ORDER = "LastUpdatePostDate:asc"
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class RegistryError(Exception):
    """The registry could not give us what we asked for; the message says why."""


class RequestRejected(RegistryError):
    """The server refused the request itself (4xx): retrying the same request cannot help."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class PageTokenRejected(RequestRejected):
    """The server no longer accepts a page token (the live API's cursors expire)."""


class RetriesExhausted(RegistryError):
    """Every allowed attempt failed; the message names the request and the last problem."""

    def __init__(self, message: str, problem: str):
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class StudyQuery:
    """A search of the registry, as the user asked for it (no paging, no incremental date)."""

    condition: str | None = None
    term: str | None = None
    intervention: str | None = None
    location: str | None = None
    statuses: tuple[str, ...] = ()
    advanced: str | None = None  # filter.advanced, in the registry's Essie syntax

    _PARAMS = (("condition", "query.cond"), ("term", "query.term"), ("intervention", "query.intr"), ("location", "query.locn"))

    def params(self, since: str | None = None) -> dict[str, str]:
        """The request parameters; ``since`` (ISO date) adds a last-update range filter."""
        params = {name: getattr(self, attr) for attr, name in self._PARAMS if getattr(self, attr)}
        if self.statuses:
            params["filter.overallStatus"] = ",".join(self.statuses)
        advanced = [f"({self.advanced})"] if self.advanced else []
        if since:
            advanced.append(updated_since_filter(since))
        if advanced:
            params["filter.advanced"] = " AND ".join(advanced)
        return params

    def identity(self) -> dict[str, str]:
        """The query normalized (case, spacing, status order), so equal searches compare equal."""
        normal = lambda text: " ".join(text.split()).casefold()  # noqa: E731
        identity = {attr: normal(getattr(self, attr)) for attr, _ in self._PARAMS if getattr(self, attr)}
        if self.statuses:
            identity["statuses"] = ",".join(sorted({s.upper() for s in self.statuses}))
        if self.advanced:
            identity["advanced"] = " ".join(self.advanced.split())
        return identity

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in self.identity().items()]
        return ", ".join(parts) or "all studies"


def updated_since_filter(since: str) -> str:
    """The Essie expression for "last update posted on or after ``since``"."""
    date.fromisoformat(since)  # raises ValueError for anything but YYYY-MM-DD
    return f"AREA[LastUpdatePostDate]RANGE[{since},MAX]"


@dataclass(frozen=True)
class UnreadableStudy:
    """A study of a page that cannot be decoded on its own (nested too deeply for the decoder);
    the others of its page are read as usual."""

    reason: str


_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def decode_response(content: bytes) -> Any:
    """The JSON of a response. A search page that the decoder cannot take whole (a study nested
    thousands deep) is decoded study by study: that study becomes an ``UnreadableStudy``."""
    try:
        return json.loads(content)
    except RecursionError:
        pass
    depth, key, array, start, studies = 0, None, None, None, []
    for token in _JSON_TOKEN.finditer(content):
        text = token.group()
        if text in (b"[", b"{"):
            depth += 1
            if depth == 2 and key == b'"studies"' and text == b"[":
                array = [token.start(), None]
            elif depth == 3 and array and array[1] is None:
                start = token.start()
        elif text in (b"]", b"}"):
            depth -= 1
            if depth == 2 and start is not None:
                studies.append(_study(content[start:token.end()]))
                start = None
            elif depth == 1 and array and array[1] is None:
                array[1] = token.end()
        elif depth == 1 and text.startswith(b'"'):
            key = text
    try:
        document = json.loads(content[:array[0]] + b"[]" + content[array[1]:]) if array and array[1] else None
    except RecursionError:
        document = None
    if not isinstance(document, dict):
        raise ValueError("nested too deeply")
    document["studies"] = studies
    return document


def _study(content: bytes) -> dict | UnreadableStudy:
    try:
        return json.loads(content)
    except RecursionError:
        return UnreadableStudy("invalid JSON: nested too deeply")
    except ValueError as error:
        return UnreadableStudy(f"invalid JSON: {error}")


@dataclass
class Page:
    """One page of search results as received."""

    url: str
    studies: list[dict | UnreadableStudy]
    next_token: str | None
    retrieved: str  # ISO timestamp of the fetch
    total: int | None = None  # totalCount, when asked for


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    bytes: int = 0
    seconds_in_requests: float = 0.0  # from sending a request to having its whole body
    seconds_backing_off: float = 0.0
    seconds_rate_limited: float = 0.0
    problems: list[str] = field(default_factory=list)  # the reason of every retry, in order


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RegistryClient:
    """A polite, fault-tolerant client of the API v2 at ``base_url``.

    ``on_retry(problem, delay)`` is called before each retry (for progress displays).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        rate: float = 1.0,
        retry: RetryPolicy = RetryPolicy(),
        timeout: tuple[float, float] = (10.0, 60.0),
        user_agent: str = USER_AGENT,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
        on_retry=None,
    ):
        self.base_url = base_url.rstrip("/")
        self.limiter = RateLimiter(rate)
        self.retry = retry
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        self.rng = rng or random.Random()
        self.on_retry = on_retry
        self.stats = ClientStats()

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ requests

    def get_json(self, path: str, params: dict | None = None) -> tuple[str, dict]:
        """GET ``{base_url}{path}`` → (the URL asked for, the JSON object), retrying as the policy allows."""
        url = self.base_url + path
        retries = 0
        while True:
            result, problem, retry_after = self._attempt(url, params)
            if result is not None:
                return result
            if retries >= self.retry.max_retries:
                raise RetriesExhausted(f"GET {url} failed after {retries} retries: {problem}", problem)
            retries += 1
            delay = self.retry.delay(retries, retry_after, self.rng)
            if delay > self.retry.retry_after_max:
                raise RetriesExhausted(f"GET {url}: the server asks to retry after {delay:.0f} s, longer than we wait ({problem})", problem)
            self.stats.retries += 1
            self.stats.problems.append(problem)
            if self.on_retry:
                self.on_retry(problem, delay)
            time.sleep(delay)
            self.stats.seconds_backing_off += delay

    def _attempt(self, url: str, params: dict | None) -> tuple[tuple[str, dict] | None, str, float | None]:
        """One request: ((url, document), "", None) on success, else (None, the problem, Retry-After seconds)."""
        self.stats.seconds_rate_limited += self.limiter.wait()
        self.stats.requests += 1
        started = time.perf_counter()
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
            content = response.content
        except requests.Timeout as error:
            return None, f"timed out ({type(error).__name__})", None
        except requests.RequestException as error:  # refused, reset, dropped mid-body
            return None, f"connection failed ({connection_problem(error)})", None
        finally:
            self.stats.seconds_in_requests += time.perf_counter() - started
        self.stats.bytes += len(content)
        status = f"{response.status_code} {response.reason}"
        if response.status_code in RETRIED_STATUSES or response.status_code >= 500:
            return None, status, parse_retry_after(response.headers.get("Retry-After"))
        if response.status_code >= 400:
            detail = " ".join(response.text.split())[:300]
            raise RequestRejected(f"{status} for {response.url}: {detail}", response.status_code)
        try:
            document = decode_response(content)
        except ValueError as error:  # truncated or not JSON at all (UnicodeDecodeError is a ValueError)
            return None, f"invalid JSON in a {len(content):,}-byte response ({error})", None
        if not isinstance(document, dict):
            return None, f"unexpected JSON: a {type(document).__name__}, not an object", None
        return (response.url, document), "", None

    # ------------------------------------------------------------------ the API

    def search_page(self, query: StudyQuery, *, since: str | None = None, page_token: str | None = None,
                    page_size: int = MAX_PAGE_SIZE, count_total: bool = False) -> Page:
        """One page of ``GET /studies``. A rejected ``page_token`` raises PageTokenRejected."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        params = {**query.params(since), "sort": SORT_ORDER, "pageSize": str(page_size), "format": "json"}
        if page_token:
            params["pageToken"] = page_token
        if count_total:
            params["countTotal"] = "true"
        try:
            url, document = self.get_json("/studies", params)
        except RequestRejected as error:
            if page_token and error.status == 400:
                raise PageTokenRejected(str(error), error.status) from None
            raise
        studies = document.get("studies", [])
        if not isinstance(studies, list):
            raise RegistryError(f"{url}: 'studies' is a {type(studies).__name__}, not a list")
        total, token = document.get("totalCount"), document.get("nextPageToken") or None
        if token is not None and not isinstance(token, str):
            raise RegistryError(f"{url}: 'nextPageToken' is a {type(token).__name__}, not text")
        counted = isinstance(total, int) and not isinstance(total, bool)
        return Page(url, studies, token, _now(), total if counted else None)

    def pages(self, query: StudyQuery, *, since: str | None = None, page_token: str | None = None,
              page_size: int = MAX_PAGE_SIZE, limit: int | None = None) -> Iterator[Page]:
        """Every page of a search, from ``page_token`` (or the start) until there is no next token.

        ``limit`` stops after that many studies, asking for a smaller last page so none is
        fetched in vain; the last page's ``next_token`` then says where the search would go on.
        The first page carries ``total`` when the search starts from the beginning.
        """
        remaining = limit
        while True:
            size = min(page_size, remaining) if remaining is not None else page_size
            page = self.search_page(query, since=since, page_token=page_token, page_size=size, count_total=page_token is None)
            yield page
            if remaining is not None:
                remaining -= len(page.studies)
                if remaining <= 0:
                    return
            if not page.next_token:
                return
            page_token = page.next_token

    def fetch_study(self, nct_id: str) -> tuple[str, dict, str]:
        """``GET /studies/{nctId}`` → (URL, the study, fetch time). An unknown id raises RequestRejected (404)."""
        if not NCT_ID.match(nct_id):
            raise ValueError(f"not an NCT id: {nct_id!r} (expected NCT and 8 digits)")
        url, study = self.get_json(f"/studies/{quote(nct_id)}", {"format": "json"})
        return url, study, _now()

    def version(self) -> dict:
        """``GET /version``: ``apiVersion`` and ``dataTimestamp`` (when the registry's data was refreshed)."""
        return self.get_json("/version")[1]
