"""Registry records → ``models.Trial``. Pure functions: bytes or parsed JSON in, Trial out.

Three shapes are read:

- legacy ClinicalTrials.gov XML (``<clinical_study>``, the old ``AllPublicXML.zip``);
- API v2 JSON: one study (``{"protocolSection": …}``) or a search page (``{"studies": […]}``);
- flat JSON records with top-level ``nct_id`` and ``title``/``brief_title`` fields, as public
  benchmark corpora and CSV exports carry them.

A record that cannot be read raises ``RecordError`` with the reason; callers report and skip it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from models.trial import Contact, Intervention, Site, Trial

from .vocabulary import (
    age_in_years,
    iso_date,
    normalize_phases,
    normalize_sex,
    normalize_sponsor_class,
    normalize_status,
    normalize_study_type,
    normalize_yes_no,
)

NCT_ID = re.compile(r"^NCT\d{8}$")


class RecordError(ValueError):
    """A record that is not a readable trial; the message says why."""


def _check_nct_id(nct_id: Any) -> str:
    if not isinstance(nct_id, str) or not NCT_ID.match(nct_id.strip()):
        raise RecordError(f"no valid NCT id (got {nct_id!r})")
    return nct_id.strip()


def _lenient(convert, value):
    """Apply a normalizer; text it cannot read becomes None rather than losing the record."""
    try:
        return convert(value)
    except ValueError:
        return None


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


# ---------------------------------------------------------------------------- legacy XML

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _text(element, path: str) -> str | None:
    found = element.findtext(path)
    return (found.strip() or None) if found else None


def _texts(element, path: str) -> list[str]:
    return _dedupe([(e.text or "").strip() for e in element.iterfind(path)])


def _textblock(element, path: str) -> str | None:
    """Text of a ``<textblock>``, with the registry's CRLF and indentation as received."""
    block = element.find(path)
    if block is None or block.text is None:
        return None
    return block.text.strip("\n ").rstrip() or None


def parse_xml_element(root) -> Trial:
    """A parsed ``<clinical_study>`` element → Trial."""
    if root.tag != "clinical_study":
        raise RecordError(f"root element is <{root.tag}>, not <clinical_study>")
    nct_id = _check_nct_id(_text(root, "id_info/nct_id"))
    eligibility = root.find("eligibility")
    if eligibility is None:
        eligibility = etree.Element("eligibility")
    minimum_age, maximum_age = _text(eligibility, "minimum_age"), _text(eligibility, "maximum_age")
    enrollment = _text(root, "enrollment")

    sites = [_xml_site(location) for location in root.iterfind("location")]
    contacts = [
        Contact(name=_text(c, "last_name"), role=role, phone=_text(c, "phone"), email=_text(c, "email"))
        for tag, role in (("overall_contact", "CONTACT"), ("overall_contact_backup", "CONTACT_BACKUP"))
        for c in root.iterfind(tag)
    ]
    contacts += [
        Contact(name=_text(o, "last_name"), role=_enum_or_none(_text(o, "role")))
        for o in root.iterfind("overall_official")
    ]
    interventions = [
        Intervention(
            type=_enum_or_none(_text(i, "intervention_type")),
            name=_text(i, "intervention_name") or "",
            description=_text(i, "description"),
            other_names=_texts(i, "other_name"),
        )
        for i in root.iterfind("intervention")
    ]
    return Trial(
        nct_id=nct_id,
        nct_aliases=_texts(root, "id_info/nct_alias"),
        brief_title=_text(root, "brief_title") or "",
        official_title=_text(root, "official_title"),
        acronym=_text(root, "acronym"),
        overall_status=normalize_status(_text(root, "overall_status")),
        phases=normalize_phases(_text(root, "phase")),
        study_type=normalize_study_type(_text(root, "study_type")),
        conditions=_texts(root, "condition"),
        condition_mesh_terms=_texts(root, "condition_browse/mesh_term"),
        keywords=_texts(root, "keyword"),
        interventions=interventions,
        intervention_mesh_terms=_texts(root, "intervention_browse/mesh_term"),
        lead_sponsor=_text(root, "sponsors/lead_sponsor/agency"),
        sponsor_class=normalize_sponsor_class(_text(root, "sponsors/lead_sponsor/agency_class")),
        collaborators=_texts(root, "sponsors/collaborator/agency"),
        start_date=_lenient(iso_date, _text(root, "start_date")),
        primary_completion_date=_lenient(iso_date, _text(root, "primary_completion_date")),
        completion_date=_lenient(iso_date, _text(root, "completion_date")),
        first_posted=_lenient(iso_date, _text(root, "study_first_posted") or _text(root, "firstreceived_date")),
        last_update_posted=_lenient(iso_date, _text(root, "last_update_posted") or _text(root, "lastchanged_date")),
        enrollment=int(enrollment) if enrollment and enrollment.isdigit() else None,
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        min_age_years=_lenient(age_in_years, minimum_age),
        max_age_years=_lenient(age_in_years, maximum_age),
        sex=normalize_sex(_text(eligibility, "gender")),
        healthy_volunteers=normalize_yes_no(_text(eligibility, "healthy_volunteers")),
        eligibility_text=_textblock(eligibility, "criteria/textblock") or "",
        brief_summary=_textblock(root, "brief_summary/textblock"),
        detailed_description=_textblock(root, "detailed_description/textblock"),
        sites=sites,
        contacts=[c for c in contacts if c.name],
    )


