"""Lab names, LOINC codes and unit conversion shared by criteria and patient records."""

import pytest

from matcher.criteria import find_measure, to_canonical


@pytest.mark.parametrize("name, measure, loinc", [
    ("Platelets", "platelet_count", "777-3"), ("PLT", "platelet_count", "777-3"),
    ("platelet count", "platelet_count", "777-3"), ("777-3", "platelet_count", "777-3"),
    ("hemoglobin", "hemoglobin", "718-7"), ("Hb", "hemoglobin", "718-7"), ("HGB", "hemoglobin", "718-7"),
    ("ANC", "neutrophil_count", "751-8"), ("absolute neutrophil count", "neutrophil_count", "751-8"),
    ("creatinine", "creatinine", "2160-0"), ("serum creatinine level", "creatinine", "2160-0"),
    ("IgG", "immunoglobulin_g", "2465-3"), ("HbA1c", "hba1c", "4548-4"), ("eGFR", "egfr", "62238-1"),
    ("ALT (SGPT)", "alt", "1742-6"), ("BMI", "body_mass_index", "39156-5"),
])
def test_find_measure(name, measure, loinc):
    info = find_measure(name)
    assert info is not None and (info.id, info.loinc) == (measure, loinc)


@pytest.mark.parametrize("name", ["", "   ", "pizza", "platelet transfusion", "history of anemia"])
def test_unknown_names(name):
    assert find_measure(name) is None


@pytest.mark.parametrize("measure, value, unit, expected", [
    ("platelet_count", 22000, "/µL", (22.0, "10^9/L")),
    ("platelets", 22, "G/L", (22.0, "10^9/L")),
    ("platelets", 150, "x10^3/µL", (150.0, "10^9/L")),
    ("platelets", 150, "× 10⁹/L", (150.0, "10^9/L")),
    ("platelets", 100000, "cells/mm3", (100.0, "10^9/L")),
    ("platelets", 100000, None, (100.0, "10^9/L")),  # a count per µL without its unit
    ("neutrophils", 1000, "/mm3", (1.0, "10^9/L")),
    ("ANC", 1500, None, (1.5, "10^9/L")),
    ("ANC", 1.5, None, (1.5, "10^9/L")),
    ("creatinine", 88.4, "µmol/L", (1.0, "mg/dL")),
    ("creatinine", 1.5, "mg/dL", (1.5, "mg/dL")),
    ("hemoglobin", 90, "g/L", (9.0, "g/dL")),
    ("hemoglobin", 9, None, (9.0, "g/dL")),
    ("IgG", 500, "mg/dL", (5.0, "g/L")),
    ("hba1c", 53, "mmol/mol", (7.0, "%")),
    ("bilirubin", 17.1, "µmol/L", (1.0, "mg/dL")),
    ("AST", 2.5, "x ULN", (2.5, "x ULN")),
    ("egfr", 60, "mL/min/1.73 m²", (60.0, "mL/min/1.73m2")),
])
def test_to_canonical(measure, value, unit, expected):
    got = to_canonical(measure, value, unit)
    assert got is not None and got[1] == expected[1] and got[0] == pytest.approx(expected[0], rel=1e-3)


@pytest.mark.parametrize("measure, value, unit", [
    ("platelets", 5, "kg"),          # a unit of another dimension
    ("nonsense", 1, "g/L"),          # unknown measure
    ("platelets", 30, "furlongs"),   # unknown unit
    ("hemoglobin", 900, "g/dL"),     # implausible
    ("platelets", float("nan"), None),
    ("hba1c", 2, "x ULN"),           # no relative scale for HbA1c
])
def test_unconvertible(measure, value, unit):
    assert to_canonical(measure, value, unit) is None
