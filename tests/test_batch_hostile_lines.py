"""One bad batch line never stops the run, nor every rerun after it (issue 13, item 3); the
results database is owner-only however it comes to exist (item 6); impossible or wrongly typed
patients are refused with the field (item 5)."""

import json
import os
import stat
import threading

import pytest

from browse_registry import build_fixture_registry
from conftest import FIXTURES
from matcher.batch.inputs import read_input
from matcher.batch.results import ResultsStore
from matcher.cli import main
from matcher.patient import PatientError, load_patient

GOOD = [json.dumps({"id": f"good-{n}", "age": 40 + n, "conditions": ["asthma"]}) for n in range(3)]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return build_fixture_registry(tmp_path_factory.mktemp("hostile-batch") / "trials.db")


def run_batch(registry, source, tmp_path, capsys) -> tuple[int, str]:
    code = main(["--db", str(registry), "batch", str(source), "--out", str(tmp_path / "matches.csv"), "--no-embeddings",
                 "--results-db", str(tmp_path / "results.db")])
    return code, capsys.readouterr().err


HOSTILE_LINES = {
    "deeply nested note": '{"id": "bad", "note": ' + "[" * 5000 + "]" * 5000 + "}",
    "5,000-digit number": '{"id": "bad", "age": ' + "9" * 5000 + "}",
    "400-digit number": '{"id": "bad", "age": ' + "9" * 400 + "}",
    "lone surrogate": '{"id": "bad", "conditions": ["\\ud800"]}',
}


@pytest.mark.parametrize("kind", HOSTILE_LINES)
def test_a_hostile_jsonl_line_is_rejected_and_every_other_patient_matched(registry, tmp_path, capsys, kind):
    source = tmp_path / "patients.jsonl"
    source.write_text("\n".join([GOOD[0], HOSTILE_LINES[kind], GOOD[1], GOOD[2]]) + "\n")
    for _ in range(2):  # the rerun too
        code, errors = run_batch(registry, source, tmp_path, capsys)
        assert code == 0 and errors.startswith("rejected line 2: ") and errors.count("\n") == 1, errors
    assert "Traceback" not in errors


def test_a_byte_that_is_not_utf8_deep_in_a_csv_rejects_its_row_only(registry, tmp_path, capsys):
    source = tmp_path / "patients.csv"
    rows = [f"p{n},{20 + n % 60},asthma,{'x' * 200}".encode() for n in range(80)]  # ~17 KB before the bad byte
    rows.insert(60, "bad,44,asthme aigu\xe9,".encode("latin-1"))
    source.write_bytes(b"id,age,conditions,note\n" + b"\n".join(rows) + b"\n")
    records = list(read_input(source))
    assert len(records) == 81 and [r.where for r in records if r.error] == ["line 62"]
    assert records[60].error == "column conditions: not UTF-8 text"
    code, errors = run_batch(registry, source, tmp_path, capsys)
    assert code == 0 and errors == "rejected line 62: column conditions: not UTF-8 text\n"


def test_a_folder_named_like_a_bundle_is_rejected_and_the_bundles_read(registry, tmp_path, capsys):
    folder = tmp_path / "bundles"
    folder.mkdir()
    (folder / "a.json").write_bytes((FIXTURES / "patients" / "itp-bundle.json").read_bytes())
    (folder / "b.json").mkdir()
    (folder / "c.json").write_text((FIXTURES / "patients" / "itp-bundle.json").read_text().replace("itp-fhir", "other"))
    code, errors = run_batch(registry, folder, tmp_path, capsys)
    assert code == 0 and errors == "rejected b.json: cannot be read: a folder, not a file\n"


def test_an_existing_results_database_readable_by_others_is_made_owner_only(registry, tmp_path, capsys):
    results = tmp_path / "results.db"
    ResultsStore(results).close()
    for file in (results, results.with_name("results.db-wal")):
        if file.exists():
            os.chmod(file, 0o644)
    source = tmp_path / "patients.jsonl"
    source.write_text(GOOD[0] + "\n")
    code, errors = run_batch(registry, source, tmp_path, capsys)
    assert code == 0 and f"note: {results} was readable by other users" in errors
    for file in results.parent.glob("results.db*"):
        assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, file


def test_a_new_results_database_is_never_readable_by_others(tmp_path):
    """Watched while it is created: no moment when the file exists with access for others."""
    path, seen, done = tmp_path / "results.db", [], threading.Event()

    def watch():
        while not done.is_set():
            try:
                seen.append(stat.S_IMODE(os.stat(path).st_mode))
            except FileNotFoundError:
                pass

    watcher = threading.Thread(target=watch)
    old_umask = os.umask(0o022)
    try:
        watcher.start()
        ResultsStore(path).close()
    finally:
        done.set()
        watcher.join()
        os.umask(old_umask)
    assert seen and all(mode & 0o077 == 0 for mode in seen)


IMPOSSIBLE = [
    ({"birth_date": "1700-01-01", "as_of": "2026-11-25"}, "birth_date", "gives an age of 327 years on 2026-11-25, more than 130"),
    ({"age": 10**400}, "age", "one too large to use"),
    ({"location": {"zip": {"code": "02114"}}}, "location.zip", "expected a postal code"),
]


def bundle_with(**patient) -> dict:
    bundle = json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text())
    bundle["entry"][0]["resource"].update(patient)
    return bundle


def bundle_entry(index: int, **changes) -> dict:
    bundle = json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text())
    bundle["entry"][index]["resource"].update(changes)
    return bundle


def observation_index() -> int:
    bundle = json.loads((FIXTURES / "patients" / "itp-bundle.json").read_text())
    return next(i for i, e in enumerate(bundle["entry"]) if "valueQuantity" in e["resource"])


@pytest.mark.parametrize("patient, field, problem", IMPOSSIBLE)
def test_impossible_json_patients_are_refused_with_the_field(patient, field, problem):
    with pytest.raises(PatientError, match=problem) as refused:
        load_patient(patient)
    assert refused.value.field == field


def test_impossible_or_wrongly_typed_fhir_patients_are_refused_with_the_field():
    lab = observation_index()
    cases = [
        (bundle_with(birthDate="2990-01-01"), "entry[0].resource.birthDate", "after the record's date"),
        (bundle_with(address={"postalCode": "02114"}), "entry[0].resource.address", "expected a list"),
        (bundle_with(address=[{"postalCode": 2114}]), "entry[0].resource.address[0].postalCode", "expected text"),
        (bundle_entry(1, code={"coding": {"code": "32273002"}}), "entry[1].resource.code.coding", "expected a list"),
        (bundle_entry(lab, valueQuantity={"value": -22, "unit": "/uL"}), f"entry[{lab}].resource.valueQuantity.value",
         "cannot be negative"),
        (bundle_entry(lab, valueQuantity={"value": 22, "unit": 9}), f"entry[{lab}].resource.valueQuantity.unit",
         "expected text"),
    ]
    for bundle, field, problem in cases:
        with pytest.raises(PatientError, match=problem) as refused:
            load_patient(bundle)
        assert refused.value.field == field
