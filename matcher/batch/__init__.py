"""The batch match job: many patients, ranked in parallel, results kept apart from the registry.

``inputs`` reads patients (JSONL, CSV, FHIR folders), ``runner`` matches them in worker
processes, ``results`` keeps runs and matches in the results database, ``output`` writes a
run's matches to CSV or JSONL.
"""
