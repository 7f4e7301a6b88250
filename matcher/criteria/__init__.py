"""Eligibility criteria parser: free text → structured, coded, unit-normalized criteria.

Public API (matching and the patient loader call exactly these):

``parse_criteria(text: str) -> list[models.Criterion]``
    Pure, deterministic, never raises on a string. ``Criterion.start/end`` and every
    ``Entity.start/end`` index ``text`` itself; ``Criterion.text`` is the cleaned criterion
    (markdown escapes removed, whitespace collapsed); ``context`` is the lead-in of a nested
    item. ``models.to_dict(criterion)`` is what ``trialmatch parse --json`` prints.

``find_measure(name: str) -> MeasureInfo | None``
    A lab or clinical measure by name, abbreviation, measure id or LOINC code ("Platelets",
    "PLT", "ANC", "Hb", "777-3"): ``MeasureInfo(id, loinc, unit, unit_group, kept_units,
    plausible, synonyms)``.

``to_canonical(measure: str, value: float, unit: str | None) -> tuple[float, str] | None``
    The value in the measure's canonical unit (cell counts in 10^9/L, hemoglobin g/dL, IgG g/L,
    creatinine mg/dL, …); relative scales ("x ULN", "% predicted") come back as such; None
    when the unit is unknown for the measure or the result is implausible.

``drug_classes(drug_name) -> set[str]``, ``class_members(drug_class) -> set[str]``,
``canonical_drug(name) -> str | None``
    Drug classes of a drug including their parent classes (rituximab → anti_cd20,
    b_cell_depleting, immunosuppressant, monoclonal_antibody), the generic drugs of a class and
    its subclasses, and the generic name behind a brand or synonym (Nplate → romiplostim).

``find_condition(name) -> ConditionInfo | None``, ``find_procedure(name) -> ConditionInfo | None``
    ``ConditionInfo(name, mesh_term, ancestors, synonyms, kind)`` for a condition or procedure
    ("ITP" → primary immune thrombocytopenia, MeSH "Purpura, Thrombocytopenic, Idiopathic";
    "secondary thrombocytopenia" never resolves to primary ITP).

``classes_named(name) -> frozenset[str]``
    The drug classes a class phrase names ("NSAIDs", "immunosuppressive drugs"), with parents.

``all_measures()``, ``ULN``, ``reference_range(measure, sex)``, ``decide(low, high, op, value, value_max)``,
``panel_pattern()``, ``panel_measures(name)``, ``unit_understood(measure, unit)``
    Every measure; the "x ULN" scale; adult reference intervals and whether a whole interval
    meets a limit; lab panels ("CBC") and the measures they report; whether a unit is one the
    measure can be converted from.

``lexicon_mentions(text) -> list[Mention]``, ``find_quantities(text) -> list[Quantity]``
    Measures, drugs, conditions and procedures named in a text; numbers with comparators and units.

``ContextScopes(text).at(start, end) -> Context``, ``context_of(text, start, end)``
    The context lexicon (ConText): whether a mention is negated, possible, hypothetical, a
    relative's, historical or current (``context.py``).

Constraint conventions (see ``models.criteria.Constraint``): ``timing`` is ``prior`` /
``current`` / ``any`` for therapies and procedures (``prior`` whenever a window is given), and
``prior`` on a measurement that describes a past value (not to be tested against current labs);
``within_days`` with ``negated=True`` is a washout ("at least 4 weeks since prior
chemotherapy"); ``any_of`` groups alternatives; ``excluding`` names what is carved out
("; " between several).

The pipeline (``pipeline.COMPONENTS``): segment → rule-free sentences → lexicon mentions →
age, sex, reproductive, measurements, therapies/conditions/procedures → alternatives →
category → entities (Chia-trained tagger).
"""

from . import qualifiers
from .qualifiers import compare as compare_qualifiers, describe as describe_qualifiers
from .qualifiers import from_text as qualifiers_from_text, merge as merge_qualifiers, to_text as qualifiers_to_text
from .conditions import (
    ConditionInfo, ConditionReading, find_condition, find_condition_code, find_procedure, is_heading_concept,
    read_condition, read_in_context,
)
from .context import Context, ContextScopes, context_of
from .doc import Mention
from .drugs import canonical_drug, class_members, classes_named, drug_classes
from .measures import ULN, MeasureInfo, all_measures, find_measure, to_canonical, unit_understood
from .mentions import lexicon_mentions
from .pipeline import parse_criteria
from .quantities import Quantity, find_quantities
from .reference import decide, panel_measures, panel_pattern, reference_range

__all__ = [
    "ULN", "ConditionInfo", "ConditionReading", "Context", "ContextScopes", "MeasureInfo", "Mention", "Quantity", "all_measures",
    "canonical_drug", "class_members", "classes_named", "compare_qualifiers", "context_of", "describe_qualifiers", "decide", "drug_classes", "find_condition",
    "find_condition_code", "find_measure", "find_procedure", "find_quantities", "is_heading_concept", "lexicon_mentions", "merge_qualifiers", "panel_measures", "panel_pattern",
    "parse_criteria", "qualifiers", "qualifiers_from_text", "qualifiers_to_text", "read_condition", "read_in_context", "reference_range", "to_canonical", "unit_understood",
]
