"""The loopback API v2 server answers like the live API where a crawler depends on it, and its
Trial → API v2 converter round-trips through the v2 reader."""

import dataclasses
import json

import pytest
import requests

from conftest import FIXTURES
from crawlers.api_v2_server import RegistryServer
from crawlers.bulk import read_paths
from crawlers.fault_plan import FaultPlan
from crawlers.records import parse_v2_study
from crawlers.study_catalog import StudyCatalog
from crawlers.v2_study import trial_to_v2_study
from registry_helpers import synthetic_studies


@pytest.fixture(scope="module")
def server():
    with RegistryServer(StudyCatalog(synthetic_studies(40))) as running:
        yield running


def get(server, path, **params):
    return requests.get(server.base_url + path, params=params, timeout=5)


def ids(response):
    return [s["protocolSection"]["identificationModule"]["nctId"] for s in response.json()["studies"]]


def test_page_size_defaults_to_10_and_is_capped_at_1000(server):
    assert len(ids(get(server, "/studies"))) == 10
    assert len(ids(get(server, "/studies", pageSize=5000))) == 40
    assert get(server, "/studies", pageSize=-1).status_code == 400
    assert get(server, "/studies", pageSize="ten").status_code == 400


def test_tokens_are_opaque_and_bound_to_their_query(server):
    first = get(server, "/studies", pageSize=15, countTotal="true").json()
    assert first["totalCount"] == 40 and "NCT" not in first["nextPageToken"]
    second = get(server, "/studies", pageSize=15, pageToken=first["nextPageToken"]).json()
    assert "totalCount" not in second and len(second["studies"]) == 15
    other_query = get(server, "/studies", pageToken=first["nextPageToken"], **{"query.cond": "diabetes"})
    assert other_query.status_code == 400 and "different query" in other_query.text
    forged = first["nextPageToken"][:-2] + ("AA" if not first["nextPageToken"].endswith("AA") else "BB")
    assert get(server, "/studies", pageToken=forged).status_code == 400


@pytest.mark.parametrize("params, expected", [
    ({"query.cond": "breast cancer"}, {n for n in range(40) if n % 4 == 1}),
    ({"query.term": "study 7 in"}, {7}),
    ({"query.intr": "DY-7"}, set(range(40))),
    ({"query.locn": "osaka"}, {n for n in range(40) if n % 3 == 2}),
    ({"filter.overallStatus": "completed,not_yet_recruiting"}, {n for n in range(40) if n % 3}),
    ({"filter.advanced": "AREA[LastUpdatePostDate]RANGE[2020-01-05,2020-01-06]"}, set(range(12, 18))),
    ({"filter.advanced": "(AREA[LastUpdatePostDate]RANGE[MIN,2020-01-06]) AND AREA[LastUpdatePostDate]RANGE[2020-01-06,MAX]"}, {15, 16, 17}),
])
def test_search_parameters(server, params, expected):
    found = ids(get(server, "/studies", pageSize=100, **params))
    assert set(found) == {f"NCT091{n:05d}" for n in expected}


@pytest.mark.parametrize("params, complaint", [
    ({"query.foo": "x"}, "Unknown parameter"),
    ({"filter.overallStatus": "OPEN"}, "OPEN"),
    ({"filter.advanced": "AREA[Phase]PHASE2"}, "understands only"),
    ({"filter.advanced": "AREA[LastUpdatePostDate]RANGE[yesterday,MAX]"}, "not a date"),
    ({"sort": "EnrollmentCount"}, "unknown field"),
    ({"countTotal": "yes"}, "true or false"),
    ({"format": "csv"}, "format=json"),
])
def test_bad_parameters_get_400(server, params, complaint):
    response = get(server, "/studies", **params)
    assert response.status_code == 400 and complaint in response.text


def test_sorting_by_last_update_orders_by_date_then_id(server):
    found = ids(get(server, "/studies", pageSize=100, sort="LastUpdatePostDate:asc"))
    assert found == sorted(found)  # synthetic dates grow with the number
    assert get(server, "/studies", sort="LastUpdatePostDate:desc").status_code == 400


def test_single_study_version_and_not_found(server):
    assert get(server, "/studies/NCT09100003").json()["protocolSection"]["identificationModule"]["nctId"] == "NCT09100003"
    assert get(server, "/studies/NCT09999999").status_code == 404
    assert get(server, "/studies/12345").status_code == 400
    assert set(get(server, "/version").json()) == {"apiVersion", "dataTimestamp"}
    assert get(server, "/elsewhere").status_code == 404


def test_repeat_fault_puts_a_study_on_two_pages():
    with RegistryServer(StudyCatalog(synthetic_studies(20)), faults=FaultPlan(script={1: "repeat"})) as server:
        first = get(server, "/studies", pageSize=10).json()
        second = get(server, "/studies", pageSize=10, pageToken=first["nextPageToken"]).json()
    assert first["studies"][-1] == second["studies"][0]


def test_an_update_moves_a_study_to_the_end_of_last_update_order():
    catalog = StudyCatalog(synthetic_studies(10))
    catalog.update("NCT09100002", last_update="2026-11-20", title="Amended")
    with RegistryServer(catalog) as server:
        found = get(server, "/studies", sort="LastUpdatePostDate", **{"filter.advanced": "AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]"}).json()
    assert [s["protocolSection"]["identificationModule"]["briefTitle"] for s in found["studies"]] == ["Amended"]


def test_fault_plan_is_deterministic_and_checked():
    plan = FaultPlan(rate=0.3, seed=4)
    assert [plan.fault_for(n) for n in range(1, 50)] == [FaultPlan(rate=0.3, seed=4).fault_for(n) for n in range(1, 50)]
    assert 5 < sum(plan.fault_for(n) is not None for n in range(1, 101)) < 60
    with pytest.raises(ValueError, match="unknown fault"):
        FaultPlan(script={1: "teapot"})


def _without_unreachable_site_contacts(trial):
    sites = [dataclasses.replace(s, contact_name=None) if not (s.contact_phone or s.contact_email) else s for s in trial.sites]
    return dataclasses.replace(trial, sites=sites)


def test_trials_round_trip_through_the_v2_shape():
    trials = [item[0] for item in read_paths([FIXTURES / "records"])]
    assert len(trials) == 4
    for trial in trials:
        assert parse_v2_study(json.loads(json.dumps(trial_to_v2_study(trial)))) == _without_unreachable_site_contacts(trial)


@pytest.mark.real_data
def test_real_legacy_records_round_trip_through_the_v2_shape(xml_sample):
    checked = 0
    for item in read_paths([xml_sample]):
        trial = item[0]
        assert parse_v2_study(trial_to_v2_study(trial)) == _without_unreachable_site_contacts(trial), trial.nct_id
        checked += 1
        if checked == 1500:
            break
