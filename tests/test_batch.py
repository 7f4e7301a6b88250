"""The batch match job, run as a user runs it: real processes, real files, a fixture registry."""

import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, REPO
from matcher.batch.output import OUTPUT_COLUMNS
from matcher.cli import main
from matcher.derive import geocode_sites, parse_trials
from matcher.ingest import import_paths
from matcher.store import Store
from patient_generator import synthetic_patients
from processes import alive, children_of
from test_cli import trialmatch

SHORTLIST = ("NCT09000001", "NCT09000003")  # one of them active, not recruiting
NEW_TRIAL = {
    "nct_id": "NCT09000005", "title": "Fixture Study of Drug Y in Immune Thrombocytopenia",
    "conditions": ["Immune Thrombocytopenia"], "status": "Recruiting", "study_type": "Interventional",
    "sex": "All", "min_age": "18 Years", "criteria_text": "Inclusion Criteria:\n\n  -  Immune thrombocytopenia",
    "locations": [{"facility": "Fixture Hospital", "city": "Boston", "country": "United States"}],
}


@pytest.fixture(scope="module")
def registry_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("registry") / "trials.db"
    store = Store(path)
    import_paths(store, [FIXTURES / "records"])
    parse_trials(store)
    geocode_sites(store)
    store.close()
    return path


@pytest.fixture
def registry(registry_template, tmp_path):
    path = tmp_path / "trials.db"
    shutil.copy(registry_template, path)
    return path


def write_jsonl(path, patients, bad_lines=None):
    """The patients one per line, with ``bad_lines`` (line number → text) put in their place."""
    lines = [json.dumps(p) for p in patients]
    for number, text in sorted((bad_lines or {}).items()):
        lines.insert(number - 1, text)
    path.write_text("\n".join(lines) + "\n")
    return path


def read_rows(path):
    if path.suffix == ".csv":
        with path.open(newline="") as stream:
            return list(csv.DictReader(stream))
    return [json.loads(line) for line in path.read_text().splitlines()]


def results_db(registry):
    return sqlite3.connect(registry.with_name("trials.results.db"))


def wait_until_matched(results, count: int, job: subprocess.Popen, timeout: float = 120) -> int:
    """Poll the results database until ``count`` patients are matched (or the job ends); how many were."""
    matched = 0
    deadline = time.monotonic() + timeout
    while matched < count and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(results) as db:
                matched = db.execute("SELECT count(*) FROM batch_patients WHERE status = 'matched'").fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            pass
    return matched


def documented_output_columns():
    """The column names of the output table in docs/batch.md, in order."""
    text = (REPO / "docs" / "batch.md").read_text()
    section = text.split("## Output", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.M)


def test_two_hundred_patients_with_malformed_lines_then_a_rerun_adds_nothing(registry, tmp_path):
    good = synthetic_patients(200, shortlist=SHORTLIST)
    secret = "Jane Q. Example, 12 Elm Street, Springfield"
    bad = {
        11: '{"id": "X1", "age": 40, "conditions": ["asthma"]',
        51: json.dumps({"id": "X2", "age": 40, "labs": [{"name": "platelet count", "value": "low"}]}),
        91: json.dumps({**good[3], "age": 30}),
        131: json.dumps({"id": "X4", "age": 40, "sex": secret}),
        171: json.dumps({"id": "X5", "age": 40, "diagnosis": "asthma"}),
    }
    patients = write_jsonl(tmp_path / "patients.jsonl", good, bad)
    out = tmp_path / "matches.csv"
    tables_before = set(sqlite3.connect(registry).execute("SELECT name FROM sqlite_master").fetchall())

    first = trialmatch("--db", registry, "batch", patients, "--out", out, "--no-embeddings")
    assert first.returncode == 0, first.stderr
    rejections = sorted(first.stderr.splitlines(), key=lambda line: int(line.split()[2].rstrip(":")))  # as found
    assert rejections == [
        "rejected line 11: not valid JSON (Expecting ',' delimiter at column 49)",
        "rejected line 51: labs[0].value: expected a number, got 'low'",
        "rejected line 91: id: the same patient id as line 4",
        "rejected line 131: sex: expected \"female\" or \"male\", got 'Jane Q. Example, 12 Elm Street, Spri...",
        rejections[4],
    ]
    assert rejections[4].startswith("rejected line 171: diagnosis: unknown field (known: age, ")
    assert secret not in first.stderr
    assert "run 1: 200 patients matched, 5 rejected, skipped 0 already done" in first.stdout
    rows = read_rows(out)
    assert list(rows[0]) == list(OUTPUT_COLUMNS) == documented_output_columns()
    assert {r["patient"] for r in rows} == {p["id"] for p in good}  # every good patient has results
    for patient in {r["patient"] for r in rows}:
        assert [int(r["rank"]) for r in rows if r["patient"] == patient] == list(range(1, 1 + sum(r["patient"] == patient for r in rows)))
    with_shortlist = [p for p in good if "candidates" in p]
    assert with_shortlist
    for patient in with_shortlist:  # ranked whole, whatever the trial's status
        assert {r["nct_id"] for r in rows if r["patient"] == patient["id"]} == set(patient["candidates"])
    assert {r["is_new"] for r in rows} == {"1"}
    assert all(0 <= float(r["score"]) <= 1 and r["eligibility"] in ("eligible", "possible", "ineligible") for r in rows)
    with results_db(registry) as db:
        counts = db.execute("SELECT status, count(*) FROM batch_patients GROUP BY status ORDER BY status").fetchall()
        matches = db.execute("SELECT count(*) FROM matches").fetchone()[0]
    assert counts == [("matched", 200), ("rejected", 5)] and matches == len(rows)

    output_before = out.read_bytes()
    again = trialmatch("--db", registry, "batch", patients, "--out", out, "--no-embeddings")
    assert again.returncode == 0, again.stderr
    assert "run 1 (resumed): 0 patients matched, 5 rejected, skipped 200 already done" in again.stdout
    assert sorted(again.stderr.splitlines()) == sorted(first.stderr.splitlines())
    assert out.read_bytes() == output_before
    with results_db(registry) as db:
        assert db.execute("SELECT status, count(*) FROM batch_patients GROUP BY status ORDER BY status").fetchall() == counts
        assert db.execute("SELECT count(*), sum(attempts) FROM batch_runs").fetchone() == (1, 2)

    registry_db = sqlite3.connect(registry)  # results never go in the registry
    assert set(registry_db.execute("SELECT name FROM sqlite_master").fetchall()) == tables_before
    registry_db.close()
    assert b"P00001" not in registry.read_bytes()


