"""The whole build at registry size, with the real command: import, parse criteria, place sites, embed.

    nice python benchmarks/full_build.py [--size 575000] [--workdir DIR] [--keep] [--no-embed | --embed-model static]

Writes an archive of ``--size`` records (the sample's XML records replicated under new NCT ids,
varied statuses and dates: ``benchmarks/registry_archive.py``) in the work folder, measures the
floor in the same run (bare lxml parsing of every member of that archive, nothing built), then
runs ``trialmatch --db DB import --timings ARCHIVE`` and reports each step's wall time (as the
command prints it) and the peak memory of the command's processes during that step (the resident
memory of the command and its children, summed, sampled every 0.2 s). ``--no-embed`` passes
``--no-index`` (the embedding step left out); ``--embed-model M`` too, then runs
``trialmatch --db DB index --model M`` as the embedding step. The work folder is deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, peak_rss_mb, run_phase, shared_data  # noqa: E402
from benchmarks.registry_archive import replicated, sample_records, write_archive  # noqa: E402

STEPS = ("import records", "parse criteria", "place sites", "embed")
SAMPLE_EVERY_S = 0.2


def phase_lxml(archive: str) -> dict:
    from lxml import etree

    started = time.perf_counter()
    with zipfile.ZipFile(archive) as z:
        count = sum(1 for info in z.infolist() if etree.fromstring(z.read(info)) is not None)
    return {"records": count, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def tree_rss_mb(process) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    import psutil

    total = 0
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for member in family:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def children_cpu_s() -> float:
    """CPU seconds of this process's finished children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_build(command: list[str], env: dict, *, echo: bool = False) -> tuple[dict[str, float], dict[str, float], list[str], float]:
    """Run the command; (seconds per step as printed plus "cpu": the CPU seconds of the command
    and all its processes, peak MB per step, its output lines, wall seconds). ``echo`` prints its
    lines as they come (a long run shows how far it got)."""
    import psutil

    cpu_before = children_cpu_s()

    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    lines: list[str] = []
    seconds: dict[str, float] = {}
    current = [0]  # index of the step running now: a step ends when its time line is printed

    def read() -> None:
        for line in child.stdout:
            lines.append(line.rstrip("\n"))
            if echo:
                print(f"  [{time.perf_counter() - started:7.0f} s] {lines[-1]}", flush=True)
            if line.startswith("time: "):
                step, value = line[6:].rsplit(" ", 2)[0], float(line.split()[-2])
                seconds[step] = value
                current[0] = STEPS.index(step) + 1 if step in STEPS else current[0]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    peaks = dict.fromkeys(STEPS, 0.0)
    watched = psutil.Process(child.pid)
    while child.poll() is None:
        step = STEPS[min(current[0], len(STEPS) - 1)]
        peaks[step] = max(peaks[step], tree_rss_mb(watched))
        time.sleep(SAMPLE_EVERY_S)
    reader.join()
    errors = child.stderr.read()
    if child.returncode != 0:
        sys.exit(f"build failed ({child.returncode}): {' '.join(command)}\n{errors[-2000:]}")
    seconds["cpu"] = children_cpu_s() - cpu_before
    return seconds, peaks, lines, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=575_000)
    parser.add_argument("--workdir", type=Path, default=None, help="where the archive and database go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the archive and the database")
    parser.add_argument("--no-embed", action="store_true", help="leave the embedding step out (import --no-index)")
    parser.add_argument("--embed-model", choices=("minilm", "static"),
                        help="import --no-index, then `trialmatch index --model MODEL` as the embedding step")
    parser.add_argument("--phase", choices=("lxml",))
    parser.add_argument("--archive", help="an archive written by an earlier run (--keep) of the same --size: not written again")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase_lxml(args.archive)))
        return
    sample = shared_data("ctgov", "AllPublicXML-sample.zip")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="trialmatch-build-"))
    workdir.mkdir(parents=True, exist_ok=True)
    archive, database = Path(args.archive or workdir / f"registry-{args.size}.zip"), workdir / f"registry-{args.size}.db"
    try:
        started = time.perf_counter()
        if args.archive:
            with zipfile.ZipFile(archive) as z:
                written = len(z.infolist())
        else:
            written = write_archive(archive, replicated(sample_records(sample), args.size))
        print(f"archive: {written:,} records ({archive.stat().st_size / 2**30:.2f} GiB) "
              f"{'reused' if args.archive else 'written'} in {time.perf_counter() - started:.0f} s: {archive}", flush=True)
        floor = run_phase(Path(__file__), "lxml", "--archive", str(archive))
        print(f"lxml floor: {floor['seconds']:.1f} s", flush=True)
        for stale in workdir.glob(f"{database.name}*"):
            stale.unlink()
        command = [sys.executable, "-m", "matcher", "--db", str(database), "import", "--timings",
                   *(["--no-index"] if args.no_embed or args.embed_model else []), str(archive)]
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        seconds, peaks, lines, wall = run_build(command, env, echo=True)
        if args.embed_model:  # the embedding step as its own command, with the model asked for
            index = [sys.executable, "-m", "matcher", "--db", str(database), "index", "--model", args.embed_model]
            embed_seconds, embed_peaks, embed_lines, embed_wall = run_build(index, env, echo=True)
            seconds["embed"], peaks["embed"] = embed_wall, max(embed_peaks.values())
            seconds["cpu"] += embed_seconds["cpu"]
            lines, wall = lines + embed_lines, wall + embed_wall
        report(args, written, floor, seconds, peaks, lines, wall, database)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def report(args, records: int, floor: dict, seconds: dict, peaks: dict, lines: list[str], wall: float, database: Path) -> None:
    import sqlite3

    for line in lines:
        if not line.startswith("time: "):
            print(f"  | {line}")
    with sqlite3.connect(database) as conn:
        trials = conn.execute("SELECT count(*) FROM trials").fetchone()[0]
        criteria = conn.execute("SELECT count(*) FROM criteria").fetchone()[0]
    size = sum(p.stat().st_size for p in database.parent.glob(f"{database.name}*"))
    then = f" && trialmatch --db DB index --model {args.embed_model}" if args.embed_model else ""
    print(f"command: nice trialmatch --db DB import --timings{' --no-index' if args.no_embed or args.embed_model else ''} ARCHIVE{then} "
          f"(os.nice {os.nice(0)}, {os.cpu_count()} cores)")
    print(f"{'phase':<34}{'records':>9}{'seconds':>9}{'records/s':>11}{'peak MB':>9}")
    print(f"{'lxml parse only (floor)':<34}{floor['records']:>9}{floor['seconds']:>9.1f}"
          f"{floor['records'] / floor['seconds']:>11.0f}{floor['peak_rss_mb']:>9.0f}")
    for step in STEPS:
        if step not in seconds:
            print(f"{step:<34}{'':>9}{'skipped':>9}")
            continue
        if seconds[step] < 0.05:  # nothing left to do in this step (e.g. every criterion parsed during the import)
            print(f"{step:<34}{records:>9}{seconds[step]:>9.1f}{'-':>11}{'-':>9}")
            continue
        print(f"{step:<34}{records:>9}{seconds[step]:>9.1f}{records / seconds[step]:>11.0f}{peaks[step]:>9.0f}")
    print(f"{'whole command (wall)':<34}{records:>9}{wall:>9.1f}{records / wall:>11.0f}{max(peaks.values()):>9.0f}")
    print(f"{'whole command (CPU, all processes)':<34}{records:>9}{seconds['cpu']:>9.1f}"
          f"   {seconds['cpu'] / records * 1000:.1f} CPU-ms per record: {seconds['cpu'] * 575_000 / records / 2 / 60:.0f} min "
          f"for 575,000 on 2 idle cores")
    print(f"build / lxml floor: {wall / floor['seconds']:.1f}x   build: {wall / 60:.1f} min for {trials:,} trials, "
          f"{criteria:,} criteria; database {size / 2**30:.2f} GiB ({size / trials / 1024:.1f} KiB per trial)")
    if records != 575_000:
        print(f"projected to 575,000 records at this rate: {wall * 575_000 / records / 60:.0f} min "
              f"(lxml floor {floor['seconds'] * 575_000 / records / 60:.1f} min)")


if __name__ == "__main__":
    main()
