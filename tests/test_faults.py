"""The fault suite: `trialmatch` killed with SIGKILL at random moments of an import, a crawl, a
parse, an index and a batch run, then run again, ends with the same database as a run that was
never killed (same rows in every table, `PRAGMA integrity_check` ok, no foreign key broken),
and leaves no process behind; a full disk is one line and loses nothing; several writers at
once all finish with every record stored once; a server reading the file they write keeps
answering. Kill moments are drawn from a seeded generator (``TRIALMATCH_FAULT_SEED``, default
13); ``benchmarks/fault_soak.py`` draws many more."""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from browse_registry import build_fixture_registry
from conftest import REPO
from crawlers.api_v2_server import RegistryServer
from crawlers.study_catalog import StudyCatalog
from fault_helpers import (
    command,
    counts,
    descendants,
    environment,
    kill_after,
    log_kill,
    registry_counts,
    registry_source,
    run,
    timed,
    write_studies,
)
from matcher.embeddings import MODEL_NAME, VectorIndex, trial_text
from matcher.store import Store
from patient_generator import synthetic_patients
from processes import alive
from registry_helpers import synthetic_studies
from test_browse_serve import free_port, wait_until_answering

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes from /proc (Linux)")

SEED = int(os.environ.get("TRIALMATCH_FAULT_SEED", "13"))
# kill points per kind in CI; the soak asks for more (TRIALMATCH_FAULT_KILLS="import=30,crawl=30")
KILL_POINTS = {"import": 3, "crawl": 3, "parse": 2, "index": 1, "batch": 2} | {
    kind: int(n) for kind, _, n in (part.partition("=") for part in os.environ.get("TRIALMATCH_FAULT_KILLS", "").split(",") if part)}
WRITERS = int(os.environ.get("TRIALMATCH_FAULT_WRITERS", "4"))  # three imports and a crawl, or more imports


def kill_moments(kind: str, clean_seconds: float) -> list[float]:
    """Seeded moments within the time a clean run takes (its start-up included)."""
    rng = random.Random(f"{SEED}:{kind}")
    return [round(rng.uniform(0.05, 1.0) * clean_seconds, 2) for _ in range(KILL_POINTS[kind])]


def assert_no_orphans(kill) -> None:
    assert not kill.orphans, f"{len(kill.orphans)} of the {kill.children} processes it started outlived a kill -9"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return registry_source(tmp_path_factory.mktemp("fault-source"))


@pytest.fixture(scope="module")
def clean_import(source, tmp_path_factory):
    """An import never killed: (its database, its counts, how long it took)."""
    db = tmp_path_factory.mktemp("clean-import") / "trials.db"
    seconds = timed("--db", db, "import", source)
    return db, registry_counts(db), seconds


def test_import_killed_anywhere_then_rerun_equals_a_clean_import(source, clean_import, tmp_path):
    _, expected, seconds = clean_import
    assert expected["integrity_check"] == "ok" and expected["trials"] == 600
    for number, moment in enumerate(kill_moments("import", seconds)):
        db = tmp_path / f"killed-{number}.db"
        kill = kill_after(["--db", db, "import", source], moment)
        log_kill("import", kill, db)
        assert_no_orphans(kill)
        if db.exists():
            assert counts(db)["integrity_check"] == "ok"
        run("--db", db, "import", source)
        assert registry_counts(db) == expected, f"killed after {moment} s"


def test_crawl_killed_anywhere_then_rerun_equals_a_clean_crawl(tmp_path):
    catalog = StudyCatalog(synthetic_studies(600))
    with RegistryServer(catalog) as server:
        crawl = ["crawl", "--base-url", server.base_url, "--rate", "0", "--page-size", "50"]
        clean = tmp_path / "clean.db"
        seconds = timed("--db", clean, *crawl)
        expected = registry_counts(clean)
        assert expected["trials"] == 600
        for number, moment in enumerate(kill_moments("crawl", seconds)):
            db = tmp_path / f"killed-{number}.db"
            kill = kill_after(["--db", db, *crawl], moment)
            log_kill("crawl", kill, db)
            assert_no_orphans(kill)
            run("--db", db, *crawl)
            assert registry_counts(db) == expected, f"killed after {moment} s"


