"""The server's one handler of exceptions: the page Datasette would show, and nothing printed
about the request.

Datasette's own handler prints every exception with ``rich``, locals included, so a 404 for
``/Find?age=45&diagnosis=HIV`` put the patient's query string on the server's terminal and in
its logs. ``make_datasette`` blocks that handler and registers this one: a 4xx answers as
before, silently; a 500 answers with a page that quotes nothing, and prints one line (the
exception's type, and a log file holding its frames, without message or locals; see
``matcher.crash_log``).
"""

from __future__ import annotations

from datasette import Response, hookimpl
from datasette.utils.asgi import Base400
from datasette.views.base import DatasetteError
from markupsafe import Markup

from ..crash_log import print_one_line

DATASETTE_HANDLER = "datasette.handle_exception"
SERVER_ERROR = "the server failed to answer this page; the error is in its log"


def _status_and_message(exception: Exception) -> tuple[int, str | Markup, dict, str | None]:
    if isinstance(exception, Base400):
        return exception.status, exception.args[0] if exception.args else "", {}, None
    if isinstance(exception, DatasetteError):
        message = Markup(exception.message) if exception.message_is_html else exception.message
        return exception.status, message, dict(exception.error_dict), exception.title
    return 500, SERVER_ERROR, {}, None


@hookimpl
def handle_exception(datasette, request, exception):
    async def inner():
        status, message, info, title = _status_and_message(exception)
        if status >= 500:
            print_one_line("serve", exception, with_message=False)
        info.update({"ok": False, "error": message, "status": status, "title": title})
        if request.path.endswith(".json"):
            return Response.json(info, status=status)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        context = dict(info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(), menu_links=lambda: [])
        return Response.html(await template.render_async(context), status=status)

    return inner
