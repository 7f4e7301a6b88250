"""Parsed criteria ↔ rows of the `criteria` and `constraints` tables. Pure functions."""

from __future__ import annotations

import json
from dataclasses import fields

from models import to_dict
from models.criteria import Constraint, Criterion, Entity

from .schema import CONSTRAINT_COLUMNS

_BOOLEAN_FIELDS = {f.name for f in fields(Constraint) if str(f.type).startswith("bool")}
_LIST_FIELDS = {f.name for f in fields(Constraint) if str(f.type).startswith("list")}  # stored as JSON arrays


def criterion_row(nct_id: str, position: int, criterion: Criterion) -> dict:
    return {
        "nct_id": nct_id,
        "position": position,
        "kind": criterion.kind,
        "category": criterion.category,
        "text": criterion.text,
        "start": criterion.start,
        "end": criterion.end,
        "context": criterion.context,
        "entities": json.dumps([to_dict(e) for e in criterion.entities], ensure_ascii=False),
    }


def constraint_row(nct_id: str, criterion_id: int, kind: str, constraint: Constraint) -> dict:
    row = {"criterion_id": criterion_id, "nct_id": nct_id, "kind": kind, "type": constraint.type}
    for name in CONSTRAINT_COLUMNS:
        value = getattr(constraint, name)
        if name in _LIST_FIELDS:
            value = json.dumps(value, ensure_ascii=False) if value else None
        row[name] = int(value) if isinstance(value, bool) else value
    return row


# One trial's parsed criteria as plain values, cheap to send between processes: per criterion,
# its columns (CRITERION_COLUMNS) and its constraints' (CONSTRAINT_ROW_COLUMNS), ids left out.
CRITERION_COLUMNS = ("position", "kind", "category", "text", "start", "end", "context", "entities")
CONSTRAINT_ROW_COLUMNS = ("kind", "type", *CONSTRAINT_COLUMNS)
ParsedRows = list[tuple[tuple, list[tuple]]]


def parsed_rows(criteria: list[Criterion]) -> ParsedRows:
    """The rows of one trial's criteria (``Store.store_parsed`` writes them)."""
    out = []
    for position, criterion in enumerate(criteria):
        row = criterion_row("", position, criterion)
        constraints = [constraint_row("", 0, criterion.kind, c) for c in criterion.constraints]
        out.append((tuple(row[c] for c in CRITERION_COLUMNS), [tuple(r[c] for c in CONSTRAINT_ROW_COLUMNS) for r in constraints]))
    return out


def _constraint_value(name: str, stored):
    if name in _BOOLEAN_FIELDS:
        return bool(stored)
    if name in _LIST_FIELDS:
        return json.loads(stored) if stored else []
    return stored


def criterion_from_rows(row: dict, constraint_rows: list[dict], *, with_entities: bool = True) -> Criterion:
    return Criterion(
        kind=row["kind"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        category=row["category"],
        context=row["context"],
        entities=[Entity(**e) for e in json.loads(row["entities"] or "[]")] if with_entities else [],
        constraints=[
            Constraint(
                type=c["type"],
                **{name: _constraint_value(name, c.get(name)) for name in CONSTRAINT_COLUMNS},
            )
            for c in constraint_rows
        ],
    )
