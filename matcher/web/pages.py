"""What trialmatch's own pages share: their Jinja templates (data/datasette/templates,
autoescaped), their frame (links between the faces, stylesheets), their response headers, and
the static files they load (served at /-/trialmatch/)."""

from __future__ import annotations

from functools import cache

from datasette.utils.asgi import Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..resources import data_path
from .browse import DATABASE_NAME

FIND_PATH = "/find"
TRIAL_PATH = "/trial"
ASSETS = {"find.css": "text/css; charset=utf-8", "trial-map.js": "text/javascript; charset=utf-8"}
LEAFLET = ("datasette-leaflet", "leaflet-v1.7.1.min.js", "leaflet-v1.7.1.css")  # an ES module, installed with datasette-cluster-map
_POLICY = ("default-src 'none'; {scripts}style-src 'self'; img-src 'self' data:; form-action 'self'; "
           "base-uri 'none'; frame-ancestors 'none'")


def headers(*, scripts: bool = False) -> dict[str, str]:
    """Headers of a page that may hold a patient: never cached, never sent on as a referrer,
    nothing loaded from elsewhere, scripts only from this server's files (or none at all)."""
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _POLICY.format(scripts="script-src 'self'; " if scripts else ""),
    }


@cache
def templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(data_path("datasette", "templates"))),
                       autoescape=True, undefined=StrictUndefined)


def frame(datasette, current: str, *, map_scripts: bool = False) -> dict:
    """The context every page's frame (page.html) needs; ``current``: home, find or trial."""
    urls = datasette.urls
    stylesheets = [urls.static("app.css"), urls.path("/-/trialmatch/find.css")]
    scripts, leaflet = [], None
    if map_scripts:  # the map's script (a module) imports Leaflet from the address in the page
        plugin, script, stylesheet = LEAFLET
        stylesheets.insert(1, urls.static_plugins(plugin, stylesheet))
        scripts, leaflet = [urls.path("/-/trialmatch/trial-map.js")], urls.static_plugins(plugin, script)
    return {
        "current": current,
        "home_url": urls.instance(),
        "find_url": urls.path(FIND_PATH),
        "browse_url": urls.table(DATABASE_NAME, "trials"),
        "stylesheets": stylesheets,
        "scripts": scripts,
        "leaflet": leaflet,
    }


def page(template: str, context: dict, *, status: int = 200, scripts: bool = False) -> Response:
    return Response.html(templates().get_template(template).render(context), status=status, headers=headers(scripts=scripts))


async def asset(request):
    name = request.url_vars["name"]
    return Response(data_path("datasette", name).read_text(encoding="utf-8"), content_type=ASSETS[name],
                    headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})


ASSET_ROUTE = (r"^/-/trialmatch/(?P<name>find\.css|trial-map\.js)$", asset)
