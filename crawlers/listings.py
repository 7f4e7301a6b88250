"""Trial listing pages (registry study pages, company results registers, trial finders) → ``models.Trial``.

``parse_listing(content, url)`` is a pure function of the page: HTML in any common layout or the
page's text. The page becomes lines (``page_lines``), the lines become sections under known
labels ("Eligible Ages", "Inclusion Criteria", "Recruiting Locations", …), and the sections
become the Trial's fields (``listing_fields``; criteria by ``listing_criteria``).

A label is a line that is exactly a known label, starts with one and a colon ("Sponsor: …",
"Recruitment Status : Recruiting"), or starts with an element the markup makes a label (a
heading, ``dt``, ``th``, a table row's first cell, ``<strong>``, a label ``<span>``) whose text is
a known label. Under an inclusion or exclusion heading, list items are never labels, nor are
"Label: value" lines the markup does not mark, nor lines that are only a word criteria use as a
sub-heading ("Age:", "Disease:", "Treatment:"), so such criteria stay criteria. A heading
(``h1``–``h6``) that is no known label ends any section, and so does, outside criteria, a term
(``dt``, ``th``, a row's first cell) that is none ("Study start", "Estimated Enrollment :").
Values the page does not show are taken from its schema.org JSON-LD or microdata (name,
identifier, phase, status, sponsor, healthCondition, description).

Identity: the NCT id when the page shows one (a labelled field, schema.org's identifier, a link to
the registry, or the only NCT id in the text); otherwise ``LOCAL-`` and the first 12 hex digits
of the SHA-256 of the normalized title and sponsor, so a page keeps its id across re-scrapes and
across copies at other URLs, and the same content gives the same id whatever its markup.

Title: see ``listing_title`` — the page's own, else one built from its intervention and condition.

A page that shows recruiting locations is a recruiting trial: overall status and sites
RECRUITING. The eligibility text is written as the registry's API writes it: "Inclusion
Criteria:", a blank line, "* " before each criterion with sub-items two spaces further in, then
"Exclusion Criteria:" and its criteria.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urljoin

from models.trial import Provenance, RawRecord, Trial

from .listing_criteria import criteria_markdown, read_criteria
from .listing_title import built_title, page_title
from .listing_fields import (age_limits, listing_contact, listing_interventions, listing_phases, listing_sex, listing_sites,
                             listing_status, listing_yes_no, one_age)
from .page_lines import Line, PageText, html_lines, looks_like_html, text_lines
from .vocabulary import age_in_years, iso_date, normalize_study_type

FORMAT = "listing-page"

LABELS = {
    "nct_id": ("nct id", "nct number", "nct", "nct no", "clinicaltrials.gov id", "clinicaltrials.gov identifier",
               "clinicaltrials.gov number", "registry id", "trial id"),
    "title": ("title", "study title", "brief title", "trial title", "public title"),
    "official_title": ("official title", "scientific title", "full title"),
    "summary": ("brief summary", "summary", "study summary", "trial summary", "purpose", "overview"),
    "status": ("status", "overall status", "recruitment status", "study status", "trial status"),
    "conditions": ("conditions", "condition", "diseases", "disease", "condition or disease", "medical condition",
                   "medical conditions", "health condition", "condition(s)"),
    "keywords": ("keywords",),
    "ages": ("eligible ages", "ages eligible for study", "ages", "age", "age range", "age group", "eligible age"),
    "min_age": ("minimum age", "min age", "min. age", "lower age limit"),
    "max_age": ("maximum age", "max age", "max. age", "upper age limit"),
    "sex": ("eligible genders", "eligible gender", "genders", "gender", "sex", "sexes eligible for study", "eligible sexes",
            "sex/gender", "eligible sex"),
    "healthy": ("accepts healthy volunteers", "healthy volunteers", "healthy volunteers accepted"),
    "criteria": ("eligibility criteria", "eligibility", "criteria", "key eligibility criteria", "who can take part",
                 "who can join", "who can join this trial", "who can participate"),
    "inclusion": ("inclusion criteria", "key inclusion criteria", "main inclusion criteria", "inclusion"),
    "exclusion": ("exclusion criteria", "key exclusion criteria", "main exclusion criteria", "exclusion"),
    "design": ("study design", "design"),
    "phase": ("phase", "study phase", "trial phase", "phases"),
    "study_type": ("study type",),
    "intervention_model": ("intervention model", "allocation", "masking", "primary purpose"),
    "arms": ("arm groups", "arms", "interventions", "intervention", "treatment", "intervention/treatment"),
    "recruiting_locations": ("recruiting locations",),
    "locations": ("locations", "study locations", "sites", "study sites", "participating sites", "trial locations",
                  "where is this trial taking place"),
    "details": ("more details",),
    "sponsor": ("sponsor", "lead sponsor", "study sponsor", "sponsors", "sponsored by", "sponsors and collaborators"),
    "contact": ("study contact", "contact", "contacts", "central contact", "contact information"),
    "description": ("detailed description",),
    "last_update": ("last updated", "last update posted", "last update"),
}
_LABEL_KEYS = {label: key for key, labels in LABELS.items() for label in labels}
_CRITERIA_KEYS = ("inclusion", "exclusion", "criteria")
_SUBHEADINGS_IN_CRITERIA = {"age", "ages", "sex", "gender", "genders", "condition", "conditions", "disease", "diseases",
                            "treatment", "intervention", "interventions", "phase", "status", "design", "summary", "overview",
                            "title", "purpose", "eligibility", "criteria", "inclusion", "exclusion"}
_OTHER = "_other"  # lines under a heading that is no known label: kept out of every field
_BOILERPLATE = re.compile(r"derived from ClinicalTrials\.gov|listing of studies provided is not certain", re.I)
_NCT = re.compile(r"\bNCT\d{8}\b")
_REGISTRY_LINK = re.compile(r"clinicaltrials\.gov/(?:ct2/show|study)/(NCT\d{8})", re.I)


class ListingError(ValueError):
    """A page that is not a trial listing (e.g. an index of trials); the message says why."""


def _normal(text: str) -> str:
    return " ".join(text.strip().rstrip(":?").split()).casefold()


def _label_key(text: str) -> str | None:
    return _LABEL_KEYS.get(_normal(text))


def _label(line: Line, section: str | None) -> tuple[str, str] | None:
    """(label key, the value after it) when ``line`` is a label in ``section``, else None."""
    in_criteria = section in _CRITERIA_KEYS
    if in_criteria and line.depth:
        return None
    if line.label and (key := _label_key(line.label)):
        return key, line.text[len(line.label):].lstrip(" :").strip()
    key = _label_key(line.text)
    if key is not None:
        if in_criteria and _normal(line.text) in _SUBHEADINGS_IN_CRITERIA and key not in _CRITERIA_KEYS:
            return None
        return key, ""
    if ":" in line.text and not in_criteria:
        head, _, rest = line.text.partition(":")
        if (key := _label_key(head)) is not None:
            return key, rest.strip()
    return None


def sections(lines: list[Line]) -> tuple[list[Line], dict[str, list[Line]]]:
    """Lines → (the lines before the first label, label key → the lines under it). A label met
    again adds to its section."""
    preamble: list[Line] = []
    found: dict[str, list[Line]] = {}
    current, key = preamble, None
    for line in lines:
        if _BOILERPLATE.search(line.text):
            continue
        label = _label(line, key) if line.text else None
        if label is None and (line.block == "heading" or (line.block == "term" and key not in _CRITERIA_KEYS)):
            label = (_OTHER, "")  # a heading, or (outside criteria) a term, that is no known label ends the section
        if label is None:
            current.append(line)
            continue
        key, value = label
        current = found.setdefault(key, [])
        if value:
            current.append(Line(value, line.depth, indent=line.indent))
    return preamble, found


def _texts(lines: list[Line] | None, *, bullets: bool = False) -> list[str]:
    """The lines' texts; ``bullets``: list items start with "• ", as the page shows them."""
    return [("• " if bullets and line.item else "") + line.text for line in lines or [] if line.text]


