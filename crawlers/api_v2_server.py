"""A loopback ClinicalTrials.gov API v2 server, for tests, benchmarks and demos.

It serves a ``StudyCatalog`` on 127.0.0.1 with the API's semantics where a crawler depends on
them: ``GET /api/v2/studies`` with ``query.cond``, ``query.term``, ``query.intr``,
``query.locn``, ``filter.overallStatus``, ``filter.advanced`` (``AREA[LastUpdatePostDate]RANGE[…]``
terms joined by ``AND``), ``sort`` (NCT id or last update, ascending), ``pageSize`` (default 10,
coerced down to 1,000), opaque ``pageToken`` / ``nextPageToken`` cursors bound to their query,
``countTotal``; ``GET /api/v2/studies/{nctId}``; ``GET /api/v2/version``. Bad parameters get
400, as on the live API.

A ``FaultPlan`` makes chosen requests fail (429 with Retry-After, 500, 503, a connection dropped
mid-body, truncated JSON, a slow answer, a study repeated on two pages, an empty last page), and
``hold_after_pages`` parks every request after the n-th page until ``release()`` — so a test can
kill a crawler at a known point.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from models.trial import NCT_ID, STATUSES

from .fault_plan import FaultPlan
from .study_catalog import StudyCatalog, StudyFilter

API_PREFIX = "/api/v2"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
SEARCH_PARAMS = {
    "query.cond": "condition",
    "query.term": "term",
    "query.intr": "intervention",
    "query.locn": "location",
}
KNOWN_PARAMS = {*SEARCH_PARAMS, "filter.overallStatus", "filter.advanced", "pageSize", "pageToken", "countTotal", "sort", "format"}
_SORTS = {"nctid": "nctid", "@relevance": "nctid", "lastupdatepostdate": "lastupdatepostdate"}
_RANGE = re.compile(r"^AREA\[LastUpdatePostDate\]RANGE\[\s*([^,\]]+?)\s*,\s*([^,\]]+?)\s*\]$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class BadRequest(Exception):
    """A request the live API would answer with 400; the message is the answer's body."""


@dataclass
class LoggedRequest:
    at: float  # time.monotonic() when the request arrived
    path: str
    params: dict[str, str]
    user_agent: str
    status: int = 0
    fault: str | None = None


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    is_page: bool = False