def test_kill_mid_run_then_rerun_completes_without_duplicates(registry, tmp_path):
    good = synthetic_patients(300, seed=9)
    patients = write_jsonl(tmp_path / "patients.jsonl", good)
    out = tmp_path / "matches.jsonl"
    command = [sys.executable, "-m", "matcher", "--db", str(registry), "batch", str(patients), "--out", str(out),
               "--no-embeddings", "--workers", "2"]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    job = subprocess.Popen(command, cwd=REPO, env=environment, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    matched_at_kill = wait_until_matched(registry.with_name("trials.results.db"), 20, job)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert 20 <= matched_at_kill < 300, "the kill must land mid-run"
    assert not out.exists()

    rerun = trialmatch("--db", registry, "batch", patients, "--out", out, "--no-embeddings", "--workers", "2")
    assert rerun.returncode == 0, rerun.stderr
    skipped = int(re.search(r"skipped (\d+) already done", rerun.stdout)[1])
    assert "run 1 (resumed)" in rerun.stdout and skipped >= matched_at_kill
    assert f"{300 - skipped} patients matched" in rerun.stdout
    with results_db(registry) as db:
        assert db.execute("SELECT count(*), count(DISTINCT patient) FROM batch_patients").fetchone() == (300, 300)
    resumed_rows = read_rows(out)
    assert {r["patient"] for r in resumed_rows} == {p["id"] for p in good}

    clean_out = tmp_path / "clean.jsonl"
    assert main(["--db", str(registry), "batch", str(patients), "--out", str(clean_out), "--no-embeddings", "--new-run"]) == 0
    same = ("patient", "rank", "nct_id", "score", "eligibility", "reasons")
    assert [[r[k] for k in same] for r in read_rows(clean_out)] == [[r[k] for k in same] for r in resumed_rows]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes from /proc (Linux)")
def test_workers_end_when_the_batch_job_is_killed(registry, tmp_path):
    """A scheduler that kills the job (its main process only) must not leave workers behind."""
    patients = write_jsonl(tmp_path / "patients.jsonl", synthetic_patients(2000, seed=3))
    command = [sys.executable, "-m", "matcher", "--db", str(registry), "batch", str(patients), "--out",
               str(tmp_path / "matches.csv"), "--no-embeddings", "--workers", "2"]
    job = subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(workers := children_of(job.pid)) < 2 and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.05)
    job.kill()
    job.wait()
    assert len(workers) >= 2, "the job must be killed while its workers run"
    deadline = time.monotonic() + 20
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(workers), "batch workers outlived the job"


