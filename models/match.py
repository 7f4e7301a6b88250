"""What matching says: a verdict per criterion, and a ranked match per trial."""

from __future__ import annotations

from dataclasses import dataclass, field

from .criteria import Criterion

VERDICTS = ("met", "not_met", "unknown")
ELIGIBILITY = ("eligible", "possible", "ineligible")


@dataclass
class Verdict:
    """Whether a criterion's statement holds for the patient.

    An exclusion criterion that is ``met`` excludes. ``to_confirm`` marks administrative
    criteria (consent, compliance, investigator judgement) that screening settles.
    """

    criterion: Criterion
    verdict: str  # one of VERDICTS
    reason: str
    evidence: list[str] = field(default_factory=list)
    rule: str | None = None  # which rule decided, for tracing
    to_confirm: bool = False

    @property
    def outcome(self) -> str:
        """For the patient: ``satisfied``, ``failed``, ``unknown``, or ``to_confirm`` at screening."""
        if self.to_confirm:
            return "to_confirm"
        if self.verdict == "unknown":
            return "unknown"
        return "satisfied" if (self.verdict == "met") == (self.criterion.kind == "inclusion") else "failed"


@dataclass
class NearestSite:
    facility: str | None
    city: str | None
    country: str | None = None
    distance_km: float | None = None


@dataclass
class Match:
    nct_id: str
    title: str
    status: str | None
    score: float
    eligibility: str  # one of ELIGIBILITY
    verdicts: list[Verdict] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    nearest_site: NearestSite | None = None
    relevance: float = 0.0
    rank: int = 0

    @property
    def url(self) -> str:
        return f"https://clinicaltrials.gov/study/{self.nct_id}"

    def counts(self) -> dict[str, int]:
        """Verdicts by value (an exclusion that is ``not_met`` counts under ``not_met``)."""
        tally = {v: 0 for v in VERDICTS}
        for v in self.verdicts:
            if not v.to_confirm:
                tally[v.verdict] += 1
        return tally

    def tally(self) -> dict[str, int]:
        """Criteria the patient satisfies, fails, or that are still unknown, and those to
        confirm at screening: what a physician reads first."""
        tally = {"satisfied": 0, "failed": 0, "unknown": 0, "to_confirm": 0}
        for v in self.verdicts:
            tally[v.outcome] += 1
        return tally