def _child_texts(element) -> dict[str, str]:
    """Tag → stripped text of an element's direct children (the first of each tag)."""
    texts: dict[str, str] = {}
    if element is not None:
        for child in element:
            if child.text and child.tag not in texts and isinstance(child.tag, str):
                texts[child.tag] = child.text.strip()
    return {tag: text for tag, text in texts.items() if text}


def _xml_site(location) -> Site:
    facility = location.find("facility")
    address = _child_texts(facility.find("address") if facility is not None else None)
    contact = _child_texts(location.find("contact"))
    return Site(
        facility=_child_texts(facility).get("name"),
        city=address.get("city"),
        state=address.get("state"),
        zip=address.get("zip"),
        country=address.get("country"),
        status=normalize_status(_child_texts(location).get("status")),
        contact_name=contact.get("last_name"),
        contact_phone=contact.get("phone"),
        contact_email=contact.get("email"),
    )


def _enum_or_none(text: str | None) -> str | None:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_") if text else None


def parse_xml(content: bytes) -> Trial:
    """One legacy XML document → Trial."""
    try:
        root = etree.fromstring(content, _XML_PARSER)
    except etree.XMLSyntaxError as error:
        raise RecordError(f"malformed XML: {error}") from None
    return parse_xml_element(root)


def xml_download_date(content: bytes) -> str | None:
    """The ``required_header/download_date`` sentence of a legacy record, if present."""
    match = re.search(rb"<download_date>([^<]*)</download_date>", content[:2048])
    return match.group(1).decode("utf-8", "replace").strip() if match else None


# ---------------------------------------------------------------------------- API v2 JSON


def _get(obj: Any, *path: str, default=None):
    for key in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(key)
        if obj is None:
            return default
    return obj


def _names(items: Any, key: str = "term") -> list[str]:
    if not isinstance(items, list):
        return []
    return _dedupe([str(i.get(key, "")).strip() for i in items if isinstance(i, dict)])


