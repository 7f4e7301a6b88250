"""Ranked matches and the patient as the physician page shows them: plain words, no markup.

Everything here is text for an autoescaping template; links are kept only when they are
http(s), so a registry record cannot smuggle a ``javascript:`` URL into the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from models.match import Match, Verdict
from models.patient import Patient

from ..eligibility.reading import diagnoses_read

ELIGIBILITY_LABELS = {
    "eligible": "✓ Eligible on the record",
    "possible": "? Possibly eligible: some criteria unknown",
    "ineligible": "✗ Not eligible: a criterion fails",
}
OUTCOME_LABELS = {
    "satisfied": "✓ satisfied",
    "failed": "✗ fails",
    "unknown": "? unknown",
    "to_confirm": "confirm at screening",
}
PHASE_LABELS = {"EARLY_PHASE1": "Early phase 1", "NA": "Not applicable"}


@dataclass
class CriterionLine:
    kind: str  # inclusion / exclusion
    text: str
    outcome: str  # one of models.match.OUTCOMES
    outcome_label: str
    reason: str


@dataclass
class MatchView:
    rank: int
    nct_id: str
    title: str
    registry_url: str | None
    browse_url: str
    status: str
    phases: str
    site: str | None
    eligibility: str
    eligibility_label: str
    counts: dict[str, int]
    failed: list[CriterionLine]
    unknown: list[CriterionLine]
    to_confirm: list[CriterionLine]
    criteria: list[CriterionLine]
    why: list[str]  # what moved the learned score most
    eligible_chance: str | None  # the learned probability of eligibility, in words


def enum_label(value: str | None) -> str:
    """``NOT_YET_RECRUITING`` → ``Not yet recruiting``."""
    return value.replace("_", " ").capitalize() if value else "not given"


def phase_label(phases: list[str]) -> str:
    if not phases:
        return "not given"
    return ", ".join(PHASE_LABELS.get(p) or p.replace("PHASE", "Phase ") for p in phases)


def web_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def site_label(match: Match) -> str | None:
    site = match.nearest_site
    if site is None:
        return None
    place = ", ".join(part for part in (site.facility, site.city, site.country) if part)
    if site.distance_km is None:
        return place or None
    return f"{place} ({site.distance_km:g} km away)" if place else f"{site.distance_km:g} km away"


def criterion_line(verdict: Verdict) -> CriterionLine:
    return CriterionLine(
        kind=verdict.criterion.kind, text=verdict.criterion.text, outcome=verdict.outcome,
        outcome_label=OUTCOME_LABELS[verdict.outcome], reason=verdict.reason,
    )


def match_view(match: Match, browse_path: str) -> MatchView:
    """``browse_path``: the path of the trials table of the browse view (``/trials/trials``)."""
    criteria = [criterion_line(v) for v in match.verdicts]
    lines = {outcome: [c for c in criteria if c.outcome == outcome] for outcome in OUTCOME_LABELS}
    return MatchView(
        rank=match.rank,
        nct_id=match.nct_id,
        title=match.title or match.nct_id,
        registry_url=web_url(match.url),
        browse_url=f"{browse_path}/{quote(match.nct_id, safe='')}",
        status=enum_label(match.status),
        phases=phase_label(match.phases),
        site=site_label(match),
        eligibility=match.eligibility,
        eligibility_label=ELIGIBILITY_LABELS[match.eligibility],
        counts=match.tally(),
        failed=lines["failed"],
        unknown=lines["unknown"],
        to_confirm=lines["to_confirm"],
        criteria=criteria,
        why=match.explanation,
        eligible_chance=(f"chance of eligibility learned from judged cases: {round(100 * match.eligible_probability)} % "
                         "(a rough guide)" if match.eligible_probability is not None else None),
    )


def _when(start, end) -> str:
    if start and end:
        return f" ({start} to {end})"
    if start:
        return f" (since {start})"
    return f" (until {end})" if end else ""


def patient_facts(patient: Patient) -> list[tuple[str, str]]:
    """What the matcher read from the form and the note, as (heading, text) lines."""
    facts = []
    person = [f"{patient.age:g} years" if patient.age is not None else "age not given", patient.sex or "sex not given"]
    if patient.pregnant is not None:
        person.append("pregnant" if patient.pregnant else "not pregnant")
    facts.append(("Patient", ", ".join(person) + f"; record as of {patient.as_of}"))

    def listed(items, describe):
        present = [describe(item) for item in items if not item.negated]
        absent = [item.name for item in items if item.negated]
        return "; ".join(present + [f"no {name}" for name in absent])

    facts.append(("Diagnoses", "; ".join(r.line() for r in diagnoses_read(patient))))
    facts.append(("Labs", "; ".join(
        f"{lab.name} {lab.value:g}{' ' + lab.unit if lab.unit else ''}{f' on {lab.date}' if lab.date else ''}" for lab in patient.labs)))
    facts.append(("Therapies", listed(patient.medications, lambda m: m.name + _when(m.start, m.end)
                                      + {True: ", current", False: ", past"}.get(m.current, ""))))
    facts.append(("Procedures", listed(patient.procedures, lambda p: p.name + (f" ({p.date})" if p.date else ""))))
    return [(heading, text or "none given") for heading, text in facts]
