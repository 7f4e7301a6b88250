"""The criteria under one heading of a listing page → criteria, nested as the page nests them. Pure functions.

A criterion is a list item (with all its lines and paragraphs), or a line or paragraph that
starts with a bullet ("•", "-", "*", "o", "◦", "–", "1.", "a)", "(ii)", …). Sub-items are the
items of a list inside another item, and lines that are further in (more spaces, or
non-breaking spaces) or carry another kind of bullet than the criteria around them. A line
without a bullet is a criterion of its own (or, further in than the bulleted line before it,
that line's wrapped text), unless it ends with ":" — then it is a lead-in ("Patients must
have:"), kept as text but not a criterion; either way it ends the list before it. (A paragraph
that only goes on with the sentence of the line before, "(within 6 months before screening).",
is a criterion too: the registry's own records have such paragraphs, shown as paragraphs of
their own; joining them to the line before read 3 % fewer rendered pages right.)

Pages that flatten a list into one line, as the seed listing does ("• a. - b. - c."), have
lost its nesting: such a line (at least two " - " before a letter, "(", "<", ">", "≥" or "≤") is
split into its items, all at the line's own level. (Guessing the lost nesting — an item ending
with ":" taking the shorter items after it — counts the registry's own records flattened this
way right less often than not guessing: see docs/crawler.md.)

``criteria_markdown`` writes criteria the way the registry's API does: "* " before each, two
more spaces for each level of nesting, lead-ins as plain lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .page_lines import Line

_MARKER = re.compile(
    r"^(?:(?P<disc>[•●▪■·‣∙])|(?P<circle>[◦○o])|(?P<hyphen>-)|(?P<dash>[–—])|(?P<star>\*)|(?P<number>\d{1,3}[.)])|"
    r"(?P<pnumber>\(\d{1,3}\))|(?P<lower>[a-z]{1,4}[.)]|\([a-z]{1,4}\))|(?P<upper>[A-Z][.)]|\([A-Z]\)))\s+(?=\S)"
)
_FLAT_SEPARATOR = re.compile(r"(?<=\S)\s+-\s+(?=[^\W\d_]|[(≥≤<>])")


@dataclass
class Criterion:
    text: str
    children: list[Criterion] = field(default_factory=list)
    lead_in: bool = False  # "Patients must have:": text that introduces criteria, not one


def _marker(text: str) -> tuple[str, str] | None:
    """(kind of bullet, text after it), or None for a line without one."""
    match = _MARKER.match(text)
    if not match or (match.lastgroup == "lower" and len(match.group(0).strip("().) ")) > 1
                     and not re.fullmatch(r"[ivx]+", match.group(0).strip("().) "))):
        return None
    return match.lastgroup, text[match.end():]


def read_criteria(lines: list[Line]) -> list[Criterion]:
    """The criteria (and lead-ins) of one section's lines, nested."""
    units = _flattened(_units(lines))
    top: list[Criterion] = []
    path: list[tuple[int, Criterion]] = []  # the open criteria, outermost first, with their rank
    for rank, criterion in units:
        if rank == 0:  # a paragraph: ends every open list
            top.append(criterion)
            path = []
            continue
        while path and path[-1][0] >= rank:
            path.pop()
        (path[-1][1].children if path else top).append(criterion)
        path.append((rank, criterion))
    return top


def _units(lines: list[Line]) -> list[tuple[int, Criterion]]:
    """Each criterion or paragraph with its rank: 0 for a paragraph, else its level of nesting."""
    units: list[tuple[int, Criterion]] = []
    levels: list[tuple[str, int]] = []  # open levels of bulleted lines: (kind of bullet, indent)
    base_depth = min((line.depth for line in lines if line.depth), default=1)
    last_item: dict[int, Criterion] = {}  # depth → the list item further lines of that depth continue
    for line in lines:
        if not line.text:
            continue
        if line.depth:
            if line.item or line.depth not in last_item:
                criterion = Criterion(line.text)
                units.append((line.depth - base_depth + 1, criterion))
                last_item[line.depth] = criterion
                last_item = {d: c for d, c in last_item.items() if d <= line.depth}
            else:
                last_item[line.depth].text += " " + line.text
            levels = []
            continue
        last_item = {}
        marked = _marker(line.text)
        if marked is None and levels and line.indent > levels[-1][1]:
            units[-1][1].text += " " + line.text  # a bulleted line's wrapped text
            continue
        if marked is None:
            units.append((0, Criterion(line.text, lead_in=line.text.endswith(":"))))
            levels = []
            continue
        kind, text = marked
        while levels and levels[-1][1] > line.indent:
            levels.pop()
        if levels and levels[-1][1] == line.indent and levels[-1][0] != kind:
            same = [i for i, (k, indent) in enumerate(levels) if k == kind and indent == line.indent]
            if same:
                del levels[same[-1] + 1:]
            else:
                levels.append((kind, line.indent))
        elif not levels or levels[-1][1] < line.indent:
            levels.append((kind, line.indent))
        units.append((len(levels), Criterion(text)))
    return units


def _flattened(units: list[tuple[int, Criterion]]) -> list[tuple[int, Criterion]]:
    """Units with the lines that flatten a list ("a. - b. - c.") split into their items."""
    out = []
    for rank, criterion in units:
        parts = _FLAT_SEPARATOR.split(criterion.text) if rank else [criterion.text]
        out += [(rank, Criterion(part)) for part in parts] if len(parts) >= 3 else [(rank, criterion)]
    return out


def criteria_markdown(criteria: list[Criterion], level: int = 0, *, all_lead_ins: bool = False) -> list[str]:
    """Lines of text: "* " before each criterion, two spaces more per level, lead-ins plain
    (``all_lead_ins``: every line plain, for text that introduces the criteria)."""
    lines = []
    for criterion in criteria:
        plain = criterion.lead_in or all_lead_ins
        lines.append("  " * level + ("" if plain else "* ") + criterion.text)
        lines += criteria_markdown(criterion.children, level + 1, all_lead_ins=all_lead_ins)
    return lines
