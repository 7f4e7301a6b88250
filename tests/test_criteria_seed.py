"""The seed listing (ianalumab in primary ITP) parses into what a physician would write down."""

from pathlib import Path

import pytest

from matcher.criteria import parse_criteria
from models import to_dict

LISTING = Path(__file__).parent / "fixtures" / "criteria" / "ianalumab-itp-listing.txt"


@pytest.fixture(scope="module")
def listing():
    page = LISTING.read_text(encoding="utf-8")
    start, end = page.index("Inclusion Criteria"), page.index("Study Design")
    return page, start, end


@pytest.fixture(scope="module")
def criteria(listing):
    page, start, end = listing
    return parse_criteria(page[start:end])


def find(criteria, words):
    hits = [c for c in criteria if words in c.text]
    assert len(hits) == 1, f"expected one criterion with {words!r}, got {[c.text for c in hits]}"
    return hits[0]


def only(c):
    """The constraints of ``c`` as dicts without the quoted text."""
    return [{k: v for k, v in to_dict(x).items() if k != "text"} for x in c.constraints]


def test_sections_and_count(criteria):
    kinds = [c.kind for c in criteria]
    assert kinds.count("inclusion") == 8 and kinds.count("exclusion") == 8
    assert kinds == sorted(kinds, key=lambda k: k == "exclusion")


def test_offsets_slice_the_listing(listing, criteria):
    page, start, end = listing
    text = page[start:end]
    for c in criteria:
        assert text[c.start:c.end].startswith(c.text[:12])
        for e in c.entities:
            assert text[e.start:e.end] == e.text


def test_consent_is_administrative(criteria):
    c = find(criteria, "Signed informed consent")
    assert c.category == "administrative" and c.constraints == []


def test_age(criteria):
    c = find(criteria, "Male or female participants aged 18")
    assert c.category == "age"
    assert only(c) == [{"type": "age", "op": ">=", "value": 18, "unit": "years", "negated": False}]


def test_primary_itp_diagnosis(criteria):
    c = find(criteria, "Confirmed diagnosis of primary ITP")
    [k] = c.constraints
    assert (c.category, k.type, k.name, k.mesh_term, k.negated) == (
        "condition", "condition", "primary immune thrombocytopenia",
        "Purpura, Thrombocytopenic, Idiopathic", False)


def test_prior_corticosteroid_and_tpo_ra(criteria):
    c = find(criteria, "Prior treatment with at least a corticosteroid")
    got = {(k.type, k.drug_class, k.timing, k.any_of) for k in c.constraints}
    assert got == {("therapy", "corticosteroid", "prior", None),
                   ("therapy", "tpo_receptor_agonist", "prior", None)}


def test_permission_states_no_requirement(criteria):
    assert find(criteria, "Prior additional therapies are allowed").constraints == []


def test_past_response_is_history_not_a_current_platelet_rule(criteria):
    c = find(criteria, "Prior response to IVIG/anti-D")
    platelets = [k for k in c.constraints if k.type == "measurement"]
    assert [(k.measure, k.op, k.value, k.timing) for k in platelets] == [
        ("platelet_count", ">=", 50, "prior")]
    therapies = {k.drug_class for k in c.constraints if k.type == "therapy"}
    assert therapies == {"ivig", "anti_d", "corticosteroid"}
    assert len({k.any_of for k in c.constraints if k.type == "therapy"}) == 1


def test_platelets_below_30_once(criteria):
    c = find(criteria, "Platelet count <30 G/L")
    assert c.category == "measurement"
    assert only(c) == [{"type": "measurement", "measure": "platelet_count", "loinc": "777-3",
                        "op": "<", "value": 30, "unit": "10^9/L", "negated": False}]


def test_secondary_thrombocytopenia_is_not_primary_itp(criteria):
    c = find(criteria, "secondary thrombocytopenia")
    [k] = c.constraints
    assert (c.kind, k.type, k.name, k.mesh_term) == (
        "exclusion", "condition", "secondary thrombocytopenia", "Thrombocytopenia")


def test_transfusion_plasmapheresis_rescue_within_14_days(criteria):
    c = find(criteria, "whole blood transfusion")
    got = {(k.type, k.name or k.drug_class, k.within_days) for k in c.constraints}
    assert got == {("procedure", "platelet transfusion", 14), ("procedure", "blood transfusion", 14),
                   ("procedure", "plasmapheresis", 14), ("therapy", "rescue_medication", 14)}
    assert len({k.any_of for k in c.constraints}) == 1 and c.constraints[0].any_of


def test_neutrophils_from_cells_per_mm3_with_parent_context(criteria):
    c = find(criteria, "Neutrophils <1000/mm3")
    assert c.kind == "exclusion"
    assert c.context == "Participants with the following conditions at screening"
    assert [(k.measure, k.op, k.value, k.unit) for k in c.constraints] == [
        ("neutrophil_count", "<", 1.0, "10^9/L")]


def test_igg(criteria):
    c = find(criteria, "Immunoglobulin G (IgG)")
    assert [(k.measure, k.op, k.value, k.unit) for k in c.constraints] == [
        ("immunoglobulin_g", "<", 5, "g/L")]


def test_b_cell_depleting_and_anti_baff_within_84_days(criteria):
    c = find(criteria, "B-cell depleting therapy (e.g., rituximab)")
    got = {(k.drug_class, k.within_days, k.timing, k.negated) for k in c.constraints}
    assert got == {("b_cell_depleting", 84, "prior", False), ("anti_baff", 84, "prior", False)}
    drugs = {e.text.lower() for e in c.entities if e.type == "Drug"}
    assert {"rituximab", "belimumab"} <= drugs
    assert all(k.drug != "ianalumab" for k in c.constraints)


def test_immunosuppressants_other_than_corticosteroids(criteria):
    c = find(criteria, "Immunosuppressant drugs other than corticosteroids")
    assert [(k.drug_class, k.within_days, k.excluding) for k in c.constraints] == [
        ("immunosuppressant", 14, "corticosteroid")]


def test_prior_splenectomy(criteria):
    c = find(criteria, "Prior splenectomy")
    assert (c.kind, c.category) == ("exclusion", "procedure")
    assert [(k.type, k.name, k.timing, k.negated) for k in c.constraints] == [
        ("procedure", "splenectomy", "prior", False)]


def test_boilerplate_is_its_own_administrative_criterion(criteria):
    c = find(criteria, "Other protocol-defined inclusion/exclusion criteria may apply")
    assert c.category == "administrative" and c.constraints == []
