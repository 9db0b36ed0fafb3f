"""Open the two SQLite databases, failing clearly when a file is missing or not ours."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_SECONDS = 5.0


class DatabaseError(Exception):
    """A database file is missing, unreadable or not one of ours."""


class StorageFullError(Exception):
    """The disk (or the database's size limit) is full: the transaction was rolled back."""


def is_full(error: sqlite3.Error) -> bool:
    """SQLITE_FULL: "database or disk is full" (also a write beyond max_page_count)."""
    return getattr(error, "sqlite_errorname", "") == "SQLITE_FULL" or "database or disk is full" in str(error)


def connect(path: Path, *, must_exist: bool = True, readonly: bool = False, max_mb: int = 0) -> sqlite_utils.Database:
    """Open a database file, with foreign keys on, failing clearly if it is not usable;
    `max_mb` caps the file's size (a write beyond it fails as if the disk were full)."""
    if must_exist and not path.exists():
        raise DatabaseError(f"{path}: database file not found (run `registry init` first)")
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if not readonly and conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            # NORMAL never corrupts and keeps every commit through a crash or a kill of the
            # process (tested). A power cut would lose the last commits, so store/writers.py's
            # `transaction` syncs the WAL after each commit, outside the write lock, one fsync
            # for the commits that arrived together. FULL (an fsync inside every commit, with
            # the lock held) took benchmarks/load.py's p99 from 0.12-0.15 s to 8.6-9.1 s
            # (docs/performance.md).
            conn.execute("PRAGMA synchronous = NORMAL")
        if max_mb:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, max_mb * 1024 * 1024 // page_size)}")
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"{path}: not a usable SQLite database ({e})") from e
    return sqlite_utils.Database(conn)