def test_matches_new_since_the_previous_run_after_the_registry_changes(registry, tmp_path):
    good = synthetic_patients(30, seed=3)
    patients = write_jsonl(tmp_path / "patients.jsonl", good)
    out = tmp_path / "matches.csv"
    assert main(["--db", str(registry), "batch", str(patients), "--out", str(out), "--no-embeddings"]) == 0
    first = read_rows(out)

    (tmp_path / "new-trial.jsonl").write_text(json.dumps(NEW_TRIAL) + "\n")
    store = Store(registry)
    import_paths(store, [tmp_path / "new-trial.jsonl"])
    store.close()
    assert main(["--db", str(registry), "batch", str(patients), "--out", str(out), "--no-embeddings"]) == 0
    second = read_rows(out)
    new_pairs = {(r["patient"], r["nct_id"]) for r in second if r["is_new"] == "1"}
    assert new_pairs and {nct for _, nct in new_pairs} == {"NCT09000005"}
    assert {(r["patient"], r["nct_id"]) for r in second} - new_pairs == {(r["patient"], r["nct_id"]) for r in first}
    with results_db(registry) as db:
        assert db.execute("SELECT id FROM batch_runs ORDER BY id").fetchall() == [(1,), (2,)]
        assert set(db.execute("SELECT compared_with_run FROM batch_patients WHERE run_id = 2")) == {(1,)}
        assert db.execute("SELECT new_matches FROM batch_runs WHERE id = 2").fetchone() == (len(new_pairs),)


def test_a_retrained_ranker_starts_a_new_run(registry, tmp_path, monkeypatch):
    """Scores of two ranking models are never mixed in one run: the model's version keys it."""
    import types

    from matcher.batch import registry_state

    patients = write_jsonl(tmp_path / "patients.jsonl", synthetic_patients(5, seed=4))
    out = tmp_path / "matches.csv"
    command = ["--db", str(registry), "batch", str(patients), "--out", str(out), "--no-embeddings"]
    assert main(command) == 0 and main(command) == 0  # the same model: the run is resumed
    monkeypatch.setattr(registry_state, "shipped_model", lambda: types.SimpleNamespace(version="retrained"))
    assert main(command) == 0
    with results_db(registry) as db:
        assert db.execute("SELECT id FROM batch_runs ORDER BY id").fetchall() == [(1,), (2,)]
        assert json.loads(db.execute("SELECT registry_state FROM batch_runs WHERE id = 2").fetchone()[0])["ranker"] == "retrained"


def test_csv_input_and_jsonl_output_with_two_workers(registry, tmp_path, capsys):
    patients = tmp_path / "patients.csv"
    patients.write_text(
        "id,age,sex,conditions,labs,zip,candidates\n"
        "c1,45,female,primary immune thrombocytopenia,platelet count=22 10^9/L,02114,\n"
        "c2,30,male,asthma,,80202,\n"
        "c3,forty,female,asthma,,,\n"
        "c4,50,female,asthma,,,NCT09000001\n"
    )
    out = tmp_path / "matches.jsonl"
    status = main(["--db", str(registry), "batch", str(patients), "--out", str(out), "--no-embeddings", "--workers", "2"])
    printed = capsys.readouterr()
    assert status == 0 and printed.err == "rejected line 4: column age: expected a number\n"
    rows = read_rows(out)
    assert [(r["patient"], r["rank"], r["nct_id"]) for r in rows][:1] == [("c1", 1, "NCT09000002")]
    assert {r["patient"] for r in rows} == {"c1", "c2", "c4"} and rows[0]["is_new"] is True
    assert [r["nct_id"] for r in rows if r["patient"] == "c4"] == ["NCT09000001"]
    assert rows[0]["distance_km"] < 5 and "Boston" in rows[0]["nearest_site"]


def test_folder_of_fhir_bundles(registry, tmp_path, capsys):
    folder = tmp_path / "bundles"
    folder.mkdir()
    bundle = json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text())
    for name in ("f1", "f2"):
        bundle["entry"][0]["resource"]["id"] = name
        (folder / f"{name}.json").write_text(json.dumps(bundle))
    (folder / "f3.json").write_text(json.dumps({"resourceType": "Bundle", "entry": [{"resource": {
        "resourceType": "Observation", "code": {"text": "platelet count"}, "valueQuantity": {"value": "many"}}}]}))
    out = tmp_path / "matches.csv"
    assert main(["--db", str(registry), "batch", str(folder), "--out", str(out), "--no-embeddings"]) == 0
    assert capsys.readouterr().err.startswith("rejected f3.json: entry[0].resource.valueQuantity.value: expected a number")
    rows = read_rows(out)
    assert [(r["patient"], r["nct_id"], r["eligibility"]) for r in rows if r["rank"] == "1"] == [
        ("f1", "NCT09000002", "eligible"), ("f2", "NCT09000002", "eligible")]