class RegistryServer:
    """``with RegistryServer(catalog, faults=FaultPlan(...)) as server: crawl(server.base_url)``."""

    def __init__(self, catalog: StudyCatalog, *, faults: FaultPlan | None = None, port: int = 0,
                 token_lifetime: float | None = None):
        self.catalog = catalog
        self.faults = faults or FaultPlan()
        self.token_lifetime = token_lifetime  # seconds a page token stays valid; None = forever
        self.log: list[LoggedRequest] = []
        self.faults_injected: Counter[str] = Counter()
        self.pages_served = 0
        self.hold_after_pages: int | None = None
        self.holding = threading.Event()  # set while a request is parked by hold_after_pages
        self._released = threading.Event()
        self._secret = secrets.token_bytes(16)
        self._token_generation = 0
        self._lock = threading.Lock()
        self._study_requests = 0
        self._http = _QuietHTTPServer(("127.0.0.1", port), _Handler)
        self._http.daemon_threads = True
        self._http.registry = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}{API_PREFIX}"

    def start(self) -> RegistryServer:
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), name="loopback-registry", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def stop(self) -> None:
        self.release()
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def release(self) -> None:
        """Let requests parked by ``hold_after_pages`` go on, and stop parking them."""
        self.hold_after_pages = None
        self._released.set()

    def expire_tokens(self) -> None:
        """Every page token handed out so far becomes invalid (as the live API's cursors do in time)."""
        with self._lock:
            self._token_generation += 1

    # ------------------------------------------------------------------ request handling

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        raw_params = parse_qs(url.query, keep_blank_values=True)
        params = {name: values[-1] for name, values in raw_params.items()}
        entry = LoggedRequest(time.monotonic(), url.path, params, handler.headers.get("User-Agent", ""))
        with self._lock:
            self.log.append(entry)
        path = url.path[len(API_PREFIX):] if url.path.startswith(API_PREFIX + "/") else None
        fault = None
        if path == "/studies" or (path or "").startswith("/studies/"):
            self._wait_if_held()
            with self._lock:
                self._study_requests += 1
                fault = self.faults.fault_for(self._study_requests)
                if fault:
                    self.faults_injected[fault] += 1
            entry.fault = fault
        try:
            if fault in ("429", "500", "503"):
                answer = self._failure(fault)
            else:
                if fault == "slow":
                    time.sleep(self.faults.slow_seconds)
                answer = self._answer(path, params, raw_params, repeat_last=fault == "repeat")
        except BadRequest as error:
            answer = _Answer(400, str(error).encode("utf-8"), "text/plain; charset=utf-8")
        entry.status = answer.status
        self._send(handler, answer, fault)
        if answer.is_page and fault not in ("drop", "invalid-json"):
            with self._lock:
                self.pages_served += 1

    def _wait_if_held(self) -> None:
        if self.hold_after_pages is not None and self.pages_served >= self.hold_after_pages:
            self.holding.set()
            self._released.wait()

    def _failure(self, fault: str) -> _Answer:
        if fault == "429":
            return _Answer(429, b"Too Many Requests", "text/plain", {"Retry-After": self.faults.retry_after})
        return _Answer(int(fault), f"loopback registry: injected {fault}".encode(), "text/plain")

    def _answer(self, path: str | None, params: dict[str, str], raw_params: dict[str, list[str]], *, repeat_last: bool) -> _Answer:
        if path == "/version":
            body = {"apiVersion": "2.0.5-loopback", "dataTimestamp": self.catalog.data_timestamp}
            return _Answer(200, json.dumps(body).encode())
        if path == "/studies":
            return self._search(params, raw_params, repeat_last=repeat_last)
        if path is not None and path.startswith("/studies/"):
            nct_id = path[len("/studies/"):]
            if not NCT_ID.match(nct_id):
                raise BadRequest(f"Invalid NCT ID: {nct_id}")
            body = self.catalog.study(nct_id)
            if body is None:
                return _Answer(404, f"Study {nct_id} not found".encode(), "text/plain")
            return _Answer(200, body)
        return _Answer(404, b"Not Found", "text/plain")

    def _search(self, params: dict[str, str], raw_params: dict[str, list[str]], *, repeat_last: bool) -> _Answer:
        unknown = sorted(set(params) - KNOWN_PARAMS)
        if unknown:
            raise BadRequest(f"Unknown parameter(s): {', '.join(unknown)}")
        repeated = sorted(name for name, values in raw_params.items() if len(values) > 1)
        if repeated:
            raise BadRequest(f"Parameter(s) given more than once: {', '.join(repeated)}")
        if params.get("format", "json") != "json":
            raise BadRequest("This server answers format=json only")
        search = _parse_filter(params)
        sort = _parse_sort(params.get("sort"))
        size = _parse_page_size(params.get("pageSize"))
        count_total = _parse_bool("countTotal", params.get("countTotal", "false"))
        query_digest = self._query_digest(params)
        entries, keys = self.catalog.search(search, sort)
        start = 0
        if params.get("pageToken"):
            start = bisect.bisect_right(keys, self._read_token(params["pageToken"], query_digest))
        page = entries[start:start + size]
        next_key = None
        if start + size < len(entries):
            next_key = keys[start + len(page) - (2 if repeat_last and len(page) >= 2 else 1)]
        elif page and self.faults.empty_last_page:
            next_key = keys[start + len(page) - 1]
        parts = [b'{"studies":[', b",".join(e.body for e in page), b"]"]
        if next_key is not None:
            parts.append(b',"nextPageToken":"' + self._make_token(query_digest, next_key).encode() + b'"')
        if count_total and not params.get("pageToken"):
            parts.append(b',"totalCount":' + str(len(entries)).encode())
        parts.append(b"}")
        return _Answer(200, b"".join(parts), is_page=True)

    # ------------------------------------------------------------------ page tokens

    @staticmethod
    def _query_digest(params: dict[str, str]) -> str:
        relevant = {k: v for k, v in params.items() if k not in ("pageToken", "pageSize", "countTotal", "format")}
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]

    def _make_token(self, query_digest: str, key: tuple[str, str]) -> str:
        payload = json.dumps([self._token_generation, query_digest, *key, int(time.time())], separators=(",", ":")).encode()
        signature = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        return (base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." +
                base64.urlsafe_b64encode(signature).decode().rstrip("="))

    def _read_token(self, token: str, query_digest: str) -> tuple[str, str]:
        try:
            encoded, encoded_signature = token.split(".")
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            signature = base64.urlsafe_b64decode(encoded_signature + "=" * (-len(encoded_signature) % 4))
            generation, digest, first, second, issued = json.loads(payload)
        except (ValueError, TypeError):
            raise BadRequest("Invalid pageToken") from None
        if not hmac.compare_digest(signature, hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]):
            raise BadRequest("Invalid pageToken")
        expired = self.token_lifetime is not None and time.time() - issued > self.token_lifetime
        if generation != self._token_generation or expired:
            raise BadRequest("pageToken has expired; start the search again")
        if digest != query_digest:
            raise BadRequest("pageToken belongs to a different query")
        return (first, second)

    # ------------------------------------------------------------------ sending

    def _send(self, handler: BaseHTTPRequestHandler, answer: _Answer, fault: str | None) -> None:
        body = answer.body
        if fault == "invalid-json":
            body = body[: len(body) // 2]
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if fault == "drop":
            handler.wfile.write(body[: len(body) // 2])
            handler.close_connection = True
            return
        handler.wfile.write(body)


class _QuietHTTPServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up (or was killed)
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "loopback-registry"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.registry.handle(self)

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass  # tests and benchmarks read RegistryServer.log instead


# ---------------------------------------------------------------------- parameter parsing


def _parse_filter(params: dict[str, str]) -> StudyFilter:
    search = StudyFilter(**{field: params[name] for name, field in SEARCH_PARAMS.items() if params.get(name)})
    if params.get("filter.overallStatus"):
        statuses = {s.strip().upper() for s in re.split(r"[,|]", params["filter.overallStatus"]) if s.strip()}
        invalid = sorted(statuses - set(STATUSES))
        if invalid:
            raise BadRequest(f"filter.overallStatus: invalid value(s) {', '.join(invalid)}")
        search.statuses = frozenset(statuses)
    if params.get("filter.advanced"):
        search.updated_from, search.updated_to = _parse_update_range(params["filter.advanced"])
    return search


def _parse_update_range(expression: str) -> tuple[str | None, str | None]:
    """``AREA[LastUpdatePostDate]RANGE[a,b]`` terms joined by AND → the intersected (from, to)."""
    low, high = None, None
    for term in re.split(r"\s+AND\s+", expression.strip()):
        match = _RANGE.match(term.strip().lstrip("(").rstrip(")").strip())
        if not match:
            raise BadRequest(
                f"filter.advanced: this loopback server understands only AREA[LastUpdatePostDate]RANGE[from,to] "
                f"terms joined by AND, not {term!r}"
            )
        start, end = (None if v.upper() in ("MIN", "MAX") else v for v in match.groups())
        for value in (start, end):
            if value is not None and not _DATE.match(value):
                raise BadRequest(f"filter.advanced: {value!r} is not a date (YYYY-MM-DD, MIN or MAX)")
        low = max(filter(None, (low, start)), default=None)
        high = min(filter(None, (high, end)), default=None)
    return low, high


def _parse_sort(value: str | None) -> str:
    if not value:
        return "nctid"
    name, _, direction = value.partition(":")
    sort = _SORTS.get(name.strip().lower())
    if sort is None:
        raise BadRequest(f"sort: unknown field {name!r} (this server sorts by NCTId or LastUpdatePostDate)")
    if direction and direction.lower() != "asc":
        raise BadRequest(f"sort: this server sorts in ascending order only, not {direction!r}")
    return sort


def _parse_page_size(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        raise BadRequest(f"pageSize: not an integer: {value!r}") from None
    if size < 0:
        raise BadRequest(f"pageSize: must not be negative: {size}")
    return min(size, MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE


def _parse_bool(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise BadRequest(f"{name}: expected true or false, not {value!r}")
    return value.lower() == "true"
