"""`trialmatch batch INPUT --out FILE`: rank trials for many patients, resumably.

Results go to the results database beside the registry (never into the registry, which is
public) and, for the whole run, to the output file. Rejected records are reported on stderr
with their line (or file) and reason; the others go on, and the exit status is 0 (1 when a
patient hit an internal error, a bug of ours).
"""

from __future__ import annotations

import importlib.util
import sys
from contextlib import nullcontext
from pathlib import Path

from ..batch.inputs import BatchInputError, count_records, read_input
from ..batch.output import FORMATS, STDOUT, output_format, write_matches
from ..batch.registry_state import registry_state
from ..batch.results import PatientResult, ResultsStore
from ..batch.dask_engine import DEFAULT_PARTITION_SIZE, DaskEngine, DaskEngineError
from ..batch.runner import Engine, LocalEngine, MatchSettings, run_batch
from .common import UsageError, check_range, database_path, open_store, progress
from .match_cmd import add_ranking_arguments, build_filters, check_ranking_options, read_candidates

MAX_WORKERS = 256
MAX_PARTITION_SIZE = 100_000
HANDLES_PATIENTS = True  # an unexpected error's log leaves out its message and the command line


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="rank trials for many patients (JSONL, CSV, or a folder of FHIR bundles)",
        description="Rank trials for every patient of INPUT: a .jsonl file (one patient JSON per line), "
        "a .csv file (columns in docs/batch.md), or a folder of FHIR Bundle .json files. Writes one row per "
        "patient-trial pair to --out (CSV, JSON lines, or FHIR ResearchSubject NDJSON) and keeps the run in the results database. A rerun for "
        "the same input and registry state resumes: patients already matched are skipped.",
    )
    parser.add_argument("input", metavar="INPUT", help="patients: FILE.jsonl, FILE.csv, or a folder of FHIR bundles")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help='where to write the matches: FILE.csv, FILE.jsonl (or .ndjson), or "-" for standard output')
    parser.add_argument("--format", choices=FORMATS,
                        help="csv, jsonl, or fhir: FHIR R4 ResearchSubject resources as NDJSON, one per match "
                        "(docs/fhir.md); default: by --out's extension, jsonl for standard output")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes on this machine (default 1); with --engine dask, those of the local cluster")
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="local: worker processes on this machine (default); dask: a Dask cluster (docs/batch.md)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --engine dask: the cluster's scheduler, e.g. tcp://10.0.0.5:8786 "
                        "(default: start a local cluster on 127.0.0.1)")
    parser.add_argument("--partition-size", type=int, metavar="N",
                        help=f"with --engine dask: patients per task (default {DEFAULT_PARTITION_SIZE})")
    parser.add_argument("--shared-registry", metavar="PATH",
                        help="with --scheduler: the registry database as every worker sees it on a shared filesystem "
                        "(default: ship each worker a copy, cached by content hash)")
    add_ranking_arguments(parser, what="keep per patient")
    parser.add_argument("--results-db", metavar="PATH",
                        help="results database (default: beside the registry, <registry>.results.db); never the registry")
    parser.add_argument("--new-run", action="store_true",
                        help="start a new run even if one for this input and registry state can be resumed")
    parser.set_defaults(run=run)


def results_path(args, registry: Path) -> Path:
    path = Path(args.results_db) if args.results_db else registry.with_name(f"{registry.stem}.results.db")
    if path.resolve() == registry.resolve():
        raise UsageError("--results-db: results never go in the registry database; name another file")
    return path


def settings_from(args, registry: Path) -> MatchSettings:
    shortlist = read_candidates(args.candidates) if args.candidates else None
    return MatchSettings(
        registry=str(registry),
        top=args.top,
        filters=build_filters(args, shortlist is not None),
        shortlist_filters=build_filters(args, True),
        shortlist=tuple(shortlist) if shortlist else None,
        use_embeddings=not args.no_embeddings,
    )


def options_of(settings: MatchSettings) -> dict:
    """The options that change results: a run resumes only when they are the same."""
    return {
        "top": settings.top,
        "filters": vars(settings.filters),
        "shortlist_filters": vars(settings.shortlist_filters),
        "shortlist": settings.shortlist,
        "embeddings": settings.use_embeddings,
    }


def check_engine_options(args) -> None:
    check_range("--workers", args.workers, 1, MAX_WORKERS)
    if args.engine == "local":
        for option, value in (("--scheduler", args.scheduler), ("--partition-size", args.partition_size),
                              ("--shared-registry", args.shared_registry)):
            if value is not None:
                raise UsageError(f"{option} goes with --engine dask")
        return
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers: a cluster's workers are started with `dask worker`; leave --workers out with --scheduler")
    if args.shared_registry is not None and args.scheduler is None:
        raise UsageError("--shared-registry goes with --scheduler (a local cluster reads the registry where it is)")
    check_range("--partition-size", args.partition_size, 1, MAX_PARTITION_SIZE)
    if importlib.util.find_spec("distributed") is None:
        raise UsageError("--engine dask needs Dask: pip install 'trialmatch[dask]'")


