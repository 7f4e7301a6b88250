"""Studies for the loopback registry in tests: synthetic ones built from the hand-written API v2
fixture (always available), and the real records of ../shared/data (skipped when absent)."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from functools import lru_cache

from conftest import FIXTURES, shared_file
from crawlers.study_catalog import StudyCatalog
from matcher.store import Store

CONDITIONS = ("Immune Thrombocytopenia", "Breast Cancer", "Type 2 Diabetes", "Heart Failure")
STATUSES = ("RECRUITING", "COMPLETED", "NOT_YET_RECRUITING")


def synthetic_studies(count: int = 120) -> list[dict]:
    """``count`` distinct studies shaped like the fixture; every third shares a last-update date
    with its neighbours (ties matter for paging in last-update order)."""
    template = json.loads((FIXTURES / "records" / "NCT09000002.json").read_text())
    studies = []
    for number in range(count):
        study = copy.deepcopy(template)
        protocol = study["protocolSection"]
        condition = CONDITIONS[number % len(CONDITIONS)]
        protocol["identificationModule"].update(nctId=f"NCT091{number:05d}", briefTitle=f"Synthetic study {number} in {condition}")
        protocol["conditionsModule"]["conditions"] = [condition]
        protocol["statusModule"]["overallStatus"] = STATUSES[number % len(STATUSES)]
        updated = date(2020, 1, 1) + timedelta(days=number // 3)
        protocol["statusModule"]["lastUpdatePostDateStruct"]["date"] = updated.isoformat()
        protocol["contactsLocationsModule"]["locations"][0]["city"] = ("Boston", "Lyon", "Osaka")[number % 3]
        studies.append(study)
    return studies


@lru_cache(maxsize=1)
def _real_studies() -> tuple[bytes, ...]:
    paths = [shared_file("ctgov", "api-v2"), shared_file("ctgov", "AllPublicXML-sample.zip")]
    catalog = StudyCatalog.from_paths(paths, limit=500)
    return tuple(catalog.study(nct_id) for nct_id in sorted(catalog.nct_ids()))


def real_studies() -> list[dict]:
    """The API v2 records of ../shared/data and the first legacy XML ones (≈500 studies)."""
    return [json.loads(body) for body in _real_studies()]


def site_count(catalog: StudyCatalog) -> int:
    return sum(len(json.loads(catalog.study(i))["protocolSection"].get("contactsLocationsModule", {}).get("locations", []))
               for i in catalog.nct_ids())


def assert_holds_exactly(db_path, catalog: StudyCatalog) -> None:
    """The database holds every study of the catalog once: no more, no fewer, no repeated rows."""
    store = Store(db_path)
    try:
        one = lambda sql: store.conn.execute(sql).fetchone()[0]  # noqa: E731
        stored = {row[0] for row in store.conn.execute("SELECT nct_id FROM trials")}
        missing, extra = catalog.nct_ids() - stored, stored - catalog.nct_ids()
        assert not missing and not extra, f"missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
        assert one("SELECT count(*) FROM trials") == len(catalog)
        assert one("SELECT count(*) FROM raw_records WHERE format = 'ctgov-api-v2'") == len(catalog)
        assert one("SELECT count(*) FROM sites") == site_count(catalog)
    finally:
        store.close()
