"""Registry records rendered as the listing pages of real kinds of site, for benchmarks/listing_fields.py.

Each renderer takes a Trial read from the registry's legacy XML and the criteria of its record as
a tree (``criteria_tree``), and writes the page such a site shows, choosing its markup per page
with a random generator seeded by the NCT id, so every run makes the same pages:

- ``classic``: the registry's classic study page (clinicaltrials.gov/ct2/show/NCT…): "Label : value"
  lines, layout tables of ``td`` pairs, the condition / intervention / phase table with its
  headings in the first row, "Ages Eligible for Study: 18 Years and older (Adult, Older Adult)",
  and the record's criteria as ``<p>`` headings and nested ``ul``/``ol`` lists.
- ``register``: a pharmaceutical company's results register: facts as ``dl``, ``th``/``td`` rows,
  label spans without colons or ``<strong>`` labels; "Minimum age", "Age range: 18 - 65 years" or
  "≥ 18 years"; phases in roman numerals; sometimes schema.org JSON-LD, sometimes no ``h1`` (the
  title only in ``<title>`` with the site's name); criteria headed by ``h3``/``h4``/``strong``/``b``
  or a table cell, as nested lists, ``<br>``-separated lines or one paragraph per criterion.
- ``finder``: a company's patient-facing trial finder: fact cards, ``<strong>`` labels in list
  items, schema.org microdata; "18+", "18 to 65", "Up to 17 years"; criteria under accordions
  (``details``/``summary`` or a ``button`` in a heading), as lists, lines or paragraphs.
- ``text``: a page saved as text: "Label: value" lines or a label line over its value, criteria
  as indented bullet lines (children with another marker, further in).
- ``flat-text``: the seed listing's own flattening: each list of criteria on one "•" line, items
  joined by " - ", so nesting is lost on the page itself.

Pages are made at run time and never stored.
"""

from __future__ import annotations

import html
import json
import random
import re
from dataclasses import dataclass, field

from models.trial import Trial

# ---------------------------------------------------------------------------- the record's criteria

BULLET = re.compile(r"^(\s*)([-*•o]|\d{1,3}[.)]|[A-Za-z][.)]|\(\w{1,4}\))\s+(?=\S)")
HEADING = re.compile(r"^\s*((?:key\s+)?(inclusion|exclusion)\s+criteria)\s*:?\s*$", re.I)


@dataclass
class Item:
    text: str  # the item's own text (marker removed, wrapped lines joined)
    marker: str  # as the record writes it: "-", "1.", "a)", …
    more: list[str] = field(default_factory=list)  # its further paragraphs (after a blank line)
    children: list[Item] = field(default_factory=list)


@dataclass
class Section:
    heading: str  # as the record writes it: "Inclusion Criteria:"
    blocks: list  # each a paragraph (str) or a list (list[Item])


def criteria_tree(text: str) -> dict[str, Section] | None:
    """The record's criteria text → {"inclusion": Section, "exclusion": Section}; None unless it
    has exactly one inclusion heading and then one exclusion heading. Nesting follows indentation
    (a bullet further in than the open one is its child); a paragraph closes the list before it."""
    lines = text.replace("\r", "").split("\n")
    heads = [(i, m.group(2).lower()) for i, line in enumerate(lines) if (m := HEADING.match(line))]
    if [kind for _, kind in heads] != ["inclusion", "exclusion"]:
        return None
    ends = [heads[1][0], len(lines)]
    return {kind: Section(lines[start].strip(), _blocks(lines[start + 1:end])) for (start, kind), end in zip(heads, ends)}


