"""`trialmatch serve-registry PATH…`: a loopback ClinicalTrials.gov API v2 for demos and tests.

Serves the studies in registry files (anything `import` reads; legacy XML is served in the API v2
shape) on 127.0.0.1, optionally failing a share of requests the ways the live registry does.
"""

from __future__ import annotations

from crawlers.api_v2_server import RegistryServer
from crawlers.bulk import SourceError
from crawlers.fault_plan import FAILING, FAULTS, FaultPlan
from crawlers.study_catalog import StudyCatalog

from .common import UsageError, check_range


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve-registry",
        help="serve registry files as a loopback API v2 (for demos and tests)",
        description="Serve the studies in registry archives, folders or files as a ClinicalTrials.gov API v2 on "
        "127.0.0.1, e.g. to try `trialmatch crawl --base-url URL --rate 0` against it. Faults: "
        + "; ".join(f"{name}: {what}" for name, what in FAULTS.items()) + ".",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="registry files to serve, e.g. ../shared/data/ctgov/")
    parser.add_argument("--port", type=int, default=8002, help="port on 127.0.0.1 (default 8002; 0 = any free port)")
    parser.add_argument("--limit", type=int, metavar="N", help="serve only the first N studies")
    parser.add_argument("--fault-rate", type=float, default=0.0, metavar="F", help="share of requests to fault (0-1, default 0)")
    parser.add_argument("--faults", default=",".join(FAILING), metavar="KINDS", help=f"comma-separated fault kinds (default {','.join(FAILING)})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draw (default 0)")
    parser.add_argument("--retry-after", default="1", metavar="SECONDS", help="Retry-After of injected 429s (default 1)")
    parser.add_argument("--empty-last-page", action="store_true", help="end every search with an empty page")
    parser.set_defaults(run=run)


def run(args) -> int:
    check_range("--port", args.port, 0, 65535)
    check_range("--limit", args.limit, 1, float("inf"))
    try:
        faults = FaultPlan(rate=args.fault_rate, kinds=tuple(k.strip() for k in args.faults.split(",") if k.strip()),
                           seed=args.seed, retry_after=args.retry_after, empty_last_page=args.empty_last_page)
        catalog = StudyCatalog.from_paths(args.paths, limit=args.limit)
        server = RegistryServer(catalog, faults=faults, port=args.port)
    except (ValueError, SourceError, OSError) as error:
        raise UsageError(str(error)) from None
    print(f"serving {len(catalog):,} studies at {server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.stop()
    return 0
