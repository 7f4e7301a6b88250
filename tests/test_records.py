"""Record readers: legacy XML, API v2 JSON and flat records → Trial."""

import json
import xml.etree.ElementTree as ElementTree
import zipfile

import pytest

from conftest import FIXTURES
from crawlers.records import RecordError, parse_flat_record, parse_v2_study, parse_xml, studies_in_json

# ------------------------------------------------------------------ hand-written fixtures


def test_legacy_us_fed_sponsor_class_is_stored_as_api_v2_writes_it():
    xml = (FIXTURES / "records" / "NCT09000001.xml").read_text(encoding="utf-8")
    assert "<agency_class>Industry</agency_class>" in xml
    trial = parse_xml(xml.replace("<agency_class>Industry</agency_class>", "<agency_class>U.S. Fed</agency_class>").encode())
    assert trial.sponsor_class == "FED"


def test_xml_fixture_every_field():
    trial = parse_xml((FIXTURES / "records" / "NCT09000001.xml").read_bytes())
    assert trial.nct_id == "NCT09000001"
    assert trial.brief_title == "Fixture Study of Drug X in Primary Immune Thrombocytopenia"
    assert trial.official_title.startswith("A Phase 1/Phase 2 Fixture Study")
    assert trial.acronym == "FIX-ITP"
    assert trial.overall_status == "ACTIVE_NOT_RECRUITING"
    assert trial.phases == ["PHASE1", "PHASE2"]
    assert trial.study_type == "INTERVENTIONAL"
    assert trial.conditions == ["Primary Immune Thrombocytopenia", "ITP"]
    assert trial.condition_mesh_terms == ["Purpura, Thrombocytopenic, Idiopathic", "Thrombocytopenia"]
    assert trial.keywords == ["platelets"]
    assert trial.lead_sponsor == "Fixture Pharma" and trial.sponsor_class == "INDUSTRY"
    assert trial.collaborators == ["Fixture University"]
    assert (trial.start_date, trial.completion_date) == ("2021-03-05", "2024-12")
    assert (trial.first_posted, trial.last_update_posted) == ("2021-03-10", "2023-06-07")
    assert trial.enrollment == 40
    assert (trial.minimum_age, trial.min_age_years) == ("6 Months", 0.5)
    assert (trial.maximum_age, trial.max_age_years) == ("N/A", None)
    assert trial.sex == "ALL"  # legacy "Both"
    assert trial.healthy_volunteers is False
    assert trial.eligibility_text.startswith("Inclusion Criteria:")
    assert "Platelet count <30 x 10^9/L" in trial.eligibility_text
    assert "Prior splenectomy" in trial.eligibility_text
    assert trial.brief_summary.startswith("A hand-written summary")
    [intervention] = trial.interventions
    assert (intervention.type, intervention.name, intervention.other_names) == ("BIOLOGICAL", "Drug X", ["DX-101"])
    boston, lyon = trial.sites
    assert (boston.facility, boston.city, boston.state, boston.zip, boston.country) == (
        "Fixture General Hospital", "Boston", "Massachusetts", "02114", "United States")
    assert boston.status == "RECRUITING"
    assert (boston.contact_name, boston.contact_phone) == ("Site Coordinator", "555-0101")
    assert (lyon.city, lyon.country, lyon.status, lyon.zip) == ("Lyon", "France", None, None)
    assert trial.contacts[0].name == "Fixture Contact, MD" and trial.contacts[0].email == "contact@example.org"


def test_v2_fixture_every_field():
    trial = parse_v2_study(json.loads((FIXTURES / "records" / "NCT09000002.json").read_text()))
    assert trial.nct_id == "NCT09000002"
    assert trial.overall_status == "RECRUITING"
    assert trial.phases == ["PHASE2", "PHASE3"]
    assert trial.study_type == "INTERVENTIONAL"
    assert trial.sex == "FEMALE"
    assert (trial.min_age_years, trial.max_age_years) == (18.0, 75.0)
    assert trial.healthy_volunteers is False
    assert trial.enrollment == 120
    assert trial.start_date == "2024-02" and trial.last_update_posted == "2025-03-01"
    assert trial.condition_mesh_terms == ["Purpura, Thrombocytopenic, Idiopathic"]
    assert trial.condition_mesh_ancestors == ["Thrombocytopenia", "Blood Platelet Disorders"]
    assert trial.keywords == ["ITP", "platelets"]
    assert "\\< 30 G/L" in trial.eligibility_text  # markdown escapes are kept as received
    [site] = trial.sites
    assert (site.lat, site.lon, site.status) == (42.3626, -71.0692, "RECRUITING")
    assert (site.contact_name, site.contact_phone) == ("Site Nurse", "555-0201")
    assert [c.role for c in trial.contacts] == ["CONTACT", "PRINCIPAL_INVESTIGATOR"]
    assert trial.interventions[0].other_names == ["DY-7"]


def test_flat_records_join_separate_sections():
    lines = (FIXTURES / "records" / "flat-records.jsonl").read_text().splitlines()
    first, second = (parse_flat_record(json.loads(line)) for line in lines)
    assert (first.overall_status, first.phases, first.min_age_years, first.max_age_years) == ("RECRUITING", ["PHASE3"], 12.0, None)
    assert first.sites[0].city == "Denver"
    assert second.eligibility_text == "Inclusion Criteria:\n- Adults\n\nExclusion Criteria:\n- Pregnancy"