def _blocks(lines: list[str]) -> list:
    blocks: list = []
    open_items: list[tuple[int, Item]] = []  # (indent, item) from the outermost open item in
    paragraph: list[str] | None = None
    blank = list_open = False
    for line in lines:
        if not line.strip():
            blank, paragraph = True, None
            continue
        indent = len(line) - len(line.lstrip())
        bullet = BULLET.match(line)
        if bullet:
            item = Item(" ".join(line[bullet.end():].split()), bullet.group(2))
            while open_items and open_items[-1][0] >= indent:
                open_items.pop()
            if open_items:
                open_items[-1][1].children.append(item)
            else:
                if not list_open:
                    blocks.append([])
                    list_open = True
                blocks[-1].append(item)
            open_items.append((indent, item))
            paragraph = None
        elif open_items and indent > open_items[-1][0] and paragraph is None:
            last = open_items[-1][1]
            words = " ".join(line.split())
            if blank:
                last.more.append(words)
            elif last.more:
                last.more[-1] += " " + words
            else:
                last.text += " " + words
        else:
            if paragraph is None:
                paragraph = []
                blocks.append(paragraph)
            paragraph.append(" ".join(line.split()))
            open_items, list_open = [], False
        blank = False
    return [" ".join(block) if not isinstance(block[0], Item) else block for block in blocks]


# ---------------------------------------------------------------------------- words a page uses

STATUS_WORDS = {
    "RECRUITING": "Recruiting", "NOT_YET_RECRUITING": "Not yet recruiting", "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "COMPLETED": "Completed", "ENROLLING_BY_INVITATION": "Enrolling by invitation", "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated", "WITHDRAWN": "Withdrawn", "UNKNOWN": "Unknown", "AVAILABLE": "Available",
    "NO_LONGER_AVAILABLE": "No longer available", "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
    "APPROVED_FOR_MARKETING": "Approved for marketing", "WITHHELD": "Withheld",
}
SCHEMA_STATUS = {"RECRUITING": "Recruiting", "NOT_YET_RECRUITING": "NotYetRecruiting", "ACTIVE_NOT_RECRUITING": "ActiveNotRecruiting",
                 "COMPLETED": "Completed", "ENROLLING_BY_INVITATION": "EnrollingByInvitation", "SUSPENDED": "Suspended",
                 "TERMINATED": "Terminated", "WITHDRAWN": "Withdrawn"}
ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}


def phase_words(phases: list[str], style: str) -> str | None:
    """["PHASE1", "PHASE2"] → "Phase 1/Phase 2" (registry), "Phase 1/2" (short), "Phase I/II" (roman)."""
    if not phases:
        return None
    if phases == ["NA"]:
        return {"registry": "Not Applicable", "short": "N/A", "roman": "Not applicable"}[style]
    if phases == ["EARLY_PHASE1"]:
        return {"registry": "Early Phase 1", "short": "Early Phase 1", "roman": "Early Phase I"}[style]
    numbers = [p.removeprefix("PHASE") for p in phases]
    if style == "registry":
        return "/".join(f"Phase {n}" for n in numbers)
    if style == "roman":
        return "Phase " + "/".join(ROMAN[n] for n in numbers)
    return "Phase " + "/".join(numbers)


def _age(text: str | None) -> str | None:
    return None if not text or text.upper() == "N/A" else text


def _age_number(text: str) -> str:
    """'18 Years' → '18'; other units keep their word ('6 Months')."""
    number, unit = text.split()
    return number if unit.lower().startswith("year") else f"{number} {unit.lower()}"


def std_ages(trial: Trial) -> str:
    low = trial.min_age_years or 0
    high = trial.max_age_years if trial.max_age_years is not None else 200
    groups = [name for name, a, b in (("Child", 0, 17.999), ("Adult", 18, 64.999), ("Older Adult", 65, 200)) if low <= b and high >= a]
    return ", ".join(groups)


def age_words(trial: Trial, style: str) -> str | None:
    low, high = _age(trial.minimum_age), _age(trial.maximum_age)
    if style == "classic":
        groups = std_ages(trial)
        if low and high:
            return f"{low} to {high}   ({groups})"
        if low:
            return f"{low} and older   ({groups})"
        if high:
            return f"up to {high}   ({groups})"
        return groups
    if not low and not high:
        return None if style != "finder" else "All ages"
    years = lambda text: text if not text.endswith("Years") else text.replace("Years", "years")  # noqa: E731
    if style == "range":  # a results register: "18 - 65 years", "≥ 18 years", "≤ 17 years"
        if low and high:
            return f"{_age_number(low)} - {years(high) if high.endswith('Years') else high}"
        return f"≥ {years(low)}" if low else f"≤ {years(high)}"
    # finder
    if low and high:
        return f"{_age_number(low)} to {years(high)}"
    if low:
        return f"{_age_number(low)}+" if low.endswith("Years") else f"{low} and older"
    return f"Up to {years(high)}"


