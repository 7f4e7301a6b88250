"""Command-line conventions: --version, --db anywhere, enumerated options checked and spelt as
the registry spells them, messages that read right."""

import json
import shutil
from importlib.metadata import version

import pytest

from conftest import FIXTURES
from matcher.cli import COMMANDS, build_parser, main
from matcher.cli.common import UsageError
from matcher.cli.crawl_cmd import statuses
from matcher.ingest import import_paths
from matcher.store import Store
from models.trial import PHASES, STATUSES
from test_cli import trialmatch

PATIENT = FIXTURES / "patients" / "itp-bundle.json"


@pytest.fixture(scope="module")
def registry_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("registry") / "trials.db"
    store = Store(path)
    import_paths(store, [FIXTURES / "records"])
    store.close()
    return path


@pytest.fixture
def registry(registry_template, tmp_path):
    path = tmp_path / "somewhere-else.db"
    shutil.copy(registry_template, path)
    return path


def matched(capsys, *arguments) -> list[dict]:
    """`match … --json` in this process; the results it prints."""
    assert main(["match", str(PATIENT), "--json", "--no-embeddings", *map(str, arguments)]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)["results"]


def test_version_is_the_installed_distribution_version():
    result = trialmatch("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"trialmatch {version('trialmatch')}"


def test_db_after_the_command_as_well_as_before(registry, capsys):
    assert main(["stats", "--json", "--db", str(registry)]) == 0
    assert json.loads(capsys.readouterr().out)["trials"] == 4
    after = matched(capsys, "--status", "ANY", "--db", registry)
    assert main(["--db", str(registry), "match", str(PATIENT), "--json", "--no-embeddings", "--status", "ANY"]) == 0
    assert json.loads(capsys.readouterr().out)["results"] == after and after


def test_every_command_takes_db_after_it():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # every subcommand's parser, by name
    assert len(commands) == len(COMMANDS)
    for name, command in commands.items():
        assert any("--db" in action.option_strings for action in command._actions), name
    assert parser.parse_args(["--db", "a.db", "stats"]).db == "a.db"
    assert parser.parse_args(["stats", "--db", "b.db"]).db == "b.db"
    assert parser.parse_args(["--db", "a.db", "stats", "--db", "b.db"]).db == "b.db"  # the last one wins
    assert parser.parse_args(["index"]).db is None  # then $TRIALMATCH_DB or ./trials.db


@pytest.mark.parametrize("option, value, allowed", [
    ("--phase", "2", PHASES),
    ("--status", "open", STATUSES),
    ("--study-type", "trial", ("INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS")),
])
def test_an_unknown_enumerated_value_is_refused_with_the_allowed_values(registry, capsys, option, value, allowed):
    assert main(["--db", str(registry), "match", str(PATIENT), "--no-embeddings", option, value]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"trialmatch match: {option} '{value}': expected one of ") and error.count("\n") == 1
    assert all(name in error for name in allowed)


def test_batch_refuses_an_unknown_phase_and_matches_nobody(registry, tmp_path, capsys):
    (tmp_path / "patients.jsonl").write_text('{"id": "a", "age": 40}\n')
    arguments = ["--db", str(registry), "batch", str(tmp_path / "patients.jsonl"), "--out", str(tmp_path / "m.csv")]
    assert main([*arguments, "--phase", "3"]) == 2
    assert "--phase '3': expected one of EARLY_PHASE1, PHASE1" in capsys.readouterr().err
    assert not (tmp_path / "m.csv").exists()


def test_registry_spellings_are_accepted_and_mean_the_same(registry, capsys):
    by_code = matched(capsys, "--db", registry, "--status", "ACTIVE_NOT_RECRUITING", "--phase", "PHASE1")
    by_words = matched(capsys, "--db", registry, "--status", "Active, not recruiting", "--phase", "Phase 1")
    assert by_code == by_words and [r["nct_id"] for r in by_code] == ["NCT09000001"]
    assert matched(capsys, "--db", registry, "--status", "not yet recruiting") == []  # none in the fixture
    open_ones = matched(capsys, "--db", registry, "--status", "recruiting", "--study-type", "Interventional")
    assert open_ones and {r["status"] for r in open_ones} == {"RECRUITING"}
    phase_3 = [r["nct_id"] for r in matched(capsys, "--db", registry, "--status", "ANY", "--phase", "phase 3")]
    assert phase_3 and phase_3 == [
        r["nct_id"] for r in matched(capsys, "--db", registry, "--status", "ANY") if "PHASE3" in r["phases"]]


def test_crawl_takes_the_same_spellings_with_commas_inside_and_between():
    assert statuses(["Active, not recruiting"]) == ("ACTIVE_NOT_RECRUITING",)
    assert statuses(["RECRUITING,not yet recruiting", "Recruiting"]) == ("RECRUITING", "NOT_YET_RECRUITING")
    with pytest.raises(UsageError, match="--status 'open': expected one of RECRUITING"):
        statuses(["RECRUITING,open"])


def test_a_missing_patient_file_is_named_once(registry, tmp_path, capsys):
    assert main(["--db", str(registry), "match", str(tmp_path / "nobody.json")]) == 2
    assert capsys.readouterr().err == f"trialmatch match: patient: no such file: {tmp_path / 'nobody.json'}\n"
    (tmp_path / "bad.json").write_text('{"age": "old"}')
    assert main(["--db", str(registry), "match", str(tmp_path / "bad.json")]) == 2
    assert capsys.readouterr().err.startswith("trialmatch match: patient age: ")
