"""SQLite storage of the registry through sqlite-utils: schema, upserts, FTS, raw records."""

from .database import Store, WriteOutcome

__all__ = ["Store", "WriteOutcome"]
