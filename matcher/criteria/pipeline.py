"""The parser: segment → per criterion: rule-free sentences → lexicon mentions → constraints
(age, sex, reproductive, measurements, therapies/conditions/procedures) → alternatives →
category → entities → ``models.Criterion``."""

from __future__ import annotations

from collections.abc import Callable

from models import Criterion

from .classify import classify
from .cues import mark_sentences_without_rules, requirement_polarity
from .demographics import extract_age, extract_ethnicity, extract_healthy, extract_reproductive, extract_sex
from .doc import Doc
from .entities import tag_entities, tag_entities_many
from .events import extract_events
from .grouping import group_alternatives
from .measurements import extract_measurements
from .qualifiers import attach_qualifiers
from .mentions import find_mentions
from .segment import segment

Component = Callable[[Doc], None]

COMPONENTS: list[tuple[str, Component]] = [
    ("rule_free_sentences", mark_sentences_without_rules),
    ("mentions", find_mentions),
    ("age", extract_age),
    ("sex", extract_sex),
    ("ethnicity", extract_ethnicity),
    ("healthy", extract_healthy),
    ("reproductive", extract_reproductive),
    ("measurements", extract_measurements),
    ("events", extract_events),
    ("qualifiers", attach_qualifiers),
    ("requirement_polarity", requirement_polarity),
    ("alternatives", group_alternatives),
    ("category", classify),
]
# Entity tagging runs once over all criteria of a text (``tag_entities_many``); alone on one
# criterion it is ``tag_entities``.
ENTITIES: tuple[str, Component] = ("entities", tag_entities)


def parse_doc(doc: Doc, components: list[tuple[str, Component]] | None = None) -> Doc:
    """Run the components (all, with entities, by default) on one criterion."""
    for _, component in components or [*COMPONENTS, ENTITIES]:
        component(doc)
    return doc


def to_criterion(doc: Doc, start: int, end: int) -> Criterion:
    return Criterion(
        kind=doc.kind, text=doc.own_text, start=start, end=end, category=doc.category,
        context=doc.context, entities=doc.entities,
        constraints=[f.constraint for f in sorted(doc.found, key=lambda f: f.start)])


def parse_criteria(text: str) -> list[Criterion]:
    """Eligibility text → criteria with categories, entities and constraints.

    A pure function of ``text``; never raises on a string. Offsets (``start``/``end`` of a
    criterion and of every entity) index ``text`` itself."""
    if not isinstance(text, str):
        return []
    segments = segment(text)
    docs = [parse_doc(Doc.from_segment(seg), COMPONENTS) for seg in segments]
    tag_entities_many(docs)
    return [to_criterion(doc, seg.start, seg.end) for doc, seg in zip(docs, segments)]