def _float(value) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_v2_study(study: dict) -> Trial:
    """One API v2 study object (``{"protocolSection": …, "derivedSection": …}``) → Trial."""
    if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
        raise RecordError("not an API v2 study (no protocolSection)")
    protocol = study["protocolSection"]
    ident = protocol.get("identificationModule") or {}
    nct_id = _check_nct_id(ident.get("nctId"))
    status = protocol.get("statusModule") or {}
    design = protocol.get("designModule") or {}
    eligibility = protocol.get("eligibilityModule") or {}
    sponsors = protocol.get("sponsorCollaboratorsModule") or {}
    description = protocol.get("descriptionModule") or {}
    conditions = protocol.get("conditionsModule") or {}
    contacts_locations = protocol.get("contactsLocationsModule") or {}
    derived = study.get("derivedSection") or {}

    sites = []
    for loc in contacts_locations.get("locations") or []:
        if not isinstance(loc, dict):
            continue
        contact = next((c for c in loc.get("contacts") or [] if isinstance(c, dict) and (c.get("phone") or c.get("email"))), {})
        sites.append(
            Site(
                facility=loc.get("facility"),
                city=loc.get("city"),
                state=loc.get("state"),
                zip=loc.get("zip"),
                country=loc.get("country"),
                status=normalize_status(loc.get("status")),
                lat=_float(_get(loc, "geoPoint", "lat")),
                lon=_float(_get(loc, "geoPoint", "lon")),
                contact_name=contact.get("name"),
                contact_phone=contact.get("phone"),
                contact_email=contact.get("email"),
            )
        )
    contacts = [
        Contact(name=c.get("name"), role=c.get("role") or "CONTACT", phone=c.get("phone"), email=c.get("email"))
        for c in contacts_locations.get("centralContacts") or []
        if isinstance(c, dict)
    ] + [
        Contact(name=o.get("name"), role=o.get("role"))
        for o in contacts_locations.get("overallOfficials") or []
        if isinstance(o, dict)
    ]
    interventions = [
        Intervention(
            type=i.get("type"),
            name=i.get("name") or "",
            description=i.get("description"),
            other_names=_dedupe(i.get("otherNames") or []),
        )
        for i in _get(protocol, "armsInterventionsModule", "interventions", default=[])
        if isinstance(i, dict)
    ]
    enrollment = _get(design, "enrollmentInfo", "count")
    minimum_age, maximum_age = eligibility.get("minimumAge"), eligibility.get("maximumAge")
    return Trial(
        nct_id=nct_id,
        nct_aliases=_dedupe(ident.get("nctIdAliases") or []),
        brief_title=ident.get("briefTitle") or "",
        official_title=ident.get("officialTitle"),
        acronym=ident.get("acronym"),
        overall_status=normalize_status(status.get("overallStatus")),
        phases=normalize_phases(design.get("phases")),
        study_type=normalize_study_type(design.get("studyType")),
        conditions=_dedupe(conditions.get("conditions") or []),
        condition_mesh_terms=_names(_get(derived, "conditionBrowseModule", "meshes")),
        condition_mesh_ancestors=_names(_get(derived, "conditionBrowseModule", "ancestors")),
        keywords=_dedupe(conditions.get("keywords") or []),
        interventions=interventions,
        intervention_mesh_terms=_names(_get(derived, "interventionBrowseModule", "meshes")),
        lead_sponsor=_get(sponsors, "leadSponsor", "name"),
        sponsor_class=normalize_sponsor_class(_get(sponsors, "leadSponsor", "class")),
        collaborators=_names(sponsors.get("collaborators"), key="name"),
        start_date=_lenient(iso_date, _get(status, "startDateStruct", "date")),
        primary_completion_date=_lenient(iso_date, _get(status, "primaryCompletionDateStruct", "date")),
        completion_date=_lenient(iso_date, _get(status, "completionDateStruct", "date")),
        first_posted=_lenient(iso_date, _get(status, "studyFirstPostDateStruct", "date")),
        last_update_posted=_lenient(iso_date, _get(status, "lastUpdatePostDateStruct", "date")),
        enrollment=int(enrollment) if isinstance(enrollment, (int, float)) else None,
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        min_age_years=_lenient(age_in_years, minimum_age),
        max_age_years=_lenient(age_in_years, maximum_age),
        sex=normalize_sex(eligibility.get("sex")),
        healthy_volunteers=normalize_yes_no(eligibility.get("healthyVolunteers")),
        eligibility_text=(eligibility.get("eligibilityCriteria") or "").strip(),
        brief_summary=description.get("briefSummary"),
        detailed_description=description.get("detailedDescription"),
        sites=sites,
        contacts=[c for c in contacts if c.name],
    )


