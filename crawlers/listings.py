"""Trial listing pages (hospital trial finders that republish registry trials) → ``models.Trial``.

``parse_listing(content, url)`` is a pure function of the page: HTML in any common layout
(labels as ``h1``–``h6`` headings, ``dt``/``dd``, table cells or ``<strong>Label:</strong>``) or
the page's text. The page becomes lines (``page_lines``), the lines become sections under known
labels ("Eligible Ages", "Inclusion Criteria", "Recruiting Locations", …), and the sections
become the Trial's fields (``listing_fields``).

Identity: the NCT id when the page shows one (a labelled field, a link to the registry, or the
only NCT id in the text); otherwise ``LOCAL-`` and the first 12 hex digits of the SHA-256 of the
normalized title and sponsor, so a page keeps its id across re-scrapes and across copies at
other URLs, and the same content gives the same id whatever its markup. A page without a title
(like the seed listing) is titled by the first sentence of its summary.

A page that shows recruiting locations is a recruiting trial: overall status and sites
RECRUITING. The eligibility text is rebuilt as "Inclusion Criteria:\\n…\\n\\nExclusion
Criteria:\\n…" from the page's own bullet lines.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urljoin

from models.trial import Provenance, RawRecord, Trial

from .listing_fields import age_limits, listing_contact, listing_interventions, listing_phases, listing_sex, listing_sites
from .page_lines import PageText, html_lines, looks_like_html, text_lines
from .vocabulary import age_in_years, iso_date, normalize_status, normalize_study_type, normalize_yes_no

FORMAT = "listing-page"

LABELS = {
    "nct_id": ("nct id", "nct number", "nct", "clinicaltrials.gov id", "clinicaltrials.gov identifier", "registry id"),
    "title": ("title", "study title", "brief title"),
    "official_title": ("official title",),
    "summary": ("brief summary", "summary", "study summary", "purpose", "overview"),
    "status": ("status", "overall status", "recruitment status", "study status"),
    "conditions": ("conditions", "condition", "diseases", "disease"),
    "keywords": ("keywords",),
    "ages": ("eligible ages", "ages eligible for study", "ages", "age", "age range"),
    "sex": ("eligible genders", "eligible gender", "genders", "gender", "sex", "sexes eligible for study", "eligible sexes"),
    "healthy": ("accepts healthy volunteers", "healthy volunteers", "accepts healthy volunteers?"),
    "criteria": ("eligibility criteria", "eligibility"),
    "inclusion": ("inclusion criteria",),
    "exclusion": ("exclusion criteria",),
    "design": ("study design", "design"),
    "phase": ("phase", "study phase"),
    "study_type": ("study type",),
    "intervention_model": ("intervention model", "allocation", "masking", "primary purpose"),
    "arms": ("arm groups", "arms", "interventions", "intervention", "treatment"),
    "recruiting_locations": ("recruiting locations",),
    "locations": ("locations", "study locations", "sites", "study sites", "participating sites"),
    "details": ("more details",),
    "sponsor": ("sponsor", "lead sponsor", "study sponsor"),
    "contact": ("study contact", "contact", "contacts", "central contact", "contact information"),
    "description": ("detailed description",),
    "last_update": ("last updated", "last update posted", "last update"),
}
_LABEL_KEYS = {label: key for key, labels in LABELS.items() for label in labels}
_BOILERPLATE = re.compile(r"derived from ClinicalTrials\.gov|listing of studies provided is not certain", re.I)
_NCT = re.compile(r"\bNCT\d{8}\b")
_REGISTRY_LINK = re.compile(r"clinicaltrials\.gov/(?:ct2/show|study)/(NCT\d{8})", re.I)


class ListingError(ValueError):
    """A page that is not a trial listing (e.g. an index of trials); the message says why."""


def _label_key(text: str) -> str | None:
    return _LABEL_KEYS.get(" ".join(text.strip().rstrip(":").split()).casefold())


def sections(lines: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Lines → (the lines before the first label, label key → the lines under it).

    A label is a line that is exactly a known label (``Eligible Ages``) or starts one
    (``Eligible Ages: Over 18 Years``). A label met again adds to its section.
    """
    preamble: list[str] = []
    found: dict[str, list[str]] = {}
    current = preamble
    for line in lines:
        if _BOILERPLATE.search(line):
            continue
        key = _label_key(line)
        if key is None and ":" in line:
            head, _, rest = line.partition(":")
            if (key := _label_key(head)) is not None:
                current = found.setdefault(key, [])
                current.append(rest.strip())
                continue
        if key is not None:
            current = found.setdefault(key, [])
        else:
            current.append(line)
    return preamble, found


def _paragraphs(lines: list[str]) -> str | None:
    return "\n\n".join(line for line in lines if line) or None


def _first(lines: list[str] | None) -> str | None:
    return next((line for line in lines or [] if line), None)