def _first(lines: list[Line] | None) -> str | None:
    return next(iter(_texts(lines)), None)


def _paragraphs(lines: list[Line] | None) -> str | None:
    return "\n\n".join(_texts(lines)) or None


def _criteria_text(found: dict[str, list[Line]]) -> str:
    """The eligibility text, as the registry's API writes it."""
    parts = []
    headed = any(_texts(found.get(key)) for key in ("inclusion", "exclusion"))
    if general := read_criteria(found.get("criteria", [])):
        parts.append("\n".join(criteria_markdown(general, all_lead_ins=headed)))
    for key, heading in (("inclusion", "Inclusion Criteria:"), ("exclusion", "Exclusion Criteria:")):
        if criteria := read_criteria(found.get(key, [])):
            parts.append(heading + "\n\n" + "\n".join(criteria_markdown(criteria)))
    return "\n\n".join(parts)


def _split_list(lines: list[str]) -> list[str]:
    items = [item.strip(" •") for line in lines for item in line.split(";")]
    return list(dict.fromkeys(item for item in items if item))


def _nct_id(found: dict[str, list[Line]], page: PageText) -> str | None:
    for text in _texts(found.get("nct_id")) + [page.schema.get("identifier", "")]:
        if match := _NCT.search(text):
            return match.group(0)
    for href in [page.canonical_url or ""] + [href for href, _ in page.links]:
        if match := _REGISTRY_LINK.search(href):
            return match.group(1).upper()
    ids = set(_NCT.findall("\n".join(line.text for line in page.lines)))
    return ids.pop() if len(ids) == 1 else None