def test_unreadable_records_say_why():
    with pytest.raises(RecordError, match="malformed XML"):
        parse_xml(b"<clinical_study><id_info><nct_id>NCT09000001</nct_id>")
    with pytest.raises(RecordError, match="not <clinical_study>"):
        parse_xml(b"<html><body>not a trial</body></html>")
    with pytest.raises(RecordError, match="no valid NCT id"):
        parse_xml(b"<clinical_study><brief_title>x</brief_title></clinical_study>")
    with pytest.raises(RecordError, match="not a trial record"):
        list(studies_in_json({"data": [1, 2, 3]}))
    with pytest.raises(RecordError, match="no protocolSection"):
        parse_v2_study({"studies": []})


def test_odd_ages_keep_the_text_and_drop_no_limit():
    xml = (FIXTURES / "records" / "NCT09000001.xml").read_bytes()
    odd = xml.replace(b"<minimum_age>6 Months</minimum_age>", b"<minimum_age>eighteen</minimum_age>")
    trial = parse_xml(odd)
    assert trial.minimum_age == "eighteen" and trial.min_age_years is None


def test_record_without_criteria_or_sites():
    xml = (FIXTURES / "records" / "NCT09000001.xml").read_text()
    start, end = xml.index("<eligibility>"), xml.index("</eligibility>") + len("</eligibility>")
    bare = xml[:start] + xml[end:]
    bare = bare[: bare.index("<location>")] + bare[bare.rindex("</location>") + len("</location>"):]
    trial = parse_xml(bare.encode())
    assert trial.eligibility_text == "" and trial.sites == []
    assert (trial.sex, trial.min_age_years, trial.max_age_years) == (None, None, None)


# ------------------------------------------------------------------ real registry records


def _independent_reading(content: bytes) -> dict:
    """The same fields read with the standard library, to check the reader against the file."""
    root = ElementTree.fromstring(content)
    text = lambda path: (root.findtext(path) or "").strip() or None  # noqa: E731
    return {
        "nct_id": text("id_info/nct_id"),
        "brief_title": text("brief_title"),
        "status_text": text("overall_status"),
        "conditions": [e.text.strip() for e in root.findall("condition")],
        "mesh": [e.text.strip() for e in root.findall("condition_browse/mesh_term")],
        "cities": [(e.findtext("facility/address/city") or "").strip() or None for e in root.findall("location")],
        "minimum_age": text("eligibility/minimum_age"),
        "gender": text("eligibility/gender"),
        "criteria": text("eligibility/criteria/textblock"),
        "interventions": [e.findtext("intervention_name").strip() for e in root.findall("intervention")],
    }


def test_real_xml_records_match_the_file(xml_sample):
    with zipfile.ZipFile(xml_sample) as archive:
        names = archive.namelist()
        chosen = names[:: len(names) // 40] + ["NCT0569xxxx/NCT05694767.xml"]
        for name in chosen:
            content = archive.read(name)
            trial, expected = parse_xml(content), _independent_reading(content)
            assert trial.nct_id == expected["nct_id"] == name.rsplit("/", 1)[1][:-4]
            assert trial.brief_title == expected["brief_title"]
            assert trial.overall_status.replace("_", " ").lower() in expected["status_text"].lower().replace(",", "") or \
                expected["status_text"] == "Unknown status"
            assert trial.conditions == list(dict.fromkeys(expected["conditions"]))
            assert trial.condition_mesh_terms == list(dict.fromkeys(expected["mesh"]))
            assert [s.city for s in trial.sites] == expected["cities"]
            assert trial.minimum_age == expected["minimum_age"]
            assert [i.name for i in trial.interventions] == expected["interventions"]
            if expected["criteria"]:
                assert trial.eligibility_text.split() == expected["criteria"].split()


def test_real_recruiting_itp_trial(xml_sample):
    with zipfile.ZipFile(xml_sample) as archive:
        trial = parse_xml(archive.read("NCT0569xxxx/NCT05694767.xml"))
    assert trial.overall_status == "RECRUITING"
    assert trial.phases == ["PHASE2"]
    assert (trial.min_age_years, trial.max_age_years, trial.sex, trial.healthy_volunteers) == (18.0, None, "ALL", False)
    assert trial.condition_mesh_terms == ["Thrombocytopenia", "Purpura, Thrombocytopenic, Idiopathic"]
    assert trial.enrollment == 20 and trial.last_update_posted == "2023-04-13"
    site = trial.sites[0]
    assert (site.city, site.country, site.status) == ("Tianjin", "China", "RECRUITING")


def test_real_api_v2_records(api_v2_dir):
    by_id = {}
    for path in sorted(api_v2_dir.glob("*.json")):
        for format_name, study in studies_in_json(json.loads(path.read_text())):
            assert format_name == "ctgov-api-v2"
            trial = parse_v2_study(study)
            by_id[trial.nct_id] = (trial, study)
    assert len(by_id) >= 18
    for trial, study in by_id.values():
        protocol = study["protocolSection"]
        assert trial.brief_title == protocol["identificationModule"]["briefTitle"]
        assert trial.overall_status == protocol["statusModule"]["overallStatus"]
        locations = protocol.get("contactsLocationsModule", {}).get("locations", [])
        assert [s.city for s in trial.sites] == [loc.get("city") for loc in locations]
        assert [s.lat for s in trial.sites] == [loc.get("geoPoint", {}).get("lat") for loc in locations]
        assert trial.eligibility_text == protocol.get("eligibilityModule", {}).get("eligibilityCriteria", "").strip()
    device_trial, _ = by_id["NCT04207047"]
    assert (device_trial.phases, device_trial.min_age_years, device_trial.max_age_years) == (["NA"], 18.0, None)
    assert device_trial.healthy_volunteers is True
    assert (device_trial.sites[0].city, device_trial.sites[0].lat) == ("Billerica", 42.55843)
    child_trial, _ = by_id["NCT04431453"]  # only a maximum age: no lower limit
    assert (child_trial.min_age_years, child_trial.max_age_years, child_trial.phases) == (None, 18.0, ["PHASE2", "PHASE3"])
