"""A CSV row → the patient JSON of docs/design.md, validated column by column (batch CSV, `match row.csv`).

One patient per row, a header row naming the columns; every column is optional and an empty
cell means "not given". Lists hold items separated by ``;``. Errors name the column and say what
was expected, never the value (patient data stays out of logs).
"""

from __future__ import annotations

import math
import re

# The documented columns, in the order docs/batch.md lists them.
COLUMNS = {
    "id": "the patient's id (default: the line number)",
    "age": "age in years, e.g. 45",
    "birth_date": "YYYY-MM-DD, instead of age",
    "sex": "female or male",
    "as_of": "the date the record describes, YYYY-MM-DD (default: today)",
    "conditions": "diagnoses, e.g. type 2 diabetes; hypertension",
    "medications": "current or past drugs, e.g. metformin; lisinopril",
    "procedures": "e.g. splenectomy; appendectomy",
    "labs": "name=value unit, e.g. platelet count=22 10^9/L; HbA1c=7.9 %",
    "pregnant": "yes or no",
    "zip": "US ZIP code of the patient's home",
    "city": "city of the patient's home (with country)",
    "country": "country of the patient's home",
    "note": "free-text note; its facts are added to the columns'",
    "candidates": "a shortlist of NCT ids to rank, e.g. NCT01234567; NCT07654321",
}
_LIST_COLUMNS = ("conditions", "medications", "procedures")
_TEXT_COLUMNS = ("id", "birth_date", "sex", "as_of", "note")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_LAB = re.compile(r"^(?P<name>[^=]+)=\s*(?P<value>[-+]?\d[\d,]*(?:\.\d+)?|[-+]?\.\d+)\s*(?P<unit>.*)$")


class CsvCellError(ValueError):
    """A cell that cannot be read; the message starts with its column."""

    def __init__(self, column: str, problem: str):
        super().__init__(f"column {column}: {problem}")
        self.column = column


def unknown_columns(header: list[str]) -> list[str]:
    return [name for name in header if name.strip().lower() not in COLUMNS]


def _items(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(";") if item.strip()]


def _number(cell: str, column: str) -> float:
    try:
        value = float(cell.replace(",", ""))
    except ValueError:
        raise CsvCellError(column, "expected a number") from None
    if not math.isfinite(value):
        raise CsvCellError(column, "expected a finite number")
    return value


def _lab(item: str, position: int) -> dict:
    found = _LAB.match(item)
    if not found or not found["name"].strip():
        raise CsvCellError("labs", f"item {position}: expected name=value unit, e.g. platelet count=22 10^9/L")
    lab = {"name": found["name"].strip(), "value": _number(found["value"], "labs")}
    if found["unit"].strip():
        lab["unit"] = found["unit"].strip()
    return lab


def _yes_no(cell: str, column: str) -> bool:
    answer = cell.lower()
    if answer in _YES | _NO:
        return answer in _YES
    raise CsvCellError(column, "expected yes or no")


def patient_from_row(row: dict[str, str]) -> dict:
    """The patient JSON of one row (keys are lower-cased column names, values the cells)."""
    cells = {key.strip().lower(): (value or "").strip() for key, value in row.items() if key is not None}
    if None in row:
        raise CsvCellError("(extra)", "the row has more cells than the header has columns")
    patient: dict = {name: cells[name] for name in _TEXT_COLUMNS if cells.get(name)}
    if cells.get("age"):
        patient["age"] = _number(cells["age"], "age")
    for name in _LIST_COLUMNS:
        if cells.get(name):
            patient[name] = _items(cells[name])
    if cells.get("labs"):
        patient["labs"] = [_lab(item, i) for i, item in enumerate(_items(cells["labs"]), start=1)]
    if cells.get("pregnant"):
        patient["pregnant"] = _yes_no(cells["pregnant"], "pregnant")
    if cells.get("zip"):
        patient["location"] = {"zip": cells["zip"]}
    elif cells.get("city"):
        patient["location"] = {"city": cells["city"], "country": cells.get("country") or None}
    elif cells.get("country"):
        raise CsvCellError("country", "give a city with the country (or a zip)")
    if cells.get("candidates"):
        patient["candidates"] = re.split(r"[;,\s]+", cells["candidates"].strip(" ;,"))
    return patient
