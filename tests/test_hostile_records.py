"""One hostile registry record never stops an import, a crawl, or the loopback registry: it is
rejected with its place and reason, and every record around it lands (issue 13, item 1)."""

import copy
import json

import pytest

from crawlers.api_v2_server import RegistryServer
from crawlers.bulk import Rejection, read_paths
from crawlers.ctgov_api import RegistryClient, StudyQuery, decode_response
from crawlers.politeness import RetryPolicy
from crawlers.records import RecordError, parse_v2_study
from crawlers.study_catalog import StudyCatalog
from matcher.crawl import crawl
from matcher.ingest import import_paths
from matcher.store import Store
from registry_helpers import synthetic_studies
from test_cli import trialmatch

DEEP = "[" * 5000 + "]" * 5000


def hostile_line(kind: str, study: dict) -> str:
    """A JSON line holding one study made hostile in the way the issue found."""
    study = copy.deepcopy(study)
    protocol = study["protocolSection"]
    if kind == "infinite count":
        protocol["designModule"]["enrollmentInfo"] = {"count": float("inf")}
    elif kind == "nan title":
        protocol["identificationModule"]["briefTitle"] = float("nan")
    elif kind == "deep nesting":
        return json.dumps(study)[:-1] + f', "x": {DEEP}}}'
    return json.dumps(study)  # Python writes Infinity and NaN, as a careless exporter would


def jsonl_with(kind: str, path) -> list[str]:
    """20 good studies with the hostile one sixth; returns the good ones' NCT ids."""
    studies = synthetic_studies(21)
    lines = [json.dumps(s) for s in studies]
    lines[5] = hostile_line(kind, studies[5])
    path.write_text("\n".join(lines) + "\n")
    return [s["protocolSection"]["identificationModule"]["nctId"] for i, s in enumerate(studies) if i != 5]


# what becomes of the hostile study: rejected for this reason, or stored without the unreadable value
KINDS = {
    "nan title": "protocolSection.identificationModule.briefTitle: expected text, got a number",
    "deep nesting": "invalid JSON: nested too deeply",
    "infinite count": None,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "reader-process"])
def test_an_import_stores_the_twenty_good_lines_whatever_the_bad_one(tmp_path, db_path, kind, parallel):
    source = tmp_path / "studies.jsonl"
    good = jsonl_with(kind, source)
    store = Store(db_path)
    summary = import_paths(store, [source], parallel=parallel)
    assert set(good) <= set(summary.outcome.added)
    if KINDS[kind]:
        assert summary.rejections == [Rejection(f"{source}:6", KINDS[kind])] and store.count_trials() == 20
    else:
        assert not summary.rejections and store.count_trials() == 21
        assert store.trial("NCT09100005").enrollment is None


def test_the_import_command_says_which_line_and_why(tmp_path, db_path):
    source = tmp_path / "studies.jsonl"
    jsonl_with("nan title", source)
    result = trialmatch("--db", db_path, "import", source)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert f"rejected {source}:6: {KINDS['nan title']}" in result.stderr
    assert "20 added, 0 updated, 0 unchanged, 1 rejected" in result.stdout


def test_wrong_types_are_rejected_naming_the_field():
    study = synthetic_studies(1)[0]
    cases = {
        ("identificationModule", "briefTitle"): 12,
        ("conditionsModule", "conditions"): "Asthma",
        ("designModule", "phases"): [["PHASE2"]],
        ("contactsLocationsModule", "locations"): [{"city": {"name": "Boston"}}],
    }
    for (module, key), value in cases.items():
        broken = copy.deepcopy(study)
        broken["protocolSection"][module][key] = value
        with pytest.raises(RecordError, match=rf"protocolSection\.{module}\.{key}"):
            parse_v2_study(broken)


