"""trialmatch's Datasette plugin: what the browse view adds to plain Datasette.

- ``distance_km(lat1, lon1, lat2, lon2)`` in SQL, for the "near a point" canned query, and
  limits on what one query may build (``sql_limits``);
- registry text (summaries, eligibility criteria) rendered as safe HTML on a trial's page
  (markdown for API v2 records, plain text for legacy XML); listings keep Datasette's
  escaped, truncated text;
- on ``trials``, a fast facet for JSON list columns and a ``site_country`` facet and filter;
- security headers on every page (``SECURITY_HEADERS``: CSP, frame-ancestors and
  X-Frame-Options, nosniff) unless the page sets its own;
- a stylesheet (compact column descriptions) and, on a record's own page, a script that lists
  the record's fields top to bottom; both served from data/datasette at /-/trialmatch/.

Loaded by ``trialmatch serve``, and by plain ``datasette`` through the ``datasette`` entry point
that ``pip install .`` registers.
"""

from __future__ import annotations

import contextvars

from datasette import hookimpl
from datasette.utils.asgi import Response

from ..resources import data_path
from . import sql_functions, sql_limits
from .registry_text import render_registry_text
from .trial_facets import JsonListFacet, SiteCountryFacet, trial_filters

TRIALS_TABLE = "trials"
REGISTRY_TEXT_COLUMNS = {"brief_summary", "detailed_description", "eligibility_text"}
MMAP_BYTES = 1 << 30
ASSETS = {"browse.css": "text/css; charset=utf-8", "browse.js": "text/javascript; charset=utf-8"}

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
def prepare_connection(conn):
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
            token = _on_trial_page.set(is_trial_page(scope.get("path", ""), datasette.setting("base_url")))
            try:
                return await app(scope, receive, with_security_headers(send))
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
def extra_css_urls(datasette):
    return [datasette.urls.path("/-/trialmatch/browse.css")]


@hookimpl
def extra_js_urls(view_name, datasette):
    return [datasette.urls.path("/-/trialmatch/browse.js")] if view_name == "row" else []
