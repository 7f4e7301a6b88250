"""Eligibility criteria parser: free text → structured, coded, unit-normalized criteria."""

from .conditions import ConditionInfo, find_condition, find_procedure
from .drugs import canonical_drug, class_members, drug_classes
from .measures import MeasureInfo, find_measure, to_canonical
from .pipeline import parse_criteria

__all__ = [
    "ConditionInfo", "MeasureInfo", "canonical_drug", "class_members", "drug_classes",
    "find_condition", "find_measure", "find_procedure", "parse_criteria", "to_canonical",
]