def test_values_that_cannot_be_read_are_kept_as_not_given():
    study = copy.deepcopy(synthetic_studies(1)[0])
    study["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": 10**400}
    study["protocolSection"]["contactsLocationsModule"]["locations"][0]["geoPoint"] = {"lat": 1e300, "lon": float("nan")}
    trial = parse_v2_study(study)
    assert trial.enrollment is None and (trial.sites[0].lat, trial.sites[0].lon) == (None, None)


def test_a_page_too_deep_for_the_decoder_is_read_study_by_study():
    good = synthetic_studies(2)
    page = ('{"studies": [' + json.dumps(good[0]) + ', {"x": ' + DEEP + '}, ' + json.dumps(good[1])
            + '], "nextPageToken": "next", "totalCount": 3}').encode()
    document = decode_response(page)
    assert document["nextPageToken"] == "next" and document["totalCount"] == 3
    assert document["studies"][0] == good[0] and document["studies"][2] == good[1]
    assert document["studies"][1].reason == "invalid JSON: nested too deeply"


REASON_IN_A_PAGE = {"nan title": KINDS["nan title"], "deep nesting": KINDS["deep nesting"],
                    "surrogate": "briefTitle: not valid Unicode text"}


@pytest.mark.parametrize("kind", REASON_IN_A_PAGE)
def test_a_crawl_stores_the_rest_of_the_page_and_is_not_wedged(db_path, kind):
    studies = synthetic_studies(30)
    catalog = StudyCatalog(studies)
    hostile = copy.deepcopy(studies[14])  # the 5th study of page 2 of pages of 10
    nct_id = hostile["protocolSection"]["identificationModule"]["nctId"]
    if kind == "surrogate":
        hostile["protocolSection"]["identificationModule"]["briefTitle"] = "\ud800"
        body = json.dumps(hostile)  # ensure_ascii: the escape \ud800, as a registry could send it
    else:
        body = hostile_line(kind, hostile)
    catalog._entries[nct_id].body = body.encode()  # served as is, in the original's place
    client = RegistryClient  # the same search twice: the second run must not stop at page 2 again
    with RegistryServer(catalog) as server:
        for _ in range(2):
            report = crawl(Store(db_path), client(server.base_url, rate=0, retry=RetryPolicy(max_retries=1, backoff_base=0.01)),
                           StudyQuery(), page_size=10, full=True)
            assert report.status == "finished" and report.pages == 3
            assert [r.location.rsplit("#", 1)[1] for r in report.rejections] == ["5"]
            assert REASON_IN_A_PAGE[kind] in report.rejections[0].reason
    stored = {row[0] for row in Store(db_path).conn.execute("SELECT nct_id FROM trials")}
    assert len(stored) == 29 and nct_id not in stored


def test_the_loopback_registry_serves_the_good_records_of_a_hostile_file(tmp_path):
    for kind, rejected in KINDS.items():
        source = tmp_path / f"{kind}.jsonl"
        good = jsonl_with(kind, source)
        assert StudyCatalog.from_paths([source]).nct_ids() == set(good) | ({"NCT09100005"} if not rejected else set())


def test_a_study_that_breaks_the_reader_in_an_unforeseen_way_is_one_rejection(tmp_path, monkeypatch):
    import crawlers.bulk

    source = tmp_path / "studies.jsonl"
    source.write_text("\n".join(json.dumps(s) for s in synthetic_studies(3)) + "\n")
    real = crawlers.bulk.parse_json_record

    def flaky(format_name, study):
        if study["protocolSection"]["identificationModule"]["nctId"].endswith("1"):
            raise ZeroDivisionError("a bug of ours")
        return real(format_name, study)

    monkeypatch.setattr(crawlers.bulk, "parse_json_record", flaky)
    items = list(read_paths([source]))
    assert [type(i).__name__ for i in items] == ["tuple", "Rejection", "tuple"]
    assert items[1] == Rejection(f"{source}:2", "unexpected structure (ZeroDivisionError: a bug of ours)")
