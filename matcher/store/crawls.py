"""Crawl state in the ``crawls`` table: which search, from which date, where it stands.

A crawl's identity is its ``query_key``: a digest of the normalized search and the base URL, so
the same search against the same registry finds its unfinished crawl and resumes it.
``record_page`` runs inside the transaction that stores the page's trials, so the stored token
always points just past the last stored page.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, fields

from .database import WriteOutcome, utc_now

UNFINISHED = ("running", "interrupted", "failed", "stopped")


@dataclass
class CrawlState:
    id: int
    query_key: str
    query: str
    base_url: str
    since: str | None
    restart_since: str | None
    page_token: str | None
    pages: int
    studies: int
    added: int
    updated: int
    unchanged: int
    older: int
    rejected: int
    retries: int
    last_update_seen: str | None
    status: str
    message: str | None
    started_at: str
    updated_at: str | None
    finished_at: str | None

    @property
    def effective_since(self) -> str | None:
        """The last-update date the crawl's pages are asked from now."""
        return self.restart_since or self.since


_COLUMNS = [f.name for f in fields(CrawlState)]


def query_key(identity: dict[str, str], base_url: str) -> str:
    """The identity of a search against a registry: equal searches give equal keys."""
    canonical = json.dumps({"base_url": base_url.rstrip("/"), **identity}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


def _one(conn: sqlite3.Connection, where: str, params: list) -> CrawlState | None:
    row = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM crawls WHERE {where} ORDER BY id DESC LIMIT 1", params).fetchone()
    return CrawlState(*row) if row else None


def get_crawl(conn: sqlite3.Connection, crawl_id: int) -> CrawlState | None:
    return _one(conn, "id = ?", [crawl_id])


def unfinished_crawl(conn: sqlite3.Connection, key: str) -> CrawlState | None:
    """The latest crawl of this search that did not finish (killed, interrupted, failed, stopped at --max)."""
    marks = ",".join("?" * len(UNFINISHED))
    return _one(conn, f"query_key = ? AND status IN ({marks})", [key, *UNFINISHED])


def last_finished_crawl(conn: sqlite3.Connection, key: str) -> CrawlState | None:
    return _one(conn, "query_key = ? AND status = 'finished'", [key])


def start_crawl(conn: sqlite3.Connection, key: str, query: dict, base_url: str, since: str | None) -> CrawlState:
    now = utc_now()
    with conn:
        cursor = conn.execute(
            "INSERT INTO crawls (query_key, query, base_url, since, status, started_at, updated_at) VALUES (?, ?, ?, ?, 'running', ?, ?)",
            (key, json.dumps(query, sort_keys=True, ensure_ascii=False), base_url, since, now, now),
        )
    return get_crawl(conn, cursor.lastrowid)


def record_page(conn: sqlite3.Connection, crawl_id: int, *, next_token: str | None, studies: int,
                outcome: WriteOutcome, rejected: int, last_update: str | None) -> None:
    """Count one stored page and point the crawl past it. Does not commit: call it inside the
    transaction that wrote the page."""
    counts = outcome.counts()
    conn.execute(
        "UPDATE crawls SET page_token = ?, pages = pages + 1, studies = studies + ?, added = added + ?, "
        "updated = updated + ?, unchanged = unchanged + ?, older = older + ?, rejected = rejected + ?, "
        "last_update_seen = nullif(max(coalesce(last_update_seen, ''), coalesce(?, '')), ''), status = 'running', updated_at = ? "
        "WHERE id = ?",
        (next_token, studies, counts["added"], counts["updated"], counts["unchanged"], counts["older"], rejected,
         last_update, utc_now(), crawl_id),
    )


def set_status(conn: sqlite3.Connection, crawl_id: int, status: str, *, message: str | None = None, retries: int = 0) -> None:
    """Mark a crawl running, interrupted, failed, stopped, finished or abandoned (and add its retries)."""
    now = utc_now()
    with conn:
        conn.execute(
            "UPDATE crawls SET status = ?, message = ?, retries = retries + ?, updated_at = ?, "
            "finished_at = CASE WHEN ? = 'finished' THEN ? ELSE finished_at END, "
            "page_token = CASE WHEN ? = 'finished' THEN NULL ELSE page_token END WHERE id = ?",
            (status, message, retries, now, status, now, status, crawl_id),
        )


def restart_from(conn: sqlite3.Connection, crawl_id: int, since: str | None) -> None:
    """Start the crawl's search again from its first page, asking only for studies updated since ``since``."""
    with conn:
        conn.execute("UPDATE crawls SET page_token = NULL, restart_since = ?, updated_at = ? WHERE id = ?", (since, utc_now(), crawl_id))
