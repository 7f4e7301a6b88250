"""The parser stands alone: importing it loads nothing of the engine; its callers use its public
surface only; the scripts that build its data are not part of it."""

import re
import subprocess
import sys

from conftest import REPO

from matcher.derive import parser_sources

ENGINE = ("matcher.eligibility", "matcher.patient", "matcher.rank", "matcher.store", "matcher.web",
          "matcher.batch", "matcher.cli", "matcher.retrieve", "matcher.embeddings", "matcher.derive")


def test_importing_the_parser_loads_nothing_of_the_engine():
    code = ("import sys, matcher.criteria as c; c.parse_criteria('Inclusion Criteria:\\n- Platelets < 30 G/L');"
            "print('\\n'.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert "matcher.criteria" in loaded
    assert [m for m in loaded if m.startswith(ENGINE)] == []
    assert "torch" not in loaded and "sqlite3" not in loaded


def test_the_package_still_offers_its_api_lazily():
    code = "import matcher, sys; print('matcher.rank' in sys.modules); print(matcher.rank.__module__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "matcher.rank"]


def test_callers_use_the_public_surface_only():
    private = re.compile(r"from\s+(?:\.\.|matcher\.)criteria\.\w+\s+import")
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "matcher").rglob("*.py")
                 if "criteria" not in p.relative_to(REPO).parts and private.search(p.read_text())]
    assert offenders == []


def test_building_scripts_are_not_part_of_the_parser_version():
    names = {p.name for p in parser_sources()}
    assert "context_rules.json" in names and "pipeline.py" in names
    assert not names & {"train_tagger.py", "build_clusters.py", "chia.py"}
    assert all("tools" not in p.parts for p in parser_sources())
    assert (REPO / "tools" / "train_tagger.py").is_file() and (REPO / "tools" / "build_clusters.py").is_file()
