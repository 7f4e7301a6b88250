"""`trialmatch crawl` as a user runs it, against a loopback registry: summaries, incremental
repeats, kill -9 and SIGTERM mid-crawl then resume, exhausted retries, and bad input."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, REPO
from crawlers.api_v2_server import RegistryServer
from crawlers.fault_plan import FaultPlan
from crawlers.study_catalog import StudyCatalog
from matcher.cli import main
from matcher.cli.update_cmd import DEFAULT_CONDITIONS
from matcher.store import Store
from registry_helpers import assert_holds_exactly, synthetic_studies


@pytest.fixture
def catalog():
    return StudyCatalog(synthetic_studies(120))


def crawl_args(db_path, server, *extra):
    return ["--db", str(db_path), "crawl", "--base-url", server.base_url, "--rate", "0", "--backoff", "0.01", *map(str, extra)]


def start_crawl(db_path, server, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "matcher", *crawl_args(db_path, server, *extra)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def run_crawl(db_path, server, *extra):
    process = start_crawl(db_path, server, *extra)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.005)


def stored_pages(db_path) -> int:
    """Pages the crawl has committed (read while the crawl runs: the database is in WAL mode)."""
    if not db_path.exists():
        return 0
    store = Store(db_path)
    try:
        row = store.conn.execute("SELECT max(pages) FROM crawls").fetchone()
        return row[0] or 0
    finally:
        store.close()


def test_summary_then_an_incremental_repeat(catalog, db_path):
    with RegistryServer(catalog) as server:
        code, out, err = run_crawl(db_path, server, "--page-size", 50, "--status", "recruiting,completed", "--status", "Not yet recruiting")
        assert code == 0, err
        assert "crawl of statuses=COMPLETED,NOT_YET_RECRUITING,RECRUITING into" in out
        assert "3 pages, 120 studies: 120 added, 0 updated, 0 unchanged, 0 rejected; 0 retries" in out
        code, out, err = run_crawl(db_path, server, "--page-size", 50, "--status", "RECRUITING,COMPLETED,NOT_YET_RECRUITING")
    assert code == 0 and "incremental: asking only for studies updated since" in err
    assert "1 page, 0 studies updated since" in out


def test_killed_crawl_resumes_without_gaps_or_duplicates(catalog, db_path):
    with RegistryServer(catalog) as server:
        server.hold_after_pages = 3  # the 4th page request waits: the crawl is mid-way
        process = start_crawl(db_path, server, "--page-size", 10)
        assert server.holding.wait(30)
        wait_until(lambda: stored_pages(db_path) == 3)  # the 4th is asked for while the 3rd is stored
        process.kill()
        process.wait(10)
        server.release()
        store = Store(db_path)
        assert store.count_trials() == 30
        assert store.conn.execute("SELECT status, pages, page_token IS NOT NULL FROM crawls").fetchone() == ("running", 3, 1)
        code, out, err = run_crawl(db_path, server, "--page-size", 10)
    assert code == 0, err
    assert "resuming crawl 1: 3 pages, 30 studies already stored" in err
    assert "9 pages, 90 studies: 90 added, 0 updated, 0 unchanged" in out
    assert_holds_exactly(db_path, catalog)


def test_killed_at_random_moments_under_faults_still_ends_exactly_once(catalog, db_path):
    rng = random.Random(5)
    plan = FaultPlan(rate=0.2, kinds=("429", "500", "503", "drop", "invalid-json", "repeat"), seed=9, retry_after="0", empty_last_page=True)
    kills = 0
    with RegistryServer(catalog, faults=plan) as server:
        for _ in range(12):  # kill -9 after every 2 pages or so, until a run gets to the end
            pages_before = server.pages_served
            process = start_crawl(db_path, server, "--page-size", 4)
            wait_until(lambda: server.pages_served >= pages_before + 2 or process.poll() is not None)
            time.sleep(rng.uniform(0, 0.03))  # somewhere in parsing, writing or the next request
            if process.poll() is not None:
                break
            process.kill()
            process.wait(10)
            kills += 1
    assert kills >= 3 and process.returncode == 0, process.stderr.read()
    assert_holds_exactly(db_path, catalog)
    # a kill just after the end leaves a finished crawl; the next run is then an incremental one
    assert {row[0] for row in Store(db_path).conn.execute("SELECT status FROM crawls")} == {"finished"}


def test_sigterm_stops_cleanly_and_the_crawl_resumes(catalog, db_path):
    with RegistryServer(catalog) as server:
        server.hold_after_pages = 2
        process = start_crawl(db_path, server, "--page-size", 10)
        assert server.holding.wait(30)
        wait_until(lambda: stored_pages(db_path) == 2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        server.release()
        assert process.returncode == 130 and "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1] == (
            "trialmatch crawl: interrupted; kept the 20 studies of 2 pages fetched in this run; run the same command to resume")
        assert Store(db_path).conn.execute("SELECT status, studies FROM crawls").fetchone() == ("interrupted", 20)
        code, _, err = run_crawl(db_path, server, "--page-size", 10)
    assert code == 0 and "resuming crawl 1" in err
    assert_holds_exactly(db_path, catalog)


def test_exhausted_retries_fail_in_one_line_and_keep_what_was_fetched(catalog, db_path):
    with RegistryServer(catalog, faults=FaultPlan(script={n: "503" for n in range(3, 30)})) as server:
        code, out, err = run_crawl(db_path, server, "--page-size", 10, "--max-retries", 1)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "criteria parsed for 20 trials" in out  # what was fetched is stored and parsed
    assert "failed after 1 retries: 503 Service Unavailable" in err and "kept the 20 studies of 2 pages" in err
    assert Store(db_path).count_trials() == 20


@pytest.mark.parametrize("extra, complaint", [
    (["--since", "yesterday"], "--since: expected a date as YYYY-MM-DD"),
    (["--status", "OPEN"], "--status 'OPEN': expected one of RECRUITING, NOT_YET_RECRUITING"),
    (["--page-size", "0"], "--page-size must be between 1 and 1000"),
    (["--rate", "-1"], "--rate must be between 0 and 1000, not -1.0"),
    (["--nct", "123"], "--nct: not an NCT id"),
    (["--nct", "NCT09100001", "--condition", "x"], "cannot be combined"),
    (["--advanced", "AREA[Phase]PHASE2"], "the registry rejected the search: 400"),
])
def test_bad_input_is_one_line_and_status_2(catalog, db_path, capsys, extra, complaint):
    with RegistryServer(catalog) as server:
        assert main(crawl_args(db_path, server, *extra)) == 2
    err = capsys.readouterr().err
    assert complaint in err and len(err.strip().splitlines()) == 1


def test_single_studies_by_id(catalog, db_path, capsys):
    with RegistryServer(catalog) as server:
        assert main(crawl_args(db_path, server, "--nct", "NCT09100001", "--nct", "nct09100002")) == 0
        assert "2 studies: 2 added" in capsys.readouterr().out
        assert main(crawl_args(db_path, server, "--nct", "NCT09999999")) == 1
    assert "not in the registry (404)" in capsys.readouterr().err


def test_update_without_a_source_crawls_the_default_conditions(catalog, db_path, monkeypatch, capsys):
    monkeypatch.delenv("TRIALMATCH_SOURCE", raising=False)
    with RegistryServer(catalog) as server:
        monkeypatch.setenv("TRIALMATCH_API_BASE", server.base_url)
        assert main(["--db", str(db_path), "update"]) == 0
        asked = [entry.params for entry in server.log if entry.path.endswith("/studies")]
    out, err = capsys.readouterr()
    assert f"crawling {server.base_url}" in err
    assert [a["query.cond"] for a in asked] == list(DEFAULT_CONDITIONS)
    assert {a["filter.overallStatus"] for a in asked} == {"RECRUITING,NOT_YET_RECRUITING"}
    # synthetic conditions cycle over the four defaults; statuses over RECRUITING, COMPLETED, NOT_YET_RECRUITING
    assert Store(db_path).count_trials() == 80 and out.count("crawl of condition=") == 4


def test_serve_registry_serves_files_with_faults(tmp_path, db_path):
    server = subprocess.Popen(
        [sys.executable, "-m", "matcher", "serve-registry", str(FIXTURES / "records"), "--port", "0",
         "--fault-rate", "0.5", "--faults", "500,drop", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("serving 4 studies at http://127.0.0.1:"), line + server.stderr.read()
        base_url = line.split(" at ")[1].split()[0]
        crawl = subprocess.run(
            [sys.executable, "-m", "matcher", "--db", str(db_path), "crawl", "--base-url", base_url, "--rate", "0",
             "--backoff", "0.01", "--page-size", "1"],
            capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60,
        )
    finally:
        server.terminate()
        server.wait(10)
    assert crawl.returncode == 0, crawl.stderr
    assert "4 studies: 4 added" in crawl.stdout and "0 retries" not in crawl.stdout
    bad = subprocess.run([sys.executable, "-m", "matcher", "serve-registry", str(tmp_path / "none")],
                         capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert bad.returncode == 2 and "no such file" in bad.stderr