SEX_WORDS = {"classic": {"ALL": "All", "FEMALE": "Female", "MALE": "Male"},
             "register": {"ALL": "Both", "FEMALE": "Female", "MALE": "Male"},
             "finder": {"ALL": "Male and female", "FEMALE": "Women", "MALE": "Men"}}


def yes_no(value: bool | None) -> str | None:
    return None if value is None else ("Yes" if value else "No")


# ---------------------------------------------------------------------------- criteria as HTML

def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _list_tag(items: list[Item]) -> tuple[str, str]:
    marker = items[0].marker.strip("()")
    if marker[:1].isdigit():
        return "<ol>", "</ol>"
    if marker[:1].isalpha() and marker not in ("o",):
        return '<ol type="a">', "</ol>"
    return "<ul>", "</ul>"


def html_list(items: list[Item], rng: random.Random, *, nest: str, paragraphs: str) -> str:
    """Nested lists; ``nest`` "inside" (a child list inside its parent's li) or "after" (the
    child list right after the parent's li, as some editors write it); ``paragraphs`` "p" (an
    item's further paragraphs as <p> in its li) or "br"."""
    open_tag, close_tag = _list_tag(items)
    out = [open_tag]
    for item in items:
        body = _e(item.text)
        if item.more:
            body = (f"<p>{body}</p>" + "".join(f"<p>{_e(m)}</p>" for m in item.more) if paragraphs == "p"
                    else body + "".join(f"<br>{_e(m)}" for m in item.more))
        children = html_list(item.children, rng, nest=nest, paragraphs=paragraphs) if item.children else ""
        out.append(f"<li>{body}{children}</li>" if nest == "inside" else f"<li>{body}</li>{children}")
    out.append(close_tag)
    return "\n".join(out)


CHILD_MARKERS = ("–", "o", "◦", "-")


def marked_lines(items: list[Item], top: str, child: str, depth: int = 0) -> list[tuple[int, str]]:
    """Criteria as (depth, line with its marker): ``top`` "1." (numbered), "•", "-" or "*";
    children with ``child``, another marker ("a." numbers them a., b., …)."""
    lines = []
    for number, item in enumerate(items, 1):
        marker = (f"{number}." if top == "1." else top) if depth == 0 else (f"{chr(96 + min(number, 26))}." if child == "a." else child)
        lines.append((depth, f"{marker} {' '.join([item.text, *item.more])}"))
        lines.extend(marked_lines(item.children, top, child, depth + 1))
    return lines


def html_section_body(section: Section, rng: random.Random, style: str) -> str:
    """A section's criteria as ``style``: "lists", "br" (one block, lines split by <br>) or "p"
    (a paragraph per criterion)."""
    top = rng.choice(("1.", "•", "-", "*"))
    child = rng.choice([m for m in (*CHILD_MARKERS, "a.") if m != top])
    indent = rng.choice(("", "&nbsp;&nbsp;&nbsp;&nbsp;"))
    parts = []
    for block in section.blocks:
        if isinstance(block, str):
            parts.append(f"<p>{_e(block)}</p>")
        elif style == "lists":
            parts.append(html_list(block, rng, nest=rng.choice(("inside", "inside", "after")), paragraphs=rng.choice(("p", "br"))))
        else:
            lines = [indent * depth + _e(line) for depth, line in marked_lines(block, top, child)]
            parts.append("<p>" + "<br>\n".join(lines) + "</p>" if style == "br" else "\n".join(f"<p>{line}</p>" for line in lines))
    return "\n".join(parts)


