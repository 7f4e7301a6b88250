"""One pipeline after every write: `import`, `crawl`, `scrape` and `update` each leave the trials
they changed parsed, their sites placed and their text embedded (the vector file written), and
touch nothing else; a rerun over unchanged data embeds nothing and keeps the vector file."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from datetime import date

import numpy as np
import pytest

import matcher.embeddings
from conftest import FIXTURES, REPO
from crawlers.api_v2_server import RegistryServer
from crawlers.study_catalog import StudyCatalog
from matcher.cli import main
from matcher.embeddings import VectorIndex
from matcher.store import Store
from registry_helpers import synthetic_studies

SEED_LISTING = FIXTURES / "listings" / "ianalumab-itp-listing.txt"
OTHER_LISTING = FIXTURES / "listings" / "trial-finder-page.html"


class Encoder:
    """Stands in for the MiniLM model: a deterministic unit vector per text, and a record of
    every text it was asked to embed."""

    def __init__(self):
        self.texts: list[str] = []

    def __call__(self, texts: list[str], model: str = "all-MiniLM-L6-v2") -> np.ndarray:
        self.texts.extend(texts)
        rows = [np.random.default_rng(int(hashlib.sha1(t.encode()).hexdigest()[:8], 16)).normal(size=384) for t in texts]
        matrix = np.array(rows, dtype=np.float32).reshape(len(texts), 384)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

    def take(self) -> list[str]:
        texts, self.texts = self.texts, []
        return texts


@pytest.fixture
def encoder(monkeypatch):
    spy = Encoder()
    monkeypatch.setattr(matcher.embeddings, "embed", spy)
    return spy


def derived(db_path) -> dict:
    """Per trial: parsed by the current parser, every site placed (or tried), has a vector; and
    the vector file's ids, when rankers would map it."""
    with sqlite3.connect(db_path) as conn:
        trials = [n for (n,) in conn.execute("SELECT nct_id FROM trials ORDER BY nct_id")]
        unparsed = {n for (n,) in conn.execute(
            "SELECT nct_id FROM trials t WHERE criteria_parser IS NULL OR (coalesce(eligibility_text, '') != '' "
            "AND NOT EXISTS (SELECT 1 FROM criteria c WHERE c.nct_id = t.nct_id))")}
        unplaced = {n for (n,) in conn.execute("SELECT DISTINCT nct_id FROM sites WHERE coordinates_source IS NULL")}
        vectors = dict(conn.execute("SELECT nct_id, text_sha1 FROM trial_vectors"))
    index = VectorIndex.load(Store(db_path, read_only=True))
    return {"trials": trials, "unparsed": unparsed, "unplaced": unplaced, "vectors": vectors,
            "mapped": index.mapped, "file_ids": index.nct_ids}


def assert_ready(db_path) -> dict:
    found = derived(db_path)
    assert found["trials"], "nothing stored"
    assert found["unparsed"] == set() and found["unplaced"] == set()
    assert sorted(found["vectors"]) == found["trials"]
    assert found["mapped"] and found["file_ids"] == found["trials"]
    return found


def vector_files(db_path) -> list[str]:
    return sorted(p.name for p in db_path.parent.glob(f"{db_path.name}.vectors-*"))


def titles(texts: list[str]) -> list[str]:
    return sorted(re.match(r"Synthetic study \d+", t).group() for t in texts)


def write_jsonl(path, studies) -> str:
    path.write_text("".join(json.dumps(s) + "\n" for s in studies))
    return str(path)


