"""How our crawlers behave towards a server: who they say they are, how often they ask, how
they back off when it struggles. Shared by the registry client and the listing fetcher."""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from importlib import metadata


def _version() -> str:
    try:
        return metadata.version("trialmatch")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"trialmatch/{_version()} (open-source clinical trial matcher; keeps a local copy of ClinicalTrials.gov)"


class RateLimiter:
    """At most ``rate`` request starts per second, evenly spaced; ``rate`` 0 means no limit.

    Thread-safe: concurrent callers queue up for their slots.
    """

    def __init__(self, rate: float, *, clock=time.monotonic, sleep=time.sleep):
        if rate < 0:
            raise ValueError(f"rate must be 0 (no limit) or more requests per second, not {rate}")
        self.interval = 1.0 / rate if rate else 0.0
        self._clock, self._sleep = clock, sleep
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until the next request may start; returns the seconds waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
        return slot - now


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header → seconds to wait: delay-seconds or an HTTP date. None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter, deferring to the server's Retry-After.

    Retry ``n`` (1-based) waits a random time between half and all of
    ``min(backoff_max, backoff_base * 2 ** (n - 1))`` seconds, unless the server said how long
    (Retry-After), which is honoured exactly; a Retry-After longer than ``retry_after_max`` is
    not waited out: the request fails instead, saying so.
    """

    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = 600.0

    def __post_init__(self):
        if self.max_retries < 0 or self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("retries and backoff times cannot be negative")

    def delay(self, retry_number: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        if retry_after is not None:
            return retry_after
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (retry_number - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)


def connection_problem(error: Exception) -> str:
    """The root cause of a requests connection error, short enough for one line."""
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    if found:
        return found[-1].strip()
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:160]}"