HEADING_STYLES = {  # a criteria heading ({heading}) over its criteria ({body})
    "p": "<p>{heading}</p>\n{body}",
    "h3": "<h3>{heading}</h3>\n{body}",
    "h4": "<h4>{heading}</h4>\n{body}",
    "strong": "<p><strong>{heading}</strong></p>\n{body}",
    "b-inline": "<div><b>{heading}</b><br>\n{body}</div>",
    "th": '<table class="criteria"><tr><th>{heading}</th><td>{body}</td></tr></table>',
    "td": "<table><tr><td><strong>{heading}</strong></td></tr><tr><td>{body}</td></tr></table>",
    "summary": "<details open><summary>{heading}</summary>\n{body}</details>",
    "button": ('<h3 class="accordion-header"><button type="button" aria-expanded="true">{heading}</button></h3>\n'
               '<div class="accordion-panel">{body}</div>'),
}


def heading_html(text: str, style: str, body: str) -> str:
    return HEADING_STYLES[style].format(heading=_e(text), body=body)


# ---------------------------------------------------------------------------- label/value structures

def facts_html(pairs: list[tuple[str, str]], style: str) -> str:
    """Label/value pairs (values already HTML) as ``style``."""
    if style == "dl":
        return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"
    if style == "th":
        return "<table class=\"facts\">" + "".join(f"<tr><th scope=\"row\">{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs) + "</table>"
    if style == "td":
        return "<table>" + "".join(f"<tr><td class=\"label\">{_e(k)}:</td><td>{v}</td></tr>" for k, v in pairs) + "</table>"
    if style == "spans":
        return "".join(f'<div class="field"><span class="field-label">{_e(k)}</span> <span class="field-value">{v}</span></div>' for k, v in pairs)
    if style == "strong":
        return "".join(f"<p><strong>{_e(k)}:</strong> {v}</p>" for k, v in pairs)
    if style == "li-strong":
        return "<ul class=\"key-facts\">" + "".join(f"<li><strong>{_e(k)}:</strong> {v}</li>" for k, v in pairs) + "</ul>"
    if style == "cards":
        return '<div class="cards">' + "".join(f'<div class="card"><h4>{_e(k)}</h4><p>{v}</p></div>' for k, v in pairs) + "</div>"
    raise ValueError(style)


def page(title_tag: str, head_extra: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title_tag)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n{head_extra}\n'
            '<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>\n'
            f"</head>\n<body>\n{body}\n</body></html>\n")


def _summary(trial: Trial) -> str:
    return "".join(f"<p>{_e(' '.join(p.split()))}</p>" for p in (trial.brief_summary or "").replace("\r", "").split("\n\n") if p.strip())


def _sites_html(trial: Trial, limit: int = 5) -> str:
    rows = [f"<li>{_e(site.facility or '')}<br>{_e(', '.join(filter(None, [site.city, site.state, site.country])))}</li>"
            for site in trial.sites[:limit]]
    return f"<ul class=\"sites\">{''.join(rows)}</ul>" if rows else "<p>No locations listed.</p>"


# ---------------------------------------------------------------------------- the registry's classic page

