"""The batch job on Dask, run as an operator runs it: `trialmatch batch --engine dask` against a
local cluster, or against a scheduler and workers started with Dask's own commands on
127.0.0.1, each worker with its own cache folder as if on its own machine."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

pytest.importorskip("distributed", reason="the Dask engine needs Dask: pip install 'trialmatch[dask]'")

from conftest import REPO, shared_data_dir
from dask_cluster import CommandLineCluster, free_port
from patient_generator import synthetic_patients
from processes import alive, children_of
from physician_registry import build_page_registry, thrombocytopenia_records
from test_batch import read_rows, wait_until_matched, write_jsonl
from test_cli import trialmatch

from matcher.batch import dask_engine, registry_copy
from matcher.batch.inputs import read_input
from matcher.batch.registry_state import read_registry_state
from matcher.batch.runner import MatchSettings
from matcher.cli import main

MALFORMED = {
    11: '{"id": "X1", "age": 40, "conditions": ["asthma"]',
    51: json.dumps({"id": "X2", "age": 40, "labs": [{"name": "platelet count", "value": "low"}]}),
    91: json.dumps({"id": "P00004", "age": 30}),
    131: json.dumps({"id": "X5", "age": 40, "diagnosis": "asthma"}),
}


@pytest.fixture(scope="module")
def registry_template(tmp_path_factory):
    """The fixture trials and the seed listing, with the real thrombocytopenia trials of the XML
    sample when ../shared/data is there; criteria parsed, sites placed, trials embedded."""
    folder = tmp_path_factory.mktemp("dask-registry")
    sample = shared_data_dir() / "ctgov" / "AllPublicXML-sample.zip"
    real = thrombocytopenia_records(sample, folder / "records") if sample.exists() else None
    path = build_page_registry(folder / "trials.db", real_records=real)
    assert main(["--db", str(path), "index"]) == 0
    return path


@pytest.fixture
def registry(registry_template, tmp_path):
    path = tmp_path / "trials.db"
    shutil.copy(registry_template, path)
    return path


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two workers, A and B."""
    cluster = CommandLineCluster(tmp_path)
    cluster.add_worker("A")
    cluster.add_worker("B")
    try:
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.close()


def patients_file(tmp_path, count=200, **options):
    return write_jsonl(tmp_path / "patients.jsonl", synthetic_patients(count, **options), MALFORMED)


def batch(registry, patients, out, *options, env=None):
    """`trialmatch batch` with its own results database (named after ``out``)."""
    result = trialmatch("--db", registry, "batch", patients, "--out", out,
                        "--results-db", out.with_suffix(".results.db"), *options, env=env)
    assert result.returncode == 0, result.stderr
    return result


def start_batch(registry, patients, out, *options, env=None) -> subprocess.Popen:
    """`trialmatch batch` in the background, with its own results database (named after ``out``)."""
    command = [sys.executable, "-m", "matcher", "--db", str(registry), "batch", str(patients), "--out", str(out),
               "--results-db", str(out.with_suffix(".results.db")), *map(str, options)]
    return subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def local_reference(registry, patients, tmp_path, *options):
    out = tmp_path / "local.csv"
    return batch(registry, patients, out, *options), out.read_bytes()


def test_local_cluster_matches_exactly_as_the_local_engine(registry, tmp_path):
    patients = patients_file(tmp_path)
    local, expected = local_reference(registry, patients, tmp_path)

    out = tmp_path / "dask.csv"
    on_dask = batch(registry, patients, out, "--engine", "dask", "--workers", "2", "--partition-size", "16")
    assert out.read_bytes() == expected
    assert sorted(on_dask.stderr.splitlines()) == sorted(local.stderr.splitlines())
    assert len(on_dask.stderr.splitlines()) == len(MALFORMED)
    assert "run 1: 200 patients matched, 4 rejected, skipped 0 already done" in on_dask.stdout
    assert "dask: 13 partitions of up to 16 patients, 0 skipped (nothing left to match); " \
           f"registry: workers read {registry} (shared)" in on_dask.stdout


