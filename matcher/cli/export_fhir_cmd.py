"""`trialmatch export-fhir`: the registry's trials as FHIR R4 ResearchStudy resources, NDJSON."""

from __future__ import annotations

import json
from pathlib import Path

from crawlers.vocabulary import normalize_status
from models.trial import STATUSES

from ..batch.output import STDOUT, output_stream
from ..fhir import research_study
from .common import UsageError, open_store, progress, registry_values


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-fhir",
        help="write trials as FHIR R4 ResearchStudy resources (NDJSON)",
        description="Write the registry's trials as FHIR R4 ResearchStudy resources, one JSON object a line "
        "(the FHIR Bulk Data NDJSON format): the NCT id in the http://clinicaltrials.gov identifier system, status, "
        "phase, conditions, sites, sponsor, and the eligibility criteria as a contained Group (docs/fhir.md).",
    )
    parser.add_argument("--out", default=STDOUT, metavar="FILE",
                        help='where to write them, e.g. ResearchStudy.ndjson (default "-": standard output)')
    parser.add_argument("--nct", action="append", metavar="ID", help="only this trial (repeatable)")
    parser.add_argument("--status", action="append", metavar="S",
                        help="only trials with this overall status, e.g. RECRUITING or \"not yet recruiting\" (repeatable)")
    parser.set_defaults(run=run)


def selected_trials(store, nct_ids: list[str] | None, statuses: tuple[str, ...] | None) -> list[str]:
    if nct_ids:
        missing = [n for n in nct_ids if store.trial(n) is None]
        if missing:
            raise UsageError(f"--nct {missing[0]}: not in {store.path}")
        return list(dict.fromkeys(nct_ids))
    where, params = "", []
    if statuses:
        where, params = f"WHERE overall_status IN ({', '.join('?' * len(statuses))})", list(statuses)
    return [n for (n,) in store.conn.execute(f"SELECT nct_id FROM trials {where} ORDER BY nct_id", params)]


def run(args) -> int:
    statuses = registry_values("--status", args.status, normalize_status, STATUSES,
                               example="not yet recruiting") if args.status else None
    if args.out != STDOUT and not Path(args.out).parent.is_dir():
        raise UsageError(f"--out: no such folder: {Path(args.out).parent}")
    store = open_store(args, read_only=True)
    try:
        nct_ids = selected_trials(store, args.nct, statuses)
        with progress(len(nct_ids), "trial", "exporting") as bar, output_stream(args.out) as stream:
            for nct_id in nct_ids:
                study = research_study(store.trial(nct_id), store.criteria(nct_id, with_entities=False))
                stream.write(json.dumps(study, ensure_ascii=False) + "\n")
                bar.update(1)
    finally:
        store.close()
    if args.out != STDOUT:
        print(f"{args.out}: {len(nct_ids):,} ResearchStudy resources")
    return 0