def test_a_changed_record_is_matched_again_on_a_rerun(registry, tmp_path, capsys):
    patient = {"id": "a", "age": 45, "sex": "female", "conditions": ["immune thrombocytopenia"],
               "labs": [{"name": "platelet count", "value": 22, "unit": "10^9/L"}]}
    patients = write_jsonl(tmp_path / "patients.jsonl", [patient, {"id": "b", "age": 30, "conditions": ["asthma"]}])
    out = tmp_path / "matches.csv"
    arguments = ["--db", str(registry), "batch", str(patients), "--out", str(out), "--no-embeddings"]
    assert main(arguments) == 0
    before = read_rows(out)
    eligible = next(r for r in before if r["patient"] == "a" and r["nct_id"] == "NCT09000002")
    write_jsonl(patients, [{**patient, "labs": [{"name": "platelet count", "value": 90, "unit": "10^9/L"}]},
                           {"id": "b", "age": 30, "conditions": ["asthma"]}])
    assert main(arguments) == 0
    assert "run 1 (resumed): 1 patients matched, 0 rejected, skipped 1 already done" in capsys.readouterr().out
    now = next(r for r in read_rows(out) if r["patient"] == "a" and r["nct_id"] == "NCT09000002")
    assert eligible["eligibility"] == "eligible" and now["eligibility"] == "ineligible"
    assert "platelet count 90" in now["reasons"]
    assert [r["patient"] for r in read_rows(out)] == [r["patient"] for r in before]  # replaced, not added


def test_a_run_wide_shortlist_and_the_distance_filter(registry, tmp_path, capsys):
    patients = write_jsonl(tmp_path / "patients.jsonl", [
        {"id": "own", "age": 40, "conditions": ["asthma"], "candidates": ["NCT09000003"], "location": {"zip": "02114"}},
        {"id": "run-wide", "age": 40, "conditions": ["asthma"], "location": {"zip": "02114"}},
        {"id": "nowhere", "age": 40, "conditions": ["asthma"]},
    ])
    (tmp_path / "shortlist.txt").write_text("NCT09000001\nNCT09000002\n")
    out = tmp_path / "matches.csv"
    assert main(["--db", str(registry), "batch", str(patients), "--out", str(out), "--no-embeddings",
                 "--candidates", str(tmp_path / "shortlist.txt"), "--within-km", "50"]) == 0
    assert capsys.readouterr().err == "rejected line 3: location: needed for --within-km (a zip, a city, or lat and lon)\n"
    found = {(r["patient"], r["nct_id"]) for r in read_rows(out)}
    assert found == {("run-wide", "NCT09000001"), ("run-wide", "NCT09000002")}  # "own": its Denver trial is too far


@pytest.mark.parametrize("arguments, message", [
    (["--out", "{tmp}/m.txt"], "--out m.txt: expected a .csv, .jsonl or .ndjson file name, or --format"),
    (["--out", "{tmp}/m.csv", "--results-db", "{tmp}/trials.db"], "--results-db: results never go in the registry database"),
    (["--out", "{tmp}/m.csv", "--workers", "0"], "--workers must be between 1 and 256, not 0"),
])
def test_bad_options_are_one_line_and_status_2(registry, tmp_path, capsys, arguments, message):
    patients = write_jsonl(tmp_path / "patients.jsonl", [{"id": "a", "age": 40}])
    filled = [a.format(tmp=tmp_path) for a in arguments]
    assert main(["--db", str(registry), "batch", str(patients), *filled]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"trialmatch batch: {message}") and error.count("\n") == 1


def test_missing_input_and_unknown_csv_column(registry, tmp_path, capsys):
    assert main(["--db", str(registry), "batch", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "m.csv")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "p.csv").write_text("id,age,diagnosis\np1,40,asthma\n")
    assert main(["--db", str(registry), "batch", str(tmp_path / "p.csv"), "--out", str(tmp_path / "m.csv")]) == 2
    assert "p.csv: unknown column 'diagnosis' (the columns are: id, age" in capsys.readouterr().err
    assert not registry.with_name("trials.results.db").exists()


def test_results_database_and_output_are_readable_by_their_owner_only(registry, tmp_path):
    patients = tmp_path / "patients.jsonl"
    write_jsonl(patients, synthetic_patients(3))
    out = tmp_path / "matches.csv"
    assert main(["--db", str(registry), "batch", str(patients), "--out", str(out), "--no-embeddings"]) == 0
    assert (registry.with_name("trials.results.db").stat().st_mode & 0o777) == 0o600
    assert (out.stat().st_mode & 0o077) == 0
