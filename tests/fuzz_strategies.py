"""Hypothesis strategies for the fuzz suite: real-shaped records (the hand-written fixtures)
with hostile changes, and how many examples each reader gets.

In CI every fuzz test runs its default number of examples, derandomized (the same examples on
every run: CI never fails on a draw it cannot repeat). ``TRIALMATCH_FUZZ_EXAMPLES=N`` runs N
random examples per test instead (``benchmarks/fuzz_soak.py``); ``TRIALMATCH_FUZZ_COUNTS=FILE``
appends one line per test with the examples it ran, for the soak's tally.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from conftest import FIXTURES

SOAK_EXAMPLES = os.environ.get("TRIALMATCH_FUZZ_EXAMPLES")


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=int(SOAK_EXAMPLES or examples),
        derandomize=SOAK_EXAMPLES is None,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


class Tally:
    """Counts the examples a fuzz test ran, for the soak's report."""

    def __init__(self, name: str):
        self.name, self.count = name, 0

    def __call__(self) -> None:
        self.count += 1

    def report(self) -> None:
        if os.environ.get("TRIALMATCH_FUZZ_COUNTS"):
            with open(os.environ["TRIALMATCH_FUZZ_COUNTS"], "a", encoding="utf-8") as out:
                out.write(f"{self.name}\t{self.count}\n")


# ---------------------------------------------------------------------------- values

HOSTILE_TEXT = st.sampled_from([
    "", " ", "\x00", "\ud800", "\x1b[2J\x1b]0;x\x07", "<script>alert(1)</script>", "&lt;", "]]>", "\r\n\r\n",
    "NCT01234567", "N/A", "18 Years", "999999999 Years", "June 31, 2023", "2023-02-30", "1e400", "NaN", "-0",
    "Inclusion Criteria:", "Exclusion Criteria:\n- ", "‮", "\u2028", "😀" * 50, "a" * 5000,
])
TEXT = st.one_of(st.text(max_size=60), HOSTILE_TEXT)
NUMBERS = st.one_of(
    st.integers(), st.integers(min_value=-(10**400), max_value=10**400), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**63, -(2**63) - 1, 10**300, 1e308, 5e-324]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)


def deep(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


JSON_VALUES = st.one_of(
    SCALARS,
    st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
                 max_leaves=12),
    st.sampled_from([5, 200, 900]).map(deep),  # deep, but still decodable by Python's json
)


def paths_of(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value where another value can be put."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, prefix + (index,))
    return found


def put(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copied = copy.copy(value)
    copied[path[0]] = put(value[path[0]], path[1:], new)
    return copied


@st.composite
def mutated(draw, original: Any, changes: int = 3) -> Any:
    """``original`` with up to ``changes`` values replaced, deleted or added, anywhere in it."""
    value = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, changes))):
        path = draw(st.sampled_from(paths_of(value)))
        kind = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        target = value
        for key in path[:-1]:
            target = target[key]
        if kind == "delete" and path:
            del target[path[-1]]
        elif kind == "add" and isinstance(target, dict):
            target[draw(TEXT)] = draw(JSON_VALUES)
        else:
            value = put(value, path, draw(JSON_VALUES))
    return value


def json_text(value: Any) -> str:
    """JSON as a careless exporter writes it: NaN and Infinity as they are, lone surrogates escaped."""
    try:
        return json.dumps(value)
    except (RecursionError, ValueError):
        return "[" * 5000 + "]" * 5000


@st.composite
def corrupted_bytes(draw, original: bytes) -> bytes:
    """``original`` truncated, with bytes inserted or overwritten, or nested thousands deep."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["truncate", "insert", "overwrite", "deep"]))
        if kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(max_size=40) | st.sampled_from([b"\xff\xfe", b"\x00", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"&a;"]))
        elif kind == "overwrite":
            data[at:at + 8] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at:at] = b"<a>" * 3000 if original.lstrip().startswith(b"<") else b"[" * 5000
    return bytes(data)


# ---------------------------------------------------------------------------- fixtures

XML_RECORD = (FIXTURES / "records" / "NCT09000001.xml").read_bytes()
V2_STUDY = json.loads((FIXTURES / "records" / "NCT09000002.json").read_text())
FLAT_RECORD = json.loads((FIXTURES / "records" / "flat-records.jsonl").read_text().splitlines()[0])
FHIR_BUNDLE = json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text())
PATIENT = json.loads((FIXTURES.parent.parent / "data" / "examples" / "itp-patient.json").read_text())
LISTINGS = [path.read_bytes() for path in sorted((FIXTURES / "listings").iterdir())]


@st.composite
def xml_records(draw) -> bytes:
    """The legacy XML fixture with its text replaced in places, or its bytes corrupted."""
    if draw(st.booleans()):
        return draw(corrupted_bytes(XML_RECORD))
    text = XML_RECORD.decode()
    for _ in range(draw(st.integers(1, 4))):
        starts = [i for i in range(len(text)) if text.startswith(">", i) and not text.startswith("><", i)]
        start = draw(st.sampled_from(starts)) + 1
        end = text.find("<", start)
        new = draw(TEXT).replace("&", "&amp;").replace("<", "&lt;")
        new = "".join(c for c in new if c in "\t\n\r" or (" " <= c and not "\ud800" <= c <= "\udfff" and c not in "\ufffe\uffff"))
        text = text[:start] + new + text[end:]
    return text.encode("utf-8")
