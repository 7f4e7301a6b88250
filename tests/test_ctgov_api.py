"""The API v2 client over real HTTP against the loopback server: paging, faults, Retry-After,
rate limit, bounded retries; and its pure parts (query parameters, backoff, rate limiter)."""

import random
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from crawlers.api_v2_server import RegistryServer
from crawlers.ctgov_api import PageTokenRejected, RegistryClient, RequestRejected, RetriesExhausted, StudyQuery
from crawlers.fault_plan import FaultPlan
from crawlers.politeness import USER_AGENT, RateLimiter, RetryPolicy, parse_retry_after
from crawlers.study_catalog import StudyCatalog
from registry_helpers import synthetic_studies

FAST = RetryPolicy(max_retries=3, backoff_base=0.01)


@pytest.fixture
def catalog():
    return StudyCatalog(synthetic_studies(120))


def serve(catalog, **faults):
    return RegistryServer(catalog, faults=FaultPlan(**faults))


def nct_ids(pages):
    return [s["protocolSection"]["identificationModule"]["nctId"] for page in pages for s in page.studies]


# ---------------------------------------------------------------------- query parameters


def test_query_params_combine_the_user_filter_and_the_since_date():
    query = StudyQuery(condition="ITP", location="Boston", statuses=("RECRUITING", "NOT_YET_RECRUITING"), advanced="AREA[Phase]PHASE2")
    assert query.params(since="2026-11-01") == {
        "query.cond": "ITP",
        "query.locn": "Boston",
        "filter.overallStatus": "RECRUITING,NOT_YET_RECRUITING",
        "filter.advanced": "(AREA[Phase]PHASE2) AND AREA[LastUpdatePostDate]RANGE[2026-11-01,MAX]",
    }
    assert StudyQuery().params() == {}
    with pytest.raises(ValueError):
        StudyQuery().params(since="November 1")


def test_query_identity_ignores_case_spacing_and_status_order():
    one = StudyQuery(condition="Immune  Thrombocytopenia", statuses=("RECRUITING", "NOT_YET_RECRUITING"))
    two = StudyQuery(condition="immune thrombocytopenia ", statuses=("NOT_YET_RECRUITING", "RECRUITING"))
    assert one.identity() == two.identity()
    assert one.identity() != StudyQuery(condition="immune thrombocytopenia").identity()


# ---------------------------------------------------------------------- paging


def test_pages_cover_every_study_once_in_last_update_order(catalog):
    with serve(catalog) as server:
        pages = list(RegistryClient(server.base_url, rate=0).pages(StudyQuery(), page_size=7))
    assert len(pages) == 18 and pages[0].total == 120 and pages[-1].next_token is None
    ids = nct_ids(pages)
    assert len(ids) == len(set(ids)) == 120 and set(ids) == catalog.nct_ids()
    assert all(page.url.startswith(server.base_url + "/studies?") for page in pages)
    assert "sort=LastUpdatePostDate%3Aasc" in pages[0].url


def test_a_limit_asks_for_a_smaller_last_page_and_keeps_the_token(catalog):
    with serve(catalog) as server:
        pages = list(RegistryClient(server.base_url, rate=0).pages(StudyQuery(), page_size=10, limit=25))
        assert [len(p.studies) for p in pages] == [10, 10, 5]
        assert pages[-1].next_token and server.log[-1].params["pageSize"] == "5"
        rest = list(RegistryClient(server.base_url, rate=0).pages(StudyQuery(), page_token=pages[-1].next_token, page_size=50))
    assert set(nct_ids(pages + rest)) == catalog.nct_ids() and len(nct_ids(pages + rest)) == 120


def test_an_empty_last_page_ends_the_search(catalog):
    with serve(catalog, empty_last_page=True) as server:
        pages = list(RegistryClient(server.base_url, rate=0).pages(StudyQuery(), page_size=60))
    assert [len(p.studies) for p in pages] == [60, 60, 0]
    assert pages[1].next_token and pages[2].next_token is None


def test_search_filters_reach_the_server(catalog):
    query = StudyQuery(condition="diabetes", statuses=("RECRUITING",))
    with serve(catalog) as server:
        pages = list(RegistryClient(server.base_url, rate=0).pages(query, since="2020-01-20", page_size=100))
    ids = nct_ids(pages)
    # conditions cycle with period 4, statuses with period 3: numbers ≡ 6 mod 12; dates from number 57 on
    assert ids == [f"NCT091{n:05d}" for n in range(66, 120, 12)]


def test_single_study_version_and_unknown_id(catalog):
    with serve(catalog) as server:
        client = RegistryClient(server.base_url, rate=0)
        url, study, retrieved = client.fetch_study("NCT09100007")
        assert study["protocolSection"]["identificationModule"]["nctId"] == "NCT09100007"
        assert url.startswith(server.base_url + "/studies/NCT09100007") and retrieved.endswith("+00:00")
        assert client.version()["dataTimestamp"] == catalog.data_timestamp
        with pytest.raises(RequestRejected) as rejected:
            client.fetch_study("NCT09999999")
        assert rejected.value.status == 404
        with pytest.raises(ValueError):
            client.fetch_study("9999999")


