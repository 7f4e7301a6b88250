"""trialmatch's Datasette plugin: what the browse view adds to plain Datasette.

Everything it adds is scoped to *registry databases*: those that hold a ``trials`` table,
whatever the file is called (``datasette any-name.db`` works). Other databases, and other
Datasette sites in the same environment, see none of it:

- the registry's metadata (descriptions, labels, facets, the offline map's tiles) from
  data/datasette/registry.yml through ``get_metadata``, and its canned queries through
  ``canned_queries``, links built with ``datasette.urls`` (``base_url`` respected);
- on their connections, ``distance_km(lat1, lon1, lat2, lon2)`` in SQL, for the "near a point"
  canned query, limits on what one query may build (``sql_limits``), and a
  memory-mapped read of the file;
- registry text (summaries, eligibility criteria) rendered as safe HTML on a trial's page
  (markdown for API v2 records, plain text for legacy XML); listings keep Datasette's
  escaped, truncated text;
- on ``trials``, a fast facet for JSON list columns and a ``site_country`` facet and filter;
- security headers (``SECURITY_HEADERS``: CSP, frame-ancestors and X-Frame-Options,
  nosniff) on every page of a Datasette that serves a registry, unless the page sets its own;
- on their pages, a stylesheet (compact column descriptions) and, on a record's own page, a
  script that lists the record's fields top to bottom; both served from data/datasette at
  /-/trialmatch/.

Which databases are registries is checked when Datasette starts and, for mutable databases, again
when their schema changes (one ``PRAGMA schema_version`` per request, as Datasette itself does).

Loaded by ``trialmatch serve``, and by plain ``datasette`` through the ``datasette`` entry point
that ``pip install .`` registers.
"""

from __future__ import annotations

import contextvars
import copy
from functools import cache
from string import Template
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.utils import parse_metadata
from datasette.utils.asgi import Response

from ..resources import data_path
from . import sql_functions, sql_limits
from .registry_text import render_registry_text
from .trial_facets import JsonListFacet, SiteCountryFacet, trial_filters

TRIALS_TABLE = "trials"
REGISTRY_TEXT_COLUMNS = {"brief_summary", "detailed_description", "eligibility_text"}
MMAP_BYTES = 1 << 30
ASSETS = {"browse.css": "text/css; charset=utf-8", "browse.js": "text/javascript; charset=utf-8"}
TILES = "/-/tiles/basemap/{z}/{x}/{y}.png"


@cache
def registry_metadata() -> dict:
    """data/datasette/registry.yml: the metadata of one registry database, queries included."""
    return parse_metadata(data_path("datasette", "registry.yml").read_text(encoding="utf-8"))


class Registries:
    """The names of one Datasette's databases that hold a ``trials`` table, and their metadata."""

    def __init__(self):
        self.names: set[str] = set()
        self.metadata: dict[str, dict] = {}  # name → database_metadata(), made once
        self._schema_versions: dict[str, int] = {}

    async def refresh(self, datasette) -> None:
        for name, database in list(datasette.databases.items()):
            if name in self._schema_versions and not database.is_mutable:
                continue  # an immutable file cannot gain or lose a table
            version = (await database.execute("PRAGMA schema_version")).first()[0]
            if self._schema_versions.get(name) == version:
                continue
            self._schema_versions[name] = version
            if await database.table_exists(TRIALS_TABLE):
                self.names.add(name)
                self.metadata[name] = database_metadata(datasette, name)
            else:
                self.names.discard(name)


_registries: WeakKeyDictionary = WeakKeyDictionary()  # Datasette → Registries


def registries(datasette) -> Registries:
    if datasette not in _registries:
        _registries[datasette] = Registries()
    return _registries[datasette]


def database_metadata(datasette, name: str) -> dict:
    """registry.yml for the registry database ``name``, its links made with Datasette's URLs."""
    metadata = copy.deepcopy(registry_metadata())
    metadata.pop("queries", None)  # served by canned_queries
    urls = datasette.urls
    metadata["description_html"] = Template(metadata["description_html"]).safe_substitute(
        trials=urls.table(name, "trials"), criteria=urls.table(name, "criteria"),
        sites_map=urls.table(name, "sites") + "?latitude__notblank=1",  # country is a facet of the table already
        queries=urls.database(name) + "#queries",
    )
    metadata["plugins"]["datasette-cluster-map"]["tile_layer"] = urls.path(TILES)
    return metadata