def test_parse_killed_anywhere_then_rerun_equals_a_clean_parse(clean_import, tmp_path):
    db_clean, expected, _ = clean_import
    db = tmp_path / "trials.db"
    shutil.copy(db_clean, db)
    seconds = timed("--db", db, "parse", "--all")
    assert registry_counts(db) == expected
    for moment in kill_moments("parse", seconds):
        kill = kill_after(["--db", db, "parse", "--all"], moment)
        log_kill("parse", kill, db, "criteria")
        assert_no_orphans(kill)
        run("--db", db, "parse")
        assert registry_counts(db) == expected, f"killed after {moment} s"


def test_index_killed_anywhere_then_rerun_indexes_every_trial_once(tmp_path):
    db = tmp_path / "trials.db"
    run("--db", db, "import", write_studies(tmp_path / "studies.jsonl", synthetic_studies(120)))
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        expected = {row["nct_id"]: hashlib.sha1(trial_text(dict(row)).encode()).hexdigest()
                    for row in conn.execute("SELECT * FROM trials")}
        # the import embedded them: start the index from none, so that it has the work to be killed in
        conn.execute("DELETE FROM trial_vectors")
        conn.execute("DELETE FROM vector_files")
    for path in db.parent.glob(f"{db.name}.vectors-*"):
        path.unlink()
    for moment in kill_moments("index", 20):  # a clean run here: ~20 s, the model loading for most of it
        kill = kill_after(["--db", db, "index"], moment)
        log_kill("index", kill, db, "trial_vectors")
        assert_no_orphans(kill)
        run("--db", db, "index")
        with sqlite3.connect(db) as conn:
            assert dict(conn.execute("SELECT nct_id, text_sha1 FROM trial_vectors WHERE model = ?", (MODEL_NAME,))) == expected
        assert counts(db, ("trial_vectors",))["integrity_check"] == "ok"
        index = VectorIndex.load(Store(db, read_only=True))  # the vector file of that generation, and no other
        assert index.mapped and index.nct_ids == sorted(expected)
        assert len(list(db.parent.glob(f"{db.name}.vectors-*"))) == 1


def batch_rows(path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "is_new"} for line in path.read_text().splitlines()]


def test_batch_killed_anywhere_then_rerun_equals_a_clean_batch(tmp_path):
    registry = build_fixture_registry(tmp_path / "trials.db")
    patients = tmp_path / "patients.jsonl"
    patients.write_text("".join(json.dumps(p) + "\n" for p in synthetic_patients(200)))
    options = ["batch", patients, "--no-embeddings", "--workers", "2", "--top", "3"]
    started = time.monotonic()
    run("--db", registry, *options, "--out", tmp_path / "clean.jsonl", "--results-db", tmp_path / "clean.results.db")
    seconds = time.monotonic() - started
    expected = batch_rows(tmp_path / "clean.jsonl")
    assert len({row["patient"] for row in expected}) == 200
    for number, moment in enumerate(kill_moments("batch", seconds)):
        out, results = tmp_path / f"killed-{number}.jsonl", tmp_path / f"killed-{number}.results.db"
        kill = kill_after(["--db", registry, *options, "--out", out, "--results-db", results], moment)
        log_kill("batch", kill, results, "batch_patients")
        assert_no_orphans(kill)
        run("--db", registry, *options, "--out", out, "--results-db", results)
        assert batch_rows(out) == expected, f"killed after {moment} s"
        assert counts(results, ("batch_patients", "matches"))["integrity_check"] == "ok"


