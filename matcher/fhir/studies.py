"""A stored trial → a FHIR R4 ResearchStudy, with its sponsor, sites and eligibility contained.

- ``identifier``: the NCT id in the ``http://clinicaltrials.gov`` system (ids the registry merged
  into it as ``old``); ``id`` is the NCT id, so a ResearchSubject's ``ResearchStudy/NCT…`` resolves.
- ``status``: the registry's overall status in the R4 value set research-study-status (below);
  a status R4 has no code for (UNKNOWN, WITHHELD, none) is left without a value and marked with the
  data-absent-reason extension ``unknown`` rather than guessed. The registry's own code is kept in
  an extension either way.
- ``enrollment``: a contained Group (``actual`` false: a definition, not a list of people) whose
  characteristics are the age range, the sex, and each parsed criterion (``exclude`` true for an
  exclusion); its narrative is the whole eligibility text as the registry wrote it.
- ``site``: contained Locations (address, coordinates, the site's recruitment status as an
  extension); ``sponsor``: a contained Organization.
"""

from __future__ import annotations

from html import escape

from models.criteria import Criterion
from models.trial import NCT_ID, Trial

from .common import CLINICALTRIALS_GOV, EXTENSION_BASE

OVERALL_STATUS = EXTENSION_BASE + "overall-status"
SITE_STATUS = EXTENSION_BASE + "site-recruitment-status"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
PHASE_SYSTEM = "http://terminology.hl7.org/CodeSystem/research-study-phase"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
GENDER = "http://hl7.org/fhir/administrative-gender"

# API v2 overall status → R4 research-study-status ("active: open for accrual", …).
STUDY_STATUS = {
    "RECRUITING": "active",
    "ENROLLING_BY_INVITATION": "active",
    "AVAILABLE": "active",  # expanded access
    "NOT_YET_RECRUITING": "approved",  # approved, not yet open to accrual
    "ACTIVE_NOT_RECRUITING": "closed-to-accrual",  # closed to accrual; patients still examined and treated
    "NO_LONGER_AVAILABLE": "closed-to-accrual",
    "APPROVED_FOR_MARKETING": "closed-to-accrual",
    "SUSPENDED": "temporarily-closed-to-accrual",
    "TEMPORARILY_NOT_AVAILABLE": "temporarily-closed-to-accrual",
    "TERMINATED": "administratively-completed",  # ended prematurely, will not resume
    "COMPLETED": "completed",
    "WITHDRAWN": "withdrawn",  # stopped before its first participant
}
# A trial's phases (API v2) → R4 research-study-phase.
PHASE = {
    ("NA",): "n-a", ("EARLY_PHASE1",): "early-phase-1", ("PHASE1",): "phase-1", ("PHASE1", "PHASE2"): "phase-1-phase-2",
    ("PHASE2",): "phase-2", ("PHASE2", "PHASE3"): "phase-2-phase-3", ("PHASE3",): "phase-3", ("PHASE4",): "phase-4",
}


def _text(value: str) -> dict:
    return {"text": value}


def _years(value: float) -> dict:
    return {"value": value, "unit": "years", "system": UCUM, "code": "a"}


def _telecom(phone: str | None, email: str | None) -> list[dict]:
    return [{"system": s, "value": v} for s, v in (("phone", phone), ("email", email)) if v]


def _status(trial: Trial) -> dict:
    status = STUDY_STATUS.get(trial.overall_status or "")
    if status:
        return {"status": status}
    return {"_status": {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]}}


