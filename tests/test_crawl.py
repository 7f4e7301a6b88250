"""Crawls into a real database over real HTTP: every fault, singly and mixed, ends with exactly
the server's studies; stopped crawls resume without gaps or duplicates; repeated searches are
incremental; expired page tokens restart from the last date reached."""

from datetime import date, timedelta

import pytest

from crawlers.api_v2_server import RegistryServer
from crawlers.ctgov_api import RegistryClient, RegistryError, StudyQuery
from crawlers.fault_plan import FAULTS, FaultPlan
from crawlers.politeness import RetryPolicy
from crawlers.study_catalog import StudyCatalog
from matcher.crawl import Crawl, crawl, fetch_studies
from matcher.store import Store
from matcher.store.crawls import get_crawl
from registry_helpers import assert_holds_exactly, real_studies, synthetic_studies

FAST = RetryPolicy(max_retries=4, backoff_base=0.005)


def client_for(server, **options):
    # a read timeout shorter than the server's slow answers (0.8 s) turns them into timeouts
    return RegistryClient(server.base_url, rate=0, retry=options.pop("retry", FAST), timeout=(2, 0.5), **options)


@pytest.fixture
def catalog():
    return StudyCatalog(synthetic_studies(120))


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_alone_ends_with_exactly_the_servers_studies(catalog, db_path, fault):
    plan = FaultPlan(script={n: fault for n in (2, 5, 6, 9)}, retry_after="0", slow_seconds=0.8)
    with RegistryServer(catalog, faults=plan) as server:
        report = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=11)
    assert report.status == "finished" and server.faults_injected[fault] == 4
    assert_holds_exactly(db_path, catalog)
    if fault == "repeat":  # a study on two pages is stored once, the second time as unchanged
        assert report.studies == 124 and report.outcome.counts()["unchanged"] == 4 and report.retries == 0
    else:
        assert report.studies == 120 and report.retries == 4


def test_mixed_faults_repeats_and_an_empty_last_page(catalog, db_path):
    plan = FaultPlan(rate=0.35, kinds=tuple(FAULTS), seed=11, retry_after="0", slow_seconds=0.8, empty_last_page=True)
    with RegistryServer(catalog, faults=plan) as server:
        report = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=9)
    assert report.status == "finished" and len(server.faults_injected) >= 5, server.faults_injected
    assert_holds_exactly(db_path, catalog)
    state = get_crawl(Store(db_path).conn, report.crawl_id)
    assert state.status == "finished" and state.page_token is None and state.retries == report.retries > 0


@pytest.mark.real_data
def test_mixed_faults_on_real_records(db_path):
    catalog = StudyCatalog(real_studies())
    plan = FaultPlan(rate=0.25, kinds=("429", "500", "503", "drop", "invalid-json", "repeat"), seed=3, retry_after="0", empty_last_page=True)
    with RegistryServer(catalog, faults=plan) as server:
        report = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=40)
    assert report.status == "finished" and not report.rejections
    assert_holds_exactly(db_path, catalog)
    store = Store(db_path)
    fmt, raw = store.raw_record("NCT00973089")
    assert fmt == "ctgov-api-v2" and b'"NCT00973089"' in raw
    location, retrieved = store.conn.execute("SELECT location, retrieved FROM raw_records WHERE nct_id = 'NCT00973089'").fetchone()
    assert location.startswith(server.base_url + "/studies?") and location.endswith("#NCT00973089") and retrieved


def test_a_crawl_that_runs_out_of_retries_keeps_its_pages_and_resumes(catalog, db_path):
    # requests 4-9 fail: pages 1-3 arrive, then the 4th exhausts its 2 retries
    with RegistryServer(catalog, faults=FaultPlan(script={n: "503" for n in range(4, 10)})) as server:
        with pytest.raises(RegistryError, match="503"):
            crawl(Store(db_path), client_for(server, retry=RetryPolicy(max_retries=2, backoff_base=0.005)), StudyQuery(), page_size=10)
        store = Store(db_path)
        assert store.count_trials() == 30
        state = store.conn.execute("SELECT status, pages, studies, page_token IS NOT NULL, message FROM crawls").fetchone()
        assert state[:4] == ("failed", 3, 30, 1) and "503" in state[4]
        resumed = Crawl(store, client_for(server), StudyQuery(), page_size=10)
        assert resumed.report.notes == [f"resuming crawl {resumed.state.id}: 3 pages, 30 studies already stored"]
        report = resumed.run()
    assert report.pages == 9 and report.outcome.counts()["added"] == 90  # nothing fetched twice
    assert_holds_exactly(db_path, catalog)
    assert Store(db_path).conn.execute("SELECT count(*), sum(pages), sum(studies) FROM crawls").fetchone() == (1, 12, 120)


def test_an_interruption_rolls_back_only_the_page_being_written(catalog, db_path):
    def interrupt_on_the_fifth_page(page, outcome):
        if interrupt_on_the_fifth_page.pages == 4:
            raise KeyboardInterrupt
        interrupt_on_the_fifth_page.pages += 1
    interrupt_on_the_fifth_page.pages = 0

    with RegistryServer(catalog) as server:
        with pytest.raises(KeyboardInterrupt):
            crawl(Store(db_path), client_for(server), StudyQuery(), page_size=10, on_page=interrupt_on_the_fifth_page)
        # on_page runs after the commit: five pages are stored and the state points past them
        state = Store(db_path).conn.execute("SELECT status, pages, studies FROM crawls").fetchone()
        assert state == ("interrupted", 5, 50) and Store(db_path).count_trials() == 50
        crawl(Store(db_path), client_for(server), StudyQuery(), page_size=10)
    assert_holds_exactly(db_path, catalog)