@pytest.mark.parametrize("args, children", [(["import"], 1), (["parse", "--all"], 2)], ids=["reader", "parsers"])
def test_the_processes_of_an_import_or_a_parse_end_with_it(clean_import, source, tmp_path, args, children):
    """Killed while its record reader (import) or its two criteria parsers (parse) run."""
    db = tmp_path / "trials.db"
    shutil.copy(clean_import[0], db)
    process = subprocess.Popen(command("--db", db, *args, *([source] if args == ["import"] else [])), cwd=REPO,
                               env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(started := descendants(process.pid)) < children and time.monotonic() < deadline:
        time.sleep(0.02)
    process.kill()
    process.wait(timeout=60)
    assert len(started) >= children
    deadline = time.monotonic() + 20
    while alive(started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(started), "processes outlived the command that started them"


# ---------------------------------------------------------------------------- a full disk


def small_disk(folder, megabytes: int):
    """A tmpfs of ``megabytes`` mounted on ``folder`` when this process may mount one (root);
    else None, and the caller limits file sizes instead (RLIMIT_FSIZE)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
                             capture_output=True) if os.geteuid() == 0 and shutil.which("mount") else None
    return folder if mounted is not None and mounted.returncode == 0 else None


def test_a_full_disk_is_one_line_loses_nothing_and_the_rerun_completes(source, clean_import, tmp_path):
    _, expected, _ = clean_import
    disk = small_disk(tmp_path / "disk", 3)
    db = tmp_path / "disk" / "trials.db"
    limit = None if disk else lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (3 * 1024 * 1024,) * 2)
    try:
        full = subprocess.run(command("--db", db, "import", source), cwd=REPO, env=environment(), capture_output=True,
                              text=True, timeout=600, preexec_fn=limit)
        assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
        last = full.stderr.strip().splitlines()[-1]
        assert last.startswith("trialmatch import: "), last
        if disk:  # ENOSPC: SQLite says "database or disk is full"; a file-size limit is an I/O error to SQLite
            assert "the disk is full" in last and "run the same command again" in last
        kept = counts(db)
        assert kept["integrity_check"] == "ok" and kept["trials"] < expected["trials"]
        if disk:
            subprocess.run(["mount", "-o", "remount,size=256m", str(disk)], check=True)
        run("--db", db, "import", source)
        assert registry_counts(db) == expected
    finally:
        if disk:
            subprocess.run(["umount", "-l", str(disk)], check=False)


# ---------------------------------------------------------------------------- writers at once

def test_writers_at_once_all_finish_and_store_every_record_once(tmp_path):
    studies = synthetic_studies(800)
    # overlapping slices, some in reverse order: each study is written by two writers or more
    parts = [studies[(n * 200) % 800:(n * 200) % 800 + 400][::(-1) ** n] for n in range(WRITERS - 2)] + [studies[::-1]]
    sources = [write_studies(tmp_path / f"part-{n}.jsonl", part) for n, part in enumerate(parts)]
    clean = tmp_path / "clean.db"
    run("--db", clean, "import", write_studies(tmp_path / "all.jsonl", studies))
    expected = registry_counts(clean)
    db = tmp_path / "trials.db"
    writers = [subprocess.Popen(command("--db", db, "import", s), cwd=REPO, env=environment(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for s in sources]
    catalog = StudyCatalog(studies[100:700])
    with RegistryServer(catalog) as server:  # and one more writer crawls
        writers.append(subprocess.Popen(command("--db", db, "crawl", "--base-url", server.base_url, "--rate", "0",
                                                "--page-size", "50"), cwd=REPO, env=environment(),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outcomes = [(w.wait(timeout=900), w.stderr.read()) for w in writers]
    for status, errors in outcomes:
        assert status == 0 and "rejected" not in errors, errors
    assert registry_counts(db) == expected


def test_a_server_reading_while_writers_write_keeps_answering(tmp_path):
    db = tmp_path / "trials.db"
    run("--db", db, "import", write_studies(tmp_path / "first.jsonl", synthetic_studies(50)))
    port = free_port()
    server = subprocess.Popen(command("--db", db, "serve", "--port", port), cwd=REPO, env=environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    answers: list[tuple[str, int]] = []
    stop = threading.Event()

    def read_pages():
        paths = ["/trials/trials.json?_size=5&_facet=overall_status", "/trials/sites.json?_size=5",
                 "/find?diagnosis=heart+failure&status="]
        while not stop.is_set():
            for path in paths:
                answers.append((path, requests.get(base + path, timeout=120).status_code))

    try:
        wait_until_answering(f"{base}/trials", server)
        reader = threading.Thread(target=read_pages)
        reader.start()
        for part in range(2):  # two imports one after the other, each parsing and placing sites
            studies = synthetic_studies(50 + 300 * (part + 1))[50 + 300 * part:]
            run("--db", db, "import", write_studies(tmp_path / f"more-{part}.jsonl", studies))
        time.sleep(1)
        stop.set()
        reader.join(timeout=300)
        served = requests.get(f"{base}/trials/trials.json?_shape=objects&_size=1&_sort=nct_id&_col=nct_id", timeout=60).json()
    finally:
        stop.set()
        server.terminate()
        server.communicate(timeout=60)
    failed = [(path, status) for path, status in answers if status != 200]
    assert len(answers) >= 6 and not failed, failed[:5]
    assert served["filtered_table_rows_count"] == 650
