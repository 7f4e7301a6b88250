"""Criteria parsed while an import writes (``derive.ParseAlongside``): the same criteria as a
parse after the import, and a trial written again meanwhile is not given the old text's criteria."""

from __future__ import annotations

import json
import sqlite3

import matcher.derive
from matcher.derive import ParseAlongside, parse_trials, parser_version
from matcher.ingest import import_paths
from matcher.store import Store
from registry_helpers import synthetic_studies


def write_jsonl(path, studies) -> str:
    path.write_text("".join(json.dumps(s) + "\n" for s in studies))
    return str(path)


def parsed_rows(db_path) -> dict:
    """Criteria and constraints per trial, without row ids (they depend on the order of writing)."""
    with sqlite3.connect(db_path) as conn:
        criteria = conn.execute("SELECT nct_id, position, kind, category, text, start, [end], context, entities "
                                "FROM criteria ORDER BY nct_id, position").fetchall()
        constraints = conn.execute("SELECT k.nct_id, c.position, k.type, k.measure, k.op, k.value FROM constraints k "
                                   "JOIN criteria c ON c.id = k.criterion_id ORDER BY k.nct_id, c.position, k.id").fetchall()
        unparsed = conn.execute("SELECT count(*) FROM trials WHERE criteria_parser IS NOT ?", (parser_version(),)).fetchone()[0]
    return {"criteria": criteria, "constraints": constraints, "unparsed": unparsed}


def test_parsing_alongside_the_import_stores_what_a_parse_after_it_stores(tmp_path, monkeypatch):
    source = write_jsonl(tmp_path / "studies.jsonl", synthetic_studies(60))
    after = Store(tmp_path / "after.db")
    import_paths(after, [source])
    assert parse_trials(after, workers=1) == 60
    monkeypatch.setattr(matcher.derive, "PARSE_CHUNK", 7)  # many chunks in flight, the last one short
    alongside = Store(tmp_path / "alongside.db")
    summary = import_paths(alongside, [source], parallel=True, parse_workers=2, batch_size=9)
    assert summary.criteria_parsed == 60
    expected = parsed_rows(tmp_path / "after.db")
    assert expected["criteria"] and expected["constraints"] and expected["unparsed"] == 0
    assert parsed_rows(tmp_path / "alongside.db") == expected


def test_a_trial_written_again_meanwhile_is_left_for_the_next_parse(tmp_path):
    studies = synthetic_studies(5)
    store = Store(tmp_path / "trials.db")
    import_paths(store, [write_jsonl(tmp_path / "a.jsonl", studies)])
    ids = [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]
    alongside = ParseAlongside(store, workers=1)
    alongside.add(ids)  # their texts are queued as they are now
    newer = json.loads(json.dumps(studies[2]))
    newer["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2030-01-01"
    newer["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = "Inclusion Criteria:\n* Platelet count below 30 x 10^9/L"
    import_paths(store, [write_jsonl(tmp_path / "b.jsonl", [newer])])
    assert alongside.finish() == 4
    assert store.trials_needing_parse(parser_version()) == [(ids[2], newer["protocolSection"]["eligibilityModule"]["eligibilityCriteria"])]
    assert parse_trials(store) == 1
    assert [c.text for c in store.criteria(ids[2])] == ["Platelet count below 30 x 10^9/L"]