def _dicts_copied(value: dict) -> dict:
    """A copy of every dict in ``value`` (lists and strings shared): Datasette merges other
    metadata into the dicts a hook returns, which must not reach the cached ones. ~8× faster
    than a deep copy, and get_metadata runs dozens of times a page."""
    return {k: _dicts_copied(v) if isinstance(v, dict) else v for k, v in value.items()}


def holds_registry(datasette, database: str | None) -> bool:
    return database is not None and database in registries(datasette).names

# Every page: no framing by another site, no guessing of content types, and nothing loaded or
# run from elsewhere (Datasette's pages and the map use inline scripts and styles of their own).
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
     b"img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
]

# True while Datasette answers a request for one trial's own page (/<db>/trials/<nct_id>).
_on_trial_page = contextvars.ContextVar("trialmatch_on_trial_page", default=False)


def is_trial_page(path: str, base_url: str) -> bool:
    if not path.startswith(base_url):
        return False
    parts = path[len(base_url):].strip("/").split("/")
    return len(parts) == 3 and parts[1] == TRIALS_TABLE and "." not in parts[2]


@hookimpl
def startup(datasette):
    async def start():
        # Datasette makes its internal schema tables on the first refresh; a request that meets
        # a refresh under way goes on without waiting, and datasette-tiles' query of those
        # tables then fails (a map's first tiles, asked at once, came back 500).
        await datasette.refresh_schemas()
        await registries(datasette).refresh(datasette)

    return start


@hookimpl
def get_metadata(datasette, key, database, table):
    found = registries(datasette)
    names = sorted(found.names) if database is None else [database] if database in found.names else []
    return {"databases": {name: _dicts_copied(found.metadata[name]) for name in names}} if names else {}


@hookimpl
def canned_queries(datasette, database):
    if holds_registry(datasette, database):
        return copy.deepcopy(registry_metadata()["queries"])
    return None


@hookimpl
def prepare_connection(conn):
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TRIALS_TABLE,)).fetchone():
        return  # not a registry: left as Datasette made it
    sql_functions.register(conn)
    sql_limits.limit_connection(conn)
    # Facets scan whole tables: reading pages through a memory map, shared by every
    # connection, halves their time against copying them into each connection's small cache.
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")


def with_security_headers(send):
    """``send`` adding SECURITY_HEADERS to a response that does not set them itself."""
    async def send_with_headers(message):
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_headers


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def mark_trial_pages(scope, receive, send):
            if scope.get("type") != "http":
                return await app(scope, receive, send)
            await registries(datasette).refresh(datasette)
            token = _on_trial_page.set(is_trial_page(scope.get("path", ""), datasette.setting("base_url")))
            try:
                # Security headers for the pages of a Datasette that serves a registry; others untouched.
                secured = with_security_headers(send) if registries(datasette).names else send
                return await app(scope, receive, secured)
            finally:
                _on_trial_page.reset(token)

        return mark_trial_pages

    return wrap


@hookimpl
def render_cell(row, value, column, table):
    if table != TRIALS_TABLE or column not in REGISTRY_TEXT_COLUMNS or not isinstance(value, str):
        return None
    if not value or not _on_trial_page.get():
        return None  # listings: Datasette shows the text escaped and truncated
    try:
        source_format = row["source_format"]
    except (IndexError, KeyError):
        source_format = None
    return render_registry_text(value, source_format)


@hookimpl
def register_facet_classes():
    return [JsonListFacet, SiteCountryFacet]


@hookimpl
def filters_from_request(request, table):
    return trial_filters(request, table)


async def serve_asset(request):
    name = request.url_vars["name"]
    return Response(data_path("datasette", name).read_text(encoding="utf-8"), content_type=ASSETS[name])


@hookimpl
def register_routes():
    return [(r"^/-/trialmatch/(?P<name>browse\.css|browse\.js)$", serve_asset)]


@hookimpl
def extra_css_urls(database, datasette):
    return [datasette.urls.path("/-/trialmatch/browse.css")] if holds_registry(datasette, database) else []


@hookimpl
def extra_js_urls(view_name, database, datasette):
    return [datasette.urls.path("/-/trialmatch/browse.js")] if view_name == "row" and holds_registry(datasette, database) else []
