"""A registry-sized archive for the build benchmarks: the real sample's XML records replicated
under new NCT ids, with varied overall statuses and dates, in the AllPublicXML layout.

The records are rewritten as bytes (the id, the status and two dates replaced), not parsed and
rendered again: of the formats `trialmatch import` reads, a zip of XML is the cheapest to make.
Every copy keeps its eligibility text as it is, so the criteria parser sees the same texts many
times; it keeps no cache of whole texts, so each copy costs a full parse.
"""

from __future__ import annotations

import random
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

FIRST_ID = 90_000_000  # NCT90000000 onwards: valid ids (NCT + 8 digits) no real trial has yet
# Roughly the registry's mix of overall statuses (legacy XML spelling), so that most are not recruiting.
STATUSES = (
    ("Completed", 0.55), ("Unknown status", 0.12), ("Recruiting", 0.11), ("Terminated", 0.055),
    ("Active, not recruiting", 0.05), ("Withdrawn", 0.03), ("Not yet recruiting", 0.03),
    ("Enrolling by invitation", 0.01), ("Suspended", 0.005),
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")

_NCT_ID = re.compile(rb"<nct_id>(NCT\d{8})</nct_id>")
_STATUS = re.compile(rb"<overall_status>[^<]*</overall_status>")
_LAST_UPDATE = re.compile(rb"(<last_update_posted[^>]*>)[^<]*(</last_update_posted>)")
_START = re.compile(rb"(<start_date[^>]*>)[^<]*(</start_date>)")
_CRITERIA_END = re.compile(rb"(<criteria>\s*<textblock>)(.*?)(</textblock>)", re.S)


def new_id(number: int) -> str:
    return f"NCT{FIRST_ID + number:08d}"


def member_name(nct_id: str) -> str:
    return f"{nct_id[:7]}xxxx/{nct_id}.xml"


def sample_records(sample: Path) -> list[bytes]:
    """Every XML record of the sample archive, in its order."""
    with zipfile.ZipFile(sample) as archive:
        return [archive.read(info) for info in archive.infolist() if info.filename.endswith(".xml")]


def random_date(rng: random.Random, first_year: int, last_year: int, *, day: bool = True) -> bytes:
    month = MONTHS[rng.randrange(12)]
    year = rng.randint(first_year, last_year)
    return (f"{month} {rng.randint(1, 28)}, {year}" if day else f"{month} {year}").encode()


def rewrite(record: bytes, nct_id: str, rng: random.Random, *, status: str | None = None, keep_status: bool = False,
            last_update: bytes | None = None, vary_start: bool = True, criteria_note: str | None = None) -> bytes:
    """One record under another id (or the same), with a status drawn from ``STATUSES`` (or the
    one given, or its own with ``keep_status``), a random last-update date (or the one given) and
    start date (unless ``vary_start`` is False); ``criteria_note`` is added at the end of its
    eligibility text (a changed criterion)."""
    found = _NCT_ID.search(record)
    if found:
        record = record.replace(found.group(1), nct_id.encode())
    if not keep_status:
        names, weights = zip(*STATUSES)
        chosen = status or rng.choices(names, weights)[0]
        record = _STATUS.sub(b"<overall_status>" + chosen.encode() + b"</overall_status>", record, count=1)
    posted = last_update or random_date(rng, 2008, 2024)
    record = _LAST_UPDATE.sub(lambda m: m.group(1) + posted + m.group(2), record, count=1)
    if vary_start:
        record = _START.sub(lambda m: m.group(1) + random_date(rng, 2000, 2024, day=False) + m.group(2), record, count=1)
    if criteria_note:
        note = ("\n\n        - " + criteria_note + "\n      ").encode()
        record = _CRITERIA_END.sub(lambda m: m.group(1) + m.group(2).rstrip() + note + m.group(3), record, count=1)
    return record


def replicated(records: list[bytes], size: int, seed: int = 17) -> Iterator[tuple[str, bytes]]:
    """``size`` records: the sample's records in turn, each under a new id (NCT90000000, …)."""
    rng = random.Random(seed)
    for number in range(size):
        nct_id = new_id(number)
        yield nct_id, rewrite(records[number % len(records)], nct_id, rng)


def write_archive(path: Path, members: Iterator[tuple[str, bytes]]) -> int:
    """A zip in the AllPublicXML layout (``NCT9000xxxx/NCT90000123.xml``); returns how many records."""
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for nct_id, content in members:
            archive.writestr(member_name(nct_id), content)
            count += 1
    return count
