"""Component: typed entity spans in the Chia scheme (Condition, Drug, Procedure, Measurement,
Value, Temporal, Negation, Person, Observation, Qualifier, …), offsets in the original text.

Spans come from the sequence tagger trained on Chia (``tagger.py``); lexicon mentions fill
in what the tagger leaves out, so every constraint's words are an entity too."""

from __future__ import annotations

from models import Entity

from .doc import Doc

_MENTION_TYPES = {"measure": "Measurement", "drug": "Drug", "condition": "Condition",
                  "procedure": "Procedure"}


def lexicon_spans(doc: Doc) -> list[tuple[int, int, str]]:
    """(start, end, Chia type) of the lexicon mentions, offsets in ``doc.text``."""
    return [(m.start, m.end, _MENTION_TYPES[m.type]) for m in doc.mentions]


def tag_entities(doc: Doc) -> None:
    tag_entities_many([doc])


def tag_entities_many(docs: list[Doc]) -> None:
    """The component on several criteria at once (one pass of the tagger)."""
    from .tagger import default_tagger

    tagger = default_tagger()
    tagged = tagger.tag_many(docs) if tagger is not None else [[] for _ in docs]
    for doc, spans in zip(docs, tagged):
        _set_entities(doc, list(spans))


def _set_entities(doc: Doc, spans: list[tuple[int, int, str]]) -> None:
    taken = [(s, e) for s, e, _ in spans]
    for s, e, label in lexicon_spans(doc):
        if not any(s < te and ts < e for ts, te in taken):
            spans.append((s, e, label))
    spans.sort()
    entities = []
    for s, e, label in spans:
        if s < doc.prefix_len:
            continue  # words of a carried field label are not in this criterion's span
        start, end = doc.clean.span(s, e)
        entities.append(Entity(type=label, text=doc.text[s:e], start=start, end=end))
    doc.entities = entities