# ---------------------------------------------------------------------------- flat records


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return _dedupe([str(v).strip() for v in value if v is not None])


def parse_flat_record(record: dict) -> Trial:
    """A flat record (``nct_id``, ``title``, ``criteria_text``, ``status``, ``min_age`` …) → Trial."""
    nct_id = _check_nct_id(record.get("nct_id"))
    locations = record.get("locations") or []
    sites = [
        Site(facility=loc.get("facility") or loc.get("name"), city=loc.get("city"), state=loc.get("state"),
             zip=loc.get("zip"), country=loc.get("country"), status=normalize_status(loc.get("status")))
        if isinstance(loc, dict) else Site(facility=str(loc))
        for loc in (locations if isinstance(locations, list) else [])
    ]
    minimum_age, maximum_age = record.get("min_age"), record.get("max_age")
    criteria = record.get("criteria_text") or record.get("eligibility_text")
    if not criteria and (record.get("inclusion_criteria") or record.get("exclusion_criteria")):
        parts = [("Inclusion Criteria:", record.get("inclusion_criteria")), ("Exclusion Criteria:", record.get("exclusion_criteria"))]
        criteria = "\n\n".join(f"{head}\n{body}" for head, body in parts if body)
    enrollment = record.get("enrollment")
    return Trial(
        nct_id=nct_id,
        brief_title=record.get("brief_title") or record.get("title") or "",
        official_title=record.get("official_title"),
        overall_status=normalize_status(record.get("status") or record.get("overall_status")),
        phases=normalize_phases(record.get("phase") or record.get("phases")),
        study_type=normalize_study_type(record.get("study_type")),
        conditions=_as_list(record.get("conditions")),
        keywords=_as_list(record.get("keywords")),
        interventions=[Intervention(name=name) for name in _as_list(record.get("interventions"))],
        lead_sponsor=record.get("sponsor") or record.get("lead_sponsor"),
        last_update_posted=_lenient(iso_date, record.get("last_update_posted")),
        enrollment=int(enrollment) if isinstance(enrollment, (int, float)) else None,
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        min_age_years=_lenient(age_in_years, minimum_age),
        max_age_years=_lenient(age_in_years, maximum_age),
        sex=normalize_sex(record.get("sex") or record.get("gender")),
        healthy_volunteers=normalize_yes_no(record.get("healthy_volunteers")),
        eligibility_text=(criteria or "").strip(),
        brief_summary=record.get("brief_summary"),
        detailed_description=record.get("detailed_description"),
        sites=sites,
    )


def studies_in_json(document: Any) -> Iterator[tuple[str, dict]]:
    """The trial records inside one JSON document, each with its format name.

    Raises RecordError when the document holds no trial at all (e.g. another API's JSON).
    """
    if isinstance(document, dict) and isinstance(document.get("studies"), list):
        for study in document["studies"]:
            yield "ctgov-api-v2", study
    elif isinstance(document, dict) and "protocolSection" in document:
        yield "ctgov-api-v2", document
    elif isinstance(document, dict) and "nct_id" in document:
        yield "flat-json", document
    else:
        keys = ", ".join(list(document)[:5]) if isinstance(document, dict) else type(document).__name__
        raise RecordError(f"not a trial record: no protocolSection, studies or nct_id (found {keys})")


def parse_json_record(format_name: str, record: dict) -> Trial:
    if format_name == "ctgov-api-v2":
        return parse_v2_study(record)
    return parse_flat_record(record)
