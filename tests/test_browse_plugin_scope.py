"""trialmatch's Datasette plugin, under plain `datasette` as `pip install .` registers it: it
describes any database that holds a `trials` table, whatever the file's name, and leaves every
other database (and so every other Datasette site in the environment) as Datasette made it."""

import json
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from browse_registry import build_fixture_registry

from conftest import REPO

DATASETTE = Path(sys.executable).with_name("datasette")
QUERIES = ["recruiting_near", "sites_in_place", "trials_bounding_lab", "trials_by_mesh_term", "trials_by_therapy",
           "updated_since"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return build_fixture_registry(tmp_path_factory.mktemp("scope") / "other-name.db")


@pytest.fixture(scope="module")
def unrelated(tmp_path_factory):
    path = tmp_path_factory.mktemp("unrelated") / "notes.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes (body) VALUES ('hello')")
    return path


def datasette(*arguments, get: str, succeeds: bool = True) -> str:
    """Plain `datasette …` with --get: the one page's body, as the command prints it."""
    result = subprocess.run([str(DATASETTE), *map(str, arguments), "--get", get],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert (result.returncode == 0) == succeeds, result.stderr[-2000:]
    return result.stdout


async def mmap_size(files, name: str) -> int:
    """PRAGMA mmap_size on a connection Datasette made (pragmas are refused over HTTP), the
    plugins loaded from their entry points as plain `datasette` loads them."""
    from datasette.app import Datasette

    instance = Datasette([str(f) for f in files])
    await instance.invoke_startup()
    return await instance.get_database(name).execute_fn(lambda conn: conn.execute("PRAGMA mmap_size").fetchone()[0])


def test_any_file_name_gets_the_canned_queries_descriptions_and_facets(registry):
    queries = json.loads(datasette(registry, get="/other-name.json"))["queries"]
    assert sorted(q["name"] for q in queries) == QUERIES
    rows = json.loads(datasette("-i", registry, get="/other-name/recruiting_near.json?condition=thrombocytopenia"
                                "&latitude=42.36&longitude=-71.06&km=50&_shape=array"))
    assert [row["nct_id"] for row in rows] == ["NCT09000002"]  # distance_km() works on its connections
    table = datasette(registry, get="/other-name/trials")
    assert "lower age limit in years; empty = none" in table  # column descriptions
    assert "/-/trialmatch/browse.css" in table
    facets = json.loads(datasette(registry, get="/other-name/trials.json"))["facet_results"]
    assert {"overall_status", "phases", "country"} <= set(facets)

@pytest.mark.asyncio
async def test_pragmas_only_on_registry_connections(registry, unrelated):
    assert await mmap_size([registry, unrelated], "other-name") == 1 << 30
    assert await mmap_size([registry, unrelated], "notes") == 0
    assert await mmap_size([unrelated], "notes") == 0


def test_a_database_without_trials_gets_none_of_it(registry, unrelated):
    for arguments in ([unrelated], [unrelated, registry]):  # alone, and beside a registry
        assert json.loads(datasette(*arguments, get="/notes.json"))["queries"] == []
        page = datasette(*arguments, get="/notes/notes")
        assert "trialmatch" not in page and "ClinicalTrials.gov" not in page
        error = json.loads(datasette(*arguments, get="/notes.json?sql=select+distance_km(0,0,1,1)",
                                     succeeds=False))
        assert "no such function: distance_km" in error["error"]
    assert "/-/trialmatch/" not in datasette(unrelated, get="/")
    metadata = json.loads(datasette(unrelated, registry, get="/-/metadata.json"))
    assert list(metadata["databases"]) == ["other-name"]


def test_links_respect_base_url(registry):
    page = datasette("-i", registry, "--setting", "base_url", "/registry/", get="/registry/other-name")
    links = re.findall(r'href="([^"]+)"', page.split('class="metadata-description"', 1)[1].split("</div>", 1)[0])
    assert "/registry/other-name/trials" in links and "/registry/other-name#queries" in links
    assert all(link.startswith(("/registry/", "https://")) for link in links), links
    assert "/registry/-/trialmatch/browse.css" in page
    table = json.loads(datasette("-i", registry, "--setting", "base_url", "/registry/",
                                 get="/registry/-/metadata.json"))
    assert table["databases"]["other-name"]["plugins"]["datasette-cluster-map"]["tile_layer"] == (
        "/registry/-/tiles/basemap/{z}/{x}/{y}.png")


def test_the_command_in_metadata_yml_works(registry, tmp_path):
    comment = (REPO / "data" / "datasette" / "metadata.yml").read_text(encoding="utf-8")
    [command] = re.findall(r"^#\s+(datasette .+)$", comment, flags=re.M)
    arguments = shlex.split(command)[1:]
    assert "trials.db" in arguments
    trials_db = tmp_path / "trials.db"
    trials_db.write_bytes(registry.read_bytes())
    arguments = [str(trials_db) if a == "trials.db" else a for a in arguments]
    index = datasette(*arguments, get="/")
    assert "trialmatch — ClinicalTrials.gov registry" in index
    assert sorted(q["name"] for q in json.loads(datasette(*arguments, get="/trials.json"))["queries"]) == QUERIES