def local_id(title: str, sponsor: str | None) -> str:
    """``LOCAL-`` + 12 hex digits of SHA-256 over the normalized title and sponsor."""
    normal = lambda text: " ".join((text or "").split()).casefold()  # noqa: E731
    return "LOCAL-" + hashlib.sha256(f"{normal(title)}\n{normal(sponsor)}".encode("utf-8")).hexdigest()[:12].upper()


# ---------------------------------------------------------------------------- the page

def _page_text(content: bytes | str, media_type: str | None) -> tuple[PageText, str]:
    is_html = "html" in media_type if media_type else looks_like_html(content)
    if is_html:
        try:
            return html_lines(content, lambda text: _label_key(text) is not None), "text/html"
        except RecursionError:
            raise ListingError("the page's markup is nested too deeply to read (thousands of elements deep)") from None
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    return text_lines(text), "text/plain"


def parse_listing(content: bytes | str, url: str | None = None, *, media_type: str | None = None,
                  location: str | None = None, retrieved: str | None = None) -> tuple[Trial, RawRecord]:
    """One listing page → (Trial, the page as received). ``url`` is where the page lives on the
    web (kept as ``source_url``, unless the page names its canonical URL); ``location`` is where
    it was read from (default: ``url``). Raises ListingError for a page that holds no trial."""
    page, media = _page_text(content, media_type)
    preamble, found = sections(page.lines)
    if not any(_texts(found.get(key)) for key in ("inclusion", "exclusion", "criteria", "ages", "min_age")):
        raise ListingError("no trial on this page: no eligibility criteria or ages under a known heading")
    title, preamble = page_title(_first(found.get("title")), page, preamble)
    summary = _paragraphs(found.get("summary")) or page.schema.get("description") or _paragraphs(preamble)
    sponsor = _first(found.get("sponsor")) or page.schema.get("sponsor") or _first(found.get("details"))
    minimum_age, maximum_age = age_limits(_first(found.get("ages")))
    minimum_age = minimum_age or one_age(_first(found.get("min_age")))
    maximum_age = maximum_age or one_age(_first(found.get("max_age")))
    recruiting = bool(found.get("recruiting_locations"))
    sites = (listing_sites(_texts(found.get("recruiting_locations")), "RECRUITING" if recruiting else None)
             + listing_sites(_texts(found.get("locations")), None))
    contact = listing_contact(_texts(found.get("contact")))
    phases = (listing_phases([f"Phase {text}" if text[:1].isdigit() else text for text in _texts(found.get("phase"))])
              or listing_phases([page.schema.get("phase", "")])
              or next((stated for text in _texts(found.get("design")) if (stated := listing_phases([text]))), []))
    interventions = listing_interventions(_texts(found.get("arms"), bullets=True))
    conditions = _split_list(_texts(found.get("conditions"))) or _split_list([page.schema.get("healthCondition", "")])
    study_type = normalize_study_type(_first(found.get("study_type")))
    if study_type is None and (found.get("intervention_model") is not None or interventions):
        study_type = "INTERVENTIONAL"  # only interventional studies have an intervention model or arms
    canonical = urljoin(url or "", page.canonical_url) if page.canonical_url else None
    source_url = next((u for u in (canonical, url) if u and u.startswith(("http://", "https://"))), None)
    title = title or built_title(interventions, conditions, summary)
    trial = Trial(
        nct_id=_nct_id(found, page) or local_id(title, sponsor),
        brief_title=title,
        official_title=_first(found.get("official_title")),
        overall_status=(listing_status(_first(found.get("status"))) or listing_status(page.schema.get("status"))
                        or ("RECRUITING" if recruiting else None)),
        phases=phases,
        study_type=study_type,
        conditions=conditions,
        keywords=_split_list(_texts(found.get("keywords"))),
        interventions=interventions,
        lead_sponsor=sponsor,
        last_update_posted=_lenient_date(_first(found.get("last_update"))),
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        min_age_years=age_in_years(minimum_age),
        max_age_years=age_in_years(maximum_age),
        sex=listing_sex(_first(found.get("sex")), "\n".join(_texts(found.get("inclusion")))),
        healthy_volunteers=listing_yes_no(_first(found.get("healthy"))),
        eligibility_text=_criteria_text(found),
        brief_summary=summary,
        detailed_description=_paragraphs(found.get("description")),
        sites=sites,
        contacts=[contact] if contact else [],
        source_url=source_url,
    )
    raw_bytes = content.encode("utf-8") if isinstance(content, str) else content
    raw = RawRecord(Provenance(FORMAT, location or url or "", retrieved), raw_bytes, media)
    return trial, raw


def _lenient_date(text: str | None) -> str | None:
    try:
        return iso_date(text)
    except ValueError:
        return None