def _eligibility(trial: Trial, criteria: list[Criterion]) -> dict:
    characteristics = []
    if trial.min_age_years is not None or trial.max_age_years is not None:
        age = {k: _years(v) for k, v in (("low", trial.min_age_years), ("high", trial.max_age_years)) if v is not None}
        characteristics.append({"code": {"coding": [{"system": LOINC, "code": "30525-0", "display": "Age"}]},
                                "valueRange": age, "exclude": False})
    if trial.sex in ("FEMALE", "MALE"):
        characteristics.append({"code": {"coding": [{"system": LOINC, "code": "46098-0", "display": "Sex"}]},
                                "valueCodeableConcept": {"coding": [{"system": GENDER, "code": trial.sex.lower()}]},
                                "exclude": False})
    if trial.healthy_volunteers is not None:
        characteristics.append({"code": _text("accepts healthy volunteers"), "valueBoolean": trial.healthy_volunteers,
                                "exclude": False})
    characteristics += [{"code": _text(f"{c.kind} criterion"), "valueCodeableConcept": _text(c.text),
                         "exclude": c.kind == "exclusion"} for c in criteria]
    group = {"resourceType": "Group", "id": "eligibility", "type": "person", "actual": False}
    if trial.eligibility_text.strip():
        group["text"] = {"status": "additional", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><pre>'
                         f"{escape(trial.eligibility_text.strip(), quote=False)}</pre></div>"}
    if characteristics:
        group["characteristic"] = characteristics
    return group


def _site(number: int, site) -> dict:
    location: dict = {"resourceType": "Location", "id": f"site-{number}"}
    if site.status:
        location["extension"] = [{"url": SITE_STATUS, "valueCode": site.status}]
    if site.facility:
        location["name"] = site.facility
    if telecom := _telecom(site.contact_phone, site.contact_email):
        location["telecom"] = telecom
    address = {k: v for k, v in (("city", site.city), ("state", site.state), ("postalCode", site.zip),
                                 ("country", site.country)) if v}
    if address:
        location["address"] = address
    if site.lat is not None and site.lon is not None:
        location["position"] = {"latitude": site.lat, "longitude": site.lon}
    return location


def research_study(trial: Trial, criteria: list[Criterion]) -> dict:
    """The ResearchStudy for a stored trial and its parsed criteria (none: not parsed yet)."""
    official = NCT_ID.match(trial.nct_id)
    study: dict = {"resourceType": "ResearchStudy", "id": trial.nct_id}
    contained = [_eligibility(trial, criteria)]
    if trial.lead_sponsor:
        contained.append({"resourceType": "Organization", "id": "sponsor", "name": trial.lead_sponsor})
    contained += [_site(n, s) for n, s in enumerate(trial.sites, start=1)]
    study["contained"] = contained
    if trial.overall_status:
        study["extension"] = [{"url": OVERALL_STATUS, "valueCode": trial.overall_status}]
    if official:
        study["identifier"] = [{"use": "official", "system": CLINICALTRIALS_GOV, "value": trial.nct_id}] + [
            {"use": "old", "system": CLINICALTRIALS_GOV, "value": alias} for alias in trial.nct_aliases]
    study["title"] = trial.brief_title or trial.official_title or trial.nct_id
    study.update(_status(trial))
    if phase := PHASE.get(tuple(trial.phases)):
        study["phase"] = {"coding": [{"system": PHASE_SYSTEM, "code": phase}]}
    optional = {
        "category": [_text(trial.study_type)] if trial.study_type else [],
        "focus": [_text(i.name) for i in trial.interventions if i.name],
        "condition": [_text(c) for c in trial.conditions],
        "contact": [{"name": c.name, **({"telecom": t} if (t := _telecom(c.phone, c.email)) else {})}
                    for c in trial.contacts if c.role in ("CONTACT", "CONTACT_BACKUP")],
        "relatedArtifact": [{"type": "documentation", "label": "registry record", "url": trial.url}] if trial.url else [],
        "keyword": [_text(k) for k in trial.keywords],
        "location": [_text(c) for c in dict.fromkeys(s.country for s in trial.sites if s.country)],
        "description": trial.brief_summary,
        "enrollment": [{"reference": "#eligibility"}],
        "period": {k: v for k, v in (("start", trial.start_date), ("end", trial.completion_date)) if v},
        "sponsor": {"reference": "#sponsor", "display": trial.lead_sponsor} if trial.lead_sponsor else None,
        "site": [{"reference": f"#site-{n}"} for n in range(1, len(trial.sites) + 1)],
    }
    study.update({k: v for k, v in optional.items() if v})
    return study