def classic_page(trial: Trial, tree: dict[str, Section], rng: random.Random) -> str:
    nct = trial.nct_id
    status = STATUS_WORDS.get(trial.overall_status or "", "")
    verified = (f'<div class="w3-small">Verified {_e(trial.last_update_posted or "")} by {_e(trial.lead_sponsor or "")}</div>'
                "<div>Recruitment status was: Recruiting</div>" if trial.overall_status == "UNKNOWN" else "")
    collaborators = (f'<div class="tr-info-title">Collaborators:</div><div class="tr-info-text">{"<br>".join(map(_e, trial.collaborators))}</div>'
                     if trial.collaborators else "")
    phase = phase_words(trial.phases, "registry")
    columns = [("Condition or disease", "".join(f'<span style="display:block;margin-bottom:1ex;">{_e(c)}</span>' for c in trial.conditions)),
               ("Intervention/treatment", "".join(f'<span style="display:block;">{_e((i.type or "Other").title())}: {_e(i.name)}</span>'
                                                   for i in trial.interventions))]
    if phase:
        columns.append(("Phase", "".join(f'<span style="display:block;">{_e(p)}</span>' for p in phase.split("/"))))
    table = ('<table class="ct-data_table tr-data_table"><tr style="text-align:left;">'
             + "".join(f'<th class="ct-header3 tr-pale_banner_color"><span class="term">{_e(k)} <i class="fa fa-info-circle"></i></span></th>' for k, _ in columns)
             + '</tr><tr style="text-align:left;vertical-align:top;">' + "".join(f'<td class="ct-body3">{v}</td>' for _, v in columns) + "</tr></table>")
    eligibility_rows = [("Ages Eligible for Study:", age_words(trial, "classic")), ("Sexes Eligible for Study:", SEX_WORDS["classic"].get(trial.sex or "")),
                        ("Accepts Healthy Volunteers:", yes_no(trial.healthy_volunteers))]
    eligibility = ('<table class="ct-layout_table tr-tableStyle tr-studyInfo"><caption>Layout table for eligibility information</caption>'
                   '<thead><tr><th id="elgType"></th><th id="elgData"></th></tr></thead><tbody>'
                   + "".join(f'<tr><td headers="elgType" class="ct-nowrap">{_e(k)} &nbsp; </td><td headers="elgData" style="padding-left:1em">'
                             f"{_e(v).replace('   ', ' &nbsp; ')}</td></tr>" for k, v in eligibility_rows if v)
                   + "</tbody></table>")
    nest, paragraphs = rng.choice(("inside", "inside", "after")), rng.choice(("p", "br"))
    criteria = "\n".join(
        f"<p>{_e(section.heading)}</p>\n" + "\n".join(
            f"<p>{_e(block)}</p>" if isinstance(block, str) else html_list(block, rng, nest=nest, paragraphs=paragraphs)
            for block in section.blocks)
        for section in tree.values())
    design = [("Study Type", f"{(trial.study_type or '').title()}"), ("Actual Enrollment", f"{trial.enrollment or 0} participants"),
              ("Official Title:", trial.official_title or "")]
    body = f"""
<div id="ct-header"><a href="/ct2/home" class="ct-logo">ClinicalTrials.gov</a>
<nav><a href="/ct2/search">Find Studies</a> <a href="/ct2/about-studies">About Studies</a> <a href="/ct2/manage-recs">Submit Studies</a></nav></div>
<div id="main-content">
<div class="w3-center"><h1 class="tr-h1 tr-solo_record">{_e(trial.brief_title)}</h1></div>
<div class="w3-center tr-info-text">The safety and scientific validity of this study is the responsibility of the study
sponsor and investigators. Listing a study does not mean it has been evaluated by the U.S. Federal Government. Read our
<a href="/ct2/about-site/disclaimer">disclaimer</a> for details.</div>
<div class="tr-tab_cover"><div class="w3-row">
<div class="w3-col w3-half">
<div><span class="term" data-term="NCT Number">ClinicalTrials.gov Identifier:</span> <span class="tr-nct_id">{nct}</span></div>
<div class="w3-padding-8"></div>
<div><span class="term" data-term="Recruitment Status">Recruitment Status <i class="fa fa-info-circle"></i></span> : {_e(status)}</div>
{verified}
<div><span class="term">First Posted <i class="fa fa-info-circle"></i></span> : {_e(trial.first_posted or "")}</div>
<div><span class="term">Last Update Posted <i class="fa fa-info-circle"></i></span> : {_e(trial.last_update_posted or "")}</div>
</div>
<div class="w3-col w3-half">
<div class="tr-info-title">Sponsor:</div><div class="tr-info-text">{_e(trial.lead_sponsor or "")}</div>
{collaborators}
<div class="tr-info-title">Information provided by (Responsible Party):</div><div class="tr-info-text">{_e(trial.lead_sponsor or "")}</div>
</div></div></div>
<div id="tab-body">
<div class="tr-subsection"><div class="ct-header2"><h3>Study Description</h3></div></div>
<div class="ct-body3">Brief Summary:</div><div class="ct-body3 tr-indent2">{_summary(trial)}</div>
{table}
<div class="tr-subsection"><div class="ct-header2"><h3>Study Design</h3></div></div>
<table class="ct-layout_table tr-tableStyle tr-studyInfo"><caption>Layout table for study information</caption>
{"".join(f'<tr><td headers="studyInfoColTitle">{_e(k)}{"" if k.endswith(":") else " :"}</td><td headers="studyInfoColData" style="padding-left:1em">{_e(v)}</td></tr>' for k, v in design)}
</table>
<div class="tr-subsection"><div class="ct-header2"><h3>Eligibility Criteria</h3></div></div>
<div class="tr-indent2">
{eligibility}
<div class="ct-header3" style="margin-top:2ex">Criteria</div>
<div class="tr-indent2" style="margin-top:1ex">
{criteria}
</div></div>
<div class="tr-subsection"><div class="ct-header2"><h3>Contacts and Locations</h3></div></div>
{_sites_html(trial)}
<div class="tr-subsection"><div class="ct-header2"><h3>More Information</h3></div></div>
<table class="ct-layout_table tr-tableStyle tr-moreInfo"><caption>Layout table for additonal information</caption>
<tr><td class="ct-nowrap">Responsible Party:</td><td>{_e(trial.lead_sponsor or "")}</td></tr>
<tr><td class="ct-nowrap">ClinicalTrials.gov Identifier:</td><td>{nct} &nbsp; <a href="/ct2/history/{nct}">History of Changes</a></td></tr>
<tr><td class="ct-nowrap">Last Verified:</td><td>{_e(trial.last_update_posted or "")}</td></tr>
</table>
</div></div>
<footer><a href="/ct2/about-site/terms-conditions">Terms and Conditions</a> <a href="/ct2/about-site/disclaimer">Disclaimer</a></footer>"""
    head = f'<link rel="canonical" href="https://clinicaltrials.gov/ct2/show/{nct}">'
    return page(f"{trial.brief_title} - Full Text View - ClinicalTrials.gov", head, body)


