"""SQLite storage of the registry through sqlite-utils: schema, upserts, FTS, raw records."""

from .database import Store, WriteOutcome, read_criteria, read_trial

__all__ = ["Store", "WriteOutcome", "read_criteria", "read_trial"]
