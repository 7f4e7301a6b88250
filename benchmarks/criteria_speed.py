"""Speed of the criteria parser on the whole criteria corpus, next to a medspacy pipeline
(PyRuSH sentence splitting + ConText negation only) on the same texts in the same run, both
with the same number of worker processes.

    python benchmarks/criteria_speed.py [--workers 2] [--limit N] [--no-baseline]

Needs medspacy for the baseline (``pip install medspacy "spacy>=3.8"``, see docs/criteria.md)."""

from __future__ import annotations

import argparse
import os
import resource
import time
from multiprocessing import Pool

from criteria_common import corpus_texts

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _warm() -> None:
    from matcher.criteria import parse_criteria

    parse_criteria("Inclusion Criteria:\n- Platelets < 30 G/L\n- Prior splenectomy")


def _parse(text: str) -> int:
    from matcher.criteria import parse_criteria

    return len(parse_criteria(text))


def _cpu_seconds() -> float:
    """CPU time used by this process's finished children (the workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(pool: Pool, fn, texts: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = sum(pool.imap(fn, texts, chunksize=64))
    return time.perf_counter() - t0, n


def run_parser(texts: list[str], workers: int) -> tuple[float, int, float]:
    """(wall seconds, criteria, worker CPU seconds including start-up)."""
    before = _cpu_seconds()
    with Pool(workers, initializer=_warm) as pool:
        pool.map(_parse, texts[:workers * 20])  # start-up and caches out of the wall time
        seconds, n = _timed(pool, _parse, texts)
    return seconds, n, _cpu_seconds() - before


_NLP = None


def _medspacy_init() -> None:
    global _NLP
    import medspacy
    from loguru import logger

    logger.remove()  # PyRuSH logs every token at DEBUG level; logging is not what we time

    _NLP = medspacy.load(enable=["medspacy_pyrush", "medspacy_context"])
    _NLP("No evidence of active infection.")


def _medspacy(text: str) -> int:
    doc = _NLP(text)
    return sum(1 for _ in doc.sents)


def run_medspacy(texts: list[str], workers: int) -> tuple[float, float]:
    """(wall seconds, worker CPU seconds including start-up)."""
    before = _cpu_seconds()
    with Pool(workers, initializer=_medspacy_init) as pool:
        pool.map(_medspacy, texts[:workers * 20])
        seconds, _ = _timed(pool, _medspacy, texts)
    return seconds, _cpu_seconds() - before


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)
    texts = corpus_texts(args.limit)
    chars = sum(len(t) for t in texts)
    print(f"corpus: {len(texts)} trials, {chars / 1e6:.1f} M characters, {args.workers} worker processes")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    seconds, n_criteria, cpu = run_parser(texts, args.workers)
    print(f"trialmatch parse_criteria: {n_criteria} criteria in {seconds:.1f} s = "
          f"{n_criteria / seconds:,.0f} criteria/s, {len(texts) / seconds:,.0f} trials/s "
          f"(segmentation, categories, entities, constraints); "
          f"{cpu:.0f} CPU-s = {n_criteria / cpu:,.0f} criteria per CPU-second")
    if not args.no_baseline:
        try:
            import medspacy  # noqa: F401
        except ImportError:
            print("medspacy not installed: baseline skipped")
            return 0
        m_seconds, m_cpu = run_medspacy(texts, args.workers)
        print(f"medspacy (PyRuSH sentences + ConText negation): {m_seconds:.1f} s = "
              f"{n_criteria / m_seconds:,.0f} criteria/s, {len(texts) / m_seconds:,.0f} trials/s "
              f"on the same texts; {m_cpu:.0f} CPU-s = {n_criteria / m_cpu:,.0f} criteria per CPU-second")
        print(f"ratio: trialmatch is {m_seconds / seconds:.1f}x the speed of the medspacy pipeline "
              f"(wall), {m_cpu / cpu:.1f}x (CPU)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