def test_cluster_started_with_dask_commands_gets_the_registry_once_per_worker(registry, cluster, tmp_path):
    patients = patients_file(tmp_path)
    local, expected = local_reference(registry, patients, tmp_path)
    client_cache = {"TRIALMATCH_CACHE_DIR": str(tmp_path / "cache-client")}
    out = tmp_path / "dask.csv"
    on_cluster = ("--engine", "dask", "--scheduler", cluster.address, "--partition-size", "25")

    first = batch(registry, patients, out, *on_cluster, env=client_cache)
    assert out.read_bytes() == expected
    assert sorted(first.stderr.splitlines()) == sorted(local.stderr.splitlines())
    assert "dask: 9 partitions of up to 25 patients, 0 skipped" in first.stdout
    assert "shipped to 2 worker(s)" in first.stdout and "already held by 0" in first.stdout
    copies = {name: list((cluster.cache_of(name) / "registries").glob("*.db")) for name in ("A", "B")}
    assert [len(found) for found in copies.values()] == [1, 1]
    sha256 = copies["A"][0].stem
    assert copies["B"][0].stem == sha256 == registry_copy.file_sha256(copies["A"][0])
    assert f"copy {sha256[:12]}" in first.stdout
    assert "200 patients" not in (cluster.log("A") + cluster.log("B"))  # nothing about patients in the workers' logs
    assert not any("P000" in cluster.log(name) for name in ("scheduler", "A", "B"))

    rerun = batch(registry, patients, out, *on_cluster, env=client_cache)
    assert "run 1 (resumed): 0 patients matched, 4 rejected, skipped 200 already done" in rerun.stdout
    # Lines 51 and 131 were rejected when matched; as with the local engine, a rerun reports them
    # again, so their 2 partitions are sent again with those records only; the 7 others are skipped.
    assert "dask: 9 partitions of up to 25 patients, 7 skipped (nothing left to match)" in rerun.stdout
    assert sorted(rerun.stderr.splitlines()) == sorted(local.stderr.splitlines())
    assert out.read_bytes() == expected

    new_run = batch(registry, patients, tmp_path / "again.csv", *on_cluster, "--new-run", env=client_cache)
    assert "shipped to 0 worker(s)" in new_run.stdout and "already held by 2" in new_run.stdout
    assert [len(list((cluster.cache_of(name) / "registries").glob("*.db"))) for name in ("A", "B")] == [1, 1]


def test_workers_of_one_machine_share_one_copy(registry, tmp_path):
    cluster = CommandLineCluster(tmp_path)
    try:
        cluster.add_worker("A")
        cluster.add_worker("A2", same_machine_as="A")
        cluster.wait_for_workers(2)
        patients = patients_file(tmp_path, count=20)
        result = batch(registry, patients, tmp_path / "dask.csv", "--engine", "dask", "--scheduler", cluster.address,
                       "--no-embeddings", env={"TRIALMATCH_CACHE_DIR": str(tmp_path / "cache-client")})
    finally:
        cluster.close()
    assert "shipped to 1 worker(s)" in result.stdout and "already held by 1" in result.stdout
    assert len(list((cluster.cache_of("A") / "registries").glob("*"))) == 1  # no partial copy left either


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes from /proc (Linux)")
def test_local_cluster_ends_with_the_batch_job(registry, tmp_path):
    """A job killed outright (a scheduler's timeout) must not leave its local cluster's workers running."""
    patients = write_jsonl(tmp_path / "patients.jsonl", synthetic_patients(3000, seed=3))
    out = tmp_path / "matches.csv"
    job = start_batch(registry, patients, out, "--no-embeddings", "--engine", "dask", "--workers", "2")
    matched = wait_until_matched(out.with_suffix(".results.db"), 20, job)
    workers = children_of(job.pid)
    job.kill()
    job.wait()
    assert matched >= 20 and len(workers) >= 2, "the job must be killed while its workers run"
    deadline = time.monotonic() + 30
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(workers), "the local cluster's workers outlived the job"


