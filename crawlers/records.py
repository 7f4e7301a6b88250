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
        enrollment=_enrollment(int(enrollment)) if enrollment and enrollment.isascii() and enrollment.isdigit() and len(enrollment) < 12 else None,
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

_JSON_KINDS = {dict: "an object", list: "a list", str: "text", bool: "true or false", int: "a number", float: "a number"}
MAX_ENROLLMENT = 10**8  # more people than any trial enrolls: a count beyond it is not read


def _kind(value: Any) -> str:
    return "null" if value is None else _JSON_KINDS.get(type(value), type(value).__name__)


def _checked_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{field}: expected text, got {_kind(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(f"{field}: not valid Unicode text (a lone surrogate)") from None
    return value


class _Fields:
    """A JSON object of a record, read field by field with the type each must have: a field of
    another type is a RecordError naming its path (``protocolSection.designModule.phases``).
    A missing field, or null, is not given."""

    def __init__(self, value: Any, path: str):
        if value is not None and not isinstance(value, dict):
            raise RecordError(f"{path}: expected an object, got {_kind(value)}")
        self.value: dict = value or {}
        self.path = path

    def _field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def obj(self, *keys: str) -> _Fields:
        fields = self
        for key in keys:
            fields = _Fields(fields.value.get(key), fields._field(key))
        return fields

    def text(self, key: str) -> str | None:
        value = self.value.get(key)
        return None if value is None else _checked_text(value, self._field(key))

    def texts(self, key: str) -> list[str]:
        return _dedupe([_checked_text(v, f"{self._field(key)}[{i}]") for i, v in enumerate(self._list(key))])

    def objs(self, key: str) -> list[_Fields]:
        return [_Fields(v, f"{self._field(key)}[{i}]") for i, v in enumerate(self._list(key))]

    def names(self, key: str, name_key: str = "term") -> list[str]:
        """The ``name_key`` texts of a list of objects (MeSH terms, collaborators)."""
        return _dedupe([(item.text(name_key) or "").strip() for item in self.objs(key)])

    def number(self, key: str) -> float | int | None:
        value = self.value.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(f"{self._field(key)}: expected a number, got {_kind(value)}")
        return value

    def flag(self, key: str) -> bool | str | None:
        value = self.value.get(key)
        if value is None or isinstance(value, bool):
            return value
        return self.text(key)

    def _list(self, key: str) -> list:
        value = self.value.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise RecordError(f"{self._field(key)}: expected a list, got {_kind(value)}")
        return value


def _coordinate(value: float | int | None, limit: float) -> float | None:
    """A latitude or longitude the registry gives; anything off the globe (or NaN) is not read."""
    if value is None or not -limit <= value <= limit:
        return None
    return float(value)


def _enrollment(value: float | int | None) -> int | None:
    """A count of people: a whole number between 0 and MAX_ENROLLMENT, else not read."""
    if value is None or not 0 <= value <= MAX_ENROLLMENT or value != int(value):
        return None
    return int(value)


def _v2_site(location: _Fields) -> Site:
    contact = next((c for c in location.objs("contacts") if c.text("phone") or c.text("email")), _Fields(None, ""))
    point = location.obj("geoPoint")
    return Site(
        facility=location.text("facility"),
        city=location.text("city"),
        state=location.text("state"),
        zip=location.text("zip"),
        country=location.text("country"),
        status=normalize_status(location.text("status")),
        lat=_coordinate(point.number("lat"), 90),
        lon=_coordinate(point.number("lon"), 180),
        contact_name=contact.text("name"),
        contact_phone=contact.text("phone"),
        contact_email=contact.text("email"),
    )


def parse_v2_study(study: dict) -> Trial:
    """One API v2 study object (``{"protocolSection": …, "derivedSection": …}``) → Trial.

    A field of the wrong JSON type is a RecordError naming it; a value of the right type that
    cannot be read (a date "soon", an enrollment of 1e300) is kept as not given."""
    if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
        raise RecordError("not an API v2 study (no protocolSection)")
    record = _Fields(study, "")
    protocol = record.obj("protocolSection")
    ident = protocol.obj("identificationModule")
    nct_id = _check_nct_id(ident.value.get("nctId"))
    status = protocol.obj("statusModule")
    design = protocol.obj("designModule")
    eligibility = protocol.obj("eligibilityModule")
    sponsors = protocol.obj("sponsorCollaboratorsModule")
    description = protocol.obj("descriptionModule")
    conditions = protocol.obj("conditionsModule")
    contacts_locations = protocol.obj("contactsLocationsModule")
    derived = record.obj("derivedSection")
    date_of = lambda key: _lenient(iso_date, status.obj(key).text("date"))  # noqa: E731

    contacts = [
        Contact(name=c.text("name"), role=c.text("role") or "CONTACT", phone=c.text("phone"), email=c.text("email"))
        for c in contacts_locations.objs("centralContacts")
    ] + [Contact(name=o.text("name"), role=o.text("role")) for o in contacts_locations.objs("overallOfficials")]
    interventions = [
        Intervention(type=i.text("type"), name=i.text("name") or "", description=i.text("description"),
                     other_names=i.texts("otherNames"))
        for i in protocol.obj("armsInterventionsModule").objs("interventions")
    ]
    minimum_age, maximum_age = eligibility.text("minimumAge"), eligibility.text("maximumAge")
    return Trial(
        nct_id=nct_id,
        nct_aliases=ident.texts("nctIdAliases"),
        brief_title=ident.text("briefTitle") or "",
        official_title=ident.text("officialTitle"),
        acronym=ident.text("acronym"),
        overall_status=normalize_status(status.text("overallStatus")),
        phases=normalize_phases(design.texts("phases")),
        study_type=normalize_study_type(design.text("studyType")),
        conditions=conditions.texts("conditions"),
        condition_mesh_terms=derived.obj("conditionBrowseModule").names("meshes"),
        condition_mesh_ancestors=derived.obj("conditionBrowseModule").names("ancestors"),
        keywords=conditions.texts("keywords"),
        interventions=interventions,
        intervention_mesh_terms=derived.obj("interventionBrowseModule").names("meshes"),
        lead_sponsor=sponsors.obj("leadSponsor").text("name"),
        sponsor_class=normalize_sponsor_class(sponsors.obj("leadSponsor").text("class")),
        collaborators=sponsors.names("collaborators", "name"),
        start_date=date_of("startDateStruct"),
        primary_completion_date=date_of("primaryCompletionDateStruct"),
        completion_date=date_of("completionDateStruct"),
        first_posted=date_of("studyFirstPostDateStruct"),
        last_update_posted=date_of("lastUpdatePostDateStruct"),
        enrollment=_enrollment(design.obj("enrollmentInfo").number("count")),
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        min_age_years=_lenient(age_in_years, minimum_age),
        max_age_years=_lenient(age_in_years, maximum_age),
        sex=normalize_sex(eligibility.text("sex")),
        healthy_volunteers=normalize_yes_no(eligibility.flag("healthyVolunteers")),
        eligibility_text=(eligibility.text("eligibilityCriteria") or "").strip(),
        brief_summary=description.text("briefSummary"),
        detailed_description=description.text("detailedDescription"),
        sites=[_v2_site(location) for location in contacts_locations.objs("locations")],
        contacts=[c for c in contacts if c.name],
    )


# ---------------------------------------------------------------------------- flat records


def _flat_list(record: _Fields, key: str) -> list[str]:
    """A text, or a list of texts (numbers read as text), as corpora write list fields."""
    value = record.value.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    items = [v for v in record._list(key) if v is not None]
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise RecordError(f"{key}[{i}]: expected text, got {_kind(item)}")
    return _dedupe([_checked_text(str(item), f"{key}[{i}]").strip() for i, item in enumerate(items)])


def _flat_site(location: Any, field: str) -> Site:
    if isinstance(location, str):
        return Site(facility=_checked_text(location, field))
    loc = _Fields(location, field)
    return Site(facility=loc.text("facility") or loc.text("name"), city=loc.text("city"), state=loc.text("state"),
                zip=loc.text("zip"), country=loc.text("country"), status=normalize_status(loc.text("status")))


def parse_flat_record(record: dict) -> Trial:
    """A flat record (``nct_id``, ``title``, ``criteria_text``, ``status``, ``min_age`` …) → Trial."""
    nct_id = _check_nct_id(record.get("nct_id"))
    fields = _Fields(record, "")
    text = fields.text
    sites = [_flat_site(loc, f"locations[{i}]") for i, loc in enumerate(fields._list("locations"))]
    minimum_age, maximum_age = text("min_age"), text("max_age")
    criteria = text("criteria_text") or text("eligibility_text")
    if not criteria and (text("inclusion_criteria") or text("exclusion_criteria")):
        parts = [("Inclusion Criteria:", text("inclusion_criteria")), ("Exclusion Criteria:", text("exclusion_criteria"))]
        criteria = "\n\n".join(f"{head}\n{body}" for head, body in parts if body)
    phase_key = "phase" if record.get("phase") else "phases"
    phases = fields.texts(phase_key) if isinstance(record.get(phase_key), list) else text(phase_key)
    enrollment = fields.number("enrollment") if not isinstance(record.get("enrollment"), str) else None
    return Trial(
        nct_id=nct_id,
        brief_title=text("brief_title") or text("title") or "",
        official_title=text("official_title"),
        overall_status=normalize_status(text("status") or text("overall_status")),
        phases=normalize_phases(phases),
        study_type=normalize_study_type(text("study_type")),
        conditions=_flat_list(fields, "conditions"),
        keywords=_flat_list(fields, "keywords"),
        interventions=[Intervention(name=name) for name in _flat_list(fields, "interventions")],
        lead_sponsor=text("sponsor") or text("lead_sponsor"),
        last_update_posted=_lenient(iso_date, text("last_update_posted")),
        enrollment=_enrollment(enrollment),
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        min_age_years=_lenient(age_in_years, minimum_age),
        max_age_years=_lenient(age_in_years, maximum_age),
        sex=normalize_sex(text("sex") or text("gender")),
        healthy_volunteers=normalize_yes_no(fields.flag("healthy_volunteers")),
        eligibility_text=(criteria or "").strip(),
        brief_summary=text("brief_summary"),
        detailed_description=text("detailed_description"),
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