def test_bad_parameters_and_stale_tokens_are_rejected_not_retried(catalog):
    with serve(catalog) as server:
        client = RegistryClient(server.base_url, rate=0, retry=FAST)
        with pytest.raises(RequestRejected) as bad:
            client.search_page(StudyQuery(statuses=("RECRUITNG",)))
        assert bad.value.status == 400 and "RECRUITNG" in str(bad.value)
        first = client.search_page(StudyQuery(), page_size=10)
        server.expire_tokens()
        with pytest.raises(PageTokenRejected, match="expired"):
            client.search_page(StudyQuery(), page_token=first.next_token, page_size=10)
    assert client.stats.retries == 0


# ---------------------------------------------------------------------- faults


@pytest.mark.parametrize("fault, problem", [
    ("429", "429 Too Many Requests"),
    ("500", "500 Internal Server Error"),
    ("503", "503 Service Unavailable"),
    ("drop", "connection failed"),
    ("invalid-json", "invalid JSON"),
])
def test_each_fault_is_retried_and_the_page_arrives_whole(catalog, fault, problem):
    with serve(catalog, script={2: fault}, retry_after="0") as server:
        client = RegistryClient(server.base_url, rate=0, retry=FAST)
        ids = nct_ids(client.pages(StudyQuery(), page_size=50))
    assert sorted(ids) == sorted(catalog.nct_ids())
    assert client.stats.retries == 1 and client.stats.problems[0].startswith(problem)
    assert server.faults_injected == {fault: 1}


def test_a_slow_answer_times_out_and_is_retried(catalog):
    with serve(catalog, script={1: "slow"}, slow_seconds=1.0) as server:
        client = RegistryClient(server.base_url, rate=0, retry=FAST, timeout=(1.0, 0.3))
        page = client.search_page(StudyQuery(), page_size=5)
    assert len(page.studies) == 5 and client.stats.problems == ["timed out (ReadTimeout)"]


def test_retry_after_is_honoured_in_seconds_and_as_a_date(catalog):
    with serve(catalog, script={1: "429"}, retry_after="1") as server:
        RegistryClient(server.base_url, rate=0, retry=FAST).search_page(StudyQuery())
        waited = server.log[1].at - server.log[0].at
    assert 1.0 <= waited < 2.0  # honoured (the upper bound leaves room for a busy machine)
    in_two_seconds = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=2), usegmt=True)
    with serve(catalog, script={1: "429"}, retry_after=in_two_seconds) as server:
        RegistryClient(server.base_url, rate=0, retry=FAST).search_page(StudyQuery())
        waited = server.log[1].at - server.log[0].at
    assert 1.0 <= waited < 2.5  # HTTP dates have whole seconds


def test_a_retry_after_beyond_our_patience_fails_at_once(catalog):
    with serve(catalog, script={1: "429"}, retry_after="3600") as server:
        client = RegistryClient(server.base_url, rate=0, retry=FAST)
        started = time.monotonic()
        with pytest.raises(RetriesExhausted, match="retry after 3600 s"):
            client.search_page(StudyQuery())
    assert time.monotonic() - started < 1


def test_retries_are_bounded_and_the_failure_says_why(catalog):
    with serve(catalog, script={n: "503" for n in range(1, 10)}) as server:
        client = RegistryClient(server.base_url, rate=0, retry=RetryPolicy(max_retries=2, backoff_base=0.01))
        with pytest.raises(RetriesExhausted) as failure:
            client.search_page(StudyQuery())
    assert len(server.log) == 3
    assert "failed after 2 retries: 503 Service Unavailable" in str(failure.value)


def test_unreachable_server_fails_fast_with_the_reason():
    client = RegistryClient("http://127.0.0.1:9/api/v2", rate=0, retry=RetryPolicy(max_retries=0))
    with pytest.raises(RetriesExhausted) as failure:
        client.version()
    assert failure.value.problem == "connection failed (Connection refused)"


# ---------------------------------------------------------------------- politeness


def test_rate_limit_spaces_requests_as_the_server_sees_them(catalog):
    with serve(catalog) as server:
        list(RegistryClient(server.base_url, rate=5).pages(StudyQuery(), page_size=20))
        arrivals = [entry.at for entry in server.log]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    # requests leave at 0.2 s intervals; arrivals jitter with scheduling, never bunch up
    assert len(arrivals) == 6 and arrivals[-1] - arrivals[0] >= 5 * 0.2 - 0.05 and min(gaps) >= 0.1, gaps


def test_user_agent_says_who_we_are(catalog):
    with serve(catalog) as server:
        RegistryClient(server.base_url, rate=0).version()
    assert server.log[0].user_agent == USER_AGENT and USER_AGENT.startswith("trialmatch/")


def test_rate_limiter_slots_with_a_fake_clock():
    now = [100.0]
    slept = []
    limiter = RateLimiter(2, clock=lambda: now[0], sleep=slept.append)
    for _ in range(3):
        limiter.wait()
    assert slept == [0.5, 1.0]  # the second and third requests wait for their slots
    assert RateLimiter(0).wait() == 0.0
    with pytest.raises(ValueError):
        RateLimiter(-1)


def test_backoff_grows_exponentially_with_jitter_and_defers_to_retry_after():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=10.0)
    rng = random.Random(7)
    for retry, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 10.0)):
        delays = {policy.delay(retry, rng=rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert policy.delay(3, retry_after=7.0) == 7.0


def test_retry_after_forms():
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 25 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
