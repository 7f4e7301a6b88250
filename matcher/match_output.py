"""Matches → the JSON of docs/design.md, and → a table for a terminal."""

from __future__ import annotations

import shutil

from models.match import Match, Verdict


def verdict_json(verdict: Verdict) -> dict:
    out = {
        "kind": verdict.criterion.kind,
        "text": verdict.criterion.text,
        "category": verdict.criterion.category,
        "verdict": verdict.verdict,
        "reason": verdict.reason,
    }
    if verdict.evidence:
        out["evidence"] = verdict.evidence
    if verdict.to_confirm:
        out["to_confirm"] = True
    if verdict.criterion.start >= 0:
        out["start"], out["end"] = verdict.criterion.start, verdict.criterion.end
    else:
        out["source"] = "registry field"
    return out


def match_json(match: Match) -> dict:
    out = {
        "rank": match.rank,
        "nct_id": match.nct_id,
        "title": match.title,
        "status": match.status,
        "phases": match.phases,
        "score": match.score,
        "relevance": match.relevance,
        "eligibility": match.eligibility,
        "counts": match.tally(),
        "criteria": [verdict_json(v) for v in match.verdicts],
        "url": match.url,
    }
    if match.explanation:
        out["why"] = match.explanation
    if match.eligible_probability is not None:
        out["eligible_probability"] = match.eligible_probability
    if match.nearest_site:
        site = match.nearest_site
        out["nearest_site"] = {"facility": site.facility, "city": site.city, "country": site.country,
                               "distance_km": site.distance_km, "open": site.open}
    return out


def results_json(patient_id: str, matches: list[Match], reading: dict | None = None) -> dict:
    """``reading``: what the record was read as (``eligibility.reading.reading_json``)."""
    out: dict = {"patient": patient_id}
    if reading is not None:
        out.update(reading)
    out["results"] = [match_json(m) for m in matches]
    return out


def _cut(text: str, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def criterion_line(verdict: Verdict) -> str:
    """A failed (✗) or unknown (?) criterion and why, on one line."""
    mark = "✗" if verdict.outcome == "failed" else "?"
    return f"{mark} {verdict.criterion.kind}: {_cut(verdict.criterion.text, 70)} — {_cut(verdict.reason, 80)}"


def results_table(matches: list[Match], *, width: int | None = None, read_as: list[str] = (),
                  notice: str | None = None) -> str:
    """What the record was read as and what was not understood (first, so it is not missed);
    then rank, NCT id, title, eligibility, criteria satisfied/failed/unknown, nearest site; then,
    for the first trials, what failed and what to check."""
    width = width or shutil.get_terminal_size((120, 20)).columns
    head = [f"⚠ {notice}", ""] if notice else []
    if read_as:
        head += ["Diagnoses read as:"] + [f"  {line}" for line in read_as] + [""]
    return "\n".join(head + [_table(matches, width)])


def _table(matches: list[Match], width: int) -> str:
    id_width = max([11] + [len(m.nct_id) for m in matches])
    title_width = max(20, width - 71 - id_width)
    lines = [f"{'#':>2}  {'trial':<{id_width}}  {'title':<{title_width}}  {'eligibility':<10}  {'ok/fail/?':>9}  nearest site"]
    for m in matches:
        t = m.tally()
        site = m.nearest_site
        where = "—"
        if site:
            where = _cut(f"{site.city or site.facility or ''}" + (f" ({site.distance_km:.0f} km)" if site.distance_km is not None else ""), 32)
        lines.append(f"{m.rank:>2}  {m.nct_id:<{id_width}}  {_cut(m.title, title_width):<{title_width}}  {m.eligibility:<10}  "
                     f"{t['satisfied']:>3}/{t['failed']}/{t['unknown']:<3}  {where}")
    for m in matches[:3]:
        failed, unknown = m.with_outcome("failed"), m.with_outcome("unknown")
        if failed or unknown or m.explanation:
            lines.append("")
            lines.append(f"{m.nct_id} ({m.eligibility}):")
            if m.explanation:
                lines.append(f"  ranked here: {'; '.join(m.explanation)}")
            for v in failed + unknown[:8]:
                lines.append(f"  {criterion_line(v)}")
            if len(unknown) > 8:
                lines.append(f"  … and {len(unknown) - 8} more to check (--json for all)")
    return "\n".join(lines)