# ---------------------------------------------------------------------------- a company's results register

REGISTER_SITES = ("Northwind Pharma Clinical Trial Results", "Contoso Biosciences Study Register", "Fabrikam Therapeutics Trial Results")


def register_page(trial: Trial, tree: dict[str, Section], rng: random.Random) -> str:
    site = rng.choice(REGISTER_SITES)
    roman = rng.random() < 0.5
    phase = phase_words(trial.phases, "roman" if roman else "short")
    ages_style = rng.choice(("minmax", "range", "range"))
    pairs = [(rng.choice(("NCT number", "ClinicalTrials.gov ID", "NCT ID")), trial.nct_id)]
    if trial.official_title:
        pairs.append(("Official title", _e(trial.official_title)))
    pairs.append((rng.choice(("Study status", "Recruitment status", "Status")), _e(STATUS_WORDS.get(trial.overall_status or "", ""))))
    if phase:
        pairs.append(("Phase", _e(phase)))
    pairs.append(("Sponsor", _e(trial.lead_sponsor or "")))
    if trial.conditions:
        pairs.append((rng.choice(("Medical condition", "Conditions")), _e("; ".join(trial.conditions))))
    if trial.sex:
        pairs.append((rng.choice(("Gender", "Sex")), SEX_WORDS["register"][trial.sex]))
    if ages_style == "minmax":
        pairs += [("Minimum age", _e(_age(trial.minimum_age) or "N/A")), ("Maximum age", _e(_age(trial.maximum_age) or "N/A"))]
    elif (words := age_words(trial, "range")) is not None:
        pairs.append((rng.choice(("Age range", "Age")), _e(words)))
    if trial.healthy_volunteers is not None:
        pairs.append(("Healthy volunteers", yes_no(trial.healthy_volunteers)))
    head = ""
    if rng.random() < 0.4:
        head = ('<script type="application/ld+json">' + json.dumps({
            "@context": "https://schema.org", "@type": "MedicalTrial", "name": trial.brief_title, "identifier": trial.nct_id,
            "phase": phase_words(trial.phases, "registry"), "status": SCHEMA_STATUS.get(trial.overall_status or ""),
            "sponsor": {"@type": "Organization", "name": trial.lead_sponsor}, "healthCondition": trial.conditions,
        }, ensure_ascii=False).replace("</", "<\\/") + "</script>")
    heading_style = rng.choice(("h3", "h4", "strong", "b-inline", "th", "td"))
    body_style = "br" if heading_style == "b-inline" else rng.choice(("lists", "br", "p"))
    names = {"inclusion": ("Inclusion criteria", "Inclusion Criteria:"), "exclusion": ("Exclusion criteria", "Exclusion Criteria:")}
    criteria = "\n".join(heading_html(rng.choice((section.heading, names[kind][0])), heading_style, html_section_body(section, rng, body_style))
                         for kind, section in tree.items())
    show_h1 = rng.random() < 0.75
    title_tag = f"{trial.brief_title} | {site}" if rng.random() < 0.5 else f"{site} - {trial.brief_title}"
    body = f"""<header class="site-header"><a class="logo" href="/">{_e(site)}</a>
<nav><ul><li><a href="/studies">Search studies</a></li><li><a href="/about">About our register</a></li></ul></nav></header>
<main>
<p class="breadcrumb"><a href="/">Home</a> › <a href="/studies">Studies</a> › {trial.nct_id}</p>
{f"<h1>{_e(trial.brief_title)}</h1>" if show_h1 else ""}
<section class="study-details"><h2>Study details</h2>
{facts_html(pairs, rng.choice(("dl", "th", "td", "spans", "strong")))}
</section>
<section><h2>Trial summary</h2>{_summary(trial)}</section>
<section class="eligibility"><h2>{rng.choice(("Eligibility", "Eligibility criteria", "Key eligibility criteria"))}</h2>
{criteria}
</section>
<section><h2>Results</h2><p>Results for this study are available as a plain language summary and a scientific summary.</p></section>
</main>
<footer><p>© {_e(site.split()[0])} 2024. The information on this site is intended for healthcare professionals and researchers.</p></footer>"""
    return page(title_tag, head, body)