def test_max_stops_a_crawl_that_later_runs_continue(catalog, db_path):
    with RegistryServer(catalog) as server:
        first = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=25, max_studies=30)
        assert (first.status, first.studies, Store(db_path).count_trials()) == ("stopped", 30, 30)
        assert server.log[-1].params["pageSize"] == "5"
        second = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=25)
    assert second.status == "finished" and second.studies == 90 and second.outcome.counts()["added"] == 90
    assert_holds_exactly(db_path, catalog)


def test_an_expired_page_token_restarts_from_the_last_update_date_reached(catalog, db_path):
    with RegistryServer(catalog) as server:
        crawl(Store(db_path), client_for(server), StudyQuery(), page_size=20, max_studies=60)
        reached = Store(db_path).conn.execute("SELECT max(last_update_posted) FROM trials").fetchone()[0]
        server.expire_tokens()
        report = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=20)
        asked = [entry.params.get("filter.advanced") for entry in server.log[-4:]]
    assert reached == "2020-01-20" and report.since == reached
    assert "no longer accepts this crawl's page token" in report.notes[-1] and "since 2020-01-20" in report.notes[-1]
    assert asked[-1] == "AREA[LastUpdatePostDate]RANGE[2020-01-20,MAX]"
    # the restart re-reads only the studies of the last day reached: 3 share each date
    assert report.outcome.counts() == {"added": 60, "updated": 0, "unchanged": 3, "older": 0}
    assert_holds_exactly(db_path, catalog)


def test_a_repeated_search_fetches_only_what_changed(catalog, db_path):
    query = StudyQuery(statuses=("RECRUITING", "NOT_YET_RECRUITING", "COMPLETED"))
    with RegistryServer(catalog) as server:
        crawl(Store(db_path), client_for(server), query, page_size=50)
        before = dict(Store(db_path).conn.execute("SELECT nct_id, updated_at FROM trials"))
        today = date.today().isoformat()
        for nct_id in ("NCT09100004", "NCT09100050", "NCT09100119"):
            catalog.update(nct_id, last_update=today, title=f"Amended {nct_id}")
        report = crawl(Store(db_path), client_for(server), query, page_size=50)
        asked = server.log[-1].params["filter.advanced"]
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert asked == f"AREA[LastUpdatePostDate]RANGE[{yesterday},MAX]" and report.since == yesterday
    assert report.studies == 3 and report.outcome.counts() == {"added": 0, "updated": 3, "unchanged": 0, "older": 0}
    assert "incremental" in report.notes[0]
    store = Store(db_path)
    assert store.trial("NCT09100050").brief_title == "Amended NCT09100050"
    after = dict(store.conn.execute("SELECT nct_id, updated_at FROM trials"))
    assert {k for k in after if after[k] != before[k]} <= {"NCT09100004", "NCT09100050", "NCT09100119"}
    assert_holds_exactly(db_path, catalog)


def test_full_and_since_override_the_incremental_date(catalog, db_path):
    with RegistryServer(catalog) as server:
        crawl(Store(db_path), client_for(server), StudyQuery(), page_size=100)
        again = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=100, full=True)
        assert again.studies == 120 and again.outcome.counts()["unchanged"] == 120 and again.since is None
        since = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=100, since="2020-02-08")
    assert since.studies == 6 and server.log[-1].params["filter.advanced"].endswith("RANGE[2020-02-08,MAX]")


def test_a_new_date_range_abandons_an_unfinished_crawl(catalog, db_path):
    with RegistryServer(catalog) as server:
        crawl(Store(db_path), client_for(server), StudyQuery(), page_size=10, max_studies=10)
        report = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=100, since="2020-01-01")
    assert report.notes[0].startswith("abandoned unfinished crawl 1") and report.studies == 120
    assert Store(db_path).conn.execute("SELECT id, status FROM crawls").fetchall() == [(1, "abandoned"), (2, "finished")]


def test_unreadable_studies_are_rejected_and_the_rest_stored(catalog, db_path):
    broken = synthetic_studies(1)[0]
    broken["protocolSection"]["identificationModule"]["nctId"] = "NCT-broken"
    catalog.put(broken)
    with RegistryServer(catalog) as server:
        report = crawl(Store(db_path), client_for(server), StudyQuery(), page_size=50)
    assert len(report.rejections) == 1 and "no valid NCT id" in report.rejections[0].reason
    assert Store(db_path).count_trials() == 120
    assert Store(db_path).conn.execute("SELECT count(*) FROM import_rejections").fetchone()[0] == 1


def test_single_studies_by_nct_id(catalog, db_path):
    with RegistryServer(catalog, faults=FaultPlan(script={1: "500"})) as server:
        report = fetch_studies(Store(db_path), client_for(server), ["NCT09100003", "NCT09100003", "NCT09999999"])
    assert report.studies == 1 and report.retries == 1 and report.rejections[0].reason == "not in the registry (404)"
    assert Store(db_path).trial("NCT09100003").brief_title == "Synthetic study 3 in Heart Failure"
