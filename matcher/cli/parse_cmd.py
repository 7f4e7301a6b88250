"""`trialmatch parse`: (re)derive structured criteria, or show the parse of one trial or text."""

from __future__ import annotations

import sys
from pathlib import Path

from models import to_dict

from ..criteria import parse_criteria
from ..derive import parse_trials, parser_version
from .common import UsageError, check_range, open_store, progress, terminal_json, terminal_safe


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "parse",
        help="parse eligibility criteria into structured criteria",
        description="Without options: parse every stored trial not yet parsed by this parser version "
        "(--all: every trial). With --nct or --text: print the parse of that trial or text.",
    )
    parser.add_argument("--nct", action="append", metavar="ID", help="a stored trial (repeatable)")
    parser.add_argument("--text", metavar="FILE", help='eligibility text from a file, or "-" for standard input')
    parser.add_argument("--all", action="store_true", help="re-parse every stored trial, not only stale ones")
    parser.add_argument("--json", action="store_true", help="print the parse as JSON")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="parallel parser processes (default 2)")
    parser.set_defaults(run=run)


def _print(criteria, as_json: bool, nct_id: str | None = None) -> None:
    if as_json:
        out = [to_dict(c) for c in criteria]
        print(terminal_json({"nct_id": nct_id, "criteria": out} if nct_id else out))
        return
    if nct_id:
        print(f"{nct_id}:")
    for c in criteria:
        print(terminal_safe(f"  [{c.kind[:3]}] ({c.category}) {' '.join(c.text.split())[:110]}"))
        for k in c.constraints:
            fields = {key: value for key, value in to_dict(k).items() if key not in ("type", "text", "negated") or (key == "negated" and value)}
            print(terminal_safe(f"        {k.type}: {fields}"))


def run(args) -> int:
    check_range("--workers", args.workers, 1, 256)
    if args.text:
        if args.nct:
            raise UsageError("give --text or --nct, not both")
        try:
            text = sys.stdin.read() if args.text == "-" else Path(args.text).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"--text: cannot read {args.text}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--text: {args.text} is not UTF-8 text") from None
        _print(parse_criteria(text), args.json)
        return 0
    store = open_store(args)
    if args.nct:
        missing = [n for n in args.nct if store.trial(n) is None]
        if missing:
            raise UsageError(f"--nct {missing[0]}: not in {store.path}")
        parse_trials(store, args.nct)
        for nct_id in args.nct:
            _print(store.criteria(nct_id), args.json, nct_id)
        return 0
    if args.all:
        store.conn.execute("UPDATE trials SET criteria_parser = NULL")
        store.conn.commit()
    pending = len(store.trials_needing_parse(parser_version()))
    with progress(pending, "trials", "parsing") as bar:
        parsed = parse_trials(store, workers=args.workers, on_progress=bar.update)
    total = store.conn.execute("SELECT count(*) FROM criteria").fetchone()[0]
    print(f"parsed {parsed} trials (parser {parser_version()}); {total} criteria stored")
    return 0