# ---------------------------------------------------------------------------- a patient-facing trial finder

FINDER_SITES = ("Contoso Trials", "Northwind Trial Finder", "Fabrikam Studies for Patients")


def finder_page(trial: Trial, tree: dict[str, Section], rng: random.Random) -> str:
    site = rng.choice(FINDER_SITES)
    microdata = rng.random() < 0.4
    prop = (lambda name: f' itemprop="{name}"') if microdata else (lambda name: "")  # noqa: E731
    pairs = [(rng.choice(("Status", "Trial status")), f"<span{prop('status')}>{_e(STATUS_WORDS.get(trial.overall_status or '', ''))}</span>")]
    if (phase := phase_words(trial.phases, "short")) is not None:
        pairs.append((rng.choice(("Phase", "Trial phase")), f"<span{prop('phase')}>{_e(phase)}</span>"))
    if (ages := age_words(trial, "finder")) is not None:
        pairs.append((rng.choice(("Age", "Ages")), _e(ages)))
    if trial.sex:
        pairs.append((rng.choice(("Sex", "Gender")), SEX_WORDS["finder"][trial.sex]))
    if trial.healthy_volunteers is not None:
        pairs.append(("Healthy volunteers", yes_no(trial.healthy_volunteers)))
    pairs.append((rng.choice(("Trial ID", "NCT ID", "ClinicalTrials.gov ID")), f"<span{prop('identifier')}>{trial.nct_id}</span>"))
    pairs.append((rng.choice(("Sponsor", "Study sponsor")), f"<span{prop('sponsor')}>{_e(trial.lead_sponsor or '')}</span>"))
    heading_style = rng.choice(("summary", "button", "h3", "strong"))
    body_style = rng.choice(("lists", "lists", "br", "p"))
    names = {"inclusion": "Inclusion criteria", "exclusion": "Exclusion criteria"}
    criteria = "\n".join(heading_html(rng.choice((names[kind], section.heading)), heading_style, html_section_body(section, rng, body_style))
                         for kind, section in tree.items())
    brand_h1 = rng.random() < 0.3
    heading_tag = "h2" if brand_h1 else "h1"
    show_title = rng.random() < 0.85
    title_html = f"<{heading_tag}{prop('name')}>{_e(trial.brief_title)}</{heading_tag}>" if show_title else ""
    scope = ' itemscope itemtype="https://schema.org/MedicalTrial"' if microdata else ""
    body = f"""<header>{f'<h1 class="brand">{_e(site)}</h1>' if brand_h1 else f'<a class="brand" href="/">{_e(site)}</a>'}
<nav><a href="/find">Find a trial</a> <a href="/faq">What to expect</a></nav>
<form action="/search"><input name="q" placeholder="Condition or keyword"><button>Search</button></form></header>
<main><article{scope}>
<a href="/find" class="back">‹ Back to results</a>
{title_html}
<div class="summary"{prop('description')}>{_summary(trial)}</div>
<section class="key-facts">{facts_html(pairs, rng.choice(("cards", "li-strong", "dl", "strong")))}</section>
<section class="who"><h2>{rng.choice(("Who can take part?", "Who can join this trial?", "Eligibility"))}</h2>
<p>Only the study team can confirm whether you can take part. Talk to your doctor about this trial.</p>
{criteria}
</section>
<section><h2>Where is this trial taking place?</h2>{_sites_html(trial)}</section>
<button class="share">Share this trial</button> <button class="print">Print</button>
</article></main>
<footer><p>{_e(site)} lists studies sponsored by our company. Information comes from public registries.</p></footer>"""
    return page(f"{trial.brief_title} - {site}" if show_title or rng.random() < 0.5 else f"{trial.brief_title} | {site}", "", body)


