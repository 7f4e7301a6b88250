"""Which requests a loopback registry server answers badly, and how. Deterministic: the same
plan faults the same request numbers every run."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# What each fault does to the response:
FAULTS = {
    "429": "429 Too Many Requests with a Retry-After header",
    "500": "500 Internal Server Error",
    "503": "503 Service Unavailable",
    "drop": "200 with its full Content-Length, but the connection closes halfway through the body",
    "invalid-json": "200 with a body that is truncated JSON",
    "slow": "a correct answer after a delay (a timeout for an impatient client)",
    "repeat": "a correct page whose next page starts again with this page's last study",
}
FAILING = ("429", "500", "503", "drop", "invalid-json")


@dataclass
class FaultPlan:
    """Faults by request number (1-based, counting every request for studies).

    ``script`` names the fault of given request numbers; the others are faulted at random with
    probability ``rate``, drawing one of ``kinds`` from a generator seeded by ``seed`` and the
    request number. ``empty_last_page`` makes the last page of every search point to one more,
    empty, page (as the live API sometimes does).
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAILING
    seed: int = 0
    script: dict[int, str] = field(default_factory=dict)
    retry_after: str = "1"  # Retry-After of a 429: seconds, or an HTTP date
    slow_seconds: float = 2.0
    empty_last_page: bool = False

    def __post_init__(self):
        unknown = sorted({*self.kinds, *self.script.values()} - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULTS)}")
        if not 0 <= self.rate <= 1:
            raise ValueError(f"fault rate must be between 0 and 1, not {self.rate}")

    def fault_for(self, request_number: int) -> str | None:
        if request_number in self.script:
            return self.script[request_number]
        if not self.rate or not self.kinds:
            return None
        draw = random.Random(f"{self.seed}:{request_number}")
        return draw.choice(self.kinds) if draw.random() < self.rate else None
