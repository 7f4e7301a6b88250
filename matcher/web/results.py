"""One search's results as the page lists them, and as its CSV and JSON downloads give them.

The trials come in the learned order, split three ways so a physician scans what matters: the
eligible and possibly eligible first, then those ruled out (folded under their count), then
those that study a disease the patient does not have (counted, listed folded): a filter that
leaves few trials for this patient says so rather than padding the list with them. A patient
summary gathers the labs that would settle open criteria across the listed trials.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from .match_view import QUESTION_GROUPS, MatchView, match_view
from .patient_search import SearchOutcome

@dataclass
class Results:
    trials: list[MatchView]  # eligible and possibly eligible, in the learned order
    ruled_out: list[MatchView]  # a criterion fails
    off_topic: list[MatchView]  # studies a disease the patient does not have
    passing: int | None  # trials passing the filters (None: no filter)
    few_passing: bool = False  # the filters leave fewer trials than were asked for
    labs: list[tuple[str, list[int]]] = field(default_factory=list)  # lab → numbers of the listed trials that ask it

    @property
    def listed(self) -> list[MatchView]:
        return self.trials + self.ruled_out

    @property
    def few(self) -> bool:
        """Whether to say that few trials are about this patient."""
        return self.few_passing or bool(self.off_topic)


def results(outcome: SearchOutcome, top: int, *, browse_path: str, trial_path: str, patient_query: str) -> Results:
    views = [match_view(m, browse_path, trial_path, patient_query) for m in outcome.matches]
    relevant = [v for v in views if v.relevant][:top]
    for number, view in enumerate(relevant, start=1):
        view.rank = number
    off_topic = [v for v in views if not v.relevant]
    trials = [v for v in relevant if v.eligibility != "ineligible"]
    labs: dict[str, list[int]] = {}
    for view in trials:
        for lab in view.labs:
            labs.setdefault(lab, []).append(view.rank)
    return Results(trials, [v for v in relevant if v.eligibility == "ineligible"], off_topic, outcome.passing,
                   outcome.passing is not None and outcome.passing < top,
                   sorted(labs.items(), key=lambda item: (-len(item[1]), item[0])))


# ---------------------------------------------------------------------------- downloads

GROUPS = (("trials", "eligible or possible"), ("ruled_out", "ruled out"), ("off_topic", "studies another disease"))
CSV_COLUMNS = ("number", "group", "nct_id", "title", "status", "phases", "eligibility", "criteria_satisfied",
               "criteria_failed", "criteria_unknown", "criteria_to_confirm", "deciding", "labs_to_order",
               "history_to_ask", "to_confirm_at_screening", "nearest_site", "registry_url")


def _row(view: MatchView, group: str) -> dict:
    def questions(name: str) -> list[str]:
        return [f"{c.kind}: {c.text} ({c.reason})" for c in view.questions.get(name, [])]

    return {
        "number": view.rank if group != "studies another disease" else None, "group": group,
        "nct_id": view.nct_id, "title": view.title, "status": view.status, "phases": view.phases,
        "eligibility": view.eligibility, "criteria_satisfied": view.counts["satisfied"],
        "criteria_failed": view.counts["failed"], "criteria_unknown": view.counts["unknown"],
        "criteria_to_confirm": view.counts["to_confirm"], "deciding": view.deciding,
        "labs_to_order": questions("labs"), "history_to_ask": questions("history"),
        "to_confirm_at_screening": questions("screening"), "nearest_site": view.site, "registry_url": view.registry_url,
    }


def rows(found: Results) -> list[dict]:
    return [_row(view, label) for name, label in GROUPS for view in getattr(found, name)]


def as_csv(found: Results) -> str:
    """One row per trial; lists joined by " | "."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows(found):
        writer.writerow({k: " | ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return out.getvalue()


def as_json(found: Results, facts: list[tuple[str, str]], not_understood: str | None) -> dict:
    return {
        "patient_read_as": dict(facts),
        "not_understood": not_understood,
        "trials_passing_filters": found.passing,
        "labs_to_order": [{"lab": lab, "trials": numbers} for lab, numbers in found.labs],
        "checklist_groups": QUESTION_GROUPS,
        "results": rows(found),
    }