# ---------------------------------------------------------------------------- text pages

def text_page(trial: Trial, tree: dict[str, Section], rng: random.Random, *, flat: bool = False) -> str:
    """A page saved as text; ``flat``: the seed listing's flattening of its criteria."""
    label_lines = rng.random() < 0.5  # "Label: value", or a label line over its value (as the seed)
    pairs = [("NCT Number", trial.nct_id), ("Status", STATUS_WORDS.get(trial.overall_status or "")),
             ("Phase", phase_words(trial.phases, "registry")), ("Sponsor", trial.lead_sponsor),
             ("Eligible Ages", age_words(trial, "classic")), ("Eligible Genders", SEX_WORDS["classic"].get(trial.sex or "")),
             ("Accepts Healthy Volunteers", yes_no(trial.healthy_volunteers))]
    lines = [trial.brief_title, ""] if rng.random() < 0.7 else [f"Title: {trial.brief_title}", ""]
    for label, value in pairs:
        if value:
            lines += [f"{label}: {value}"] if label_lines else [label, value]
    lines += ["", "Brief Summary", ""] + [" ".join(p.split()) for p in (trial.brief_summary or "").replace("\r", "").split("\n\n") if p.strip()]
    top = rng.choice(("•", "*", "-", "1."))
    child = rng.choice([m for m in ("◦", "o", "-", "a.") if m != top])
    for kind, section in tree.items():
        lines += ["", "Inclusion Criteria" if kind == "inclusion" else "Exclusion Criteria", ""]
        for block in section.blocks:
            if isinstance(block, str):
                lines.append(block)
            elif flat:
                lines.append("  • " + " - ".join(_flatten(block)))
            else:
                lines += ["  " + "    " * depth + line for depth, line in marked_lines(block, top, child)]
    lines += ["", "Study information shown on this site is derived from ClinicalTrials.gov."]
    return "\n".join(lines) + "\n"


def _flatten(items: list[Item]) -> list[str]:
    return [part for item in items for part in (" ".join([item.text, *item.more]), *_flatten(item.children))]


RENDERERS = {
    "classic": lambda trial, tree, rng: (classic_page(trial, tree, rng), "text/html"),
    "register": lambda trial, tree, rng: (register_page(trial, tree, rng), "text/html"),
    "finder": lambda trial, tree, rng: (finder_page(trial, tree, rng), "text/html"),
    "text": lambda trial, tree, rng: (text_page(trial, tree, rng), "text/plain"),
    "flat-text": lambda trial, tree, rng: (text_page(trial, tree, rng, flat=True), "text/plain"),
}
