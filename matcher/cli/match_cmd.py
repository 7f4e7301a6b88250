"""`trialmatch match PATIENT`: rank trials for one patient, criterion by criterion."""

from __future__ import annotations

import sys
from pathlib import Path

from crawlers.json_input import loads
from models.trial import STATUSES

from ..match_output import results_json, results_table
from ..patient import PatientError, add_note_facts, patient_from_note, read_patient_file
from ..patient.from_json import check_note_length
from ..rank import Filters, Ranker
from .common import UsageError, check_range, open_store, terminal_json, terminal_safe

DEFAULT_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING")
MAX_TOP = 1000
MAX_KM = 20_000  # half the way round the Earth
HANDLES_PATIENTS = True  # an unexpected error's log leaves out its message and the command line


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "match",
        help="rank trials for one patient",
        description="Rank trials for a patient given as JSON, a FHIR R4 Bundle, or a plain-text note "
        "('-' reads standard input). Nothing about the patient is stored or sent anywhere.",
    )
    parser.add_argument("patient", metavar="PATIENT-FILE", help='patient file, or "-" for standard input')
    parser.add_argument("--note", metavar="TEXT", help="free-text note about the patient, added to the file's facts")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    add_ranking_arguments(parser, what="show")
    parser.set_defaults(run=run)


def add_ranking_arguments(parser, *, what: str) -> None:
    """The options that choose and rank trials, shared by `match` and `batch`."""
    parser.add_argument("--top", type=int, default=10, metavar="N", help=f"how many trials to {what} (default 10)")
    parser.add_argument("--status", action="append", metavar="S", type=str.upper,
                        help="only trials with this overall status (repeatable; default RECRUITING and NOT_YET_RECRUITING; ANY for all)")
    parser.add_argument("--phase", action="append", metavar="P", type=str.upper, help="only trials of this phase, e.g. PHASE2 (repeatable)")
    parser.add_argument("--study-type", action="append", metavar="T", type=str.upper, help="only this study type, e.g. INTERVENTIONAL")
    parser.add_argument("--within-km", type=float, metavar="K", help="only trials with a site within K km of the patient's location")
    parser.add_argument("--candidates", metavar="FILE", help="rank only these trials (NCT ids, one per line or a JSON list)")
    parser.add_argument("--no-embeddings", action="store_true", help="rank by BM25 only (faster start, no model load)")


def read_candidates(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--candidates: cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--candidates: {path} is not UTF-8 text") from None
    if text.lstrip().startswith("["):
        try:
            ids = loads(text)
        except ValueError as error:
            raise UsageError(f"--candidates: {path} is not a valid JSON list ({error})") from None
        if not isinstance(ids, list):
            raise UsageError(f"--candidates: {path} is not a JSON list")
    else:
        ids = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not ids or not all(isinstance(i, str) for i in ids):
        raise UsageError(f"--candidates: {path} holds no NCT ids")
    return ids


def build_filters(args, shortlist: bool) -> Filters:
    statuses = args.status
    if statuses and "ANY" in statuses:
        statuses = None
    elif statuses:
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise UsageError(f"--status {unknown[0]}: not a status (one of {', '.join(STATUSES)}, or ANY)")
        statuses = tuple(statuses)
    elif not shortlist:
        statuses = DEFAULT_STATUSES
    return Filters(
        statuses=statuses,
        phases=tuple(args.phase) if args.phase else None,
        study_types=tuple(args.study_type) if args.study_type else None,
        within_km=args.within_km,
    )


def check_ranking_options(args) -> None:
    check_range("--top", args.top, 1, MAX_TOP)
    check_range("--within-km", args.within_km, 0, MAX_KM)


def run(args) -> int:
    check_ranking_options(args)
    try:
        patient = read_patient_file(args.patient, stdin_text=sys.stdin.read() if args.patient == "-" else None)
        if args.note:
            check_note_length(args.note, "--note")
            add_note_facts(patient, patient_from_note(args.note, patient_id=patient.id, as_of=patient.as_of))
            patient.note = "\n".join(filter(None, [patient.note, args.note]))
    except PatientError as error:
        raise UsageError(f"patient {error}") from None
    shortlist = read_candidates(args.candidates) if args.candidates else None
    filters = build_filters(args, shortlist is not None)
    if filters.within_km is not None and patient.location is None:
        raise UsageError("--within-km needs the patient's location (\"location\": {\"zip\": …} or lat/lon)")
    store = open_store(args, read_only=True)
    ranker = Ranker(store, use_embeddings=not args.no_embeddings)
    matches = ranker.rank(patient, top=args.top, filters=filters, shortlist=shortlist)
    if args.json:
        print(terminal_json(results_json(patient.id, matches)))
    elif not matches:
        print("no trials match the filters")
    else:
        print(terminal_safe(results_table(matches)))
    return 0
