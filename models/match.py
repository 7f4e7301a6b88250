"""What matching says: a verdict per criterion, and a ranked match per trial."""

from __future__ import annotations

from dataclasses import dataclass, field

from .criteria import Criterion
from .trial import study_url

VERDICTS = ("met", "not_met", "unknown")
ELIGIBILITY = ("eligible", "possible", "ineligible")
OUTCOMES = ("satisfied", "failed", "unknown", "to_confirm")  # a verdict seen from the patient's side


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
        """What the verdict means for the patient: ``satisfied`` (an inclusion met, an exclusion
        not met), ``failed``, ``unknown``, or ``to_confirm`` (at screening)."""
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
    open: bool = True  # open to enrolment (models.trial.site_is_open); False: no site of the trial is


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
    source_url: str | None = None  # the listing page a trial without an NCT id was scraped from
    explanation: list[str] = field(default_factory=list)  # what moved the learned score most, in words
    eligible_probability: float | None = None  # learned: eligible rather than excluded, if relevant

    @property
    def url(self) -> str | None:
        """The registry's page of the trial (for a local id, its listing page, if known)."""
        return study_url(self.nct_id, self.source_url)

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
        tally = dict.fromkeys(OUTCOMES, 0)
        for v in self.verdicts:
            tally[v.outcome] += 1
        return tally

    def with_outcome(self, outcome: str) -> list[Verdict]:
        """The verdicts with this outcome (one of OUTCOMES), in the criteria's order."""
        return [v for v in self.verdicts if v.outcome == outcome]