def test_a_worker_killed_mid_run_loses_and_repeats_no_patient(registry, cluster, tmp_path):
    patients = write_jsonl(tmp_path / "patients.jsonl", synthetic_patients(600, seed=4))
    _, expected = local_reference(registry, patients, tmp_path, "--no-embeddings")
    out = tmp_path / "dask.csv"
    results = out.with_suffix(".results.db")
    job = start_batch(registry, patients, out, "--no-embeddings", "--engine", "dask", "--scheduler", cluster.address,
                      "--partition-size", "10", env={"TRIALMATCH_CACHE_DIR": str(tmp_path / "cache-client")})
    matched_at_kill = wait_until_matched(results, 30, job)
    cluster.kill_worker("A")
    stdout, stderr = job.communicate(timeout=300)
    assert 30 <= matched_at_kill < 600, "the worker must be killed mid-run"
    assert job.returncode == 0, stderr
    assert "run 1: 600 patients matched, 0 rejected" in stdout
    with sqlite3.connect(results) as db:
        assert db.execute("SELECT count(*), count(DISTINCT patient) FROM batch_patients").fetchone() == (600, 600)
        assert db.execute("SELECT count(*) FROM matches").fetchone()[0] == len(read_rows(out))
    assert out.read_bytes() == expected


def test_patients_dask_gives_up_on_are_reported_and_a_rerun_matches_them(registry, tmp_path):
    """When Dask stops retrying a partition (its workers died more often than the scheduler
    allows: here, once), its patients are reported as internal errors, the others are saved,
    and the same command run again matches the rest."""
    cluster = CommandLineCluster(tmp_path, allowed_failures=0)
    try:
        cluster.add_worker("A")
        cluster.add_worker("B")
        cluster.wait_for_workers(2)
        patients = write_jsonl(tmp_path / "patients.jsonl", synthetic_patients(600, seed=4))
        out = tmp_path / "dask.csv"
        options = ["--no-embeddings", "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "10"]
        client_cache = {"TRIALMATCH_CACHE_DIR": str(tmp_path / "cache-client")}
        job = start_batch(registry, patients, out, *options, env=client_cache)
        assert wait_until_matched(out.with_suffix(".results.db"), 30, job) >= 30
        cluster.kill_worker("A")
        stdout, stderr = job.communicate(timeout=300)
        lost = [line for line in stderr.splitlines() if line.startswith("rejected ")]
        assert job.returncode == 1, stderr
        assert lost and all(line.endswith(": could not be matched: the Dask workers running it died") for line in lost)
        assert f"{len(lost)} patients hit an internal error" in stderr
        assert f"run 1: {600 - len(lost)} patients matched, {len(lost)} rejected" in stdout

        rerun = batch(registry, patients, out, *options, env=client_cache)  # asserts exit status 0
    finally:
        cluster.close()
    assert f"run 1 (resumed): {len(lost)} patients matched, 0 rejected, skipped {600 - len(lost)} already done" in rerun.stdout
    assert len({row["patient"] for row in read_rows(out)}) == 600


def test_local_cluster_goes_on_when_the_registry_is_written_to(registry, tmp_path):
    """As the local engine does: a crawl writing to the registry during the run does not stop it."""
    patients = patients_file(tmp_path, count=10)
    records = [r for r in read_input(patients) if r.error is None]
    with dask_engine.DaskEngine(MatchSettings(registry=str(registry), use_embeddings=False), workers=1) as engine:
        with sqlite3.connect(registry) as db:
            db.execute("UPDATE trials SET updated_at = '2099-01-01T00:00:00' WHERE nct_id = 'NCT09000001'")
        results = [result for partition in engine.match_partitions(iter([records])) for result in partition]
    assert sorted(r.patient for r in results if r.error is None) == [f"P{n:05d}" for n in range(1, 11)]
    assert sorted(r.patient for r in results if r.error) == ["X2", "X5"]  # the patients' own errors, as always


def test_a_worker_without_the_copy_is_sent_it_before_its_partition_runs(registry, cluster, tmp_path, monkeypatch):
    """A worker that joins later (or lost its cache) has no copy: its partition is not lost but
    run again once the copy has reached it."""
    monkeypatch.setenv("TRIALMATCH_CACHE_DIR", str(tmp_path / "cache-client"))
    patients = patients_file(tmp_path, count=40)
    settings = MatchSettings(registry=str(registry), use_embeddings=False)
    with dask_engine.DaskEngine(settings, scheduler=cluster.address, partition_size=10) as engine:
        assert len(engine.report.shipped_to) == 2
        for name in ("A", "B"):
            for copy in (cluster.cache_of(name) / "registries").glob("*.db"):
                copy.unlink()
        partitions = [[r for r in read_input(patients) if r.error is None][start:start + 10] for start in range(0, 36, 10)]
        results = [result for partition in engine.match_partitions(iter(partitions)) for result in partition]
    assert sorted(r.patient for r in results) == sorted(r.patient for p in partitions for r in p)
    assert all(r.error is None and r.matches for r in results)
    assert any((cluster.cache_of(name) / "registries").glob("*.db") for name in ("A", "B"))


def test_shared_registry_must_be_the_one_the_command_read(registry, cluster, tmp_path, capsys):
    """A run against a stale file stops; the same workers then run the right one again."""
    patients = patients_file(tmp_path, count=30)
    stale = tmp_path / "stale.db"
    shutil.copy(registry, stale)
    with sqlite3.connect(stale) as db:
        db.execute("DELETE FROM criteria WHERE id = (SELECT max(id) FROM criteria)")
    on_cluster = ["--engine", "dask", "--scheduler", cluster.address, "--no-embeddings", "--partition-size", "3"]
    out = tmp_path / "dask.csv"

    def run(shared, new_run=()):  # 10 partitions: both workers get some
        status = main(["--db", str(registry), "batch", str(patients), "--out", str(out), *on_cluster,
                       "--shared-registry", str(shared), *new_run])
        return status, capsys.readouterr()

    status, printed = run(registry)
    assert status == 0 and f"registry: workers read {registry} (shared)" in printed.out
    assert len({row["patient"] for row in read_rows(out)}) == 30

    status, printed = run(stale, ["--new-run"])
    assert status == 1
    assert f"the registry at {stale} on this worker is not the one the batch command read (criteria " in printed.err
    assert "run 2 stopped and resumes when rerun" in printed.err

    status, printed = run(registry)  # the workers that refused the stale file match again
    assert status == 0, printed.err
    assert "run 2 (resumed): 30 patients matched" in printed.out


def test_a_worker_that_cannot_take_the_copy_is_left_out(registry, tmp_path):
    cluster = CommandLineCluster(tmp_path)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the worker's cache folder should be")
    try:
        cluster.add_worker("A")
        cluster.add_worker("B", cache=blocked / "cache")
        cluster.wait_for_workers(2)
        patients = patients_file(tmp_path, count=60)
        _, expected = local_reference(registry, patients, tmp_path, "--no-embeddings")
        out = tmp_path / "dask.csv"
        options = ["--no-embeddings", "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "5"]
        client_cache = {"TRIALMATCH_CACHE_DIR": str(tmp_path / "cache-client")}
        result = batch(registry, patients, out, *options, env=client_cache)

        cluster.kill_worker("A")  # B alone cannot hold the copy: the run stops, saying why
        alone = trialmatch("--db", registry, "batch", patients, "--out", tmp_path / "alone.csv", *options, env=client_cache)
    finally:
        cluster.close()
    assert "shipped to 1 worker(s)" in result.stdout
    assert "left out, could not take it: tcp://127.0.0.1:" in result.stdout and "NotADirectoryError" in result.stdout
    assert out.read_bytes() == expected
    assert alone.returncode == 1
    assert "trialmatch batch: no worker could take the registry copy: tcp://127.0.0.1:" in alone.stderr
    assert "NotADirectoryError" in alone.stderr and "stopped and resumes when rerun" in alone.stderr


def test_a_lost_scheduler_stops_the_run_and_a_new_cluster_resumes_it(registry, tmp_path):
    patients = write_jsonl(tmp_path / "patients.jsonl", synthetic_patients(600, seed=4))
    _, expected = local_reference(registry, patients, tmp_path, "--no-embeddings")
    out = tmp_path / "dask.csv"
    client_cache = {"TRIALMATCH_CACHE_DIR": str(tmp_path / "cache-client")}
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = CommandLineCluster(tmp_path / "first")
    try:
        first.add_worker("A")
        first.wait_for_workers(1)
        job = start_batch(registry, patients, out, "--no-embeddings", "--engine", "dask", "--scheduler", first.address,
                          "--partition-size", "10", env=client_cache)
        assert wait_until_matched(out.with_suffix(".results.db"), 30, job) >= 30
        first.kill_scheduler()
        stdout, stderr = job.communicate(timeout=300)
    finally:
        first.close()
    assert job.returncode == 1
    assert f"trialmatch batch: lost the Dask scheduler at {first.address}" in stderr
    assert "run 1 stopped and resumes when rerun" in stderr and "Traceback" not in stderr

    second = CommandLineCluster(tmp_path / "second")
    try:
        second.add_worker("C")
        second.wait_for_workers(1)
        rerun = batch(registry, patients, out, "--no-embeddings", "--engine", "dask", "--scheduler", second.address,
                      env=client_cache)
    finally:
        second.close()
    assert "run 1 (resumed)" in rerun.stdout
    assert out.read_bytes() == expected


@pytest.mark.parametrize("arguments, message", [
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler goes with --engine dask"),
    (["--partition-size", "10"], "--partition-size goes with --engine dask"),
    (["--engine", "dask", "--partition-size", "0"], "--partition-size must be between 1 and"),
    (["--engine", "dask", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "leave --workers out with --scheduler"),
    (["--engine", "dask", "--shared-registry", "trials.db"], "--shared-registry goes with --scheduler"),
])
def test_engine_options_are_checked_before_anything_runs(registry, tmp_path, capsys, arguments, message):
    patients = patients_file(tmp_path, count=3)
    status = main(["--db", str(registry), "batch", str(patients), "--out", str(tmp_path / "m.csv"), *arguments])
    assert status == 2 and message in capsys.readouterr().err
    assert not registry.with_name("trials.results.db").exists()


def test_an_unreachable_scheduler_is_named(registry, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    patients = patients_file(tmp_path, count=3)
    status = main(["--db", str(registry), "batch", str(patients), "--out", str(tmp_path / "m.csv"),
                   "--engine", "dask", "--scheduler", address])
    assert status == 1
    assert f"could not reach the Dask scheduler at {address}" in capsys.readouterr().err


def test_snapshot_holds_writes_still_in_the_write_ahead_log(registry, tmp_path, monkeypatch):
    """The registry is live: a crawl's last writes may sit in its WAL file, not the main one."""
    monkeypatch.setenv("TRIALMATCH_CACHE_DIR", str(tmp_path / "cache"))
    writer = sqlite3.connect(registry)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE trials SET brief_title = 'Written just now' WHERE nct_id = 'NCT09000001'")
    writer.commit()
    assert os.path.getsize(f"{registry}-wal") > 0
    state = read_registry_state(registry)

    copy = registry_copy.snapshot(registry, state)
    with sqlite3.connect(f"file:{copy.path}?mode=ro", uri=True) as db:
        assert db.execute("SELECT brief_title FROM trials WHERE nct_id = 'NCT09000001'").fetchone() == ("Written just now",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert copy.sha256 == registry_copy.file_sha256(copy.path)
    assert registry_copy.snapshot(registry, state) == copy  # reused while the registry is unchanged
    copy.path.unlink()
    assert registry_copy.snapshot(registry, state).sha256 == copy.sha256  # made again: the same bytes, the workers' copies still fit

    writer.execute("UPDATE sites SET latitude = 1.5")  # a write the registry state does not count
    writer.commit()
    placed = registry_copy.snapshot(registry, state)
    assert placed.sha256 != copy.sha256
    with sqlite3.connect(f"file:{placed.path}?mode=ro", uri=True) as db:
        assert db.execute("SELECT DISTINCT latitude FROM sites").fetchall() == [(1.5,)]

    writer.execute("DELETE FROM trials WHERE nct_id = 'NCT09000001'")
    writer.commit()
    writer.close()
    newer = registry_copy.snapshot(registry, read_registry_state(registry))
    assert newer.sha256 != placed.sha256 and not placed.path.exists()  # the old state's snapshot is gone


def test_a_copy_damaged_on_the_way_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALMATCH_CACHE_DIR", str(tmp_path))
    content = b"SQLite format 3\x00" + bytes(1000)
    sha256 = __import__("hashlib").sha256(content).hexdigest()
    registry_copy.receive_part(sha256, "first", 0, content[:500])
    registry_copy.receive_part(sha256, "first", 500, b"\xff" + content[501:])
    with pytest.raises(ValueError, match="do not match"):
        registry_copy.finish_receiving(sha256, "first", len(content))
    assert not registry_copy.has_copy(sha256)
    assert list(registry_copy.worker_cache().iterdir()) == []  # nothing left behind

    abandoned = registry_copy.worker_cache() / f"{sha256}.partial-cut-off"
    abandoned.write_bytes(content[:100])
    os.utime(abandoned, (time.time() - 2 * 3600,) * 2)
    registry_copy.receive_part(sha256, "second", 0, content[:500])
    registry_copy.receive_part(sha256, "second", 500, content[500:])
    assert registry_copy.finish_receiving(sha256, "second", len(content)) == "received"
    assert registry_copy.cached_copy(sha256).read_bytes() == content
    assert [p.name for p in registry_copy.worker_cache().iterdir()] == [f"{sha256}.db"]


def test_without_dask_installed_the_command_says_how_to_get_it(registry, tmp_path, capsys, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else find_spec(name, *a))
    patients = patients_file(tmp_path, count=3)
    status = main(["--db", str(registry), "batch", str(patients), "--out", str(tmp_path / "m.csv"), "--engine", "dask"])
    assert status == 2 and "--engine dask needs Dask: pip install 'trialmatch[dask]'" in capsys.readouterr().err


def test_local_cluster_listens_on_loopback_only(registry):
    """The local cluster's scheduler, nanny and worker ports, HTTP included, are on 127.0.0.1."""
    import psutil

    def listening() -> set[tuple[str, int]]:
        found = set()
        for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
            try:
                found |= {(c.laddr.ip, c.laddr.port) for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN}
            except psutil.NoSuchProcess:
                pass
        return found

    before = listening()
    with dask_engine.DaskEngine(MatchSettings(registry=str(registry), use_embeddings=False), workers=2):
        opened = listening() - before
    assert len(opened) >= 4  # the scheduler (and its HTTP server), two workers, their nannies
    assert {ip for ip, _ in opened} == {"127.0.0.1"}


def test_with_every_worker_gone_the_run_waits_and_a_new_worker_finishes_it(registry, tmp_path):
    """A worker that joins mid-run, with an empty cache, is sent the registry copy and matches the rest."""
    cluster = CommandLineCluster(tmp_path)
    try:
        cluster.add_worker("A")
        cluster.wait_for_workers(1)
        patients = write_jsonl(tmp_path / "patients.jsonl", synthetic_patients(600, seed=4))
        _, expected = local_reference(registry, patients, tmp_path, "--no-embeddings")
        out = tmp_path / "dask.csv"
        job = start_batch(registry, patients, out, "--no-embeddings", "--engine", "dask", "--scheduler", cluster.address,
                          "--partition-size", "10", env={"TRIALMATCH_CACHE_DIR": str(tmp_path / "cache-client")})
        assert wait_until_matched(out.with_suffix(".results.db"), 30, job) >= 30
        cluster.kill_worker("A")
        time.sleep(2)
        assert job.poll() is None  # no worker left: the command waits
        cluster.add_worker("C")
        stdout, stderr = job.communicate(timeout=300)
    finally:
        cluster.close()
    assert job.returncode == 0, stderr
    assert "shipped to 2 worker(s)" in stdout
    assert out.read_bytes() == expected


def test_a_worker_keeps_the_two_versions_it_used_last(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALMATCH_CACHE_DIR", str(tmp_path))
    versions = [b"SQLite format 3\x00" + bytes([n]) * 100 for n in range(3)]
    hashes = [__import__("hashlib").sha256(content).hexdigest() for content in versions]
    for sha256, content in zip(hashes, versions):
        registry_copy.receive_part(sha256, "s", 0, content)
        registry_copy.finish_receiving(sha256, "s", len(content))
        time.sleep(0.02)
    assert [registry_copy.has_copy(h) for h in hashes] == [False, True, True]
