"""Registries and patients for the physician-page tests.

``build_page_registry``: the seed listing (data/examples, scraped as `trialmatch scrape` does),
a few hand-written trials that compete with it (an ITP trial that is not recruiting, an asthma
trial, a trial with no criteria) and a recruiting ITP trial in Lyon whose title and criteria are
hostile HTML; optionally, the real legacy-XML trials of ../shared/data that mention
thrombocytopenia. Criteria are parsed by the real parser, sites placed offline.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from browse_registry import hostile_trial
from conftest import FIXTURES, REPO

from crawlers.listings import parse_listing
from matcher.derive import geocode_sites, parse_trials
from matcher.ingest import import_paths
from matcher.store import Store

SEED_LISTING = REPO / "data" / "examples" / "ianalumab-itp-listing.txt"
PAGE_HOSTILE_TITLE = "<script>window.pwned=1</script> Hostile Title in Immune Thrombocytopenia"

# The seed patient (data/examples/itp-patient.json) as a physician fills the form.
SEED_FORM = {
    "age": "45",
    "sex": "female",
    "diagnosis": ["primary immune thrombocytopenia"],
    "lab": ["platelet count"],
    "lab_value": ["22"],
    "lab_unit": ["10^9/L"],
    "lab_date": ["2026-11-10"],
    "therapy": ["prednisone", "eltrombopag"],
    "therapy_status": ["past", "current"],
    "therapy_start": ["2025-03-01", "2025-09-01"],
    "therapy_end": ["2025-06-15", ""],
    "zip": "02114",
    "as_of": "2026-11-25",
}


def seed_listing_trial():
    return parse_listing(SEED_LISTING.read_bytes(), None, location=str(SEED_LISTING))


def thrombocytopenia_records(xml_sample: Path, folder: Path) -> Path:
    """The records of the real XML sample that mention thrombocytopenia, extracted to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(xml_sample) as archive:
        for member in archive.namelist():
            if member.endswith(".xml"):
                body = archive.read(member)
                if b"hrombocytopeni" in body:
                    (folder / Path(member).name).write_bytes(body)
    return folder


def build_page_registry(path: Path, *, real_records: Path | None = None) -> Path:
    store = Store(path)
    import_paths(store, [FIXTURES / "records" / "NCT09000001.xml", FIXTURES / "records" / "flat-records.jsonl",
                         *([real_records] if real_records else [])])
    hostile, raw = hostile_trial()
    hostile.brief_title = PAGE_HOSTILE_TITLE
    store.write_trials([seed_listing_trial(), (hostile, raw)])
    parse_trials(store)
    geocode_sites(store)
    store.close()
    return path