def _criteria_text(found: dict[str, list[str]]) -> str:
    parts = [f"{heading}:\n" + "\n".join(line for line in found[key] if line)
             for key, heading in (("inclusion", "Inclusion Criteria"), ("exclusion", "Exclusion Criteria"))
             if any(found.get(key, []))]
    if any(found.get("criteria", [])):
        parts.insert(0, "\n".join(line for line in found["criteria"] if line))
    return "\n\n".join(parts)


def _first_sentence(text: str | None, limit: int = 300) -> str:
    if not text:
        return ""
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + "…"


def _split_list(lines: list[str] | None) -> list[str]:
    items = [item.strip(" •") for line in lines or [] for item in line.split(";")]
    return list(dict.fromkeys(item for item in items if item))


def _nct_id(found: dict[str, list[str]], page: PageText, text: str) -> str | None:
    for line in found.get("nct_id", []):
        if match := _NCT.search(line):
            return match.group(0)
    for href in [page.canonical_url or ""] + [href for href, _ in page.links]:
        if match := _REGISTRY_LINK.search(href):
            return match.group(1).upper()
    ids = set(_NCT.findall(text))
    return ids.pop() if len(ids) == 1 else None


def local_id(title: str, sponsor: str | None) -> str:
    """``LOCAL-`` + 12 hex digits of SHA-256 over the normalized title and sponsor."""
    normal = lambda text: " ".join((text or "").split()).casefold()  # noqa: E731
    return "LOCAL-" + hashlib.sha256(f"{normal(title)}\n{normal(sponsor)}".encode("utf-8")).hexdigest()[:12].upper()


def _page_text(content: bytes | str, media_type: str | None) -> tuple[PageText, str]:
    is_html = "html" in media_type if media_type else looks_like_html(content)
    if is_html:
        return html_lines(content), "text/html"
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    return text_lines(text), "text/plain"


def parse_listing(content: bytes | str, url: str | None = None, *, media_type: str | None = None,
                  location: str | None = None, retrieved: str | None = None) -> tuple[Trial, RawRecord]:
    """One listing page → (Trial, the page as received). ``url`` is where the page lives on the
    web (kept as ``source_url``, unless the page names its canonical URL); ``location`` is where
    it was read from (default: ``url``). Raises ListingError for a page that holds no trial."""
    page, media = _page_text(content, media_type)
    preamble, found = sections(page.lines)
    if not any(found.get(key) for key in ("inclusion", "exclusion", "criteria", "ages")):
        raise ListingError("no trial on this page: no eligibility criteria or ages under a known heading")
    preamble = [line for line in preamble if line]
    title = _first(found.get("title")) or page.heading
    if title is None and len(preamble) > 1 and len(preamble[0]) <= 200 and not preamble[0].endswith("."):
        title, preamble = preamble[0], preamble[1:]  # a text page's first short line
    summary = _paragraphs(found.get("summary", [])) or _paragraphs(preamble)
    title = title or _first_sentence(summary)
    sponsor = _first(found.get("sponsor")) or _first(found.get("details"))
    criteria = _criteria_text(found)
    minimum_age, maximum_age = age_limits(_first(found.get("ages")))
    recruiting = bool(found.get("recruiting_locations"))
    site_status = "RECRUITING" if recruiting else None
    sites = listing_sites(found.get("recruiting_locations", []), site_status) + listing_sites(found.get("locations", []), None)
    contact = listing_contact(found.get("contact", []))
    design = found.get("design", []) + [f"Phase {line}" if line[:1].isdigit() else line for line in found.get("phase", [])]
    interventions = listing_interventions(found.get("arms", []))
    study_type = normalize_study_type(_first(found.get("study_type")))
    if study_type is None and (found.get("intervention_model") is not None or interventions):
        study_type = "INTERVENTIONAL"  # only interventional studies have an intervention model or arms
    canonical = urljoin(url or "", page.canonical_url) if page.canonical_url else None
    source_url = next((u for u in (canonical, url) if u and u.startswith(("http://", "https://"))), None)
    nct_id = _nct_id(found, page, "\n".join(page.lines))
    trial = Trial(
        nct_id=nct_id or local_id(title, sponsor),
        brief_title=title,
        official_title=_first(found.get("official_title")),
        overall_status=normalize_status(_first(found.get("status"))) or ("RECRUITING" if recruiting else None),
        phases=listing_phases(design),
        study_type=study_type,
        conditions=_split_list(found.get("conditions")),
        keywords=_split_list(found.get("keywords")),
        interventions=interventions,
        lead_sponsor=sponsor,
        last_update_posted=_lenient_date(_first(found.get("last_update"))),
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        min_age_years=age_in_years(minimum_age),
        max_age_years=age_in_years(maximum_age),
        sex=listing_sex(_first(found.get("sex")), "\n".join(found.get("inclusion", []))),
        healthy_volunteers=normalize_yes_no(_first(found.get("healthy"))),
        eligibility_text=criteria,
        brief_summary=summary,
        detailed_description=_paragraphs(found.get("description", [])),
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
