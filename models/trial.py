"""A registry trial and where its record came from.

Enumerations follow the ClinicalTrials.gov API v2 vocabulary (``RECRUITING``, ``PHASE2``,
``INTERVENTIONAL``, ``FEMALE``); readers of other formats translate into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Recruitment statuses of the API v2 (overallStatus and locations[].status).
STATUSES = (
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ENROLLING_BY_INVITATION",
    "ACTIVE_NOT_RECRUITING",
    "SUSPENDED",
    "TERMINATED",
    "COMPLETED",
    "WITHDRAWN",
    "UNKNOWN",
    "AVAILABLE",
    "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING",
    "WITHHELD",
)
OPEN_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING")
PHASES = ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA")
STUDY_TYPES = ("INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS")
SEXES = ("ALL", "FEMALE", "MALE")
# Kinds of lead sponsor (API v2 leadSponsor.class; legacy XML's agency_class translates into it).
SPONSOR_CLASSES = ("NIH", "FED", "OTHER_GOV", "INDIV", "INDUSTRY", "NETWORK", "AMBIG", "OTHER", "UNKNOWN")

REGISTRY_STUDY_URL = "https://clinicaltrials.gov/study/{nct_id}"
NCT_ID = re.compile(r"^NCT\d{8}$")  # trials scraped from pages without one get a local id (LOCAL-…)


def site_is_open(site_status: str | None, trial_status: str | None) -> bool:
    """Whether a site is open to enrolment: its own status is recruiting or not yet recruiting,
    or it has none and the trial's status is one of those (a site without a status in a trial
    that no longer recruits is not open)."""
    return (site_status or trial_status) in OPEN_STATUSES


def study_url(nct_id: str, source_url: str | None = None) -> str | None:
    """The registry's page of a trial; for a trial known only from a listing page (a local id,
    not an NCT id), the page it was scraped from, if known."""
    if NCT_ID.match(nct_id):
        return REGISTRY_STUDY_URL.format(nct_id=nct_id)
    return source_url


@dataclass
class Site:
    """One location where the trial runs."""

    facility: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    status: str | None = None  # one of STATUSES, when the record gives it
    lat: float | None = None
    lon: float | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None


@dataclass
class Contact:
    """A central study contact or the responsible official."""

    name: str | None = None
    role: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass
class Intervention:
    type: str | None = None  # DRUG, BIOLOGICAL, DEVICE, PROCEDURE, BEHAVIORAL, ...
    name: str = ""
    description: str | None = None
    other_names: list[str] = field(default_factory=list)


@dataclass
class Provenance:
    """Where one record came from, and in which format."""

    format: str  # "ctgov-xml", "ctgov-api-v2", "flat-json", "listing-page"
    location: str  # file path, "archive.zip!member", or URL
    retrieved: str | None = None  # when the registry produced or we fetched it (ISO or registry text)


@dataclass
class RawRecord:
    """The record exactly as received, kept so parsing can be redone without re-fetching."""

    provenance: Provenance
    content: bytes
    media_type: str  # "application/xml", "application/json", "text/html", "text/plain"


@dataclass
class Trial:
    nct_id: str
    nct_aliases: list[str] = field(default_factory=list)  # ids the registry merged into this one
    brief_title: str = ""
    official_title: str | None = None
    acronym: str | None = None
    overall_status: str | None = None
    phases: list[str] = field(default_factory=list)
    study_type: str | None = None
    conditions: list[str] = field(default_factory=list)
    condition_mesh_terms: list[str] = field(default_factory=list)
    condition_mesh_ancestors: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    interventions: list[Intervention] = field(default_factory=list)
    intervention_mesh_terms: list[str] = field(default_factory=list)
    lead_sponsor: str | None = None
    sponsor_class: str | None = None
    collaborators: list[str] = field(default_factory=list)
    start_date: str | None = None  # ISO "YYYY-MM-DD" or "YYYY-MM"
    primary_completion_date: str | None = None
    completion_date: str | None = None
    first_posted: str | None = None
    last_update_posted: str | None = None
    enrollment: int | None = None
    minimum_age: str | None = None  # as the registry wrote it, e.g. "18 Years"
    maximum_age: str | None = None
    min_age_years: float | None = None  # None: no lower limit
    max_age_years: float | None = None  # None: no upper limit
    sex: str | None = None  # one of SEXES
    healthy_volunteers: bool | None = None
    eligibility_text: str = ""
    brief_summary: str | None = None
    detailed_description: str | None = None
    sites: list[Site] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    source_url: str | None = None  # the page a scraped trial came from

    @property
    def url(self) -> str | None:
        return study_url(self.nct_id, self.source_url)

    @property
    def is_open(self) -> bool:
        return self.overall_status in OPEN_STATUSES
