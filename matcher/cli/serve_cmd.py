"""`trialmatch serve`: the physician search page and the Datasette browse view of the registry, on this machine."""

from __future__ import annotations

import argparse
import socket

from .common import UsageError, check_range, open_store

MAX_RANKERS = 64
HANDLES_PATIENTS = True  # an unexpected error's log leaves out its message and the command line


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="find trials for a patient, and browse the registry, in a web browser",
        description="Serve the physician search page (/find: a patient form, trials ranked criterion by criterion) "
        "and the registry database read-only through Datasette: facets, full-text search, canned queries and an "
        "offline map of sites. Listens on 127.0.0.1 unless told otherwise.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8001, help="port to listen on (default: 8001)")
    parser.add_argument("--mutable", action="store_true", help=argparse.SUPPRESS)  # kept for old scripts: serving always follows changes
    parser.add_argument(
        "--rankers", type=int, default=1, metavar="N",
        help="rank patients for the search page in N processes, so N physicians are served at once "
        "(default: 1, a thread of the server; each process holds its own model and trial cache, up to ~0.9 GB)",
    )
    parser.set_defaults(run=run)


def check_port_free(host: str, port: int) -> None:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.create_server((host, port), family=family):
            pass
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def run(args) -> int:
    import uvicorn

    from ..web import physician_page
    from ..web.browse import make_datasette
    from ..web.sql_limits import limit_process_heap

    check_range("--port", args.port, 1, 65535)
    check_range("--rankers", args.rankers, 1, MAX_RANKERS)
    store = open_store(args, read_only=True)  # a UsageError when it is missing or not a registry
    store.close()
    path = store.path
    check_port_free(args.host, args.port)
    limit_process_heap()
    datasette = make_datasette(path, plugins=[physician_page])
    search = physician_page.search_for(datasette, args.rankers)
    search.start_warming_up()  # the model loads while the server starts
    print(f"Browsing {path} (read-only, following what imports and crawls write) at http://{args.host}:{args.port}/ — Ctrl-C to stop", flush=True)
    print(f"Find trials for a patient at http://{args.host}:{args.port}{physician_page.PATH}", flush=True)
    try:
        uvicorn.run(datasette.app(), host=args.host, port=args.port, log_level="warning", lifespan="on",
                    h11_max_incomplete_event_size=physician_page.HTTP_REQUEST_BYTES)
    finally:
        search.close()
    return 0
