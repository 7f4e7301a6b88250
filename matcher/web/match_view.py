"""Ranked matches and the patient as the physician's pages show them: plain words, no markup.

Everything here is text for an autoescaping template; links are kept only when they are
http(s), so a registry record cannot smuggle a ``javascript:`` URL into the page.

A result says first what decides it (the two or three reasons), then the open questions as a
checklist in three groups — labs to order, history to ask, to confirm at screening — leaving
out what is not a question (a lead-in ending with a colon, a stray word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
CATEGORY_LABELS = {"time_window": "time window", "performance_status": "performance status"}
# The checklist's groups, in the order a physician works through them.
QUESTION_GROUPS = {"labs": "Labs to order", "history": "History to ask", "screening": "To confirm at screening"}
PERFORMANCE_SCORES = {"ecog", "karnofsky", "lansky", "who_performance_status"}  # asked or examined, not ordered
DECIDING = 3  # reasons shown per trial
# What decides a trial, among the criteria the record bears on: the disease first.
_CATEGORY_WEIGHT = {"condition": 0, "measurement": 1, "therapy": 2, "procedure": 3, "performance_status": 4}
_CONNECTIVE_START = re.compile(r"^(?:and|or|and/or|nor|but|with|without|including|e\.g\.?|i\.e\.?)\b", re.I)


@dataclass
class CriterionLine:
    kind: str  # inclusion / exclusion
    text: str
    outcome: str  # one of models.match.OUTCOMES
    outcome_label: str
    reason: str
    category: str = "other"
    group: str | None = None  # the checklist group of an open question (QUESTION_GROUPS), None otherwise


@dataclass
class MatchView:
    rank: int
    nct_id: str
    title: str
    registry_url: str | None
    browse_url: str
    trial_url: str  # this copy's trial page, with the patient's verdicts beside each criterion
    status: str
    phases: str
    site: str | None
    eligibility: str
    eligibility_label: str
    counts: dict[str, int]
    failed: list[CriterionLine]
    questions: dict[str, list[CriterionLine]]  # group → open questions, groups in QUESTION_GROUPS order
    criteria: list[CriterionLine]
    deciding: list[str]  # the two or three things that decide it, in words
    why: list[str]  # what moved the learned score most
    eligible_chance: str | None  # the learned probability of eligibility, in words
    relevant: bool = True  # False: the trial studies a disease the patient does not have
    labs: list[str] = field(default_factory=list)  # names of the labs that would settle open criteria

    @property
    def question_count(self) -> int:
        return sum(len(lines) for lines in self.questions.values())


def enum_label(value: str | None) -> str:
    """``NOT_YET_RECRUITING`` → ``Not yet recruiting``."""
    return value.replace("_", " ").capitalize() if value else "not given"


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category, category)


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
    closed = "" if site.open else "; no site of this trial is open to enrolment"
    if site.distance_km is None:
        return (place + (f" ({closed[2:]})" if closed else "")) or None
    away = f"{site.distance_km:,.0f} km away" if site.distance_km >= 10 else f"{site.distance_km:g} km away"
    return f"{place} ({away}{closed})" if place else f"{away}{closed}"


def is_question(verdict: Verdict) -> bool:
    """Whether an open criterion is something to ask: not a lead-in ("…at screening:") whose
    items are criteria of their own, not a stray word or a piece of a list."""
    text = verdict.criterion.text.strip()
    if verdict.criterion.category == "informational" or text.endswith(":"):
        return False
    words = re.findall(r"[A-Za-z]{2,}", text)
    return len(words) >= 2 and not _CONNECTIVE_START.match(text)


def lab_asked(verdict: Verdict) -> str | None:
    """The lab an open criterion waits for ("neutrophil count"), if a test would settle it."""
    for c in verdict.criterion.constraints:
        if c.type == "measurement" and c.measure and c.measure not in PERFORMANCE_SCORES and c.timing != "prior":
            return c.measure.replace("_", " ")
    return None


def question_group(verdict: Verdict) -> str | None:
    if verdict.outcome == "to_confirm" or (verdict.outcome == "unknown" and verdict.criterion.category == "administrative"):
        return "screening"
    if verdict.outcome != "unknown" or not is_question(verdict):
        return None
    return "labs" if lab_asked(verdict) else "history"


def criterion_line(verdict: Verdict) -> CriterionLine:
    return CriterionLine(
        kind=verdict.criterion.kind, text=verdict.criterion.text, outcome=verdict.outcome,
        outcome_label=OUTCOME_LABELS[verdict.outcome], reason=verdict.reason,
        category=category_label(verdict.criterion.category), group=question_group(verdict),
    )


def _short(text: str, words: int = 12) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def deciding_reasons(match: Match) -> list[str]:
    """What decides the trial for this patient, in two or three lines: the criteria that fail;
    else what the record shows that the trial asks (the disease first), then what is left to ask."""
    failed = match.with_outcome("failed")
    if failed:
        return [f"✗ {_short(v.criterion.text)} — {v.reason}" for v in failed[:DECIDING]]
    shown = sorted((v for v in match.with_outcome("satisfied") if v.evidence),  # what the trial asks for, before what it rules out
                   key=lambda v: (v.criterion.kind != "inclusion", _CATEGORY_WEIGHT.get(v.criterion.category, 9)))
    lines = list(dict.fromkeys(f"✓ {v.reason}" for v in shown))[:DECIDING - 1]
    open_questions = [v for v in match.with_outcome("unknown") if is_question(v)]
    if open_questions:
        labs = list(dict.fromkeys(filter(None, map(lab_asked, open_questions))))
        lead = f"? {len(open_questions)} open question{'s' if len(open_questions) > 1 else ''}"
        lines.append(f"{lead}: {', '.join(labs[:3])} to order" if labs else f"{lead}, below")
    return lines or ["no criterion of this trial bears on the record"]


def studies_another_disease(match: Match) -> bool:
    """Whether the trial studies a disease the record does not have (its registry conditions
    fail for the patient): about something else, not a trial this patient narrowly misses."""
    return any(v.criterion.start < 0 and v.criterion.category == "condition" and v.outcome == "failed" for v in match.verdicts)


def match_view(match: Match, browse_path: str, trial_path: str, patient_query: str = "") -> MatchView:
    """``browse_path``: the path of the trials table of the browse view (``/trials/trials``);
    ``trial_path``: of the trial pages (``/trial``), given the patient's query string."""
    criteria = [criterion_line(v) for v in match.verdicts]
    questions = {group: [c for c in criteria if c.group == group] for group in QUESTION_GROUPS}
    quoted = quote(match.nct_id, safe="")
    return MatchView(
        rank=match.rank,
        nct_id=match.nct_id,
        title=match.title or match.nct_id,
        registry_url=web_url(match.url),
        browse_url=f"{browse_path}/{quoted}",
        trial_url=f"{trial_path}/{quoted}" + (f"?{patient_query}" if patient_query else ""),
        status=enum_label(match.status),
        phases=phase_label(match.phases),
        site=site_label(match),
        eligibility=match.eligibility,
        eligibility_label=ELIGIBILITY_LABELS[match.eligibility],
        counts=match.tally(),
        failed=[c for c in criteria if c.outcome == "failed"],
        questions={group: lines for group, lines in questions.items() if lines},
        criteria=criteria,
        deciding=deciding_reasons(match),
        why=match.explanation,
        eligible_chance=(f"chance of eligibility learned from judged cases: {round(100 * match.eligible_probability)} % "
                         "(a rough guide)" if match.eligible_probability is not None else None),
        relevant=not studies_another_disease(match),
        labs=list(dict.fromkeys(filter(None, (lab_asked(v) for v in match.with_outcome("unknown") if is_question(v))))),
    )


def _when(start, end) -> str:
    if start and end:
        return f" ({start} to {end})"
    if start:
        return f" (since {start})"
    return f" (until {end})" if end else ""


def _therapy(m) -> str:
    said = m.name + _when(m.start, m.end) + {True: ", current", False: ", past"}.get(m.current, "")
    return said + (f", {m.outcome}" if m.outcome and not (m.outcome == "ongoing" and m.current) else "")


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
    facts.append(("Labs and measures", "; ".join(
        f"{lab.name} {lab.value:g}{' ' + lab.unit if lab.unit else ''}{f' on {lab.date}' if lab.date else ''}" for lab in patient.labs)))
    facts.append(("Therapies", listed(patient.medications, _therapy)))
    facts.append(("Procedures", listed(patient.procedures, lambda p: p.name + (f" ({p.date})" if p.date else ""))))
    return [(heading, text or "none given") for heading, text in facts]
