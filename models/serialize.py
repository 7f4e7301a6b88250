"""Dataclass → plain dict for JSON output, leaving out fields that are unset."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any


def to_dict(obj: Any) -> Any:
    """Convert dataclasses (recursively) to dicts; ``None`` fields and empty lists are dropped;
    dates become ISO strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            value = to_dict(getattr(obj, f.name))
            if value is not None and value != []:
                out[f.name] = value
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, date):
        return obj.isoformat()
    return obj
