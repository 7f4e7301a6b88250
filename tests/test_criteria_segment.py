"""Segmentation of real formats: headings, bullets of every kind, nesting, flattened
listings, markdown escapes, Windows line endings; offsets index the original text."""

from pathlib import Path

import pytest

from matcher.criteria import parse_criteria
from matcher.criteria.segment import segment

FIXTURES = Path(__file__).parent / "fixtures" / "criteria"


def load(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


def plain(s: str) -> str:
    """What the parser's texts look like: escapes removed, whitespace collapsed."""
    return " ".join(s.replace("\\", "").split())


def items(text):
    return [(s.kind, s.text) for s in segment(text)]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.txt")))
def test_offsets_point_into_the_original(name):
    text = load(name)
    for c in parse_criteria(text):
        span = text[c.start:c.end]
        assert span.strip() == span and span
        assert plain(span) == c.text
        for e in c.entities:
            assert plain(text[e.start:e.end]) == e.text


def test_legacy_xml_wrapped_lines_and_crlf():
    got = items(load("legacy-xml-wrapped.txt"))
    assert got == [
        ("inclusion", "Age 18 years or older"),
        ("inclusion", "Histologically confirmed squamous cell carcinoma of the head and neck that "
                      "is incurable by standard therapy"),
        ("inclusion", "Absolute neutrophil count greater than 1,500/mm3 and platelet count greater "
                      "than 100,000/mm3"),
        ("exclusion", "Pregnant or nursing women"),
        ("exclusion", "Prior chemotherapy within 4 weeks before enrollment"),
    ]


def test_markdown_nested_bullets_escapes():
    segs = segment(load("api-v2-markdown.txt"))
    texts = [s.text for s in segs]
    assert "Hemoglobin >= 9 g/dL" in texts and "eGFR < 30 mL/min/1.73 m²" in texts
    creat = next(s for s in segs if s.text.startswith("Serum creatinine"))
    assert creat.context == "Adequate organ function, defined as"
    assert not any(t.startswith("Adequate organ function") for t in texts)  # a pure lead-in
    ecog = next(s for s in segs if s.text.startswith("ECOG"))
    assert ecog.context is None  # back at the top level
    assert [s.kind for s in segs].count("exclusion") == 3


def test_numbered_lettered_roman_and_key_headings():
    got = items(load("numbered-nested.txt"))
    assert got[0] == ("inclusion", "Male or female patients, 12 years of age or older.")
    assert ("inclusion", "BMI ≥ 27 kg/m2") in got
    assert got[-3:] == [("exclusion", "History of type 1 diabetes mellitus."),
                        ("exclusion", "Prior bariatric surgery."),
                        ("exclusion", "No evidence of active hepatitis B.")]
    bmi = next(s for s in segment(load("numbered-nested.txt")) if s.text.startswith("BMI"))
    assert bmi.context == "Participants must have at least one of the following"


def test_trialgpt_flat_form():
    got = items(load("trialgpt-flat.txt"))
    assert got == [("inclusion", "Body mass index (BMI) 30-39.9 kg/m2"),
                   ("inclusion", "Age 25-50 years"),
                   ("exclusion", "Type 1 diabetes"),
                   ("exclusion", "Use of obesity pharmacotherapeutic agents within the last 6 months"),
                   ("exclusion", "Pregnancy or lactation")]


def test_tilde_as_line_break():
    assert items(load("tilde-separated.txt")) == [
        ("inclusion", "Women aged 40 to 65 years"),
        ("inclusion", "Postmenopausal for at least 12 months"),
        ("exclusion", "Breast cancer"),
        ("exclusion", "Hormone replacement therapy in the past 3 months")]


def test_pdq_characteristics_headings():
    got = items(load("pdq-characteristics.txt"))
    assert got[0] == ("inclusion", "Histologically confirmed non-small cell lung cancer")
    assert ("inclusion", "Performance status: ECOG 0-2") in got
    assert got[-1] == ("inclusion", "At least 3 weeks since prior chemotherapy")


def test_one_criterion_per_line_without_headings():
    assert items(load("no-headings.txt")) == [
        ("inclusion", "adults with newly diagnosed glioblastoma"),
        ("inclusion", "at least 18 years of age"),
        ("inclusion", "able to understand the consent")]


def test_flattened_seed_listing_keeps_parent_context():
    text = ("Exclusion Criteria\n\n  • Diagnosis of X. - Participants with the following conditions "
            "at screening: - Neutrophils <1000/mm3. - Prior splenectomy.")
    segs = segment(text)
    assert [s.text for s in segs] == ["Diagnosis of X.", "Neutrophils <1000/mm3.", "Prior splenectomy."]
    assert all(s.kind == "exclusion" for s in segs)
    assert segs[1].context == "Participants with the following conditions at screening"


@pytest.mark.parametrize("heading, kind", [
    ("Inclusion Criteria:", "inclusion"), ("INCLUSION:", "inclusion"),
    ("Key Exclusion Criteria", "exclusion"), ("Exclusion criteria include:", "exclusion"),
    ("Patients must not have any of the following:", "exclusion"),
    ("Patients must meet all of the following criteria:", "inclusion"),
    ("Main exclusion criteria:", "exclusion"), ("Non-inclusion criteria:", "exclusion"),
])
def test_heading_shapes(heading, kind):
    segs = segment(f"{heading}\n- Prior splenectomy\n")
    assert [(s.kind, s.text) for s in segs] == [(kind, "Prior splenectomy")]


def test_inline_headings_in_one_line():
    segs = segment("inclusion criteria: Age 18 years or older. exclusion criteria: Prior splenectomy.")
    assert [(s.kind, s.text) for s in segs] == [("inclusion", "Age 18 years or older."),
                                                ("exclusion", "Prior splenectomy.")]


@pytest.mark.parametrize("bullet", ["*", "-", "•", "1.", "1)", "(1)", "a.", "(a)", "ii.", "▪"])
def test_bullet_shapes(bullet):
    text = f"Inclusion Criteria:\n{bullet} Age 18 years or older\n{bullet} Platelets < 50 x 10^9/L\n"
    assert [s.text for s in segment(text)] == ["Age 18 years or older", "Platelets < 50 x 10^9/L"]


def test_empty_and_blank_texts():
    assert segment("") == [] and segment("  \n\r\n ") == [] and parse_criteria("Inclusion Criteria:\n\n") == []
