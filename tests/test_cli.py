"""The `trialmatch` command line, run as a user runs it: a real process, real files."""

import json
import os
import socket
import subprocess
import sys
import time

from conftest import FIXTURES, REPO


def trialmatch(*args, env=None, stdin=None):
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "matcher", *map(str, args)],
        capture_output=True, text=True, env=environment, input=stdin, cwd=REPO, timeout=300,
    )


def test_import_then_stats(db_path):
    result = trialmatch("--db", db_path, "import", FIXTURES / "records")
    assert result.returncode == 0, result.stderr
    assert "4 added, 0 updated, 0 unchanged, 0 rejected" in result.stdout
    stats = trialmatch("--db", db_path, "stats")
    assert stats.returncode == 0
    assert "4 trials" in stats.stdout and "RECRUITING" in stats.stdout
    as_json = json.loads(trialmatch("--db", db_path, "stats", "--json").stdout)
    assert as_json["trials"] == 4 and as_json["by_status"]["RECRUITING"] == 2
    assert as_json["last_import"]["added"] == 4
    assert "embedding index: 4 trials embedded by all-MiniLM-L6-v2" in stats.stdout  # the registry's model, said
    assert trialmatch("--db", db_path, "index", "--model", "static").returncode == 0
    assert json.loads(trialmatch("--db", db_path, "stats", "--json").stdout)["embeddings"] == {
        "model": "static-minilm-256", "trials": 4}


def test_database_from_environment(tmp_path):
    result = trialmatch("import", FIXTURES / "records" / "NCT09000002.json", env={"TRIALMATCH_DB": str(tmp_path / "env.db")})
    assert result.returncode == 0 and (tmp_path / "env.db").exists()


def test_rejections_are_listed_and_the_rest_lands(tmp_path, db_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"studies": [{"protocolSection": {"identificationModule": {"nctId": "oops"}}}]}')
    result = trialmatch("--db", db_path, "import", bad, FIXTURES / "records" / "NCT09000002.json")
    assert result.returncode == 0
    assert f"rejected {bad}#1: no valid NCT id" in result.stderr
    assert "1 added, 0 updated, 0 unchanged, 1 rejected" in result.stdout


def test_bad_input_is_one_line_and_status_2(tmp_path, db_path):
    missing = trialmatch("--db", db_path, "import", tmp_path / "nothing.zip")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "no such file" in missing.stderr
    no_db = trialmatch("--db", tmp_path / "absent.db", "stats")
    assert no_db.returncode == 2 and "no database" in no_db.stderr and "Traceback" not in no_db.stderr


def test_update_without_source_says_how_to_point_it_at_an_archive(db_path):
    with socket.socket() as probe:  # a port nothing listens on: the registry is unreachable
        probe.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v2"
    started = time.monotonic()
    result = trialmatch("--db", db_path, "update", env={"TRIALMATCH_SOURCE": "", "TRIALMATCH_API_BASE": unreachable})
    assert result.returncode == 2 and time.monotonic() - started < 10
    assert "TRIALMATCH_SOURCE" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert f"the registry at {unreachable} is not reachable (connection failed (Connection refused))" in result.stderr


def test_update_from_source(db_path):
    result = trialmatch("--db", db_path, "update", env={"TRIALMATCH_SOURCE": str(FIXTURES / "records")})
    assert result.returncode == 0 and "4 added" in result.stdout
