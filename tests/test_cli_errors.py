"""Every face of the command line ends in one line: bad input exits 2 and says what is wrong;
anything unexpected exits 1 with a log file for the details, which never holds patient data
(issue 13, item 9); registry text never reaches the terminal as escape codes (item 10); input
sizes are bounded (notes, items 3 and 9)."""

import json
import sqlite3

import pytest

from matcher.rank import Ranker
from browse_registry import build_fixture_registry
from conftest import FIXTURES
from matcher.cli import main
from matcher.patient import MAX_NOTE_CHARS
from matcher.store import Store
from models.trial import Provenance, RawRecord, Trial
from test_cli import trialmatch

PATIENT = FIXTURES.parent.parent / "data" / "examples" / "itp-patient.json"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return build_fixture_registry(tmp_path_factory.mktemp("cli") / "trials.db")


def one_line_exit(result, status: int, *fragments: str) -> None:
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_bad_input_is_one_line_and_status_2(registry, tmp_path):
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00\x01 criteria \x80\x81")
    latin1 = tmp_path / "shortlist.txt"
    latin1.write_bytes("NCT09000001\nessai thérapeutique\n".encode("latin-1"))
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("these are not the tables you are looking for\n" * 300)
    other_app = tmp_path / "other.db"
    with sqlite3.connect(other_app) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    (tmp_path / "out.csv").mkdir()
    cases = [
        (["--db", registry, "match", tmp_path], "is a folder, not a patient file"),
        (["--db", registry, "match", PATIENT, "--candidates", latin1], "--candidates: " + str(latin1) + " is not UTF-8 text"),
        (["parse", "--text", binary], "is not UTF-8 text"),
        (["--db", not_a_database, "stats"], "is not a SQLite database"),
        (["--db", not_a_database, "import", FIXTURES / "records"], "is not a SQLite database"),
        (["--db", not_a_database, "match", PATIENT], "is not a SQLite database"),
        (["--db", other_app, "import", FIXTURES / "records"], "is not a trialmatch registry"),
        (["--db", tmp_path, "stats"], "a folder, not a database file"),
        (["--db", registry, "match", PATIENT, "--top", "99999999999999999999999"], "--top must be between 1 and 1000"),
        (["--db", registry, "match", PATIENT, "--within-km", "nan"], "--within-km must be between 0 and 20000, not nan"),
        (["--db", registry, "serve", "--port", "99999"], "--port must be between 1 and 65535, not 99999"),
        (["serve-registry", FIXTURES / "records", "--port", "70000"], "--port must be between 0 and 65535"),
        (["--db", registry, "batch", PATIENT, "--out", tmp_path / "out.csv"], "a folder; name a .csv, .jsonl or .ndjson file"),
        (["crawl", "--rate", "inf"], "--rate must be between 0 and 1000, not inf"),
    ]
    for arguments, message in cases:
        one_line_exit(trialmatch(*arguments), 2, message)
    assert not (tmp_path / "absent.db").exists()
    assert sqlite3.connect(other_app).execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1  # left alone


def test_a_patient_with_a_number_of_hundreds_of_digits(registry, tmp_path):
    patient = tmp_path / "patient.json"
    patient.write_text('{"age": ' + "9" * 400 + "}")
    one_line_exit(trialmatch("--db", registry, "match", patient), 2, "age: expected a number, got one too large to use")
    patient.write_text('{"age": ' + "9" * 5000 + "}")
    one_line_exit(trialmatch("--db", registry, "match", patient), 2, "not valid JSON (a number with too many digits)")


def test_batch_never_writes_over_its_input(registry, tmp_path):
    patients = tmp_path / "patients.jsonl"
    patients.write_text('{"id": "a", "age": 40, "conditions": ["asthma"]}\n')
    before = patients.read_bytes()
    one_line_exit(trialmatch("--db", registry, "batch", patients, "--out", tmp_path / "." / "patients.jsonl"), 2,
                  "that is the input; the matches go to another file")
    assert patients.read_bytes() == before


def test_a_long_note_is_refused_at_once(registry, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Woman of 45 with primary immune thrombocytopenia. " * (MAX_NOTE_CHARS // 50 + 2))
    one_line_exit(trialmatch("--db", registry, "match", note), 2, f"more than the {MAX_NOTE_CHARS:,} read")
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps({"age": 45, "note": "x" * (MAX_NOTE_CHARS + 1)}))
    one_line_exit(trialmatch("--db", registry, "match", patient, "--no-embeddings"), 2, "note: 100,001 characters")


PATIENT_WORDS = "primary immune thrombocytopenia"


def test_an_unexpected_error_is_one_line_and_a_log_without_the_patient(registry, tmp_path, monkeypatch, capsys):
    def broken(self, patient, **options):
        raise ValueError(f"cannot rank a patient with {patient.conditions[0].name}")

    monkeypatch.setenv("TRIALMATCH_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(Ranker, "rank", broken)
    assert main(["--db", str(registry), "match", str(PATIENT), "--no-embeddings", "--note", "HIV positive since 2010"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("trialmatch match: unexpected error (ValueError); details in ")
    log = tmp_path / "logs" / error.strip().rsplit(" ", 1)[1].rsplit("/", 1)[1]
    assert (log.stat().st_mode & 0o777) == 0o600
    details = log.read_text()
    assert "builtins.ValueError" in details and "in broken" in details and "test_cli_errors.py" in details
    for private in (PATIENT_WORDS, "HIV", "2010", "itp-patient.json"):
        assert private not in details


def test_an_unexpected_import_error_keeps_its_message(tmp_path, monkeypatch, capsys):
    def broken(self, records, also=None):
        raise RuntimeError("the trials table is missing a column")

    monkeypatch.setenv("TRIALMATCH_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(Store, "write_trials", broken)
    assert main(["--db", str(tmp_path / "trials.db"), "import", str(FIXTURES / "records")]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    details = (tmp_path / "logs" / error.rsplit("/", 1)[1]).read_text()
    assert "the trials table is missing a column" in details and "command line: trialmatch --db" in details


def test_match_prints_no_escape_codes_from_registry_text(tmp_path):
    registry = tmp_path / "trials.db"
    title = "\x1b]0;pwned\x07\x1b[2J\x1b[31mITP trial\x9b1m with \rtricks"
    trial = Trial(nct_id="NCT09000777", brief_title=title, overall_status="RECRUITING", conditions=["Immune Thrombocytopenia"],
                  eligibility_text="Inclusion Criteria:\n- Platelet count \x1b[8m< 30 G/L\n")
    store = Store(registry)
    store.write_trials([(trial, RawRecord(Provenance("ctgov-api-v2", "hand-written"), b"{}", "application/json"))])
    for arguments in ([], ["--json"]):
        result = trialmatch("--db", registry, "match", PATIENT, "--no-embeddings", "--status", "ANY", *arguments)
        assert result.returncode == 0, result.stderr
        assert "ITP trial" in result.stdout
        assert not any(character in result.stdout for character in "\x1b\x07\x9b\r")