def changed(studies: list[dict]) -> list[dict]:
    """The same studies with study 3 retitled and its criteria changed (a newer version), and a
    new study 99."""
    studies = json.loads(json.dumps(studies))
    protocol = studies[3]["protocolSection"]
    protocol["identificationModule"]["briefTitle"] = "Synthetic study 3, retitled"
    protocol["eligibilityModule"]["eligibilityCriteria"] += "\n* Platelet count below 50 x 10^9/L"
    protocol["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2024-06-01"
    extra = synthetic_studies(100)[99]
    return studies + [extra]


def test_import_parses_places_and_embeds_what_changed_only(db_path, tmp_path, encoder, capsys):
    studies = synthetic_studies(20)
    assert main(["--db", str(db_path), "import", write_jsonl(tmp_path / "a.jsonl", studies)]) == 0
    first = assert_ready(db_path)
    assert len(first["trials"]) == 20 and len(encoder.take()) == 20
    assert "embedding index: 20 trials embedded, 0 removed, 20 indexed" in capsys.readouterr().out
    files = vector_files(db_path)
    assert len(files) == 1

    assert main(["--db", str(db_path), "import", str(tmp_path / "a.jsonl")]) == 0
    out = capsys.readouterr().out
    assert encoder.take() == [] and "embedding index" not in out and "criteria parsed" not in out
    assert vector_files(db_path) == files  # nothing rewritten

    assert main(["--db", str(db_path), "import", write_jsonl(tmp_path / "b.jsonl", changed(studies))]) == 0
    out = capsys.readouterr().out
    assert titles(encoder.take()) == ["Synthetic study 3", "Synthetic study 99"]
    assert "criteria parsed for 2 trials" in out and "embedding index: 2 trials embedded, 0 removed, 21 indexed" in out
    after = assert_ready(db_path)
    assert len(after["trials"]) == 21
    unchanged = set(first["trials"]) - {"NCT09100003"}
    assert {n: after["vectors"][n] for n in unchanged} == {n: first["vectors"][n] for n in unchanged}
    assert vector_files(db_path) != files and len(vector_files(db_path)) == 1  # the old generation removed


def test_crawl_leaves_the_crawled_trials_ready_and_a_repeat_embeds_only_updates(db_path, encoder, capsys):
    catalog = StudyCatalog(synthetic_studies(30))
    with RegistryServer(catalog) as server:
        crawl = ["--db", str(db_path), "crawl", "--base-url", server.base_url, "--rate", "0", "--page-size", "10"]
        assert main(crawl) == 0
        assert len(assert_ready(db_path)["trials"]) == 30 and len(encoder.take()) == 30

        today = date.today().isoformat()  # a repeated crawl asks for what changed since its last one
        catalog.update("NCT09100007", last_update=today, title="Synthetic study 7, retitled")
        catalog.put(synthetic_studies(100)[99])
        catalog.update("NCT09100099", last_update=today)
        capsys.readouterr()
        assert main(crawl) == 0
        assert titles(encoder.take()) == ["Synthetic study 7", "Synthetic study 99"]
        assert "criteria parsed for 1 trials" in capsys.readouterr().out  # study 7's criteria did not change
        assert len(assert_ready(db_path)["trials"]) == 31

        assert main(crawl) == 0
        assert encoder.take() == []


def test_scrape_leaves_the_page_trial_ready_and_a_rerun_embeds_nothing(db_path, encoder, capsys):
    assert main(["--db", str(db_path), "scrape", str(SEED_LISTING)]) == 0
    first = assert_ready(db_path)
    assert len(first["trials"]) == 1 and len(encoder.take()) == 1
    assert main(["--db", str(db_path), "scrape", str(SEED_LISTING)]) == 0
    assert encoder.take() == []
    assert main(["--db", str(db_path), "scrape", str(OTHER_LISTING)]) == 0
    after = assert_ready(db_path)
    assert len(after["trials"]) == 2 and len(encoder.take()) == 1  # the new page's trial only
    assert after["vectors"][first["trials"][0]] == first["vectors"][first["trials"][0]]


def test_update_from_a_source_leaves_the_registry_ready_to_match(db_path, tmp_path, encoder, capsys):
    source = write_jsonl(tmp_path / "studies.jsonl", synthetic_studies(12))
    assert main(["--db", str(db_path), "update", "--source", source]) == 0
    assert len(assert_ready(db_path)["trials"]) == 12 and len(encoder.take()) == 12
    assert main(["--db", str(db_path), "update", "--source", source]) == 0
    assert encoder.take() == []


def test_a_trial_gone_from_the_registry_leaves_the_vector_file(db_path, tmp_path, encoder):
    assert main(["--db", str(db_path), "import", write_jsonl(tmp_path / "a.jsonl", synthetic_studies(5))]) == 0
    with sqlite3.connect(db_path) as conn:
        for table in ("constraints", "criteria", "sites", "conditions", "interventions", "contacts", "raw_records"):
            conn.execute(f"DELETE FROM [{table}] WHERE nct_id = 'NCT09100001'")
        conn.execute("DELETE FROM trials WHERE nct_id = 'NCT09100001'")
    encoder.take()
    assert main(["--db", str(db_path), "index"]) == 0
    found = assert_ready(db_path)
    assert "NCT09100001" not in found["file_ids"] and len(found["file_ids"]) == 4 and encoder.take() == []


@pytest.mark.slow
def test_after_import_alone_match_uses_the_embeddings(db_path, capsys):
    """The quick start's promise: `import`, then `match`, with no `index` between."""
    assert main(["--db", str(db_path), "import", str(FIXTURES / "records")]) == 0
    found = assert_ready(db_path)
    assert len(found["file_ids"]) == 4
    capsys.readouterr()
    assert main(["--db", str(db_path), "match", str(REPO / "data" / "examples" / "itp-patient.json"), "--json",
                 "--status", "ANY"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert results[0]["nct_id"] in ("NCT09000001", "NCT09000002")
    assert "↑ close in meaning to the note" in results[0]["why"]  # the embedding similarity counted


def criteria_rows(db_path) -> dict[str, list[tuple]]:
    """Per trial, its stored criteria rows as they are (row ids included: rows written again get new ids)."""
    with sqlite3.connect(db_path) as conn:
        found: dict[str, list[tuple]] = {}
        for row in conn.execute("SELECT nct_id, id, position, text FROM criteria ORDER BY nct_id, position"):
            found.setdefault(row[0], []).append(row[1:])
    return found


def test_a_new_date_or_status_keeps_the_parsed_criteria_and_new_text_is_parsed_again(db_path, tmp_path, encoder, capsys):
    """The daily refresh: records whose only change is their date or status are not parsed again;
    a record with a changed criterion is, and the parse is the same as a fresh one."""
    studies = synthetic_studies(6)
    assert main(["--db", str(db_path), "import", write_jsonl(tmp_path / "a.jsonl", studies)]) == 0
    before = criteria_rows(db_path)
    newer = json.loads(json.dumps(studies))
    for study in newer[:3]:
        study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2025-01-01"
    newer[1]["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"
    newer[2]["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] += "\n* Platelet count below 50 x 10^9/L"
    capsys.readouterr()
    assert main(["--db", str(db_path), "update", "--source", write_jsonl(tmp_path / "b.jsonl", newer)]) == 0
    out = capsys.readouterr().out
    assert "3 updated, 3 unchanged" in out and "criteria parsed for 1 trials" in out
    after = criteria_rows(db_path)
    assert_ready(db_path)
    ids = [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]
    assert {n: after[n] for n in ids if n != ids[2]} == {n: before[n] for n in ids if n != ids[2]}
    assert after[ids[2]][-1][2] == "Platelet count below 50 x 10^9/L" and len(after[ids[2]]) == len(before[ids[2]]) + 1

    fresh = tmp_path / "fresh.db"  # the same records imported at once: the same criteria
    assert main(["--db", str(fresh), "import", str(tmp_path / "b.jsonl")]) == 0
    assert {n: [r[1:] for r in rows] for n, rows in criteria_rows(fresh).items()} == \
        {n: [r[1:] for r in rows] for n, rows in after.items()}


def test_import_timings_and_no_index(db_path, tmp_path, encoder, capsys):
    """`--timings` prints each step's wall time as it ends; `--no-index` leaves embedding to `index`."""
    source = write_jsonl(tmp_path / "a.jsonl", synthetic_studies(4))
    assert main(["--db", str(db_path), "import", "--timings", "--no-index", source]) == 0
    out = capsys.readouterr().out
    steps = re.findall(r"^time: (.+) \d+\.\d s$", out, re.M)
    assert steps == ["import records", "parse criteria", "place sites"]
    assert encoder.take() == [] and "embedding index" not in out
    assert main(["--db", str(db_path), "index"]) == 0
    assert len(encoder.take()) == 4 and len(assert_ready(db_path)["trials"]) == 4
    assert main(["--db", str(db_path), "import", source]) == 0
    assert "time:" not in capsys.readouterr().out


def test_the_embedding_step_reads_only_trials_whose_record_changed(db_path, tmp_path, encoder, monkeypatch):
    """A day's update of a full registry must not read every trial's text to find the few to
    embed: records unchanged since they were embedded are skipped by SQL; one whose status alone
    changed is read once, keeps its vector, and is not read again."""
    import matcher.embeddings as embeddings

    assert main(["--db", str(db_path), "import", write_jsonl(tmp_path / "a.jsonl", synthetic_studies(20))]) == 0
    encoder.take()
    read = []
    real = embeddings.trial_text
    monkeypatch.setattr(embeddings, "trial_text", lambda row: read.append(row["nct_id"]) or real(row))
    store = Store(db_path)
    assert embeddings.pending_trials(store) == ([], 0) and read == []
    store.conn.execute("UPDATE trials SET overall_status = 'COMPLETED', content_hash = 'new' WHERE nct_id = 'NCT09100003'")
    store.conn.commit()
    assert embeddings.pending_trials(store) == ([], 0) and read == ["NCT09100003"]
    assert embeddings.pending_trials(store) == ([], 0) and read == ["NCT09100003"]
    store.close()
