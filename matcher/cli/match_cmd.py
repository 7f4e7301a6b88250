"""`trialmatch match PATIENT`: rank trials for one patient, criterion by criterion."""

from __future__ import annotations

import sys
from pathlib import Path

from crawlers.json_input import loads
from crawlers.vocabulary import normalize_phases, normalize_status, normalize_study_type
from models.trial import PHASES, STATUSES, STUDY_TYPES

from ..eligibility.reading import diagnoses_read, not_understood_notice, reading_json
from ..match_output import results_json, results_table
from ..patient import PatientError, add_note_facts, lab_notices, patient_from_note, read_patient_file
from ..patient.from_json import check_note_length
from ..rank import Filters, Ranker
from .common import UsageError, check_range, open_store, registry_values, terminal_json, terminal_safe

DEFAULT_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING")
MAX_TOP = 1000
MAX_KM = 20_000  # half the way round the Earth
HANDLES_PATIENTS = True  # an unexpected error's log leaves out its message and the command line


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "match",
        help="rank trials for one patient",
        description="Rank trials for a patient given as JSON, a FHIR R4 Bundle, a CSV of one patient row "
        "(the columns of batch's CSV), or a plain-text note "
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
    parser.add_argument("--status", action="append", metavar="S",
                        help="only trials with this overall status, e.g. RECRUITING or \"not yet recruiting\" "
                        "(repeatable; default RECRUITING and NOT_YET_RECRUITING; ANY for all)")
    parser.add_argument("--phase", action="append", metavar="P",
                        help=f"only trials of this phase: {', '.join(PHASES)}, or \"Phase 2\" (repeatable)")
    parser.add_argument("--study-type", action="append", metavar="T",
                        help=f"only this study type: {', '.join(STUDY_TYPES)} (repeatable)")
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
    """The filters the options ask for; a value that is no status, phase or study type is a UsageError."""
    statuses = None
    if args.status and not any(s.strip().upper() == "ANY" for s in args.status):
        statuses = registry_values("--status", args.status, normalize_status, STATUSES,
                                   example="not yet recruiting", also=", or ANY")
    elif not args.status and not shortlist:
        statuses = DEFAULT_STATUSES
    phases = registry_values("--phase", args.phase, normalize_phases, PHASES, example="Phase 2") if args.phase else None
    study_types = (registry_values("--study-type", args.study_type, normalize_study_type,
                                   STUDY_TYPES, example="Interventional") if args.study_type else None)
    return Filters(statuses=statuses, phases=phases, study_types=study_types, within_km=args.within_km)


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
        # "patient: no such file: p.json" as it is; a field's problem says it is the patient's
        raise UsageError(str(error) if error.field == "patient" else f"patient {error}") from None
    shortlist = read_candidates(args.candidates) if args.candidates else None
    filters = build_filters(args, shortlist is not None)
    if filters.within_km is not None and patient.location is None:
        raise UsageError("--within-km needs the patient's location (\"location\": {\"zip\": …} or lat/lon)")
    store = open_store(args, read_only=True)
    ranker = Ranker(store, use_embeddings=not args.no_embeddings)
    matches = ranker.rank(patient, top=args.top, filters=filters, shortlist=shortlist)
    for notice in lab_notices(patient):
        print(f"note: {notice}", file=sys.stderr)
    if args.json:
        print(terminal_json(results_json(patient.id, matches, reading_json(patient))))
    elif not matches:
        notice = not_understood_notice(patient)
        print("\n".join(filter(None, [notice and f"⚠ {notice}", "no trials match the filters"])))
    else:
        print(terminal_safe(results_table(matches, read_as=[r.line() for r in diagnoses_read(patient)],
                                          notice=not_understood_notice(patient))))
    return 0
