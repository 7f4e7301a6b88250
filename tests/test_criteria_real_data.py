"""Runs over real registry criteria texts and the Chia annotations (skipped without
``../shared/data``)."""

import gzip
import json
import os
from itertools import islice
from pathlib import Path

import pytest

from matcher.criteria import parse_criteria

pytestmark = pytest.mark.real_data


def shared_data() -> Path:
    env = os.environ.get("TRIALMATCH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def corpus_rows(n):
    path = shared_data() / "ctgov" / "criteria-corpus.jsonl.gz"
    if not path.exists():
        pytest.skip(f"criteria corpus not found at {path} (set TRIALMATCH_SHARED_DATA)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in islice(f, n)]


def test_real_texts_parse_with_sound_offsets():
    rows = corpus_rows(400)
    n_criteria = with_constraint = 0
    for row in rows:
        text = row["criteria_text"]
        criteria = parse_criteria(text)
        for c in criteria:
            assert text[c.start:c.end].strip()
            for e in c.entities:
                assert c.start <= e.start < e.end <= c.end
        n_criteria += len(criteria)
        with_constraint += sum(1 for c in criteria if c.constraints)
    assert n_criteria > 3 * len(rows)
    assert with_constraint / n_criteria > 0.4


def test_real_texts_have_both_sections():
    rows = corpus_rows(300)
    both = sum(1 for r in rows if "Exclusion" in r["criteria_text"]
               and {c.kind for c in parse_criteria(r["criteria_text"])} == {"inclusion", "exclusion"})
    has_heading = sum(1 for r in rows if "Exclusion" in r["criteria_text"])
    assert both / has_heading > 0.95  # a few empty sections remain


def test_chia_reader_and_split():
    from tools.chia import heldout, read_corpus

    folder = shared_data() / "annotations" / "chia-dev"
    if not folder.is_dir():
        pytest.skip(f"chia-dev not found at {folder}")
    docs = read_corpus(folder)
    held = {d.nct_id for d in docs if heldout(d.nct_id)}
    assert 0.1 < len(held) / len({d.nct_id for d in docs}) < 0.3
    doc = docs[0]
    for e in doc.entities:
        assert doc.text[e.start:e.end] == e.text
