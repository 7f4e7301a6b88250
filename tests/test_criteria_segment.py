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


def texts(text):
    return [(s.kind, s.text) for s in segment(text)]


def test_inline_numbered_and_lettered_lists_split_into_criteria():
    text = ("Inclusion Criteria:\n\n  4. Written informed consent 5. LVEF ≥ 50% within 28 days before randomisation 6. Eastern\n"
            "     Cooperative Oncology Group performance status (ECOG PS) 0-1 7. Adequate organ function\n")
    assert [t for _, t in texts(text)] == [
        "Written informed consent", "LVEF ≥ 50% within 28 days before randomisation",
        "Eastern Cooperative Oncology Group performance status (ECOG PS) 0-1", "Adequate organ function"]
    assert [t for _, t in texts("Inclusion Criteria:\n  2. Age ≥18 years 3a. Cohort 1: low risk, OR 3b. Cohort 2: high risk")] == [
        "Age ≥18 years", "Cohort 1: low risk, OR", "Cohort 2: high risk"]
    assert [t for _, t in texts("Inclusion Criteria:\n- Adults a) Able to consent b) ECOG 0-1 c) Platelets > 100")] == [
        "Adults", "Able to consent", "ECOG 0-1", "Platelets > 100"]


def test_lists_that_a_criterion_leads_and_ranges_stay_whole():
    for item in ("MI defined by at least 2 of: 1) Ischemic symptoms 2) Troponin rise 3) ECG changes",
                 "One of the following a) Diabetes b) Hypertension",
                 "Hemoglobin > 9 g/dL. 2 Platelets > 100",
                 "Tumour size cT2 (1 - ≤3cm) or cT2 (>3 - ≤5cm)",
                 "CD4 count 100 - 500 cells/mm3"):
        assert [t for _, t in texts(f"Inclusion Criteria:\n- {item}")] == [item]


def test_headers_amendment_labels_and_empty_sections_are_not_criteria():
    text = ("-  INCLUSION / EXCLUSION CRITERIA:\n\n   Probands of any age.\n\nPER AMENDMENT 4/5/95:\n\n"
            "  - CD4 count > 200\n  - AMENDED:\n\nOR-\n\nExclusion Criteria:\n\nNone\n")
    assert texts(text) == [("inclusion", "Probands of any age."), ("inclusion", "CD4 count > 200")]
    assert texts("Inclusion Criteria:\n- Life expectancy: Not specified\n- Not specified\n- Age > 18") == [
        ("inclusion", "Life expectancy: Not specified"), ("inclusion", "Age > 18")]


def test_a_wrapped_line_is_never_a_heading():
    # "study entry." once read as the heading "Entry" and turned every later exclusion into an inclusion
    text = ("Exclusion Criteria:\n\n  -  Corticosteroids or immunomodulating agents within 30 days prior to\n"
            "     study entry.\n\n  -  Chronic disulfiram therapy.\n")
    assert texts(text) == [
        ("exclusion", "Corticosteroids or immunomodulating agents within 30 days prior to study entry."),
        ("exclusion", "Chronic disulfiram therapy.")]