def make_engine(args, settings: MatchSettings, state: dict):
    """The engine the options ask for, as a context manager."""
    if args.engine == "local":
        return nullcontext(LocalEngine(settings, workers=args.workers or 1))
    return DaskEngine(settings, scheduler=args.scheduler, workers=args.workers or 1, state=state,
                      partition_size=args.partition_size or DEFAULT_PARTITION_SIZE, shared_registry=args.shared_registry)


def check_output(args, source: Path, registry: Path, results_db: Path | None) -> str:
    """--out names standard output, or a new or old file in an existing folder that no file the
    run reads is; the output format, from --format or the file's extension."""
    kind = output_format(args.out, args.format)
    if args.out == STDOUT:
        return kind
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out}: a folder; name a .csv, .jsonl or .ndjson file")
    if kind is None:
        raise UsageError(f"--out {out.name}: expected a .csv, .jsonl or .ndjson file name, "
                         "or --format csv, jsonl or fhir")
    if not out.parent.is_dir():
        raise UsageError(f"--out: no such folder: {out.parent}")
    for what, path in (("the input", source), ("the registry", registry), ("the results database", results_db)):
        if path is not None and out.resolve() == path.resolve():
            raise UsageError(f"--out {out}: that is {what}; the matches go to another file")
    return kind


def run(args) -> int:
    check_ranking_options(args)
    check_engine_options(args)
    source = Path(args.input)
    kind = check_output(args, source, database_path(args), Path(args.results_db) if args.results_db else None)
    report = sys.stderr if args.out == STDOUT else sys.stdout  # standard output carries the matches
    try:
        records = read_input(source)
    except BatchInputError as error:
        raise UsageError(str(error)) from None
    registry = database_path(args)
    settings = settings_from(args, registry)
    store = open_store(args, read_only=True)
    state = registry_state(store)
    store.close()

    run = None
    try:
        with make_engine(args, settings, state) as engine:
            results = ResultsStore(results_path(args, registry))
            for file in results.tightened:
                print(f"note: {file} was readable by other users; it is now readable by its owner only", file=sys.stderr)
            run = results.open_run(input_path=str(source.resolve()), registry=str(registry.resolve()), registry_state=state,
                                   options=options_of(settings), new_run=args.new_run)
            summary = match_all(records, results, run, engine, count_records(source))
    except DaskEngineError as error:
        stopped = f"; run {run.id} stopped and resumes when rerun" if run else ""
        print(f"trialmatch batch: {error}{stopped}", file=sys.stderr)
        return 1
    totals = results.finish_run(run)
    written = write_matches(results.match_rows(run.id), args.out, kind)
    print(f"run {run.id}{' (resumed)' if run.resumed else ''}: {summary.matched:,} patients matched, "
          f"{summary.rejected:,} rejected, skipped {summary.skipped:,} already done", file=report)
    if isinstance(engine, DaskEngine):
        print(f"dask: {summary.partitions:,} partitions of up to {engine.partition_size:,} patients, "
              f"{summary.partitions_skipped:,} skipped (nothing left to match); {engine.report.describe()}", file=report)
    where = "standard output" if args.out == STDOUT else args.out
    print(f"{where}: {written:,} matches for {totals['patients_matched']:,} patients "
          f"({totals['new_matches']:,} new since the previous run); results in {results.path}", file=report)
    results.close()
    if summary.internal_errors:
        print(f"trialmatch batch: {summary.internal_errors:,} patients hit an internal error; "
              "`trialmatch match` on one of them shows it", file=sys.stderr)
        return 1
    return 0


def match_all(records, results: ResultsStore, run, engine: Engine, expected: int):
    """Run the batch with a progress bar; rejected records are reported as they come."""
    with progress(expected, "patient", f"run {run.id}") as bar:
        rejected = 0

        def report(result: PatientResult) -> None:
            nonlocal rejected
            if result.error is not None:
                rejected += 1
                bar.write(f"rejected {result.where}: {result.error}", file=sys.stderr)
                bar.set_postfix(rejected=rejected, refresh=False)
            bar.update(1)

        try:
            return run_batch(records, results, run, engine, on_result=report, on_skip=lambda: bar.update(1))
        except BaseException:
            results.finish_run(run, status="interrupted")
            raise
