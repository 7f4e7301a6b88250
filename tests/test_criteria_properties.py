"""Properties that hold for any string: the parser never raises, offsets slice the input,
and the output is deterministic."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.criteria import parse_criteria
from models import to_dict

PIECES = ["Inclusion Criteria:", "Exclusion Criteria:", "\n", "\r\n", "  ", "- ", "* ", "• ", "1. ",
          "a) ", "(ii) ", "~", ": ", "Platelets ", "<", "\\<", "\\>", "≥", "30", "1,500", "G/L", "/mm3",
          "x ULN", "within 14 days", "prior ", "no ", "rituximab", "ITP", "aged 18 years", " or ",
          " and ", "(e.g., ", ")", ".", ";", "other than corticosteroids", "&lt;", "between 1 and",
          "If ", "splenectomy", "–", "years", "months", "\\"]
texts = st.one_of(st.text(max_size=300),
                  st.lists(st.sampled_from(PIECES), max_size=40).map("".join))


def check(text):
    out = parse_criteria(text)
    for c in out:
        assert 0 <= c.start <= c.end <= len(text)
        assert text[c.start:c.end].strip()
        for e in c.entities:
            assert 0 <= e.start < e.end <= len(text)
            assert c.start <= e.start and e.end <= c.end
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_never_raises_and_offsets_slice_the_input(text):
    check(text)


@settings(max_examples=100, deadline=None)
@given(texts)
def test_deterministic(text):
    assert to_dict(parse_criteria(text)) == to_dict(parse_criteria(text))


def test_non_strings_give_nothing():
    assert parse_criteria(None) == [] and parse_criteria(b"Inclusion") == []
