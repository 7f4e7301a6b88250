import pytest

from crawlers.vocabulary import (
    age_in_years,
    iso_date,
    normalize_phases,
    normalize_sex,
    normalize_sponsor_class,
    normalize_status,
    normalize_study_type,
    normalize_yes_no,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Recruiting", "RECRUITING"),
        ("RECRUITING", "RECRUITING"),
        ("Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
        ("Not yet recruiting", "NOT_YET_RECRUITING"),
        ("Unknown status", "UNKNOWN"),
        ("Enrolling by invitation", "ENROLLING_BY_INVITATION"),
        ("Approved for marketing", "APPROVED_FOR_MARKETING"),
        ("", None),
        ("Gibberish", None),
    ],
)
def test_statuses_share_one_vocabulary(text, expected):
    assert normalize_status(text) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Phase 1/Phase 2", ["PHASE1", "PHASE2"]),
        ("Phase 2/Phase 3", ["PHASE2", "PHASE3"]),
        ("Early Phase 1", ["EARLY_PHASE1"]),
        ("N/A", ["NA"]),
        (["PHASE2", "PHASE3"], ["PHASE2", "PHASE3"]),
        (["NA"], ["NA"]),
        (None, []),
    ],
)
def test_phases(value, expected):
    assert normalize_phases(value) == expected


@pytest.mark.parametrize(
    "text, years",
    [("18 Years", 18.0), ("1 Year", 1.0), ("6 Months", 0.5), ("2 Weeks", 0.0383), ("N/A", None), ("", None), (None, None)],
)
def test_ages_in_years(text, years):
    assert age_in_years(text) == years


def test_unreadable_age_is_an_error_not_a_missing_limit():
    with pytest.raises(ValueError):
        age_in_years("eighteen")


@pytest.mark.parametrize(
    "text, iso",
    [("June 24, 2005", "2005-06-24"), ("June 2005", "2005-06"), ("2019-12-20", "2019-12-20"), ("2019-12", "2019-12")],
)
def test_dates(text, iso):
    assert iso_date(text) == iso


def test_other_enumerations():
    assert normalize_study_type("Observational [Patient Registry]") == "OBSERVATIONAL"
    assert normalize_study_type("Expanded Access") == "EXPANDED_ACCESS"
    assert normalize_sex("Both") == "ALL"
    assert normalize_sex("FEMALE") == "FEMALE"
    assert normalize_yes_no("Accepts Healthy Volunteers") is True
    assert normalize_yes_no("No") is False
    assert normalize_yes_no(False) is False


@pytest.mark.parametrize(
    "text, expected",
    [("U.S. Fed", "FED"), ("FED", "FED"), ("Industry", "INDUSTRY"), ("NIH", "NIH"), ("Other", "OTHER"),
     ("OTHER_GOV", "OTHER_GOV"), ("", None), ("Gibberish", None)],
)
def test_sponsor_classes_are_the_api_v2_enumeration(text, expected):
    assert normalize_sponsor_class(text) == expected
