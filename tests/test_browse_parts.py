"""The browse view's parts on their own: SQL functions, registry text, the query cache."""

from __future__ import annotations

import sqlite3

import pytest
from browse_registry import BOSTON, build_fixture_registry

from matcher.web import sql_functions
from matcher.web.browse import make_datasette
from matcher.web.datasette_plugin import is_trial_page
from matcher.web.registry_text import render_registry_text


def test_distance_km_in_sql():
    conn = sqlite3.connect(":memory:")
    sql_functions.register(conn)
    distance = lambda *args: conn.execute("SELECT distance_km(?, ?, ?, ?)", args).fetchone()[0]  # noqa: E731
    assert distance(0, 0, 1, 0) == pytest.approx(111.19, abs=0.01)  # one degree of a meridian
    assert distance(42.3601, -71.0589, 40.7128, -74.0060) == pytest.approx(306, abs=3)  # Boston–New York
    assert distance("42.3626", "-71.0692", *BOSTON) == 0  # query-string parameters arrive as text
    assert distance("", "-71", *BOSTON) is None and distance("north", "-71", *BOSTON) is None
    assert distance(None, 1, 2, 3) is None


def test_api_v2_markdown_is_rendered_without_raw_html_or_images():
    html = render_registry_text("* a \\< 5 <b>bold</b>\n* ![pixel](http://example.org/p.png) [x](javascript:alert(1))", "ctgov-api-v2")
    assert "<li>a &lt; 5 &lt;b&gt;bold&lt;/b&gt;</li>" in html
    assert "<img" not in html and 'href="javascript' not in html


def test_legacy_text_is_escaped_plain_text_with_its_lines():
    html = render_registry_text("Inclusion:\r\n\r\n\r\n\r\n     -  <i>x</i> & y\r\n", "ctgov-xml")
    assert html.endswith('registry-plain">Inclusion:\n\n-  &lt;i&gt;x&lt;/i&gt; &amp; y</div>')


def test_only_a_trials_own_page_renders_its_text():
    assert is_trial_page("/trials/trials/NCT09000001", "/")
    assert is_trial_page("/prefix/trials/trials/NCT09000001", "/prefix/")
    assert not is_trial_page("/trials/trials", "/")
    assert not is_trial_page("/trials/trials/NCT09000001.json", "/")
    assert not is_trial_page("/trials/sites/1", "/")


@pytest.mark.asyncio
async def test_the_registry_answers_repeated_queries_from_memory(tmp_path):
    database = make_datasette(build_fixture_registry(tmp_path / "trials.db")).get_database("trials")
    await database.execute("SELECT count(*) FROM sites")  # the first read creates the write-ahead log's index: a change
    first = await database.execute("SELECT nct_id FROM trials WHERE overall_status = ?", ["RECRUITING"])
    again = await database.execute("SELECT nct_id FROM trials WHERE overall_status = ?", ["RECRUITING"])
    assert again is first and len(first.rows) == 3
    other = await database.execute("SELECT nct_id FROM trials WHERE overall_status = ?", ["COMPLETED"])
    assert other is not first
    database.budget_bytes = 3200  # room for about twenty one-row results
    oldest = await database.execute("SELECT ?", [0])
    for number in range(1, 40):
        newest = await database.execute("SELECT ?", [number])
    assert await database.execute("SELECT ?", [39]) is newest
    assert await database.execute("SELECT ?", [0]) is not oldest
    assert database.cached_bytes <= database.budget_bytes


@pytest.mark.asyncio
async def test_another_face_joins_the_same_app_as_a_plugin_module(tmp_path):
    from types import ModuleType

    from datasette import hookimpl
    from datasette.plugins import pm
    from datasette.utils.asgi import Response

    page = ModuleType("physician_page_stand_in")
    page.register_routes = hookimpl(lambda: [(r"^/search$", lambda: Response.text("search page"))])
    try:
        datasette = make_datasette(build_fixture_registry(tmp_path / "trials.db"), plugins=[page])
        assert (await datasette.client.get("/search")).text == "search page"
        assert (await datasette.client.get("/trials/trials.json")).status_code == 200
    finally:
        pm.unregister(page)
