"""The server prints nothing about a request (issue 13, item 4), sends security headers, bounds
what one query may allocate (item 10), and answers an oversized /find search with a page
instead of a reset connection (item 9)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import ModuleType
from urllib.parse import urlencode

import pytest
import requests
from datasette import hookimpl
from datasette.plugins import pm

from browse_registry import build_fixture_registry
from conftest import REPO
from matcher.patient import MAX_NOTE_CHARS
from matcher.web import physician_page
from matcher.web.browse import make_datasette
from matcher.web.sql_limits import MAX_RESULT_BYTES
from test_browse_serve import free_port, wait_until_answering

SECRET_QUERY = {"age": "45", "diagnosis": "HIV infection", "note": "partner of patient 4417"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return build_fixture_registry(tmp_path_factory.mktemp("limits") / "trials.db")


@pytest.fixture(scope="module")
def datasette(registry):
    return make_datasette(registry, plugins=[physician_page])


def vm_peak_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def start_serve(registry) -> tuple[str, subprocess.Popen]:
    """`trialmatch serve` in its own process, once it answers: (base URL, process)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "matcher", "--db", str(registry), "serve", "--port", str(port)],
                               cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_answering(f"{base}/trials", process)
    return base, process


def stop_and_read(process: subprocess.Popen) -> str:
    process.terminate()
    out, err = process.communicate(timeout=60)
    return out + err


@pytest.fixture(scope="module")
def server(registry):
    base, process = start_serve(registry)
    yield base, process
    stop_and_read(process)


def test_a_request_that_fails_prints_nothing_of_its_address(registry):
    base, process = start_serve(registry)
    try:
        for path in ("/Find", "/trials/no_such_table", "/trials.json", "/no/such/page.json"):
            requests.get(f"{base}{path}?{urlencode(SECRET_QUERY)}", timeout=30)
    finally:
        printed = stop_and_read(process)
    assert "Traceback" not in printed and "Local" not in printed
    for secret in ("HIV", "4417", "age=45", "diagnosis"):
        assert secret not in printed, printed


@pytest.mark.asyncio
async def test_a_server_error_is_one_line_and_a_page_that_quotes_nothing(registry, tmp_path, monkeypatch, capsys):
    def fail(request):
        raise ValueError(f"cannot read {request.args.get('diagnosis')}")

    failing = ModuleType("failing_route")
    failing.register_routes = hookimpl(lambda: [(r"^/fails$", fail)])
    monkeypatch.setenv("TRIALMATCH_LOG_DIR", str(tmp_path / "logs"))
    try:
        datasette = make_datasette(registry, plugins=[failing])
        response = await datasette.client.get("/fails?" + urlencode(SECRET_QUERY))
        as_json = await datasette.client.get("/fails.json?" + urlencode(SECRET_QUERY))
    finally:
        pm.unregister(failing)
    assert response.status_code == 500 and "the error is in its log" in response.text and "HIV" not in response.text
    assert as_json.status_code == 404  # no such route: answered quietly
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.count("\n") == 1
    assert printed.err.startswith("trialmatch serve: unexpected error (ValueError); details in ")
    log = (tmp_path / "logs").glob("*.log")
    details = next(log).read_text()
    assert "in fail" in details and "HIV" not in details and "diagnosis" not in details.replace("request.args.get('diagnosis')", "")


@pytest.mark.asyncio
async def test_every_page_sends_security_headers(datasette):
    for path in ("/", "/trials", "/trials/trials", "/trials/trials/NCT09000002", "/trials.json?sql=select+1", "/no-such-page"):
        headers = (await datasette.client.get(path)).headers
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff", path
        policy = headers["content-security-policy"]
        # Datasette's pages: 'self' only, no plugins; trialmatch's own pages (the front door "/"): nothing by default
        blocks_elsewhere = "default-src 'none'" in policy or ("default-src 'self'" in policy and "object-src 'none'" in policy)
        assert "frame-ancestors 'none'" in policy and blocks_elsewhere, path
    for own in ("/", "/find"):
        page = (await datasette.client.get(own)).headers
        assert page["content-security-policy"].startswith("default-src 'none'"), own  # the pages' own, stricter policy
        assert page["x-frame-options"] == "DENY"


async def query(datasette, sql: str):
    return await datasette.client.get("/trials.json?" + urlencode({"sql": sql}))


@pytest.mark.asyncio
async def test_one_query_cannot_build_huge_values_or_results(datasette):
    too_big = await query(datasette, "select randomblob(900000000)")
    assert too_big.status_code == 400 and "too big" in too_big.json()["error"]
    many_columns = await query(datasette, "select " + ", ".join(["zeroblob(10)"] * 150))
    assert many_columns.status_code == 400 and "too many columns" in many_columns.json()["error"]
    rows = MAX_RESULT_BYTES // (8 * 1024 * 1024) + 2
    large = await query(datasette, f"with recursive r(n) as (select 1 union all select n + 1 from r where n < {rows}) "
                                   "select zeroblob(8 * 1024 * 1024) from r")
    assert large.status_code == 400 and "the result is larger than 64 MB" in large.json()["error"]
    normal = await query(datasette, "select nct_id, eligibility_text from trials")
    assert normal.status_code == 200 and len(normal.json()["rows"]) == 5


def test_a_query_for_900_mb_costs_the_server_little(server):
    base, process = server
    before = vm_peak_kb(process.pid)
    started = time.monotonic()
    answer = requests.get(f"{base}/trials.json", params={"sql": "select randomblob(900000000)"}, timeout=60)
    assert answer.status_code == 400 and time.monotonic() - started < 10
    assert vm_peak_kb(process.pid) - before < 64 * 1024, "the server's peak memory grew by more than 64 MB"


def test_a_note_over_the_limit_is_refused_next_to_the_note(server):
    base, _ = server
    response = requests.get(f"{base}/find", params={"note": "ITP. " * (MAX_NOTE_CHARS // 5 + 1)}, timeout=60)
    assert response.status_code == 400
    assert f"more than the {MAX_NOTE_CHARS:,} read" in response.text and 'id="note-error"' in response.text


def test_a_search_larger_than_the_form_gets_a_page_not_a_reset(server):
    base, _ = server
    huge = requests.get(f"{base}/find", params={"note": "x" * (physician_page.MAX_QUERY_BYTES + 1)}, timeout=60)
    assert huge.status_code == 414 and "larger than the form can send" in huge.text
    fields = requests.get(f"{base}/find?" + "&".join(["diagnosis=a"] * 5000), timeout=60)
    assert fields.status_code == 414
